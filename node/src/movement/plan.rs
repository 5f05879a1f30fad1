//! What a change of the ring moves: for every range whose replicas differ
//! between today's ring and the future one (`Topology::future`), which node
//! gains it and where it can be copied from; which ranges a node may drop
//! (cleanup); and whether a node may leave at all. Pure over a topology.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::Bound;

use uuid::Uuid;

use crate::coordinator::replicas::{Strategy, Topology};
use crate::ring::{ranges, TokenRange};

/// One range of one table that `target` must receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub table: Uuid,
    pub start: Bound<i64>,
    pub end: Bound<i64>,
    pub target: IpAddr,
    /// Live replicas of today that hold it, those giving it up first; empty
    /// when none is up.
    pub sources: Vec<IpAddr>,
}

/// The ranges cut by every token of today's ring and of the future one: on
/// each, both rings have one replica set.
fn merged_ranges(topology: &Topology) -> Vec<TokenRange> {
    let mut tokens: BTreeSet<i64> = topology.ring.tokens().collect();
    if let Some(future) = &topology.future {
        tokens.extend(future.tokens());
    }
    ranges(&tokens.into_iter().collect::<Vec<_>>())
}

/// Every copy the move from today's ring to the future one needs, for the
/// given tables (id and their keyspace's strategy). Adjacent ranges with the
/// same target and sources are merged. Empty when no node is moving.
pub fn transfers(topology: &Topology, tables: &[(Uuid, Strategy)]) -> Vec<Transfer> {
    let Some(future) = &topology.future else {
        return Vec::new();
    };
    let cut = merged_ranges(topology);
    let mut out: Vec<Transfer> = Vec::new();
    for (table, strategy) in tables {
        for range in &cut {
            let today = topology.replicas(strategy, range.owner);
            let then = topology.replicas_on(future, strategy, range.owner);
            let gainers: Vec<IpAddr> = then.iter().copied().filter(|n| !today.contains(n)).collect();
            for target in gainers {
                let mut sources: Vec<IpAddr> = today
                    .iter()
                    .copied()
                    .filter(|n| topology.up.contains(n) || topology.local == Some(*n))
                    .collect();
                // The replica giving the range up holds what it served: copy from it first.
                sources.sort_by_key(|n| then.contains(n));
                push_merged(
                    &mut out,
                    Transfer {
                        table: *table,
                        start: range.start,
                        end: range.end,
                        target,
                        sources,
                    },
                );
            }
        }
    }
    out
}

fn push_merged(out: &mut Vec<Transfer>, next: Transfer) {
    if let Some(last) = out.last_mut() {
        let adjacent = matches!((last.end, next.start), (Bound::Included(a), Bound::Excluded(b)) if a == b);
        if adjacent && last.table == next.table && last.target == next.target && last.sources == next.sources {
            last.end = next.end;
            return;
        }
    }
    out.push(next);
}

/// The ranges of a table that `node` replicates neither today nor in the
/// future ring: what cleanup may drop from it. Adjacent ranges are merged.
pub fn unowned(topology: &Topology, strategy: &Strategy, node: IpAddr) -> Vec<(Bound<i64>, Bound<i64>)> {
    if matches!(strategy, Strategy::Local) {
        return Vec::new();
    }
    let mut out: Vec<(Bound<i64>, Bound<i64>)> = Vec::new();
    for range in merged_ranges(topology) {
        let today = topology.replicas(strategy, range.owner);
        let then = topology
            .future
            .as_ref()
            .map(|f| topology.replicas_on(f, strategy, range.owner))
            .unwrap_or_default();
        if today.contains(&node) || then.contains(&node) {
            continue;
        }
        match out.last_mut() {
            Some((_, end)) if matches!((*end, range.start), (Bound::Included(a), Bound::Excluded(b)) if a == b) => *end = range.end,
            _ => out.push((range.start, range.end)),
        }
    }
    out
}

/// Why `node` may not leave the ring, if it may not: a keyspace would have
/// fewer nodes (in a data centre, under NetworkTopologyStrategy) than its
/// replication factor.
pub fn leave_refusal(topology: &Topology, node: IpAddr, keyspaces: &[(String, Strategy)]) -> Option<String> {
    let members: Vec<IpAddr> = topology.ring.replicas(i64::MIN, usize::MAX);
    let staying: Vec<IpAddr> = members.into_iter().filter(|n| *n != node).collect();
    for (name, strategy) in keyspaces {
        match strategy {
            Strategy::Local => {}
            Strategy::Simple { rf } => {
                if staying.len() < *rf {
                    return Some(format!(
                        "keyspace {name} has replication factor {rf} and only {} node(s) would remain; \
                         lower its replication factor or add a node first",
                        staying.len()
                    ));
                }
            }
            Strategy::Network { rf_by_dc } => {
                for (dc, rf) in rf_by_dc {
                    let in_dc = staying.iter().filter(|n| topology.data_center(n) == dc).count();
                    if in_dc < *rf {
                        return Some(format!(
                            "keyspace {name} has replication factor {rf} in {dc} and only {in_dc} node(s) would remain there; \
                             lower its replication factor or add a node first"
                        ));
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::ring::Ring;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    const T: Uuid = Uuid::from_u128(1);

    fn topology(today: &[(u8, Vec<i64>)], future: Option<&[(u8, Vec<i64>)]>) -> Topology {
        let ring = |nodes: &[(u8, Vec<i64>)]| Ring::new(nodes.iter().map(|(n, t)| (ip(*n), t.clone())));
        let all: HashSet<IpAddr> = today.iter().chain(future.unwrap_or(&[])).map(|(n, _)| ip(*n)).collect();
        Topology {
            ring: ring(today),
            future: future.map(ring),
            up: all.clone(),
            data_centers: HashMap::new(),
            local: Some(ip(1)),
            ..Topology::default()
        }
    }

    #[test]
    fn a_joining_node_receives_exactly_the_ranges_it_will_replicate() {
        let today = [(1, vec![0]), (2, vec![100]), (3, vec![200])];
        let future = [(1, vec![0]), (2, vec![100]), (3, vec![200]), (4, vec![50])];
        let t = topology(&today, Some(&future));
        let moves = transfers(&t, &[(T, Strategy::Simple { rf: 1 })]);
        // Node 4 takes (0, 50] from node 2, which gives it up.
        assert_eq!(
            moves,
            vec![Transfer {
                table: T,
                start: Bound::Excluded(0),
                end: Bound::Included(50),
                target: ip(4),
                sources: vec![ip(2)],
            }]
        );
        let rf2 = transfers(&t, &[(T, Strategy::Simple { rf: 2 })]);
        assert!(rf2.iter().all(|m| m.target == ip(4)));
        // At RF 2 node 4 replicates (200, 50]: ranges (200, MAX], [MIN, 0] and (0, 50].
        let covered: Vec<(Bound<i64>, Bound<i64>)> = rf2.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(
            covered,
            vec![
                (Bound::Unbounded, Bound::Included(0)),
                (Bound::Excluded(0), Bound::Included(50)),
                (Bound::Excluded(200), Bound::Unbounded)
            ]
        );
        assert_eq!(rf2[0].sources, vec![ip(2), ip(1)], "node 2 gives [MIN, 0] up, so it streams it");
    }

    #[test]
    fn a_leaving_node_hands_each_range_to_its_new_replica_and_is_the_first_source() {
        let today = [(1, vec![0]), (2, vec![100]), (3, vec![200])];
        let future = [(1, vec![0]), (3, vec![200])];
        let t = topology(&today, Some(&future));
        let moves = transfers(&t, &[(T, Strategy::Simple { rf: 2 })]);
        assert!(!moves.is_empty());
        for m in &moves {
            assert_ne!(m.target, ip(2), "the leaver gains nothing");
            assert_eq!(m.sources.first(), Some(&ip(2)), "the leaver streams first: {m:?}");
        }
    }

    #[test]
    fn nothing_moves_without_a_future_ring_and_down_nodes_are_no_source() {
        let today = [(1, vec![0]), (2, vec![100])];
        assert!(transfers(&topology(&today, None), &[(T, Strategy::Simple { rf: 1 })]).is_empty());
        let mut t = topology(&today, Some(&[(1, vec![0]), (2, vec![100]), (3, vec![50])]));
        t.up.remove(&ip(2));
        let moves = transfers(&t, &[(T, Strategy::Simple { rf: 1 })]);
        assert_eq!(moves.len(), 1);
        assert!(moves[0].sources.is_empty(), "node 2 is down: no source");
    }

    #[test]
    fn cleanup_keeps_what_a_node_replicates_today_or_will() {
        let today = [(1, vec![0]), (2, vec![100]), (3, vec![200])];
        let t = topology(&today, None);
        // At RF 1 node 1 owns (200, 0]: it may drop (0, 200].
        assert_eq!(
            unowned(&t, &Strategy::Simple { rf: 1 }, ip(1)),
            vec![(Bound::Excluded(0), Bound::Included(200))]
        );
        assert!(unowned(&t, &Strategy::Simple { rf: 3 }, ip(1)).is_empty());
        assert!(unowned(&t, &Strategy::Local, ip(1)).is_empty());
    }

    #[test]
    fn leaving_is_refused_when_fewer_nodes_than_the_replication_factor_would_remain() {
        let t = topology(&[(1, vec![0]), (2, vec![100]), (3, vec![200])], None);
        let ks = |rf| vec![("flights".to_string(), Strategy::Simple { rf })];
        assert_eq!(leave_refusal(&t, ip(3), &ks(2)), None);
        let refusal = leave_refusal(&t, ip(3), &ks(3)).expect("RF 3 on 3 nodes");
        assert!(refusal.contains("flights") && refusal.contains("replication factor 3"), "{refusal}");
    }
}
