//! Consistency arithmetic: which replica answers a consistency level counts,
//! how many it needs (in total, in the coordinator's data centre, or in every
//! data centre), whether enough replicas are alive to try, and when the answers
//! received so far meet it. Pure: data centres are names, replicas are whatever
//! the caller counts; sending and waiting are the coordinator's.

use std::collections::BTreeMap;

use cql_protocol::wire::Consistency;

use super::replicas::Strategy;

pub fn quorum(rf: usize) -> usize {
    rf / 2 + 1
}

/// What a consistency level asks of a keyspace's replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `n` answers from replicas anywhere (ONE, TWO, THREE, QUORUM, ALL, SERIAL).
    Total { n: usize },
    /// `n` answers from replicas in data centre `dc` (LOCAL_ONE, LOCAL_QUORUM,
    /// LOCAL_SERIAL: `dc` is the coordinator's).
    InDc { dc: String, n: usize },
    /// The given number of answers from each data centre (EACH_QUORUM under
    /// NetworkTopologyStrategy).
    EachDc { need: BTreeMap<String, usize> },
}

/// Too few live replicas for a level: what an Unavailable error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    pub required: usize,
    pub alive: usize,
}

impl Requirement {
    /// The requirement of `cl` on a keyspace with `strategy`, coordinated from
    /// data centre `local_dc`. ANY counts as one answer here (a hint also
    /// satisfies it; that is the coordinator's business). EACH_QUORUM under a
    /// strategy without data centres is QUORUM, as in Cassandra.
    pub fn for_level(cl: Consistency, strategy: &Strategy, local_dc: &str) -> Requirement {
        let (rf, local_rf) = strategy.factors(local_dc);
        let total = |n| Requirement::Total { n };
        let local = |n| Requirement::InDc {
            dc: local_dc.to_string(),
            n,
        };
        match cl {
            Consistency::Any | Consistency::One => total(1),
            Consistency::Two => total(2),
            Consistency::Three => total(3),
            Consistency::Quorum | Consistency::Serial => total(quorum(rf)),
            Consistency::All => total(rf),
            Consistency::LocalOne => local(1),
            Consistency::LocalQuorum | Consistency::LocalSerial => local(quorum(local_rf)),
            Consistency::EachQuorum => match strategy {
                Strategy::Network { rf_by_dc } => Requirement::EachDc {
                    need: rf_by_dc.iter().map(|(dc, rf)| (dc.clone(), quorum(*rf))).collect(),
                },
                Strategy::Simple { .. } | Strategy::Local => total(quorum(rf)),
            },
        }
    }

    /// The level with `pending` more answers (replicas taking a range over, by
    /// data centre): each one that the level would count is waited for too.
    pub fn with_pending<'a>(&self, pending: impl IntoIterator<Item = &'a str>) -> Requirement {
        let mut out = self.clone();
        for dc in pending {
            match &mut out {
                Requirement::Total { n } => *n += 1,
                Requirement::InDc { dc: wanted, n } if wanted == dc => *n += 1,
                Requirement::InDc { .. } => {}
                Requirement::EachDc { need } => {
                    if let Some(n) = need.get_mut(dc) {
                        *n += 1;
                    }
                }
            }
        }
        out
    }

    /// The number of answers waited for, as timeouts report it (`block_for`).
    pub fn block_for(&self) -> usize {
        match self {
            Requirement::Total { n } | Requirement::InDc { n, .. } => *n,
            Requirement::EachDc { need } => need.values().sum(),
        }
    }

    /// Whether an answer from a replica in `dc` counts towards the level.
    pub fn counts(&self, dc: &str) -> bool {
        match self {
            Requirement::Total { .. } => true,
            Requirement::InDc { dc: wanted, .. } => wanted == dc,
            Requirement::EachDc { need } => need.contains_key(dc),
        }
    }

    /// `Some` when the live replicas (given by their data centres) cannot meet
    /// the level: the required and alive counts of the total, the local data
    /// centre, or the first data centre that falls short.
    pub fn shortfall<'a>(&self, alive: impl IntoIterator<Item = &'a str>) -> Option<Shortfall> {
        let mut tally = Tally::new(self);
        for dc in alive {
            tally.answer(dc);
        }
        let short = |required: usize, alive: usize| (alive < required).then_some(Shortfall { required, alive });
        match self {
            Requirement::Total { n } | Requirement::InDc { n, .. } => short(*n, tally.received()),
            Requirement::EachDc { need } => need.iter().find_map(|(dc, n)| short(*n, tally.by_dc.get(dc).copied().unwrap_or(0))),
        }
    }
}

/// The answers a request received so far, counted against a requirement.
#[derive(Debug, Clone)]
pub struct Tally<'a> {
    requirement: &'a Requirement,
    by_dc: BTreeMap<String, usize>,
    received: usize,
}

impl<'a> Tally<'a> {
    pub fn new(requirement: &'a Requirement) -> Tally<'a> {
        Tally {
            requirement,
            by_dc: BTreeMap::new(),
            received: 0,
        }
    }

    /// Records one successful answer from a replica in `dc` (ignored when that
    /// data centre does not count).
    pub fn answer(&mut self, dc: &str) {
        if self.requirement.counts(dc) {
            *self.by_dc.entry(dc.to_string()).or_default() += 1;
            self.received += 1;
        }
    }

    /// The answers this tally waits for.
    pub fn block_for(&self) -> usize {
        self.requirement.block_for()
    }

    /// The counted answers, as timeouts report them (`received`).
    pub fn received(&self) -> usize {
        self.received
    }

    /// Whether one more answer from `dc` would bring the level closer.
    pub fn wants(&self, dc: &str) -> bool {
        match self.requirement {
            Requirement::Total { n } => self.received < *n,
            Requirement::InDc { dc: wanted, n } => wanted == dc && self.received < *n,
            Requirement::EachDc { need } => need.get(dc).is_some_and(|n| self.by_dc.get(dc).copied().unwrap_or(0) < *n),
        }
    }

    /// Which of `candidates` (node, data centre; in order of preference) to ask
    /// next so that, if they all answer, the level is met: the fewest, first in
    /// order. Empty when the level is met, or when no candidate helps.
    pub fn pick<T: Copy>(&self, candidates: &[(T, &str)]) -> Vec<T> {
        let mut planned = self.clone();
        let mut chosen = Vec::new();
        for (node, dc) in candidates {
            if planned.is_met() {
                break;
            }
            if planned.wants(dc) {
                planned.answer(dc);
                chosen.push(*node);
            }
        }
        chosen
    }

    pub fn is_met(&self) -> bool {
        match self.requirement {
            Requirement::Total { n } | Requirement::InDc { n, .. } => self.received >= *n,
            Requirement::EachDc { need } => need.iter().all(|(dc, n)| self.by_dc.get(dc).copied().unwrap_or(0) >= *n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_replicas_raise_the_answers_a_write_waits_for() {
        let quorum = Requirement::Total { n: 2 };
        assert_eq!(quorum.with_pending(["dc1"]), Requirement::Total { n: 3 });
        let local = Requirement::InDc { dc: "dc1".into(), n: 2 };
        assert_eq!(
            local.with_pending(["dc2", "dc1"]),
            Requirement::InDc { dc: "dc1".into(), n: 3 },
            "a pending replica elsewhere does not count for LOCAL_QUORUM"
        );
        assert_eq!(quorum.with_pending([]), quorum);
    }

    fn network(dcs: &[(&str, usize)]) -> Strategy {
        Strategy::Network {
            rf_by_dc: dcs.iter().map(|(dc, rf)| (dc.to_string(), *rf)).collect(),
        }
    }

    #[test]
    fn quorum_is_a_strict_majority() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(2), 2);
        assert_eq!(quorum(3), 2);
        assert_eq!(quorum(5), 3);
    }

    #[test]
    fn levels_need_the_cassandra_counts() {
        let simple = Strategy::Simple { rf: 3 };
        let block_for = |cl| Requirement::for_level(cl, &simple, "dc1").block_for();
        assert_eq!(block_for(Consistency::One), 1);
        assert_eq!(block_for(Consistency::Two), 2);
        assert_eq!(block_for(Consistency::Quorum), 2);
        assert_eq!(block_for(Consistency::All), 3);
        assert_eq!(block_for(Consistency::Any), 1);
        let two_dcs = network(&[("dc1", 3), ("dc2", 2)]);
        assert_eq!(Requirement::for_level(Consistency::LocalQuorum, &two_dcs, "dc1").block_for(), 2);
        assert_eq!(Requirement::for_level(Consistency::Quorum, &two_dcs, "dc1").block_for(), 3);
        assert_eq!(Requirement::for_level(Consistency::All, &two_dcs, "dc1").block_for(), 5);
        assert_eq!(Requirement::for_level(Consistency::EachQuorum, &two_dcs, "dc1").block_for(), 4);
    }

    #[test]
    fn any_quorum_overlaps_any_other_quorum() {
        for rf in 1..10 {
            assert!(2 * quorum(rf) > rf, "two quorums of {rf} share a replica");
        }
    }

    #[test]
    fn local_quorum_counts_only_answers_from_the_local_data_centre() {
        let two_dcs = network(&[("dc1", 3), ("dc2", 3)]);
        let req = Requirement::for_level(Consistency::LocalQuorum, &two_dcs, "dc1");
        let mut tally = Tally::new(&req);
        for _ in 0..3 {
            tally.answer("dc2");
        }
        assert_eq!((tally.received(), tally.is_met()), (0, false), "remote answers do not count");
        tally.answer("dc1");
        assert_eq!((tally.received(), tally.is_met()), (1, false));
        tally.answer("dc1");
        assert_eq!((tally.received(), tally.is_met()), (2, true));
    }

    #[test]
    fn local_one_is_unavailable_when_only_remote_replicas_are_alive() {
        let two_dcs = network(&[("dc1", 2), ("dc2", 2)]);
        let req = Requirement::for_level(Consistency::LocalOne, &two_dcs, "dc1");
        assert_eq!(req.shortfall(["dc2", "dc2"]), Some(Shortfall { required: 1, alive: 0 }));
        assert_eq!(req.shortfall(["dc2", "dc1"]), None);
        let one = Requirement::for_level(Consistency::One, &two_dcs, "dc1");
        assert_eq!(one.shortfall(["dc2"]), None, "ONE takes any data centre");
    }

    #[test]
    fn local_quorum_is_unavailable_with_a_local_minority_alive() {
        let two_dcs = network(&[("dc1", 3), ("dc2", 3)]);
        let req = Requirement::for_level(Consistency::LocalQuorum, &two_dcs, "dc1");
        assert_eq!(
            req.shortfall(["dc1", "dc2", "dc2", "dc2"]),
            Some(Shortfall { required: 2, alive: 1 })
        );
    }

    #[test]
    fn each_quorum_needs_a_quorum_in_every_data_centre() {
        let two_dcs = network(&[("dc1", 3), ("dc2", 3)]);
        let req = Requirement::for_level(Consistency::EachQuorum, &two_dcs, "dc1");
        let mut tally = Tally::new(&req);
        for _ in 0..3 {
            tally.answer("dc1");
        }
        tally.answer("dc2");
        assert!(!tally.is_met(), "all of dc1 and one of dc2 is not a quorum in dc2");
        assert!(tally.wants("dc2") && !tally.wants("dc1"));
        tally.answer("dc2");
        assert!(tally.is_met());
        assert_eq!(tally.received(), 5);
        assert_eq!(
            req.shortfall(["dc1", "dc1", "dc1", "dc2"]),
            Some(Shortfall { required: 2, alive: 1 }),
            "the data centre that falls short is reported"
        );
        assert_eq!(req.shortfall(["dc1", "dc1", "dc2", "dc2"]), None);
    }

    #[test]
    fn each_quorum_under_simple_strategy_is_quorum() {
        let simple = Strategy::Simple { rf: 3 };
        assert_eq!(
            Requirement::for_level(Consistency::EachQuorum, &simple, "dc1"),
            Requirement::Total { n: 2 }
        );
    }

    #[test]
    fn pick_asks_the_fewest_replicas_that_can_meet_the_level_in_preference_order() {
        let two_dcs = network(&[("dc1", 3), ("dc2", 3)]);
        let candidates = [(1, "dc1"), (4, "dc2"), (2, "dc1"), (5, "dc2"), (3, "dc1"), (6, "dc2")];
        let local = Requirement::for_level(Consistency::LocalQuorum, &two_dcs, "dc1");
        assert_eq!(Tally::new(&local).pick(&candidates), vec![1, 2]);
        let each = Requirement::for_level(Consistency::EachQuorum, &two_dcs, "dc1");
        assert_eq!(Tally::new(&each).pick(&candidates), vec![1, 4, 2, 5]);
        let mut half = Tally::new(&each);
        half.answer("dc1");
        half.answer("dc1");
        assert_eq!(
            half.pick(&[(5, "dc2"), (3, "dc1"), (6, "dc2")]),
            vec![5, 6],
            "only dc2 still needs answers"
        );
        let one = Requirement::for_level(Consistency::One, &two_dcs, "dc1");
        assert_eq!(Tally::new(&one).pick(&candidates), vec![1]);
        let local_one = Requirement::for_level(Consistency::LocalOne, &two_dcs, "dc1");
        assert_eq!(Tally::new(&local_one).pick(&[(4, "dc2")]), Vec::<i32>::new());
    }

    #[test]
    fn a_total_level_counts_every_data_centre() {
        let two_dcs = network(&[("dc1", 1), ("dc2", 1)]);
        let req = Requirement::for_level(Consistency::Two, &two_dcs, "dc1");
        let mut tally = Tally::new(&req);
        tally.answer("dc2");
        assert!(tally.wants("dc1") && tally.wants("dc2"));
        tally.answer("dc1");
        assert!(tally.is_met() && !tally.wants("dc1"));
        assert_eq!(req.shortfall(["dc1"]), Some(Shortfall { required: 2, alive: 1 }));
    }
}
