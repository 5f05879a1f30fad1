//! The token ring: which node owns which token ranges, and the replicas of a
//! token under SimpleStrategy. Pure functions over plain data (tokens and node
//! ids), tested on their own; the coordinator and `rustica status` use them.

use std::collections::BTreeMap;
use std::ops::Bound;

/// One range of the ring between two tokens, and a token inside it whose
/// replicas are the range's (its upper end, or the first token for the wrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRange {
    pub start: Bound<i64>,
    pub end: Bound<i64>,
    pub owner: i64,
}

/// The ranges that `tokens` (sorted, distinct) cut the whole token space into,
/// in token order: `[MIN, first]`, each `(previous, t]`, then `(last, MAX]`,
/// the first and last both replicated like the first token. Empty without tokens.
pub fn ranges(tokens: &[i64]) -> Vec<TokenRange> {
    let (Some(&first), Some(&last)) = (tokens.first(), tokens.last()) else {
        return Vec::new();
    };
    let mut out = vec![TokenRange {
        start: Bound::Unbounded,
        end: Bound::Included(first),
        owner: first,
    }];
    for pair in tokens.windows(2) {
        if let [a, b] = pair {
            out.push(TokenRange {
                start: Bound::Excluded(*a),
                end: Bound::Included(*b),
                owner: *b,
            });
        }
    }
    if last < i64::MAX {
        out.push(TokenRange {
            start: Bound::Excluded(last),
            end: Bound::Unbounded,
            owner: first,
        });
    }
    out
}

/// A ring: every vnode token and the node that owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ring<N: Ord + Clone> {
    tokens: BTreeMap<i64, N>,
}

impl<N: Ord + Clone> Default for Ring<N> {
    fn default() -> Self {
        Ring { tokens: BTreeMap::new() }
    }
}

impl<N: Ord + Clone> Ring<N> {
    pub fn new(nodes: impl IntoIterator<Item = (N, Vec<i64>)>) -> Ring<N> {
        let mut tokens = BTreeMap::new();
        for (node, ts) in nodes {
            for t in ts {
                tokens.insert(t, node.clone());
            }
        }
        Ring { tokens }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Every vnode token in ring order.
    pub fn tokens(&self) -> impl Iterator<Item = i64> + '_ {
        self.tokens.keys().copied()
    }

    /// The first `rf` distinct nodes clockwise from the token (SimpleStrategy).
    pub fn replicas(&self, token: i64, rf: usize) -> Vec<N> {
        let mut out: Vec<N> = Vec::with_capacity(rf.min(self.tokens.len()));
        let after = self.tokens.range(token..).chain(self.tokens.range(..token));
        for (_, node) in after {
            if out.len() >= rf {
                break;
            }
            if !out.contains(node) {
                out.push(node.clone());
            }
        }
        out
    }

    /// Each node's share of the ring (0.0..=1.0) counting every range it
    /// replicates at replication factor `rf` (`rf` 1: primary ownership).
    pub fn effective_ownership(&self, rf: usize) -> BTreeMap<N, f64> {
        let mut owns: BTreeMap<N, f64> = BTreeMap::new();
        let total = 2f64.powi(64);
        let tokens: Vec<i64> = self.tokens.keys().copied().collect();
        for (i, &t) in tokens.iter().enumerate() {
            let prev = if i == 0 {
                *tokens.last().unwrap_or(&t)
            } else {
                tokens.get(i - 1).copied().unwrap_or(t)
            };
            // The range (prev, t]; a single token owns the whole ring.
            let width = if tokens.len() == 1 {
                total
            } else {
                (t as i128 - prev as i128).rem_euclid(1i128 << 64) as f64
            };
            for node in self.replicas(t, rf) {
                *owns.entry(node).or_default() += width / total;
            }
        }
        owns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn replicas_are_the_next_distinct_nodes_clockwise() {
        let ring = Ring::new([("a", vec![0, 100]), ("b", vec![50]), ("c", vec![75])]);
        assert_eq!(ring.replicas(10, 2), vec!["b", "c"]);
        assert_eq!(ring.replicas(80, 3), vec!["a", "b", "c"]);
        assert_eq!(ring.replicas(101, 2), vec!["a", "b"], "wraps around");
        assert_eq!(ring.replicas(10, 5).len(), 3, "RF above the node count gives every node once");
    }

    #[test]
    fn ranges_cover_the_token_space_once_in_order() {
        let r = ranges(&[-10, 10]);
        assert_eq!(
            r,
            vec![
                TokenRange {
                    start: Bound::Unbounded,
                    end: Bound::Included(-10),
                    owner: -10
                },
                TokenRange {
                    start: Bound::Excluded(-10),
                    end: Bound::Included(10),
                    owner: 10
                },
                TokenRange {
                    start: Bound::Excluded(10),
                    end: Bound::Unbounded,
                    owner: -10
                },
            ]
        );
        assert!(ranges(&[]).is_empty());
    }

    #[test]
    fn primary_ownership_adds_up_to_the_whole_ring() {
        let ring = Ring::new([("a", vec![i64::MIN / 2, 7]), ("b", vec![i64::MAX / 3])]);
        let total: f64 = ring.effective_ownership(1).values().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }

    proptest! {
        #[test]
        fn every_token_has_exactly_rf_replicas_when_there_are_enough_nodes(
            tokens in proptest::collection::btree_set(any::<i64>(), 5..40),
            rf in 1usize..4,
            probe: i64,
        ) {
            let nodes: Vec<(u8, Vec<i64>)> = (0..5u8).map(|n| (n, tokens.iter().copied().skip(n as usize).step_by(5).collect())).collect();
            let ring = Ring::new(nodes);
            let replicas = ring.replicas(probe, rf);
            prop_assert_eq!(replicas.len(), rf);
            let mut unique = replicas.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), rf);
            let owns: f64 = ring.effective_ownership(rf).values().sum();
            prop_assert!((owns - rf as f64).abs() < 1e-6);
        }
    }
}
