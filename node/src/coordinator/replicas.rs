//! Which nodes hold a token: SimpleStrategy (the next RF distinct nodes
//! clockwise) and NetworkTopologyStrategy (per data centre, the next nodes of
//! that data centre clockwise, distinct racks first). Pure over a ring snapshot.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use crate::ring::Ring;
use crate::schema::Schema;
use crate::storage::Mutation;

/// The data centre of a node that did not say.
pub const DEFAULT_DC: &str = "datacenter1";

/// The cluster as the coordinator sees it at one moment.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// The ring reads use: NORMAL and LEAVING nodes.
    pub ring: Ring<IpAddr>,
    /// The ring once the nodes joining, leaving or being removed are done;
    /// `None` when no node is moving.
    pub future: Option<Ring<IpAddr>>,
    pub joining: HashSet<IpAddr>,
    /// Leaving, or being removed.
    pub leaving: HashSet<IpAddr>,
    pub data_centers: HashMap<IpAddr, String>,
    pub racks: HashMap<IpAddr, String>,
    pub up: HashSet<IpAddr>,
    pub local: Option<IpAddr>,
}

/// A keyspace's replication strategy, from its `replication` map.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    Local,
    Simple { rf: usize },
    Network { rf_by_dc: BTreeMap<String, usize> },
}

impl Strategy {
    pub fn from_replication(replication: &BTreeMap<String, String>) -> Strategy {
        let class = replication.get("class").map(String::as_str).unwrap_or("");
        if class.ends_with("SimpleStrategy") {
            let rf = replication.get("replication_factor").and_then(|v| v.parse().ok()).unwrap_or(1);
            Strategy::Simple { rf }
        } else if class.ends_with("NetworkTopologyStrategy") {
            let rf_by_dc = replication
                .iter()
                .filter(|(k, _)| k.as_str() != "class")
                .filter_map(|(k, v)| v.parse().ok().map(|rf| (k.clone(), rf)))
                .collect();
            Strategy::Network { rf_by_dc }
        } else {
            Strategy::Local
        }
    }

    /// Total replication factor, and the factor in `dc`.
    pub fn factors(&self, dc: &str) -> (usize, usize) {
        match self {
            Strategy::Local => (1, 1),
            Strategy::Simple { rf } => (*rf, *rf),
            Strategy::Network { rf_by_dc } => (rf_by_dc.values().sum(), rf_by_dc.get(dc).copied().unwrap_or(0)),
        }
    }
}

impl Topology {
    /// The replicas of `token`, in ring order (at most RF; fewer when the cluster is smaller).
    pub fn replicas(&self, strategy: &Strategy, token: i64) -> Vec<IpAddr> {
        self.replicas_on(&self.ring, strategy, token)
    }

    /// The replicas `token` will have once the moving nodes are done, beyond
    /// today's: the pending replicas a write also goes to.
    pub fn pending(&self, strategy: &Strategy, token: i64) -> Vec<IpAddr> {
        let Some(future) = &self.future else {
            return Vec::new();
        };
        let now = self.replicas(strategy, token);
        let mut pending = self.replicas_on(future, strategy, token);
        pending.retain(|n| !now.contains(n));
        pending
    }

    /// The replicas of `token` on `ring` (today's or the future one).
    pub fn replicas_on(&self, ring: &Ring<IpAddr>, strategy: &Strategy, token: i64) -> Vec<IpAddr> {
        match strategy {
            Strategy::Local => self.local.into_iter().collect(),
            Strategy::Simple { rf } => ring.replicas(token, *rf),
            Strategy::Network { rf_by_dc } => {
                let all = ring.replicas(token, usize::MAX);
                let mut out = Vec::new();
                for (dc, rf) in rf_by_dc {
                    let in_dc: Vec<IpAddr> = all.iter().copied().filter(|n| self.data_centers.get(n) == Some(dc)).collect();
                    // Distinct racks first, then the rest in ring order.
                    let mut racks_seen = HashSet::new();
                    let mut chosen: Vec<IpAddr> = Vec::new();
                    for n in &in_dc {
                        if chosen.len() < *rf && racks_seen.insert(self.racks.get(n).cloned().unwrap_or_default()) {
                            chosen.push(*n);
                        }
                    }
                    for n in &in_dc {
                        if chosen.len() < *rf && !chosen.contains(n) {
                            chosen.push(*n);
                        }
                    }
                    out.extend(chosen);
                }
                out
            }
        }
    }

    pub fn is_up(&self, node: &IpAddr) -> bool {
        self.up.contains(node) || Some(*node) == self.local
    }

    pub fn local_dc(&self) -> String {
        self.local.map_or(DEFAULT_DC, |l| self.data_center(&l)).to_string()
    }

    /// The data centre of `node` (Cassandra's default name when unknown).
    pub fn data_center(&self, node: &IpAddr) -> &str {
        self.data_centers.get(node).map_or(DEFAULT_DC, String::as_str)
    }

    /// Every node of the ring (the local node included), in no particular order.
    pub fn members(&self) -> Vec<IpAddr> {
        let mut members = self.ring.replicas(i64::MIN, usize::MAX);
        if let Some(local) = self.local.filter(|l| !members.contains(l)) {
            members.push(local);
        }
        members
    }
}

/// `mutations` grouped by the replication strategy of their keyspace (a table
/// not in `schema` counts as node-local).
pub fn by_strategy(schema: &Schema, mutations: Vec<Mutation>) -> Vec<(Strategy, Vec<Mutation>)> {
    let mut out: Vec<(Strategy, Vec<Mutation>)> = Vec::new();
    for m in mutations {
        let strategy = schema
            .table_by_id(m.table)
            .map_or(Strategy::Local, |(k, _)| Strategy::from_replication(&k.replication));
        match out.iter_mut().find(|(s, _)| *s == strategy) {
            Some((_, list)) => list.push(m),
            None => out.push((strategy, vec![m])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Strategy;
    use super::*;
    use proptest::prelude::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn network_topology_prefers_distinct_racks() {
        let ring = Ring::new([(ip(1), vec![0]), (ip(2), vec![10]), (ip(3), vec![20]), (ip(4), vec![30])]);
        let racks = [(ip(1), "r1"), (ip(2), "r1"), (ip(3), "r2"), (ip(4), "r2")]
            .into_iter()
            .map(|(n, r)| (n, r.to_string()))
            .collect();
        let dcs = (1..=4).map(|n| (ip(n), "dc1".to_string())).collect();
        let topo = Topology {
            ring,
            future: None,
            joining: HashSet::new(),
            leaving: HashSet::new(),
            data_centers: dcs,
            racks,
            up: HashSet::new(),
            local: Some(ip(1)),
        };
        let s = Strategy::Network {
            rf_by_dc: [("dc1".to_string(), 2)].into(),
        };
        assert_eq!(
            topo.replicas(&s, -5),
            vec![ip(1), ip(3)],
            "the second replica skips the node on the same rack"
        );
    }

    #[test]
    fn strategies_are_read_from_the_replication_map() {
        let simple = [
            ("class", "org.apache.cassandra.locator.SimpleStrategy"),
            ("replication_factor", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(Strategy::from_replication(&simple), Strategy::Simple { rf: 3 });
    }

    proptest! {
        #[test]
        fn every_token_has_rf_distinct_replicas(tokens in proptest::collection::btree_set(any::<i64>(), 6..60), rf in 1usize..5, token: i64) {
            let nodes: Vec<(IpAddr, Vec<i64>)> = (1..=5u8).map(|n| (ip(n), tokens.iter().copied().skip(n as usize - 1).step_by(5).collect())).collect();
            let topo = Topology { ring: Ring::new(nodes), ..Topology::default() };
            let replicas = topo.replicas(&Strategy::Simple { rf }, token);
            prop_assert_eq!(replicas.len(), rf);
            let distinct: HashSet<_> = replicas.iter().collect();
            prop_assert_eq!(distinct.len(), rf);
        }
    }
}
