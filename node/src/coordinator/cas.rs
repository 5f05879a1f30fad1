//! The coordinator's side of a lightweight transaction: Paxos rounds on one
//! partition, as Cassandra runs them. A `Round` prepares a fresh ballot on the
//! replicas (natural and pending) until a quorum promises (SERIAL: of every
//! replica; LOCAL_SERIAL: of the local data centre), first finishing a round it
//! finds in progress and bringing replicas that missed the last commit up to
//! date; the caller then reads the partition at the matching quorum, decides,
//! and proposes its update (or an empty one, which changes nothing but closes
//! older rounds), then commits it at the statement's consistency. Contention (a
//! refused ballot, a proposal every replica refused) is answered by a random
//! pause of up to 100 ms and a new round, until `cas_contention_timeout_ms`:
//! then a WriteTimeout of write type CAS (a ReadTimeout for a SERIAL read). An
//! update only some replicas accepted may yet be finished by a later round: a
//! WriteTimeout (CAS) at once, its outcome unknown, as in Cassandra.

use std::net::IpAddr;
use std::time::Duration;

use cql_protocol::wire::Consistency;
use futures::stream::{FuturesUnordered, StreamExt};
use rand::Rng;
use tokio::time::Instant;
use uuid::Uuid;

use super::consistency::{Requirement, Tally};
use super::replicas::Strategy;
use super::Coordinator;
use crate::error::QueryError;
use crate::internode::{Outbound, Reply, Verb};
use crate::paxos::{Ballot, Promise, Proposal, Summary};
use crate::storage::PartitionPosition;

/// Paxos on one partition, driven by its caller: `begin`, read, `propose`, `commit`.
pub struct Round<'c> {
    coordinator: &'c Coordinator,
    strategy: Strategy,
    serial: Consistency,
    table: Uuid,
    position: PartitionPosition,
    deadline: Instant,
    /// The highest ballot a replica promised to another proposer.
    above: Option<Ballot>,
    /// A SERIAL read: times out as a read.
    for_read: bool,
}

/// What became of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acceptance {
    /// Accepted by the quorum: it is chosen.
    Quorum,
    /// Refused by every replica: a higher ballot came first; nothing was chosen.
    Refused,
    /// Accepted by some: a later round may or may not finish it.
    Partial { accepted: usize, block_for: usize },
}

/// Who takes part in a round and how many of them must answer.
struct Participants {
    alive: Vec<IpAddr>,
    down: Vec<IpAddr>,
    requirement: Requirement,
}

impl Coordinator {
    /// A Paxos round on `table`'s partition at `position`, at `serial`
    /// (SERIAL or LOCAL_SERIAL), for a conditional write or (`for_read`) a
    /// SERIAL read.
    pub fn paxos(&self, strategy: &Strategy, serial: Consistency, table: Uuid, position: PartitionPosition, for_read: bool) -> Round<'_> {
        Round {
            coordinator: self,
            strategy: strategy.clone(),
            serial,
            table,
            position,
            deadline: Instant::now() + self.timeouts.cas_contention,
            above: None,
            for_read,
        }
    }
}

impl Round<'_> {
    /// The level of the round's read of the partition: QUORUM under SERIAL,
    /// LOCAL_QUORUM under LOCAL_SERIAL.
    pub fn read_consistency(&self) -> Consistency {
        match self.serial {
            Consistency::LocalSerial => Consistency::LocalQuorum,
            _ => Consistency::Quorum,
        }
    }

    fn participants(&self, cl: Consistency) -> Result<Participants, QueryError> {
        let c = self.coordinator;
        let topology = c.view.topology();
        let token = self.position.token;
        let mut replicas = c.replicas(&topology, &self.strategy, token);
        let pending = topology.pending(&self.strategy, token);
        let requirement =
            Requirement::for_level(cl, &self.strategy, &topology.local_dc()).with_pending(pending.iter().map(|p| topology.data_center(p)));
        replicas.extend(pending);
        let (alive, down): (Vec<IpAddr>, Vec<IpAddr>) = replicas.into_iter().partition(|r| topology.is_up(r));
        if let Some(short) = requirement.shortfall(alive.iter().map(|r| topology.data_center(r))) {
            return Err(QueryError::Unavailable {
                consistency: cl,
                required: short.required as i32,
                alive: short.alive as i32,
            });
        }
        Ok(Participants { alive, down, requirement })
    }

    /// The error once contention outlasted `cas_contention_timeout_ms`.
    fn timed_out(&self, block_for: usize) -> QueryError {
        if self.for_read {
            QueryError::ReadTimeout {
                consistency: self.serial,
                received: 0,
                block_for: block_for as i32,
                data_present: false,
            }
        } else {
            QueryError::WriteTimeout {
                consistency: self.serial,
                received: 0,
                block_for: block_for as i32,
                write_type: "CAS".into(),
            }
        }
    }

    /// A random pause before the next attempt, or the timeout when none is left.
    async fn back_off(&self, block_for: usize) -> Result<(), QueryError> {
        crate::metrics::global().cas_contention.inc();
        let pause = Duration::from_millis(rand::thread_rng().gen_range(0..100));
        if Instant::now() + pause >= self.deadline {
            return Err(self.timed_out(block_for));
        }
        tokio::time::sleep(pause).await;
        Ok(())
    }

    /// Sends `verb` to each of `to` and gathers replies until `counts` ones meet
    /// `requirement`, every replica answered, or the write timeout passed. The
    /// sends are tasks of their own: those still out when this returns go on
    /// (a commit reaches every replica that can take it).
    async fn gather(
        &self,
        to: &[IpAddr],
        verb: Verb,
        requirement: &Requirement,
        counts: impl Fn(&Reply) -> bool,
    ) -> (bool, Vec<(IpAddr, Reply)>) {
        let c = self.coordinator;
        let topology = c.view.topology();
        let timeout = c.timeouts.write;
        let transport = c.transport();
        let request = Outbound::new(verb);
        let mut pending: FuturesUnordered<_> = to
            .iter()
            .map(|r| {
                let (r, request, transport) = (*r, request.clone(), transport.clone());
                crate::trace::spawn(async move { (r, transport.send_outbound(r, &request, timeout).await) })
            })
            .collect();
        let mut tally = Tally::new(requirement);
        let mut replies = Vec::with_capacity(to.len());
        while !tally.is_met() {
            let Some(done) = pending.next().await else { break };
            let Ok((r, Ok(reply))) = done else { continue };
            if counts(&reply) {
                tally.answer(topology.data_center(&r));
            }
            replies.push((r, reply));
        }
        (tally.is_met(), replies)
    }

    /// Prepares a ballot that a quorum promised, with no round of another
    /// proposer left unfinished and the last commit on every replica that
    /// promised. Retries under contention until the deadline.
    pub async fn begin(&mut self) -> Result<Ballot, QueryError> {
        loop {
            let p = self.participants(self.serial)?;
            let block_for = p.requirement.block_for();
            if Instant::now() >= self.deadline {
                return Err(self.timed_out(block_for));
            }
            let ballot = self.coordinator.ballots.next(crate::clock::server_timestamp(), self.above);
            let verb = Verb::PaxosPrepare {
                table: self.table,
                position: self.position.clone(),
                ballot,
            };
            let (met, replies) = self
                .gather(
                    &p.alive,
                    verb,
                    &p.requirement,
                    |r| matches!(r, Reply::Promise { promise } if promise.promised),
                )
                .await;
            let promises: Vec<(IpAddr, Promise)> = replies
                .into_iter()
                .filter_map(|(r, reply)| match reply {
                    Reply::Promise { promise } => Some((r, promise)),
                    _ => None,
                })
                .collect();
            let summary = Summary::of(promises.iter().map(|(_, p)| p));
            if !met {
                self.above = self.above.max(summary.refused_by);
                self.back_off(block_for).await?;
                continue;
            }
            if let Some(unfinished) = summary.in_progress {
                // Another proposer's round may have been accepted: finish it
                // under our ballot before anything of ours.
                tracing::debug!(ballot = ?unfinished.ballot, "finishing a Paxos round in progress");
                let refreshed = Proposal { ballot, ..unfinished };
                if self.propose(&refreshed).await? == Acceptance::Quorum {
                    self.commit(&refreshed, self.read_consistency()).await?;
                } else {
                    self.back_off(block_for).await?;
                }
                continue;
            }
            if let Some(last) = &summary.committed {
                let behind: Vec<IpAddr> = promises.iter().filter(|(_, p)| summary.is_behind(p)).map(|(r, _)| *r).collect();
                if !behind.is_empty() {
                    let requirement = Requirement::Total { n: behind.len() };
                    let verb = Verb::PaxosCommit { proposal: last.clone() };
                    let (all, _) = self.gather(&behind, verb, &requirement, |r| matches!(r, Reply::Ack)).await;
                    if !all {
                        self.back_off(block_for).await?;
                        continue;
                    }
                }
            }
            return Ok(ballot);
        }
    }

    /// Phase 2: sends `proposal` to the replicas and counts acceptances.
    async fn propose(&mut self, proposal: &Proposal) -> Result<Acceptance, QueryError> {
        let p = self.participants(self.serial)?;
        let verb = Verb::PaxosPropose {
            proposal: proposal.clone(),
        };
        let (met, replies) = self
            .gather(&p.alive, verb, &p.requirement, |r| matches!(r, Reply::Accepted { accepted: true }))
            .await;
        if met {
            return Ok(Acceptance::Quorum);
        }
        let accepted = replies
            .iter()
            .filter(|(_, r)| matches!(r, Reply::Accepted { accepted: true }))
            .count();
        let refused = replies
            .iter()
            .filter(|(_, r)| matches!(r, Reply::Accepted { accepted: false }))
            .count();
        if refused > 0 {
            self.above = self.above.max(Some(proposal.ballot));
        }
        Ok(if accepted == 0 && refused == p.alive.len() {
            Acceptance::Refused
        } else {
            Acceptance::Partial {
                accepted,
                block_for: p.requirement.block_for(),
            }
        })
    }

    /// Proposes the caller's update under `ballot` (from `begin`). `None`, after
    /// a pause, when every replica refused it (a higher ballot came first): the
    /// caller begins again. When only some accepted it, a later round may still
    /// finish it, so its outcome is unknown: a WriteTimeout of write type CAS,
    /// as Cassandra answers. An empty update is simply tried again.
    pub async fn propose_or_back_off(
        &mut self,
        ballot: Ballot,
        update: Vec<crate::storage::Mutation>,
    ) -> Result<Option<Proposal>, QueryError> {
        let proposal = Proposal {
            ballot,
            table: self.table,
            position: self.position.clone(),
            update,
        };
        let block_for = match self.propose(&proposal).await? {
            Acceptance::Quorum => return Ok(Some(proposal)),
            Acceptance::Partial { accepted, block_for } if !proposal.update.is_empty() && !self.for_read => {
                return Err(QueryError::WriteTimeout {
                    consistency: self.serial,
                    received: accepted as i32,
                    block_for: block_for as i32,
                    write_type: "CAS".into(),
                })
            }
            Acceptance::Partial { block_for, .. } => block_for,
            Acceptance::Refused => self.participants(self.serial)?.requirement.block_for(),
        };
        self.back_off(block_for).await?;
        Ok(None)
    }

    /// Phase 3: sends the commit to every replica (a hint of the update for
    /// each one that is down) and waits for `cl` of them (ANY: none).
    pub async fn commit(&self, proposal: &Proposal, cl: Consistency) -> Result<(), QueryError> {
        let p = self.participants(if cl == Consistency::Any { Consistency::One } else { cl })?;
        let c = self.coordinator;
        for down in &p.down {
            for m in &proposal.update {
                c.hints.hint(*down, m);
            }
        }
        let verb = Verb::PaxosCommit {
            proposal: proposal.clone(),
        };
        // ANY waits for nobody: the sends go on without it.
        let requirement = if cl == Consistency::Any {
            Requirement::Total { n: 0 }
        } else {
            p.requirement.clone()
        };
        let (met, replies) = self.gather(&p.alive, verb, &requirement, |r| matches!(r, Reply::Ack)).await;
        if met {
            return Ok(());
        }
        Err(QueryError::WriteTimeout {
            consistency: cl,
            received: replies.iter().filter(|(_, r)| matches!(r, Reply::Ack)).count() as i32,
            block_for: p.requirement.block_for() as i32,
            write_type: "SIMPLE".into(),
        })
    }
}
