//! The coordinator: any node takes any request and runs it on the replicas of
//! the data. Writes (`write`) go to every live replica and complete as soon as
//! the consistency level is met (a replica that is down or fails gets a hint);
//! reads ask as many replicas as the level needs, merge their raw answers by
//! timestamp, repair the replicas that were stale (blocking read repair) and
//! answer from the merge; TRUNCATE (`truncate`) runs on every node. Replica
//! choice and consistency counting are pure (`replicas`, `consistency`); this
//! module only sends and waits, within the configured `Timeouts`.

pub mod batchlog;
pub mod cas;
pub mod consistency;
pub mod counter;
pub mod digest;
pub mod hint_file;
pub mod hint_store;
pub mod hints;
pub mod replicas;
mod short_read;
pub mod truncate;
pub mod write;

use std::net::IpAddr;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use cql_protocol::wire::Consistency;
use futures::future::join_all;

use self::consistency::{Requirement, Tally};
use self::replicas::{Strategy, Topology};
use crate::cluster::view::ClusterView;
use crate::error::QueryError;
use crate::internode::{Messaging, Outbound, Reply, Verb};
use crate::storage::memory::MemoryEngine;
use crate::storage::{Mutation, PartitionSelection, ReadCommand, ReadLimits, StorageEngine, Visitor};

pub struct Coordinator {
    local: IpAddr,
    engine: Arc<dyn StorageEngine>,
    pub view: Arc<ClusterView>,
    messaging: Option<Arc<Messaging>>,
    timeouts: Timeouts,
    /// Where writes that miss a replica go.
    hints: hints::Hinter,
    metrics: Metrics,
    /// This node's Paxos ballots.
    ballots: crate::paxos::BallotClock,
}

/// How long the coordinator waits for replicas (Cassandra's `*_request_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Writes, hints and read repair.
    pub write: Duration,
    /// Reads of one partition.
    pub read: Duration,
    /// Reads of token ranges and of several partitions.
    pub range: Duration,
    /// TRUNCATE, on every node.
    pub truncate: Duration,
    /// A lightweight transaction's Paxos rounds, retried under contention.
    pub cas_contention: Duration,
    /// A counter write: its leader's apply and the replicas' acknowledgements.
    pub counter_write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            write: Duration::from_millis(2_000),
            read: Duration::from_millis(5_000),
            range: Duration::from_millis(10_000),
            truncate: Duration::from_millis(60_000),
            cas_contention: Duration::from_millis(1_000),
            counter_write: Duration::from_millis(5_000),
        }
    }
}

/// The most rows a replica is asked for in one round of a read, whatever the
/// page: rounds go on until the visitor has what it needs.
const ROUND_ROWS: usize = 10_000;
/// The most row data a replica answers in one round, so that a partition of
/// any size can be read through frames of at most `MAX_FRAME`.
const ROUND_BYTES: u32 = 4 << 20;

/// How much of a read its visitor is expected to take (`Coordinator::read`):
/// rows in all (a page or a LIMIT) and rows of each partition (DISTINCT,
/// PER PARTITION LIMIT); `None` where it cannot tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    pub rows: Option<usize>,
    pub per_partition: Option<usize>,
}

impl Want {
    /// Every row there is.
    pub const ALL: Want = Want {
        rows: None,
        per_partition: None,
    };

    /// At most `n` rows.
    pub fn rows(n: usize) -> Want {
        Want {
            rows: Some(n),
            per_partition: None,
        }
    }

    /// What a replica answers in one round at most: `ROUND_ROWS` and
    /// `ROUND_BYTES` at most, and no more rows than wanted.
    fn round_limits(self) -> ReadLimits {
        let rows = self.rows.unwrap_or(ROUND_ROWS).clamp(1, ROUND_ROWS);
        ReadLimits {
            rows: Some(rows as u32),
            bytes: Some(ROUND_BYTES),
            per_partition: self.per_partition.map(|n| n.clamp(1, rows) as u32),
        }
    }
}

/// What sending a verb needs, detached from the coordinator so that a replica
/// write can outlive the request that started it.
#[derive(Clone)]
struct Transport {
    local: IpAddr,
    engine: Arc<dyn StorageEngine>,
    messaging: Option<Arc<Messaging>>,
    hints: hints::Hinter,
}

impl Transport {
    /// Sends one verb to a replica; the local node is served without a socket.
    async fn send(&self, to: IpAddr, verb: Verb, timeout: Duration) -> Result<Reply, String> {
        // A traced request's verbs carry its session, so the replica records
        // its own events under it.
        let verb = match crate::trace::current() {
            None => verb,
            Some(state) => {
                state.record(format!("Sending {} message to /{to}", verb.trace_name()));
                let untraced = verb.clone();
                verb.traced(state.session).unwrap_or(untraced)
            }
        };
        match &self.messaging {
            Some(m) => m.send(to, verb, timeout).await.map_err(|e| e.to_string()),
            None if to == self.local => Ok(crate::replica::local_reply(self.engine.as_ref(), verb)),
            None => Err(format!("no messaging service to reach {to}")),
        }
    }

    /// `send` of a request that goes to several replicas (encoded once). A
    /// traced request is wrapped in its session for each replica, by `send`.
    async fn send_outbound(&self, to: IpAddr, request: &Outbound, timeout: Duration) -> Result<Reply, String> {
        match (&self.messaging, crate::trace::current()) {
            (Some(m), None) => m.send_outbound(to, request, timeout).await.map_err(|e| e.to_string()),
            _ => self.send(to, request.verb().clone(), timeout).await,
        }
    }
}

/// Counts of coordinated requests: a request whose partition has no replica on
/// the coordinator is a forwarded one (token-aware drivers avoid those).
#[derive(Debug, Default)]
struct Metrics {
    writes: std::sync::atomic::AtomicI64,
    writes_forwarded: std::sync::atomic::AtomicI64,
    reads: std::sync::atomic::AtomicI64,
    reads_forwarded: std::sync::atomic::AtomicI64,
    /// Digest reads answered from one replica's data, and those that disagreed.
    digest_reads: std::sync::atomic::AtomicI64,
    digest_mismatches: std::sync::atomic::AtomicI64,
}

impl Coordinator {
    /// A coordinator for the node at `local`. Without `messaging` it reaches
    /// only its own replica (tests, and a node-local keyspace). Writes that
    /// miss a replica leave hints in `hint_store` by `hint_policy`.
    pub fn new(
        local: IpAddr,
        engine: Arc<dyn StorageEngine>,
        view: Arc<ClusterView>,
        messaging: Option<Arc<Messaging>>,
        timeouts: Timeouts,
        hint_store: Arc<hint_store::HintStore>,
        hint_policy: hints::HintPolicy,
    ) -> Coordinator {
        Coordinator {
            local,
            hints: hints::Hinter::new(hint_store, view.clone(), hint_policy),
            engine,
            view,
            messaging,
            timeouts,
            metrics: Metrics::default(),
            ballots: crate::paxos::BallotClock::new(rand::random()),
        }
    }

    /// The internode messaging service.
    pub fn messaging(&self) -> Option<Arc<Messaging>> {
        self.messaging.clone()
    }

    /// The timeouts of the node's configuration (`NodeConfig::timeouts`).
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn transport(&self) -> Transport {
        Transport {
            local: self.local,
            engine: self.engine.clone(),
            messaging: self.messaging.clone(),
            hints: self.hints.clone(),
        }
    }

    /// (name, count) of the coordinator's counters, for `system.coordinator_metrics`.
    pub fn metrics(&self) -> Vec<(&'static str, i64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let m = &self.metrics;
        vec![
            ("writes", m.writes.load(Relaxed)),
            ("writes_forwarded", m.writes_forwarded.load(Relaxed)),
            ("reads", m.reads.load(Relaxed)),
            ("reads_forwarded", m.reads_forwarded.load(Relaxed)),
            ("digest_reads", m.digest_reads.load(Relaxed)),
            ("digest_mismatches", m.digest_mismatches.load(Relaxed)),
        ]
    }

    fn count(&self, read: bool, replicas: &[IpAddr]) {
        use std::sync::atomic::Ordering::Relaxed;
        let (all, forwarded) = if read {
            (&self.metrics.reads, &self.metrics.reads_forwarded)
        } else {
            (&self.metrics.writes, &self.metrics.writes_forwarded)
        };
        all.fetch_add(1, Relaxed);
        if !replicas.contains(&self.local) {
            forwarded.fetch_add(1, Relaxed);
        }
    }

    /// Sends one verb to a replica; the local node is served without a socket.
    async fn send(&self, to: IpAddr, verb: Verb, timeout: Duration) -> Result<Reply, String> {
        self.transport().send(to, verb, timeout).await
    }

    fn replicas(&self, topology: &Topology, strategy: &Strategy, token: i64) -> Vec<IpAddr> {
        let r = topology.replicas(strategy, token);
        if r.is_empty() {
            vec![self.local]
        } else {
            r
        }
    }

    /// Reads `command` through the replicas of `strategy` at `cl`, feeding each
    /// live row to `visitor` in ring order until it says stop. A node-local
    /// keyspace, or a level this node's own replica meets alone, reads the local
    /// engine directly; otherwise one partition or ring range at a time is
    /// fetched from enough replicas, merged and repaired (`fetch`), in rounds
    /// of at most what the visitor is expected to take (`want`) and
    /// `ROUND_BYTES` of row data, each trusted only as far as every
    /// replica's answer reached (`short_read`). A round that has to read on
    /// inside a partition cut at the per-partition limit asks for twice as
    /// many rows of each partition in the next.
    pub async fn read(
        &self,
        strategy: &Strategy,
        cl: Consistency,
        command: &ReadCommand,
        want: Want,
        now: i64,
        visitor: &mut Visitor<'_>,
    ) -> Result<(), QueryError> {
        if matches!(strategy, Strategy::Local) {
            self.engine.read(command, now, visitor)?;
            return Ok(());
        }
        // One part per partition or ring range, each with the token whose
        // replicas hold it and its timeout.
        let timeouts = self.timeouts();
        let parts: Vec<(i64, ReadCommand, Duration)> = match &command.partitions {
            PartitionSelection::Keys(keys) => {
                let mut keys = keys.clone();
                keys.sort();
                keys.dedup();
                let timeout = if keys.len() > 1 { timeouts.range } else { timeouts.read };
                keys.into_iter()
                    .filter(|key| command.resume.as_ref().is_none_or(|r| *key >= r.position))
                    .map(|key| {
                        let token = key.token;
                        let one = ReadCommand {
                            partitions: PartitionSelection::Keys(vec![key]),
                            ..command.clone()
                        };
                        (token, one, timeout)
                    })
                    .collect()
            }
            PartitionSelection::Tokens { start, end } => {
                let topology = self.view.topology();
                let from = command.resume.as_ref().map(|r| Bound::Included(r.position.token)).unwrap_or(*start);
                sub_ranges(&topology, from, *end)
                    .into_iter()
                    .map(|(lo, hi, owner)| {
                        let part = ReadCommand {
                            partitions: PartitionSelection::Tokens { start: lo, end: hi },
                            ..command.clone()
                        };
                        (owner, part, timeouts.range)
                    })
                    .collect()
            }
        };
        let first_limits = want.round_limits();
        for (token, mut part, timeout) in parts {
            let mut rounds = short_read::Rounds::default();
            let mut limits = first_limits;
            loop {
                let (fetched, cuts) = self.fetch(strategy, cl, token, &part, timeout, limits).await?;
                let mut visit = |pv: &crate::storage::PartitionView<'_>, row: Option<(&[u8], &crate::storage::LiveRow)>| {
                    rounds.visit(&cuts, visitor, pv, row)
                };
                match fetched {
                    Fetched::Local => self.engine.read(&part, now, &mut visit)?,
                    Fetched::Merged(merged) => merged.read(&part, now, &mut visit)?,
                }
                if rounds.is_done() {
                    return Ok(());
                }
                match rounds.next(&cuts, visitor) {
                    Some(resume) => {
                        if cuts.partitions.contains(&resume) {
                            limits.per_partition = limits.per_partition.map(|n| n.saturating_mul(2).min(limits.rows.unwrap_or(n)));
                        }
                        part.resume = Some(resume);
                    }
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Fetches one command's raw data from enough replicas of `token`, each
    /// answering within `limits`, merges it, and repairs replicas whose answer
    /// differed; with how far the merge holds where answers were cut short
    /// (`short_read`). `Local` when this node's own replica meets the level
    /// alone: the caller reads the engine itself, whole.
    /// `timeout` is the read or the range timeout, as the command is.
    async fn fetch(
        &self,
        strategy: &Strategy,
        cl: Consistency,
        token: i64,
        command: &ReadCommand,
        timeout: Duration,
        limits: ReadLimits,
    ) -> Result<(Fetched, short_read::Cuts), QueryError> {
        let topology = self.view.topology();
        let local_dc = topology.local_dc();
        let requirement = Requirement::for_level(cl, strategy, &local_dc);
        let replicas = self.replicas(&topology, strategy, token);
        self.count(true, &replicas);
        let alive: Vec<IpAddr> = replicas.into_iter().filter(|r| topology.is_up(r)).collect();
        if let Some(short) = requirement.shortfall(alive.iter().map(|r| topology.data_center(r))) {
            return Err(QueryError::Unavailable {
                consistency: cl,
                required: short.required as i32,
                alive: short.alive as i32,
            });
        }
        // The local replica first (it answers without a network hop), then the
        // local data centre, then the rest in ring order.
        let mut candidates: Vec<(IpAddr, &str)> = alive.iter().map(|r| (*r, topology.data_center(r))).collect();
        candidates.sort_by_key(|(r, dc)| (*r != self.local, *dc != local_dc));
        if Tally::new(&requirement).pick(&candidates) == [self.local] {
            if crate::trace::is_on() {
                self.trace_local_read(command);
            }
            return Ok((Fetched::Local, short_read::Cuts::default()));
        }
        if let Some((agreed, cuts)) = self
            .digest_read(&requirement, &topology, &candidates, command, timeout, limits)
            .await
        {
            return Ok((Fetched::Merged(agreed), cuts));
        }
        let mut tally = Tally::new(&requirement);
        let mut answers: Vec<(IpAddr, Vec<Mutation>)> = Vec::new();
        while !tally.is_met() {
            let batch = tally.pick(&candidates);
            if batch.is_empty() {
                return Err(QueryError::ReadTimeout {
                    consistency: cl,
                    received: tally.received() as i32,
                    block_for: requirement.block_for() as i32,
                    data_present: !answers.is_empty(),
                });
            }
            candidates.retain(|(r, _)| !batch.contains(r));
            for r in &batch {
                crate::trace::event_with(|| format!("reading data from /{r}"));
            }
            let replies = join_all(batch.iter().map(|r| {
                let verb = Verb::Read {
                    command: command.clone(),
                    limits,
                };
                async move { (*r, self.send(*r, verb, timeout).await) }
            }))
            .await;
            for (r, reply) in replies {
                if let Ok(Reply::Data { partitions }) = reply {
                    tally.answer(topology.data_center(&r));
                    answers.push((r, partitions));
                }
            }
        }
        let cuts = short_read::cutoff(answers.iter().map(|(_, a)| a.as_slice()), limits, command.reversed);
        for (_, answer) in &mut answers {
            short_read::trim(answer, &cuts, command.reversed);
        }
        let merged = MemoryEngine::from_mutations(command.table, answers.iter().flat_map(|(_, p)| p.iter().cloned()).collect());
        if answers.len() > 1 {
            self.repair(&merged, command, &answers).await?;
        }
        Ok((Fetched::Merged(merged), cuts))
    }

    /// A traced read this node's replica answers alone: what it reads, as a
    /// replica would record it (the extra raw read happens only when traced).
    fn trace_local_read(&self, command: &ReadCommand) {
        crate::trace::event_with(|| format!("reading data from /{} (this node)", self.local));
        crate::trace::event(match command.partitions {
            PartitionSelection::Keys(_) => "Executing single-partition query",
            PartitionSelection::Tokens { .. } => "Executing range scan",
        });
        if let Ok(raw) = self.engine.read_raw(command, ReadLimits::NONE) {
            let (live, tombstones) = crate::replica::row_and_tombstone_counts(&raw);
            crate::trace::event_with(|| format!("Read {live} live rows and {tombstones} tombstone cells"));
        }
    }

    /// The fast path of a read that needs several replicas: data from the first,
    /// digests from the others. `None` when they disagree or any did not answer;
    /// the caller then reads full data from each and repairs.
    async fn digest_read(
        &self,
        requirement: &Requirement,
        topology: &Topology,
        candidates: &[(IpAddr, &str)],
        command: &ReadCommand,
        timeout: Duration,
        limits: ReadLimits,
    ) -> Option<(MemoryEngine, short_read::Cuts)> {
        let mut tally = Tally::new(requirement);
        let batch = tally.pick(candidates);
        let (data_replica, digest_replicas) = batch.split_first()?;
        if digest_replicas.is_empty() {
            return None;
        }
        crate::trace::event_with(|| format!("reading data from /{data_replica}"));
        for r in digest_replicas {
            crate::trace::event_with(|| format!("reading digest from /{r}"));
        }
        let data = async {
            let verb = Verb::Read {
                command: command.clone(),
                limits,
            };
            self.send(*data_replica, verb, timeout).await
        };
        let digests = join_all(digest_replicas.iter().map(|r| async move {
            let verb = Verb::ReadDigest {
                command: command.clone(),
                limits,
            };
            (*r, self.send(*r, verb, timeout).await)
        }));
        let (data, digests) = futures::future::join(data, digests).await;
        let Ok(Reply::Data { partitions }) = data else { return None };
        let cuts = short_read::cutoff([partitions.as_slice()], limits, command.reversed);
        let data = MemoryEngine::from_mutations(command.table, partitions);
        let expected = digest::digest_of(&data, command).ok()?;
        tally.answer(topology.data_center(data_replica));
        for (r, reply) in digests {
            match reply {
                Ok(Reply::Digest { digest }) if digest == expected => tally.answer(topology.data_center(&r)),
                _ => {
                    self.metrics.digest_mismatches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    crate::trace::event_with(|| format!("Digest mismatch or no digest from /{r}: reading data from every replica"));
                    return None;
                }
            }
        }
        if !tally.is_met() {
            return None;
        }
        self.metrics.digest_reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some((data, cuts))
    }

    /// Blocking read repair: every replica whose answer differs from the merge
    /// gets the merged partitions before the read is answered.
    async fn repair(&self, merged: &MemoryEngine, command: &ReadCommand, answers: &[(IpAddr, Vec<Mutation>)]) -> Result<(), QueryError> {
        let full = merged.read_raw(command, ReadLimits::NONE)?;
        let mut repairs = Vec::new();
        for (replica, got) in answers {
            let stale: Vec<Mutation> = full
                .iter()
                .filter(|m| !got.iter().any(|g| g.position == m.position && same_content(g, m)))
                .cloned()
                .collect();
            if !stale.is_empty() {
                repairs.push((*replica, stale));
            }
        }
        crate::metrics::global().read_repairs.inc_by(repairs.len() as u64);
        if repairs.is_empty() {
            return Ok(());
        }
        let timeout = self.timeouts().write;
        let results = join_all(repairs.into_iter().map(|(r, mutations)| async move {
            tracing::debug!(replica = %r, partitions = mutations.len(), "read repair");
            crate::trace::event_with(|| format!("Sending read-repair-mutation to /{r} ({} partitions)", mutations.len()));
            matches!(self.send(r, Verb::Mutate { mutations }, timeout).await, Ok(Reply::Ack))
        }))
        .await;
        if results.iter().all(|ok| *ok) {
            Ok(())
        } else {
            Err(QueryError::WriteTimeout {
                consistency: Consistency::One,
                received: 0,
                block_for: 1,
                write_type: "BATCH".into(),
            })
        }
    }
}

impl Coordinator {
    /// This node's hints.
    pub fn hint_store(&self) -> &Arc<hint_store::HintStore> {
        self.hints.store()
    }

    /// Replays stored hints to replicas that are up, until `stop` is set.
    pub async fn replay_hints(self: Arc<Self>, mut stop: crate::jobs::Stop) {
        for round in 0u64.. {
            tokio::select! {
                _ = stop.stopped() => return,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
            if round % 30 == 29 {
                self.drop_hints_of_departed_nodes();
            }
            let topology = self.view.topology();
            let store = self.hint_store();
            for target in store.targets().into_iter().filter(|t| *t != self.local && topology.up.contains(t)) {
                let coordinator: &Coordinator = &self;
                let send = |hint: hint_file::Hint| async move {
                    let verb = Verb::Mutate {
                        mutations: vec![hint.mutation],
                    };
                    coordinator.send(target, verb, coordinator.timeouts().write).await
                };
                match replay_to(store, target, send).await {
                    Ok(r) => crate::metrics::global().hints_replayed.inc_by(r.sent as u64),
                    Err(e) => tracing::warn!(%target, error = %e, "cannot replay hints"),
                }
            }
        }
    }

    /// Hands every hint this node holds to another live node, which keeps
    /// them for their targets (or applies those meant for itself): what a
    /// decommissioning node does before it leaves (Cassandra's
    /// `HintsService.transferHints`). The node taken is the first live one of
    /// this data centre in ring order, else of any. Returns how many hints went.
    pub async fn transfer_hints(&self) -> Result<usize, String> {
        let store = self.hint_store();
        let targets: Vec<IpAddr> = store.targets().into_iter().filter(|t| !self.view.is_gone(*t)).collect();
        if targets.is_empty() {
            return Ok(0);
        }
        let topology = self.view.topology();
        let local_dc = topology.local_dc();
        let mut live: Vec<IpAddr> = topology
            .members()
            .into_iter()
            .filter(|n| *n != self.local && topology.is_up(n))
            .collect();
        live.sort_by_key(|n| (topology.data_center(n) != local_dc, *n));
        let Some(receiver) = live.first().copied() else {
            return Err("no live node to hand this node's hints to".into());
        };
        let mut moved = 0;
        for target in targets {
            let send = |hint: hint_file::Hint| async move {
                let verb = Verb::Hint {
                    target,
                    created_at: hint.created_at,
                    mutation: hint.mutation,
                };
                self.send(receiver, verb, self.timeouts().write).await
            };
            match replay_to(store, target, send).await {
                Ok(Replayed { sent, complete: true }) => moved += sent,
                Ok(_) => return Err(format!("{receiver} did not take the hints for {target}")),
                Err(e) => return Err(e.to_string()),
            }
        }
        tracing::info!(%receiver, hints = moved, "handed this node's hints over");
        Ok(moved)
    }
}

/// Sends every hint for `target`, file by file, by `send`; a file whose
/// hints all went (or were refused, or expired) is deleted. Stops at the
/// first hint that gets no answer, remembering how far it got.
pub async fn replay_to<F, Fut>(store: &hint_store::HintStore, target: IpAddr, send: F) -> Result<Replayed, hint_store::HintStoreError>
where
    F: Fn(hint_file::Hint) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, String>>,
{
    let mut sent = 0;
    for path in store.files(target)? {
        let (hints, delivered) = store.read(&path)?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        for (i, hint) in hints.into_iter().enumerate().skip(delivered) {
            if hints::expired(&hint, now_ms) {
                continue;
            }
            match send(hint).await {
                Ok(Reply::Ack) => sent += 1,
                // Refused (a dropped table, say): it will never be taken.
                Ok(reply) => tracing::warn!(%target, reply = %reply_summary(&reply), "a replica refused a hint; dropping it"),
                Err(_) => {
                    store.delivered(&path, i);
                    return Ok(Replayed { sent, complete: false });
                }
            }
        }
        store.delete(&path)?;
    }
    Ok(Replayed { sent, complete: true })
}

/// What one `replay_to` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Hints the receiver acknowledged.
    pub sent: usize,
    /// Whether none is left (none failed to go).
    pub complete: bool,
}

impl Coordinator {
    /// Drops the hints kept for nodes that left the ring (decommissioned or
    /// removed): they will never be delivered.
    fn drop_hints_of_departed_nodes(&self) {
        let store = self.hint_store();
        for target in store.targets().into_iter().filter(|t| self.view.is_gone(*t)) {
            match store.drop_all(target) {
                Ok(()) => tracing::info!(%target, "dropped the hints for a node that left the ring"),
                Err(e) => tracing::warn!(%target, error = %e, "cannot drop the hints for a node that left the ring"),
            }
        }
    }
}

/// A replica's answer, short, for a log line.
fn reply_summary(reply: &Reply) -> String {
    match reply {
        Reply::Failed { message } => message.clone(),
        _ => "an answer that is not an acknowledgement".into(),
    }
}

/// Where a read's data comes from once the replicas answered.
enum Fetched {
    /// This node's own replica meets the level: read the local engine.
    Local,
    /// The replicas' answers, merged by timestamp.
    Merged(MemoryEngine),
}

/// Whether two raw answers for one partition hold the same data (range
/// tombstones may come in another order).
fn same_content(a: &Mutation, b: &Mutation) -> bool {
    a.partition_deletion == b.partition_deletion
        && a.static_row == b.static_row
        && a.rows == b.rows
        && a.range_tombstones.len() == b.range_tombstones.len()
        && a.range_tombstones.iter().all(|rt| b.range_tombstones.contains(rt))
}

/// The ring's ranges that intersect `[start, end]`, in token order, each with a
/// token whose replicas own it.
fn sub_ranges(topology: &Topology, start: Bound<i64>, end: Bound<i64>) -> Vec<(Bound<i64>, Bound<i64>, i64)> {
    let tokens: Vec<i64> = topology.ring.tokens().collect();
    if tokens.is_empty() {
        return vec![(start, end, 0)];
    }
    crate::ring::ranges(&tokens)
        .into_iter()
        .filter_map(|r| {
            let lo = max_start(r.start, start);
            let hi = min_end(r.end, end);
            non_empty(lo, hi).then_some((lo, hi, r.owner))
        })
        .collect()
}

fn start_value(b: Bound<i64>) -> Option<i128> {
    match b {
        Bound::Included(v) => Some(i128::from(v)),
        Bound::Excluded(v) => Some(i128::from(v) + 1),
        Bound::Unbounded => None,
    }
}

fn end_value(b: Bound<i64>) -> Option<i128> {
    match b {
        Bound::Included(v) => Some(i128::from(v)),
        Bound::Excluded(v) => Some(i128::from(v) - 1),
        Bound::Unbounded => None,
    }
}

fn max_start(a: Bound<i64>, b: Bound<i64>) -> Bound<i64> {
    match (start_value(a), start_value(b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => {
            if x >= y {
                a
            } else {
                b
            }
        }
    }
}

fn min_end(a: Bound<i64>, b: Bound<i64>) -> Bound<i64> {
    match (end_value(a), end_value(b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => {
            if x <= y {
                a
            } else {
                b
            }
        }
    }
}

fn non_empty(lo: Bound<i64>, hi: Bound<i64>) -> bool {
    match (start_value(lo), end_value(hi)) {
        (Some(l), Some(h)) => l <= h,
        _ => true,
    }
}

#[cfg(test)]
mod tests;
