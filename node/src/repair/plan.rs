//! What a repair covers and what it streams, pure over a topology and the
//! replicas' trees: the token ranges this node replicates (all of them, or
//! only its primary ranges as nodetool's `-pr`), cut to the tokens asked for
//! (nodetool's `-st`/`-et`), each with its replicas; and once the trees are
//! in, which sub-ranges go from which replica to which, so that every replica
//! ends with the data of all.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::merkle::{MerkleTree, TokenSpan, TreeError};
use crate::coordinator::replicas::{Strategy, Topology};
use crate::ring::ranges;

/// One range to repair and the nodes that replicate it (this one included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairRange {
    pub span: TokenSpan,
    pub replicas: Vec<IpAddr>,
}

/// The tokens `(start, end]` as nodetool's `-st`/`-et` name them, as spans:
/// either end may be left open; a start past the end wraps around the ring.
pub fn requested_spans(start: Option<i64>, end: Option<i64>) -> Vec<TokenSpan> {
    let first = match start {
        None => Some(i64::MIN),
        Some(s) => s.checked_add(1),
    };
    let last = end.unwrap_or(i64::MAX);
    match first {
        None => vec![TokenSpan { first: i64::MIN, last }],
        Some(first) if first <= last => vec![TokenSpan { first, last }],
        Some(first) => vec![TokenSpan { first: i64::MIN, last }, TokenSpan { first, last: i64::MAX }],
    }
}

/// The ranges of `local` under `strategy` (its primary ranges only, when
/// `primary`: those whose first replica it is), within `within`, in token
/// order. A range with a single replica has nothing to compare and is left out.
pub fn ranges_to_repair(topology: &Topology, strategy: &Strategy, local: IpAddr, primary: bool, within: &[TokenSpan]) -> Vec<RepairRange> {
    let tokens: Vec<i64> = topology.ring.tokens().collect();
    let mut out = Vec::new();
    for range in ranges(&tokens) {
        let replicas = topology.replicas(strategy, range.owner);
        if !replicas.contains(&local) || replicas.len() < 2 || (primary && replicas.first() != Some(&local)) {
            continue;
        }
        let Some(span) = TokenSpan::from_bounds(range.start, range.end) else {
            continue;
        };
        for wanted in within {
            if let Some(span) = span.intersect(wanted) {
                out.push(RepairRange {
                    span,
                    replicas: replicas.clone(),
                });
            }
        }
    }
    out.sort_by_key(|r| r.span);
    out
}

/// One copy of a repair: `source`'s content of `span` is streamed to `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SyncTask {
    pub source: IpAddr,
    pub target: IpAddr,
    pub span: TokenSpan,
}

/// The copies that make replicas with these trees (of `span`, one depth)
/// agree: on each leaf where they differ, the replicas fall in groups of
/// equal hashes, and each group's first replica sends the leaf to every
/// replica of the other groups. Adjacent leaves with the same copies are
/// merged into one sub-range. Empty when every tree is the same.
pub fn sync_tasks(span: TokenSpan, trees: &[(IpAddr, MerkleTree)]) -> Result<Vec<SyncTask>, TreeError> {
    let Some((_, first)) = trees.first() else {
        return Ok(Vec::new());
    };
    let mut differing = std::collections::BTreeSet::new();
    for (_, other) in trees.iter().skip(1) {
        differing.extend(first.differences(other)?);
    }
    // (source, target) -> the leaves it copies, in order.
    let mut copies: BTreeMap<(IpAddr, IpAddr), Vec<usize>> = BTreeMap::new();
    for &leaf in &differing {
        let mut groups: Vec<(u64, Vec<IpAddr>)> = Vec::new();
        for (node, tree) in trees {
            let hash = tree.leaves.get(leaf).copied().unwrap_or_default();
            match groups.iter_mut().find(|(h, _)| *h == hash) {
                Some((_, members)) => members.push(*node),
                None => groups.push((hash, vec![*node])),
            }
        }
        for (g, (_, from)) in groups.iter().enumerate() {
            let Some(source) = from.first() else { continue };
            for (h, (_, to)) in groups.iter().enumerate() {
                if g != h {
                    for target in to {
                        copies.entry((*source, *target)).or_default().push(leaf);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((source, target), leaves) in copies {
        let mut current: Option<TokenSpan> = None;
        for leaf in leaves {
            let Some(tokens) = span.leaf(first.depth, leaf) else { continue };
            match &mut current {
                Some(c) if c.last.checked_add(1) == Some(tokens.first) => c.last = tokens.last,
                _ => {
                    if let Some(done) = current.take() {
                        out.push(SyncTask {
                            source,
                            target,
                            span: done,
                        });
                    }
                    current = Some(tokens);
                }
            }
        }
        if let Some(done) = current {
            out.push(SyncTask {
                source,
                target,
                span: done,
            });
        }
    }
    out.sort();
    Ok(out)
}

/// How deep a tree to ask for, from the bytes the range holds here: about
/// `LEAF_BYTES` a leaf (a few rows), so that scattered differences stream
/// little, between 2^4 and 2^MAX_DEPTH leaves (512 KiB of hashes a replica,
/// reached from 256 MiB in a range; larger ranges get larger leaves).
/// Measured: with leaves of 64 KiB, 2 000 scattered overwrites that one
/// replica missed among 40 000 rows of 1 KB made every leaf differ.
pub fn depth_for(bytes: u64) -> u8 {
    const LEAF_BYTES: u64 = 4 * 1024;
    let leaves = (bytes / LEAF_BYTES).max(1);
    let depth = 64 - leaves.leading_zeros() as u8;
    depth.clamp(4, super::merkle::MAX_DEPTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Ring;

    fn ip(k: u8) -> IpAddr {
        IpAddr::from([127, 1, 2, k])
    }

    fn topology() -> Topology {
        Topology {
            ring: Ring::new(vec![(ip(1), vec![-100]), (ip(2), vec![0]), (ip(3), vec![100])]),
            local: Some(ip(1)),
            ..Topology::default()
        }
    }

    #[test]
    fn a_node_repairs_every_range_it_replicates_or_only_its_primary_ones() {
        let t = topology();
        let rf2 = Strategy::Simple { rf: 2 };
        let all = ranges_to_repair(&t, &rf2, ip(1), false, &requested_spans(None, None));
        let spans: Vec<(i64, i64)> = all.iter().map(|r| (r.span.first, r.span.last)).collect();
        // ip(1) owns [MIN, -100] and (100, MAX] (the wrap) and replicates (0, 100] for ip(3).
        assert_eq!(spans, vec![(i64::MIN, -100), (1, 100), (101, i64::MAX)]);
        let primary = ranges_to_repair(&t, &rf2, ip(1), true, &requested_spans(None, None));
        let spans: Vec<(i64, i64)> = primary.iter().map(|r| (r.span.first, r.span.last)).collect();
        assert_eq!(spans, vec![(i64::MIN, -100), (101, i64::MAX)]);
        assert_eq!(primary[0].replicas, vec![ip(1), ip(2)]);
        assert!(ranges_to_repair(&t, &Strategy::Simple { rf: 1 }, ip(1), false, &requested_spans(None, None)).is_empty());
    }

    #[test]
    fn start_and_end_tokens_cut_the_ranges_and_may_wrap() {
        assert_eq!(requested_spans(Some(-5), Some(5)), vec![TokenSpan { first: -4, last: 5 }]);
        assert_eq!(
            requested_spans(Some(5), Some(-5)),
            vec![TokenSpan { first: i64::MIN, last: -5 }, TokenSpan { first: 6, last: i64::MAX }]
        );
        let t = topology();
        let cut = ranges_to_repair(
            &t,
            &Strategy::Simple { rf: 3 },
            ip(1),
            false,
            &requested_spans(Some(-150), Some(50)),
        );
        let spans: Vec<(i64, i64)> = cut.iter().map(|r| (r.span.first, r.span.last)).collect();
        assert_eq!(spans, vec![(-149, -100), (-99, 0), (1, 50)]);
    }

    fn tree(leaves: [u64; 4]) -> MerkleTree {
        MerkleTree {
            depth: 2,
            leaves: leaves.to_vec(),
        }
    }

    #[test]
    fn replicas_that_agree_copy_nothing() {
        let span = TokenSpan { first: 0, last: 399 };
        let same = [
            (ip(1), tree([1, 2, 3, 4])),
            (ip(2), tree([1, 2, 3, 4])),
            (ip(3), tree([1, 2, 3, 4])),
        ];
        assert_eq!(sync_tasks(span, &same).unwrap(), Vec::new());
    }

    #[test]
    fn a_stale_replica_gets_the_differing_leaves_and_sends_its_own_back() {
        let span = TokenSpan { first: 0, last: 399 };
        let trees = [
            (ip(1), tree([1, 2, 3, 4])),
            (ip(2), tree([1, 2, 3, 4])),
            (ip(3), tree([1, 9, 9, 4])),
        ];
        let tasks = sync_tasks(span, &trees).unwrap();
        let leaves_1_2 = TokenSpan { first: 100, last: 299 };
        assert_eq!(
            tasks,
            vec![
                SyncTask {
                    source: ip(1),
                    target: ip(3),
                    span: leaves_1_2
                },
                SyncTask {
                    source: ip(3),
                    target: ip(1),
                    span: leaves_1_2
                },
                SyncTask {
                    source: ip(3),
                    target: ip(2),
                    span: leaves_1_2
                },
            ]
        );
    }

    #[test]
    fn tree_depth_follows_the_bytes_of_the_range() {
        assert_eq!(depth_for(0), 4);
        assert_eq!(depth_for(1 << 20), 9);
        assert_eq!(depth_for(100 << 20), 15);
        assert_eq!(depth_for(u64::MAX), super::super::merkle::MAX_DEPTH);
    }
}
