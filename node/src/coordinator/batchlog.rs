//! The batchlog, as in Cassandra: a logged BATCH that writes more than one
//! partition is first stored whole in the batchlog (`system.batches`) of one or
//! two other live nodes of this data centre, then applied, then removed from
//! those batchlogs. A batch whose coordinator died (or failed) before the
//! removal stays there; every node replays the batches of its own batchlog that
//! are older than twice the write timeout, writing each mutation again (at ANY:
//! a replica that is down gets a hint) and then removing the batch. So once a
//! logged batch is acknowledged as stored, all of it is applied eventually,
//! whatever happens to its coordinator.
//!
//! The batchlog entry goes to its nodes as an ordinary `Verb::Mutate` of the
//! node-local table `system.batches`, as Cassandra's own batchlog writes did
//! before they got a verb of their own: the internode protocol is unchanged.
//! Which nodes (`endpoints`) is pure; the rest is I/O.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use cql_protocol::wire::Consistency;
use rand::seq::SliceRandom;
use rand::Rng;
use uuid::Uuid;

use super::replicas::{by_strategy, Topology};
use super::Coordinator;
use crate::error::QueryError;
use crate::internode::{Outbound, Reply, Verb};
use crate::schema_service::SchemaService;
use crate::storage::{Cell, ColumnData, DeletionTime, LiveData, Mutation, PartitionPosition, ReadCommand, Row, StorageEngine, Visit};
use crate::token::murmur3_token;

/// How often a node looks for batches to replay (Cassandra: every 10 s).
const REPLAY_INTERVAL: Duration = Duration::from_secs(10);

/// Batches replayed per round at most; the rest wait for the next round.
const REPLAY_BATCHES_PER_ROUND: usize = 64;

/// The fixed id of `system.batches` (see `system::definitions`).
pub fn batches_table() -> Uuid {
    crate::system::system_table_id("system", "batches")
}

/// Whether a logged batch of these mutations needs the batchlog: it writes
/// more than one partition of replicated tables (a single partition is applied
/// atomically by every replica anyway).
pub fn needs_batchlog(mutations: &[Mutation]) -> bool {
    let partitions: HashSet<(&Uuid, &[u8])> = mutations.iter().map(|m| (&m.table, m.position.key.as_slice())).collect();
    partitions.len() > 1
}

/// The nodes that keep a batch (Cassandra's `filterBatchlogEndpoints`): in a
/// data centre of one node, that node; else up to two live nodes of this data
/// centre other than this one, from racks other than this one's when there are
/// two such, and from two different racks when there are. Empty when no other
/// node of the data centre is up.
pub fn endpoints(topology: &Topology, local: IpAddr, rng: &mut impl Rng) -> Vec<IpAddr> {
    let dc = topology.data_center(&local).to_string();
    let in_dc: Vec<IpAddr> = topology.members().into_iter().filter(|n| topology.data_center(n) == dc).collect();
    if in_dc.len() <= 1 {
        return vec![local];
    }
    let rack = |n: &IpAddr| topology.racks.get(n).cloned().unwrap_or_default();
    let mut candidates: Vec<IpAddr> = in_dc.into_iter().filter(|n| *n != local && topology.is_up(n)).collect();
    candidates.sort();
    if candidates.len() <= 2 {
        return candidates;
    }
    let local_rack = rack(&local);
    if candidates.iter().filter(|n| rack(n) != local_rack).count() >= 2 {
        candidates.retain(|n| rack(n) != local_rack);
    }
    let mut by_rack: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for n in candidates {
        by_rack.entry(rack(&n)).or_default().push(n);
    }
    if by_rack.len() == 1 {
        let mut only: Vec<IpAddr> = by_rack.into_values().flatten().collect();
        only.shuffle(rng);
        only.truncate(2);
        return only;
    }
    let mut racks: Vec<Vec<IpAddr>> = by_rack.into_values().collect();
    racks.shuffle(rng);
    racks
        .into_iter()
        .take(2)
        .filter_map(|members| members.choose(rng).copied())
        .collect()
}

fn position(id: Uuid) -> PartitionPosition {
    let key = id.as_bytes().to_vec();
    PartitionPosition {
        token: murmur3_token(&key),
        key,
    }
}

/// The batchlog row of batch `id`: `mutations` as a list of blobs (each a
/// mutation's internode encoding) and the internode version that wrote them.
pub fn entry(id: Uuid, mutations: &[Mutation]) -> Result<Mutation, QueryError> {
    let now = chrono::Utc::now();
    let (ts, secs) = (now.timestamp_micros(), now.timestamp());
    let mut elements = BTreeMap::new();
    for (i, m) in mutations.iter().enumerate() {
        let bytes = postcard::to_stdvec(m).map_err(|e| QueryError::Server {
            message: format!("cannot encode a batchlog entry: {e}"),
        })?;
        elements.insert((i as u128).to_be_bytes().to_vec(), Cell::live(ts, bytes, 0, secs));
    }
    let mut row = Row {
        marker: Some(Cell::live(ts, Vec::new(), 0, secs)),
        ..Row::default()
    };
    row.columns.insert(
        "mutations".into(),
        ColumnData::Complex {
            deletion: None,
            cells: elements,
        },
    );
    let version = i32::from(crate::internode::INTERNODE_VERSION).to_be_bytes().to_vec();
    row.columns
        .insert("version".into(), ColumnData::Simple(Cell::live(ts, version, 0, secs)));
    let mut m = Mutation::new(batches_table(), position(id));
    m.rows.push((Vec::new(), row));
    Ok(m)
}

/// The deletion of batch `id` from a batchlog.
pub fn removal(id: Uuid) -> Mutation {
    let now = chrono::Utc::now();
    let mut m = Mutation::new(batches_table(), position(id));
    m.partition_deletion = Some(DeletionTime {
        timestamp: now.timestamp_micros(),
        local_deletion_time: now.timestamp(),
    });
    m
}

/// The batches of this node's batchlog written before `before_ms` (Unix
/// milliseconds), at most `limit`: (id, mutations). An entry that does not
/// decode is returned with no mutations, so that it is removed.
pub fn due(engine: &dyn StorageEngine, before_ms: i64, limit: usize) -> Result<Vec<(Uuid, Vec<Mutation>)>, QueryError> {
    let mut out = Vec::new();
    engine.read(
        &ReadCommand::all(batches_table()),
        chrono::Utc::now().timestamp(),
        &mut |pv, row| {
            let Some((_, live)) = row else {
                return Visit::Continue;
            };
            let Ok(id) = Uuid::from_slice(&pv.position.key) else {
                return Visit::NextPartition;
            };
            if crate::query::literal::timeuuid_millis(&id).is_some_and(|at| at < before_ms) {
                let mutations = match live.get("mutations") {
                    Some(LiveData::Complex(cells)) => cells
                        .iter()
                        .map(|(_, cell)| postcard::from_bytes::<Mutation>(&cell.value))
                        .collect::<Result<Vec<_>, _>>()
                        .unwrap_or_else(|e| {
                            tracing::warn!(batch = %id, error = %e, "a batchlog entry does not decode; dropping it");
                            Vec::new()
                        }),
                    _ => Vec::new(),
                };
                out.push((id, mutations));
            }
            if out.len() >= limit {
                Visit::Stop
            } else {
                Visit::NextPartition
            }
        },
    )?;
    Ok(out)
}

impl Coordinator {
    /// Writes a logged batch at `cl`: into the batchlog first (Unavailable
    /// when no node can keep it, WriteTimeout of type BATCH_LOG when they do
    /// not answer in time), then every mutation, then out of the batchlog.
    pub async fn write_logged(&self, schema: &crate::schema::Schema, mutations: Vec<Mutation>, cl: Consistency) -> Result<(), QueryError> {
        let id = Uuid::now_v1(&[0, 0, 0, 0, 0, 2]);
        let mut keepers = endpoints(&self.view.topology(), self.local, &mut rand::thread_rng());
        if keepers.is_empty() {
            if cl != Consistency::Any {
                return Err(QueryError::Unavailable {
                    consistency: Consistency::One,
                    required: 1,
                    alive: 0,
                });
            }
            keepers = vec![self.local];
        }
        self.store_batch(&keepers, entry(id, &mutations)?).await?;
        crate::metrics::global().batches_logged.inc();
        crate::failpoint::hit("batchlog.stored");
        for (strategy, list) in by_strategy(schema, mutations) {
            self.write(&strategy, list, cl, "BATCH").await?;
        }
        // Only once every mutation met its level; otherwise a replay finishes it.
        self.remove_batch(keepers, id);
        Ok(())
    }

    /// Stores a batchlog entry on every one of `keepers`.
    async fn store_batch(&self, keepers: &[IpAddr], entry: Mutation) -> Result<(), QueryError> {
        let request = Outbound::new(Verb::Mutate { mutations: vec![entry] });
        let transport = self.transport();
        let timeout = self.timeouts().write;
        let replies = futures::future::join_all(keepers.iter().map(|k| transport.send_outbound(*k, &request, timeout))).await;
        let received = replies.iter().filter(|r| matches!(r, Ok(Reply::Ack))).count();
        if received == keepers.len() {
            return Ok(());
        }
        Err(QueryError::WriteTimeout {
            consistency: if keepers.len() == 1 { Consistency::One } else { Consistency::Two },
            received: received as i32,
            block_for: keepers.len() as i32,
            write_type: "BATCH_LOG".into(),
        })
    }

    /// Removes batch `id` from the batchlogs of `keepers`, in the background
    /// (a removal that fails only means a harmless replay later).
    fn remove_batch(&self, keepers: Vec<IpAddr>, id: Uuid) {
        let transport = self.transport();
        let timeout = self.timeouts().write;
        tokio::spawn(async move {
            let request = Outbound::new(Verb::Mutate {
                mutations: vec![removal(id)],
            });
            for keeper in keepers {
                if let Err(e) = transport.send_outbound(keeper, &request, timeout).await {
                    tracing::debug!(%keeper, batch = %id, error = %e, "cannot remove a batch from a batchlog; it will be replayed");
                }
            }
        });
    }

    /// Replays the batches of this node's batchlog older than twice the write
    /// timeout, every `REPLAY_INTERVAL`, until `stop` is set.
    pub async fn replay_batches(self: Arc<Self>, schema: Arc<SchemaService>, mut stop: crate::jobs::Stop) {
        loop {
            tokio::select! {
                _ = stop.stopped() => return,
                _ = tokio::time::sleep(REPLAY_INTERVAL) => {}
            }
            let before_ms = chrono::Utc::now().timestamp_millis() - 2 * self.timeouts().write.as_millis() as i64;
            let batches = match due(self.engine.as_ref(), before_ms, REPLAY_BATCHES_PER_ROUND) {
                Ok(batches) => batches,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the batchlog");
                    continue;
                }
            };
            for (id, mutations) in batches {
                match self.replay_batch(&schema.snapshot(), mutations).await {
                    Ok(()) => {
                        crate::metrics::global().batches_replayed.inc();
                        tracing::info!(batch = %id, "replayed a batch from the batchlog");
                        if let Err(e) = self.engine.apply(removal(id)) {
                            tracing::warn!(batch = %id, error = %e, "cannot remove a replayed batch");
                        }
                    }
                    Err(e) => tracing::warn!(batch = %id, error = %e, "cannot replay a batch yet; will try again"),
                }
            }
        }
    }

    /// Writes a batch's mutations again, at ANY (hints for replicas that are
    /// down); mutations of tables dropped since are left out.
    async fn replay_batch(&self, schema: &crate::schema::Schema, mutations: Vec<Mutation>) -> Result<(), QueryError> {
        let known: Vec<Mutation> = mutations.into_iter().filter(|m| schema.table_by_id(m.table).is_some()).collect();
        for (strategy, list) in by_strategy(schema, known) {
            self.write(&strategy, list, Consistency::Any, "BATCH").await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::net::Ipv4Addr;

    fn ip(d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, d))
    }

    fn topology(nodes: &[(u8, &str, &str)], down: &[u8]) -> Topology {
        let mut t = Topology {
            ring: crate::ring::Ring::new(nodes.iter().enumerate().map(|(i, (d, _, _))| (ip(*d), vec![i as i64 * 1000]))),
            local: Some(ip(1)),
            ..Topology::default()
        };
        for (d, dc, rack) in nodes {
            t.data_centers.insert(ip(*d), dc.to_string());
            t.racks.insert(ip(*d), rack.to_string());
            if !down.contains(d) {
                t.up.insert(ip(*d));
            }
        }
        t
    }

    fn pick(t: &Topology, seed: u64) -> Vec<IpAddr> {
        let mut v = endpoints(t, ip(1), &mut rand::rngs::StdRng::seed_from_u64(seed));
        v.sort();
        v
    }

    #[test]
    fn a_single_node_keeps_its_own_batches() {
        assert_eq!(pick(&topology(&[(1, "dc1", "r1")], &[]), 0), vec![ip(1)]);
    }

    #[test]
    fn other_live_nodes_of_the_data_centre_keep_a_batch() {
        let t = topology(&[(1, "dc1", "r1"), (2, "dc1", "r1"), (3, "dc1", "r1"), (4, "dc2", "r1")], &[]);
        assert_eq!(pick(&t, 0), vec![ip(2), ip(3)], "never itself nor another data centre");
        let t = topology(&[(1, "dc1", "r1"), (2, "dc1", "r1"), (3, "dc1", "r1")], &[3]);
        assert_eq!(pick(&t, 0), vec![ip(2)], "a node that is down keeps nothing");
        let t = topology(&[(1, "dc1", "r1"), (2, "dc1", "r1")], &[2]);
        assert!(pick(&t, 0).is_empty(), "no live node but itself: nobody (Unavailable)");
    }

    #[test]
    fn two_keepers_come_from_other_racks_and_from_two_of_them() {
        let nodes = [
            (1, "dc1", "r1"),
            (2, "dc1", "r1"),
            (3, "dc1", "r2"),
            (4, "dc1", "r2"),
            (5, "dc1", "r3"),
        ];
        let t = topology(&nodes, &[]);
        for seed in 0..20 {
            let chosen = pick(&t, seed);
            assert_eq!(chosen.len(), 2);
            assert!(!chosen.contains(&ip(2)), "the local rack is avoided: {chosen:?}");
            let racks: HashSet<_> = chosen.iter().map(|n| t.racks[n].clone()).collect();
            assert_eq!(racks.len(), 2, "two racks: {chosen:?}");
        }
    }

    #[test]
    fn one_partition_needs_no_batchlog() {
        let table = Uuid::nil();
        let m = |key: &[u8]| Mutation::new(table, position(Uuid::from_slice(&[key[0]; 16]).unwrap()));
        assert!(!needs_batchlog(&[m(b"a"), m(b"a")]));
        assert!(needs_batchlog(&[m(b"a"), m(b"b")]));
    }

    #[test]
    fn an_entry_is_read_back_once_due() {
        let engine = crate::storage::memory::MemoryEngine::new();
        engine.create_table(batches_table()).unwrap();
        let engine = &engine as &dyn StorageEngine;
        let id = Uuid::now_v1(&[0; 6]);
        let batch = vec![
            Mutation::new(Uuid::nil(), position(Uuid::nil())),
            Mutation::new(Uuid::nil(), position(id)),
        ];
        engine.apply(entry(id, &batch).unwrap()).unwrap();
        let now_ms = chrono::Utc::now().timestamp_millis();
        assert!(due(engine, now_ms - 60_000, 10).unwrap().is_empty(), "not due yet");
        assert_eq!(due(engine, now_ms + 1000, 10).unwrap(), vec![(id, batch)]);
        engine.apply(removal(id)).unwrap();
        assert!(due(engine, now_ms + 1000, 10).unwrap().is_empty(), "removed");
    }
}
