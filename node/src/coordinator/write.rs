//! The coordinator's write path: send each mutation to every live replica and
//! answer as soon as the consistency level is met, while the other replica
//! writes go on in the background. A replica that is down, fails or does not
//! answer in time gets a hint, whether or not the client is still waiting.
//! Counting is `consistency`'s and `WriteProgress` (pure); this file only
//! spawns the sends and waits on their outcomes.

use std::net::IpAddr;

use cql_protocol::wire::Consistency;
use tokio::sync::mpsc;

use super::consistency::{Requirement, Tally};
use super::replicas::Strategy;
use super::{Coordinator, Transport};
use crate::error::QueryError;
use crate::internode::{Outbound, Reply, Verb};
use crate::storage::Mutation;

/// What became of one replica write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Which mutation of the request (its index).
    pub mutation: usize,
    /// The data centre of the replica.
    pub dc: String,
    pub acked: bool,
    /// Whether a hint was stored for the replica instead.
    pub hinted: bool,
}

/// The answers of one write request (several mutations, each to its replicas),
/// each against its requirement (the level's, plus its pending replicas). Pure.
#[derive(Debug)]
pub struct WriteProgress<'a> {
    any: bool,
    tallies: Vec<Tally<'a>>,
    hinted: Vec<usize>,
    outstanding: Vec<usize>,
}

impl<'a> WriteProgress<'a> {
    /// `sends[i]` replica writes are in flight for mutation `i`, which must meet
    /// `requirements[i]`; `hinted[i]` replicas of it were down and hinted
    /// already. ANY is met by a hint alone.
    pub fn new(requirements: &'a [Requirement], any: bool, sends: Vec<usize>, hinted: Vec<usize>) -> WriteProgress<'a> {
        WriteProgress {
            any,
            tallies: requirements.iter().map(Tally::new).collect(),
            hinted,
            outstanding: sends,
        }
    }

    pub fn record(&mut self, outcome: &Outcome) {
        let i = outcome.mutation;
        if let Some(left) = self.outstanding.get_mut(i) {
            *left = left.saturating_sub(1);
        }
        if outcome.acked {
            if let Some(tally) = self.tallies.get_mut(i) {
                tally.answer(&outcome.dc);
            }
        }
        if outcome.hinted {
            if let Some(hinted) = self.hinted.get_mut(i) {
                *hinted += 1;
            }
        }
    }

    fn met(&self, i: usize) -> bool {
        let Some(tally) = self.tallies.get(i) else {
            return true;
        };
        if self.any {
            // A replica's ack, or (once no replica can ack any more) a stored hint.
            tally.received() >= 1 || (self.outstanding.get(i) == Some(&0) && self.hinted.get(i).is_some_and(|h| *h >= 1))
        } else {
            tally.is_met()
        }
    }

    /// Every mutation met its level: the client can be answered.
    pub fn is_met(&self) -> bool {
        (0..self.tallies.len()).all(|i| self.met(i))
    }

    /// No answer still to come can change the result.
    pub fn is_settled(&self) -> bool {
        self.is_met() || (0..self.tallies.len()).any(|i| !self.met(i) && self.outstanding.get(i) == Some(&0))
    }

    /// (received, block_for) of the first mutation short of its level, as a
    /// WriteTimeout reports them.
    pub fn shortfall(&self) -> Option<(usize, usize)> {
        (0..self.tallies.len()).find(|i| !self.met(*i)).map(|i| {
            let tally = self.tallies.get(i);
            let block_for = if self.any { 1 } else { tally.map_or(0, Tally::block_for) };
            (tally.map_or(0, Tally::received), block_for)
        })
    }
}

/// Sends one write (a `Verb::Mutate`) to one replica; on failure or timeout
/// stores a hint for it. Reports the outcome to whoever still listens.
async fn deliver(
    transport: Transport,
    replica: IpAddr,
    request: Outbound,
    outcome: Outcome,
    timeout: std::time::Duration,
    report: mpsc::Sender<Outcome>,
) {
    let acked = matches!(transport.send_outbound(replica, &request, timeout).await, Ok(Reply::Ack));
    let hinted = !acked && {
        tracing::debug!(%replica, "replica write failed or timed out; storing a hint");
        mutations(&request).iter().all(|m| transport.hints.hint(replica, m))
    };
    let _ = report.try_send(Outcome { acked, hinted, ..outcome });
}

/// The mutations of a write request.
fn mutations(request: &Outbound) -> &[Mutation] {
    match request.verb() {
        Verb::Mutate { mutations } => mutations,
        _ => &[],
    }
}

impl Coordinator {
    /// Writes `mutations` at `cl`: Unavailable before sending when too few
    /// replicas are up, WriteTimeout when too few acknowledged in time. Returns
    /// as soon as every mutation met the level; the rest keep going.
    pub async fn write(&self, strategy: &Strategy, mutations: Vec<Mutation>, cl: Consistency, write_type: &str) -> Result<(), QueryError> {
        if matches!(strategy, Strategy::Local) || mutations.is_empty() {
            self.engine.apply_all(mutations)?;
            return Ok(());
        }
        self.replicate(strategy, mutations, cl, write_type, None, self.timeouts().write)
            .await
    }

    /// `write`, where replica `applied` (a counter's leader) already applied
    /// every mutation: it counts as one acknowledgement and is not sent to.
    pub(super) async fn replicate(
        &self,
        strategy: &Strategy,
        mutations: Vec<Mutation>,
        cl: Consistency,
        write_type: &str,
        applied: Option<IpAddr>,
        timeout: std::time::Duration,
    ) -> Result<(), QueryError> {
        crate::trace::event("Determining replicas for mutation");
        let topology = self.view.topology();
        let level = Requirement::for_level(cl, strategy, &topology.local_dc());
        let any = cl == Consistency::Any;
        let mut plans = Vec::with_capacity(mutations.len());
        let mut requirements = Vec::with_capacity(mutations.len());
        for m in mutations {
            let mut replicas = self.replicas(&topology, strategy, m.position.token);
            self.count(false, &replicas);
            // A node taking the range over (pending) gets the write too, and
            // counts on top of the level, as in Cassandra.
            let pending = topology.pending(strategy, m.position.token);
            let requirement = level.with_pending(pending.iter().map(|p| topology.data_center(p)));
            replicas.extend(pending);
            let (alive, down): (Vec<IpAddr>, Vec<IpAddr>) = replicas.into_iter().partition(|r| topology.is_up(r));
            if !any {
                if let Some(short) = requirement.shortfall(alive.iter().map(|r| topology.data_center(r))) {
                    return Err(QueryError::Unavailable {
                        consistency: cl,
                        required: short.required as i32,
                        alive: short.alive as i32,
                    });
                }
            }
            plans.push((m, alive, down));
            requirements.push(requirement);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let transport = self.transport();
        let total: usize = plans.iter().map(|(_, alive, _)| alive.len()).sum();
        // Room for every outcome: a sender never waits, whoever still listens.
        let (report, mut outcomes) = mpsc::channel(total.max(1));
        let mut sends = Vec::with_capacity(plans.len());
        let mut hinted = Vec::with_capacity(plans.len());
        let mut local_share = Vec::new();
        let mut already = Vec::new();
        for (i, (m, alive, down)) in plans.into_iter().enumerate() {
            hinted.push(down.iter().filter(|d| self.hints.hint(**d, &m)).count());
            sends.push(alive.len());
            // One request for every replica: encoded once, at the first remote send.
            let request = Outbound::new(Verb::Mutate { mutations: vec![m] });
            for replica in alive {
                if Some(replica) == applied {
                    already.push(Outcome {
                        mutation: i,
                        dc: topology.data_center(&replica).to_string(),
                        acked: true,
                        hinted: false,
                    });
                    continue;
                }
                let outcome = Outcome {
                    mutation: i,
                    dc: topology.data_center(&replica).to_string(),
                    acked: false,
                    hinted: false,
                };
                if replica == self.local && !self.engine.waits_for_sync() {
                    local_share.push((request.clone(), outcome));
                    continue;
                }
                crate::trace::spawn(deliver(
                    transport.clone(),
                    replica,
                    request.clone(),
                    outcome,
                    timeout,
                    report.clone(),
                ));
            }
        }
        drop(report);
        let mut progress = WriteProgress::new(&requirements, any, sends, hinted);
        for outcome in &already {
            progress.record(outcome);
        }
        // This node's own share, once the other replicas' sends are on their way:
        // applied here, with no task and no hop (and no hint when it fails: hints
        // are replayed to other nodes only).
        for (request, outcome) in local_share {
            let acked = match request.into_verb() {
                Verb::Mutate { mutations } => self.engine.apply_all(mutations).is_ok(),
                _ => false,
            };
            progress.record(&Outcome { acked, ..outcome });
        }
        while !progress.is_settled() {
            match tokio::time::timeout_at(deadline, outcomes.recv()).await {
                Ok(Some(outcome)) => progress.record(&outcome),
                _ => break,
            }
        }
        match progress.shortfall() {
            None => Ok(()),
            Some((received, block_for)) => Err(QueryError::WriteTimeout {
                consistency: cl,
                received: received as i32,
                block_for: block_for as i32,
                write_type: write_type.into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(mutation: usize, dc: &str, acked: bool) -> Outcome {
        Outcome {
            mutation,
            dc: dc.into(),
            acked,
            hinted: !acked,
        }
    }

    #[test]
    fn a_quorum_write_is_met_before_the_last_replica_answers() {
        let req = [Requirement::Total { n: 2 }];
        let mut progress = WriteProgress::new(&req, false, vec![3], vec![0]);
        progress.record(&outcome(0, "dc1", true));
        assert!(!progress.is_settled());
        progress.record(&outcome(0, "dc1", true));
        assert!(progress.is_met() && progress.is_settled(), "two of three acks are a quorum");
        assert_eq!(progress.shortfall(), None);
    }

    #[test]
    fn a_write_that_cannot_be_met_any_more_reports_its_acks_and_block_for() {
        let req = [Requirement::Total { n: 3 }, Requirement::Total { n: 3 }];
        let mut progress = WriteProgress::new(&req, false, vec![3, 3], vec![0, 0]);
        progress.record(&outcome(0, "dc1", true));
        progress.record(&outcome(1, "dc1", true));
        progress.record(&outcome(1, "dc1", false));
        assert!(!progress.is_settled(), "both mutations may still get their acks");
        progress.record(&outcome(0, "dc1", false));
        progress.record(&outcome(0, "dc1", false));
        assert!(progress.is_settled(), "mutation 0 can no longer reach ALL");
        assert_eq!(progress.shortfall(), Some((1, 3)), "mutation 0 got one ack of three");
    }

    #[test]
    fn remote_acks_do_not_meet_local_quorum() {
        let req = [Requirement::InDc { dc: "dc1".into(), n: 2 }];
        let mut progress = WriteProgress::new(&req, false, vec![4], vec![0]);
        progress.record(&outcome(0, "dc2", true));
        progress.record(&outcome(0, "dc2", true));
        progress.record(&outcome(0, "dc1", true));
        assert!(!progress.is_met());
        progress.record(&outcome(0, "dc1", false));
        assert_eq!(progress.shortfall(), Some((1, 2)));
        assert!(progress.is_settled());
    }

    #[test]
    fn any_is_met_by_a_hint_once_no_replica_can_ack() {
        let req = [Requirement::Total { n: 1 }];
        let down = WriteProgress::new(&req, true, vec![0], vec![1]);
        assert!(down.is_met(), "every replica down: the hint is the write");
        let mut failing = WriteProgress::new(&req, true, vec![2], vec![0]);
        failing.record(&outcome(0, "dc1", false));
        assert!(!failing.is_met(), "the other replica may still ack");
        failing.record(&outcome(0, "dc1", false));
        assert!(failing.is_met());
    }
}
