//! What lightweight transactions agree on, as Cassandra's Paxos does: a ballot
//! orders rounds (a timeuuid: microseconds, then the proposer), a proposal is
//! the update of one partition under a ballot, and a replica's state for a
//! partition is what it promised, accepted and saw committed. Pure types and
//! pure decisions; the replica keeps its state in `system.paxos`
//! (`replica::paxos`), the coordinator runs the rounds (`coordinator::cas`).

use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::storage::{Mutation, PartitionPosition};

/// A Paxos ballot: a timeuuid's time (microseconds since the epoch, also the
/// write timestamp of what it commits) and its proposer, compared in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub micros: i64,
    /// The proposer's part of the timeuuid (its node and clock sequence bits).
    pub node: u64,
}

/// The 100-ns intervals between the Gregorian calendar's start (15 Oct 1582,
/// timeuuid's epoch) and the Unix epoch.
const GREGORIAN_OFFSET: i64 = 0x01B2_1DD2_1381_4000;

impl Ballot {
    /// The ballot as a version 1 UUID (for `system.paxos`, as Cassandra stores it).
    pub fn to_timeuuid(self) -> Uuid {
        let ticks = (self.micros.saturating_mul(10).saturating_add(GREGORIAN_OFFSET)) as u64;
        let time_low = (ticks & 0xFFFF_FFFF) as u32;
        let time_mid = ((ticks >> 32) & 0xFFFF) as u16;
        let time_hi = (((ticks >> 48) & 0x0FFF) as u16) | 0x1000;
        // The variant bits (10) over the top two bits of the proposer's part.
        let lsb = (self.node & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&lsb.to_be_bytes());
        Uuid::from_fields(time_low, time_mid, time_hi, &d4)
    }

    /// A ballot from its timeuuid; `None` when the UUID is not a version 1.
    pub fn from_timeuuid(id: Uuid) -> Option<Ballot> {
        if id.get_version_num() != 1 {
            return None;
        }
        let (time_low, time_mid, time_hi, d4) = id.as_fields();
        let ticks = (u64::from(time_hi & 0x0FFF) << 48) | (u64::from(time_mid) << 32) | u64::from(time_low);
        Some(Ballot {
            micros: (ticks as i64 - GREGORIAN_OFFSET) / 10,
            node: u64::from_be_bytes(*d4) & 0x3FFF_FFFF_FFFF_FFFF,
        })
    }
}

/// Makes this node's ballots: each later than the last it made and than any it
/// was told of, and no earlier than the wall clock.
#[derive(Debug)]
pub struct BallotClock {
    node: u64,
    last: AtomicI64,
}

impl BallotClock {
    /// `node` tells this proposer's ballots from another's made in the same microsecond.
    pub fn new(node: u64) -> BallotClock {
        BallotClock {
            node: node & 0x3FFF_FFFF_FFFF_FFFF,
            last: AtomicI64::new(0),
        }
    }

    /// A fresh ballot above `above` (a ballot a replica promised elsewhere).
    pub fn next(&self, now_micros: i64, above: Option<Ballot>) -> Ballot {
        let floor = above.map_or(i64::MIN, |b| b.micros.saturating_add(1));
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let micros = now_micros.max(last.saturating_add(1)).max(floor);
            match self.last.compare_exchange_weak(last, micros, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ballot { micros, node: self.node },
                Err(seen) => last = seen,
            }
        }
    }
}

/// An update of one partition under a ballot: what is accepted and committed.
/// Every mutation is of that partition (a conditional batch may hold several);
/// an empty update (a failed condition, a SERIAL read) only closes older rounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub ballot: Ballot,
    pub table: Uuid,
    pub position: PartitionPosition,
    pub update: Vec<Mutation>,
}

/// A replica's Paxos state for one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The highest ballot promised.
    pub promised: Option<Ballot>,
    /// The proposal accepted and not yet known committed.
    pub accepted: Option<Proposal>,
    /// The last proposal committed here.
    pub committed: Option<Proposal>,
}

/// A replica's answer to a prepare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    /// Whether the ballot was promised; when not, `promised` is the higher one.
    pub promised: bool,
    pub highest: Option<Ballot>,
    /// An accepted proposal newer than the last commit (a round in progress).
    pub in_progress: Option<Proposal>,
    pub committed: Option<Proposal>,
}

/// The ballot of a proposal, if any (`None` sorts below every ballot).
pub fn ballot_of(p: &Option<Proposal>) -> Option<Ballot> {
    p.as_ref().map(|p| p.ballot)
}

impl State {
    /// Phase 1 on a replica: promise `ballot` when it is above every ballot
    /// promised so far. Returns the new state (when it changed) and the answer.
    pub fn prepare(&self, ballot: Ballot) -> (Option<State>, Promise) {
        let in_progress = self
            .accepted
            .clone()
            .filter(|a| ballot_of(&self.committed).is_none_or(|c| a.ballot > c));
        if self.promised.is_some_and(|p| p >= ballot) {
            let answer = Promise {
                promised: false,
                highest: self.promised,
                in_progress,
                committed: self.committed.clone(),
            };
            return (None, answer);
        }
        let next = State {
            promised: Some(ballot),
            ..self.clone()
        };
        let answer = Promise {
            promised: true,
            highest: Some(ballot),
            in_progress,
            committed: self.committed.clone(),
        };
        (Some(next), answer)
    }

    /// Phase 2 on a replica: accept `proposal` unless a higher ballot was promised.
    pub fn propose(&self, proposal: Proposal) -> Option<State> {
        if self.promised.is_some_and(|p| p > proposal.ballot) {
            return None;
        }
        Some(State {
            promised: Some(proposal.ballot),
            accepted: Some(proposal),
            committed: self.committed.clone(),
        })
    }

    /// Phase 3 on a replica: remember `proposal` as committed (the caller
    /// applies its update) and forget an accepted proposal it supersedes.
    pub fn commit(&self, proposal: Proposal) -> State {
        let accepted = self.accepted.clone().filter(|a| a.ballot > proposal.ballot);
        let committed = match &self.committed {
            Some(c) if c.ballot >= proposal.ballot => Some(c.clone()),
            _ => Some(proposal),
        };
        State {
            promised: self.promised,
            accepted,
            committed,
        }
    }
}

/// What a coordinator learnt from a quorum of promises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The newest commit any replica reported.
    pub committed: Option<Proposal>,
    /// The newest accepted proposal above that commit: a round to finish first.
    pub in_progress: Option<Proposal>,
    /// The highest ballot a replica refused ours for.
    pub refused_by: Option<Ballot>,
    pub promises: usize,
}

impl Summary {
    pub fn of<'a>(answers: impl IntoIterator<Item = &'a Promise>) -> Summary {
        let mut s = Summary::default();
        for a in answers {
            if a.promised {
                s.promises += 1;
            } else {
                s.refused_by = s.refused_by.max(a.highest);
            }
            if ballot_of(&a.committed) > ballot_of(&s.committed) {
                s.committed = a.committed.clone();
            }
            if ballot_of(&a.in_progress) > ballot_of(&s.in_progress) {
                s.in_progress = a.in_progress.clone();
            }
        }
        // An empty proposal changed nothing: there is no round of it to finish.
        if ballot_of(&s.in_progress) <= ballot_of(&s.committed) || s.in_progress.as_ref().is_some_and(|p| p.update.is_empty()) {
            s.in_progress = None;
        }
        s
    }

    /// Whether a replica's answer shows it missed the newest commit.
    pub fn is_behind(&self, answer: &Promise) -> bool {
        ballot_of(&answer.committed) < ballot_of(&self.committed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(micros: i64) -> Ballot {
        Ballot { micros, node: 7 }
    }

    fn p(micros: i64) -> Proposal {
        let position = PartitionPosition { token: 1, key: vec![1] };
        Proposal {
            ballot: b(micros),
            table: Uuid::from_u128(9),
            update: vec![Mutation::new(Uuid::from_u128(9), position.clone())],
            position,
        }
    }

    #[test]
    fn ballots_round_trip_through_timeuuids_and_keep_their_order() {
        for ballot in [
            b(0),
            b(1_733_000_000_123_456),
            Ballot {
                micros: 5,
                node: u64::MAX >> 2,
            },
        ] {
            let id = ballot.to_timeuuid();
            assert_eq!(id.get_version_num(), 1);
            assert_eq!(Ballot::from_timeuuid(id), Some(ballot));
        }
        assert_eq!(Ballot::from_timeuuid(Uuid::from_u128(1)), None);
    }

    #[test]
    fn a_clock_never_repeats_and_climbs_over_ballots_it_is_told_of() {
        let clock = BallotClock::new(1);
        let a = clock.next(100, None);
        let b2 = clock.next(100, None);
        assert!(b2 > a);
        let c = clock.next(50, Some(b(1_000)));
        assert_eq!(c.micros, 1_001);
    }

    #[test]
    fn a_replica_promises_only_higher_ballots_and_accepts_what_it_promised() {
        let s = State::default();
        let (s1, answer) = s.prepare(b(10));
        let s1 = s1.unwrap();
        assert!(answer.promised);
        let (none, refused) = s1.prepare(b(5));
        assert!(none.is_none() && !refused.promised);
        assert_eq!(refused.highest, Some(b(10)));
        assert!(s1.propose(p(5)).is_none(), "below the promise");
        let s2 = s1.propose(p(10)).unwrap();
        assert_eq!(s2.accepted, Some(p(10)));
        // A later prepare sees the accepted proposal as in progress ...
        let (_, answer) = s2.prepare(b(20));
        assert_eq!(answer.in_progress, Some(p(10)));
        // ... until it is committed.
        let s3 = s2.commit(p(10));
        assert_eq!(s3.accepted, None);
        let (_, answer) = s3.prepare(b(20));
        assert_eq!((answer.in_progress, answer.committed), (None, Some(p(10))));
    }

    #[test]
    fn an_older_commit_does_not_replace_a_newer_one() {
        let s = State::default().commit(p(20)).commit(p(10));
        assert_eq!(s.committed, Some(p(20)));
    }

    #[test]
    fn a_summary_finishes_only_rounds_newer_than_the_newest_commit() {
        let answers = [
            Promise {
                promised: true,
                highest: Some(b(30)),
                in_progress: Some(p(10)),
                committed: None,
            },
            Promise {
                promised: true,
                highest: Some(b(30)),
                in_progress: None,
                committed: Some(p(20)),
            },
            Promise {
                promised: false,
                highest: Some(b(40)),
                in_progress: None,
                committed: None,
            },
        ];
        let s = Summary::of(&answers);
        assert_eq!(s.promises, 2);
        assert_eq!(s.refused_by, Some(b(40)));
        assert_eq!(s.in_progress, None, "p(10) lost to the commit of p(20)");
        assert!(s.is_behind(&answers[0]) && !s.is_behind(&answers[1]));
        let s = Summary::of(&answers[..1]);
        assert_eq!(s.in_progress, Some(p(10)));
        let empty = Proposal {
            update: Vec::new(),
            ..p(15)
        };
        let newer_empty = Promise {
            in_progress: Some(empty),
            ..answers[1].clone()
        };
        let s = Summary::of([
            &answers[0],
            &Promise {
                committed: None,
                ..newer_empty
            },
        ]);
        assert_eq!(s.in_progress, None, "an empty proposal above p(10) closed its round");
    }
}
