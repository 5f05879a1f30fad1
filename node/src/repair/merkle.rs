//! The Merkle tree of one token range of one table, as a replica builds it
//! for a repair (`validation`) and the repair's coordinator compares it: the
//! range is cut into `2^depth` leaves of equal token width, each leaf holds
//! the hash of the table's content in its tokens, and each inner node the
//! hash of its two children. Two replicas agree on a leaf exactly when their
//! hashes are equal; `differences` walks down from the root to the leaves
//! that differ. Pure: no storage, no I/O.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::ops::Bound;

use serde::{Deserialize, Serialize};

/// The deepest tree a replica builds (65 536 leaves, 512 KiB of hashes).
pub const MAX_DEPTH: u8 = 16;

/// Tokens `first..=last` (never empty: `first <= last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TokenSpan {
    pub first: i64,
    pub last: i64,
}

impl TokenSpan {
    /// The tokens between two bounds, `None` when there are none.
    pub fn from_bounds(start: Bound<i64>, end: Bound<i64>) -> Option<TokenSpan> {
        let first = match start {
            Bound::Unbounded => i64::MIN,
            Bound::Included(t) => t,
            Bound::Excluded(t) => t.checked_add(1)?,
        };
        let last = match end {
            Bound::Unbounded => i64::MAX,
            Bound::Included(t) => t,
            Bound::Excluded(t) => t.checked_sub(1)?,
        };
        (first <= last).then_some(TokenSpan { first, last })
    }

    pub fn bounds(&self) -> (Bound<i64>, Bound<i64>) {
        (Bound::Included(self.first), Bound::Included(self.last))
    }

    /// The tokens both spans hold.
    pub fn intersect(&self, other: &TokenSpan) -> Option<TokenSpan> {
        let (first, last) = (self.first.max(other.first), self.last.min(other.last));
        (first <= last).then_some(TokenSpan { first, last })
    }

    fn width(&self) -> i128 {
        i128::from(self.last) - i128::from(self.first) + 1
    }

    /// Where leaf `index` of `leaves` starts, as an offset from `first`:
    /// `ceil(width * index / leaves)`, so that `leaf_of` is exact.
    fn leaf_start(&self, leaves: usize, index: usize) -> i128 {
        let (w, n, i) = (self.width(), leaves as i128, index as i128);
        (w * i + n - 1) / n
    }

    /// The tokens of leaf `index` of a tree of `depth`; `None` for a leaf
    /// without tokens (a span narrower than its number of leaves).
    pub fn leaf(&self, depth: u8, index: usize) -> Option<TokenSpan> {
        let leaves = 1usize << depth;
        let start = i128::from(self.first) + self.leaf_start(leaves, index);
        let end = i128::from(self.first) + self.leaf_start(leaves, index + 1) - 1;
        if start > end {
            return None;
        }
        Some(TokenSpan {
            first: i64::try_from(start).ok()?,
            last: i64::try_from(end).ok()?,
        })
    }

    /// The leaf of a tree of `depth` that holds `token` (which must lie in the span).
    pub fn leaf_of(&self, depth: u8, token: i64) -> usize {
        let leaves = 1i128 << depth;
        let offset = (i128::from(token) - i128::from(self.first)).clamp(0, self.width() - 1);
        (offset * leaves / self.width()) as usize
    }
}

/// A replica's tree: one hash per leaf, left to right (`2^depth` of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleTree {
    pub depth: u8,
    pub leaves: Vec<u64>,
}

/// The hash of a leaf with nothing in it, on every replica.
pub const EMPTY_LEAF: u64 = 0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("a tree of depth {depth} must have {expected} leaves, this one has {got}")]
    LeafCount { depth: u8, expected: usize, got: usize },
    #[error("trees of depth {a} and {b} cannot be compared")]
    DepthMismatch { a: u8, b: u8 },
    #[error("a tree deeper than {MAX_DEPTH} levels ({depth})")]
    TooDeep { depth: u8 },
}

/// The hash of an inner node from its children's (FNV-1a over their bytes).
fn combine(left: u64, right: u64) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&left.to_be_bytes());
    bytes[8..].copy_from_slice(&right.to_be_bytes());
    crate::coordinator::digest::fnv1a(&bytes)
}

impl MerkleTree {
    /// Checks the shape a peer sent: depth within bounds, one hash per leaf.
    pub fn check(&self) -> Result<(), TreeError> {
        if self.depth > MAX_DEPTH {
            return Err(TreeError::TooDeep { depth: self.depth });
        }
        let expected = 1usize << self.depth;
        if self.leaves.len() != expected {
            return Err(TreeError::LeafCount {
                depth: self.depth,
                expected,
                got: self.leaves.len(),
            });
        }
        Ok(())
    }

    /// Every level of the tree, the leaves first and the root (one hash) last.
    fn levels(&self) -> Vec<Vec<u64>> {
        let mut levels = vec![self.leaves.clone()];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let above = below
                .chunks(2)
                .map(|pair| combine(pair.first().copied().unwrap_or(0), pair.get(1).copied().unwrap_or(0)))
                .collect();
            levels.push(above);
        }
        levels
    }

    /// The root hash: equal roots mean the replicas hold the same data.
    pub fn root(&self) -> u64 {
        self.levels().last().and_then(|l| l.first().copied()).unwrap_or(EMPTY_LEAF)
    }

    /// The leaves whose hashes differ, in order, found by descending from the
    /// root into the subtrees that differ.
    pub fn differences(&self, other: &MerkleTree) -> Result<Vec<usize>, TreeError> {
        self.check()?;
        other.check()?;
        if self.depth != other.depth {
            return Err(TreeError::DepthMismatch {
                a: self.depth,
                b: other.depth,
            });
        }
        let (mine, theirs) = (self.levels(), other.levels());
        let top = mine.len() - 1;
        let mut out = Vec::new();
        // (level counted from the leaves, index in that level)
        let mut pending = vec![(top, 0usize)];
        while let Some((level, index)) = pending.pop() {
            let differ = mine.get(level).and_then(|l| l.get(index)) != theirs.get(level).and_then(|l| l.get(index));
            if !differ {
                continue;
            }
            if level == 0 {
                out.push(index);
            } else {
                pending.push((level - 1, 2 * index + 1));
                pending.push((level - 1, 2 * index));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tree(leaves: Vec<u64>) -> MerkleTree {
        let depth = leaves.len().trailing_zeros() as u8;
        MerkleTree { depth, leaves }
    }

    #[test]
    fn leaves_cut_the_whole_ring_without_gaps_or_overlaps() {
        let whole = TokenSpan {
            first: i64::MIN,
            last: i64::MAX,
        };
        let depth = 4;
        let mut next = i128::from(i64::MIN);
        for i in 0..16 {
            let leaf = whole.leaf(depth, i).unwrap();
            assert_eq!(i128::from(leaf.first), next, "leaf {i} starts where {} ended", i.saturating_sub(1));
            assert_eq!(whole.leaf_of(depth, leaf.first), i);
            assert_eq!(whole.leaf_of(depth, leaf.last), i);
            next = i128::from(leaf.last) + 1;
        }
        assert_eq!(next, i128::from(i64::MAX) + 1);
    }

    #[test]
    fn a_span_narrower_than_its_leaves_has_empty_leaves() {
        let narrow = TokenSpan { first: 10, last: 12 };
        let leaves: Vec<Option<TokenSpan>> = (0..8).map(|i| narrow.leaf(3, i)).collect();
        let tokens: Vec<i64> = leaves.iter().flatten().flat_map(|l| l.first..=l.last).collect();
        assert_eq!(tokens, vec![10, 11, 12], "each token in exactly one leaf");
        for t in 10..=12 {
            let leaf = narrow.leaf(3, narrow.leaf_of(3, t)).unwrap();
            assert!((leaf.first..=leaf.last).contains(&t));
        }
    }

    #[test]
    fn bounds_become_spans_and_an_empty_range_none() {
        assert_eq!(
            TokenSpan::from_bounds(Bound::Excluded(5), Bound::Included(9)),
            Some(TokenSpan { first: 6, last: 9 })
        );
        assert_eq!(
            TokenSpan::from_bounds(Bound::Unbounded, Bound::Unbounded),
            Some(TokenSpan {
                first: i64::MIN,
                last: i64::MAX
            })
        );
        assert_eq!(TokenSpan::from_bounds(Bound::Excluded(i64::MAX), Bound::Unbounded), None);
        assert_eq!(TokenSpan::from_bounds(Bound::Excluded(9), Bound::Included(9)), None);
    }

    #[test]
    fn equal_trees_have_no_differences_and_one_changed_leaf_is_found() {
        let a = tree((0..64).collect());
        assert_eq!(a.differences(&a.clone()).unwrap(), Vec::<usize>::new());
        let mut b = a.clone();
        b.leaves[37] = 999;
        b.leaves[3] = 998;
        assert_eq!(a.differences(&b).unwrap(), vec![3, 37]);
        assert_ne!(a.root(), b.root());
        let c = tree((0..32).collect());
        assert_eq!(a.differences(&c), Err(TreeError::DepthMismatch { a: 6, b: 5 }));
        let bad = MerkleTree { depth: 2, leaves: vec![1] };
        assert!(matches!(a.differences(&bad), Err(TreeError::LeafCount { .. })));
    }

    proptest! {
        #[test]
        fn differences_are_exactly_the_leaves_that_differ(
            a in proptest::collection::vec(0u64..4, 32),
            b in proptest::collection::vec(0u64..4, 32),
        ) {
            let expected: Vec<usize> = (0..32).filter(|i| a[*i] != b[*i]).collect();
            prop_assert_eq!(tree(a).differences(&tree(b)).unwrap(), expected);
        }

        #[test]
        fn every_token_falls_in_the_leaf_leaf_of_names(first in any::<i64>(), width in 0u64..1_000_000, depth in 0u8..=8, pick in any::<u64>()) {
            let last = first.saturating_add(width as i64);
            let span = TokenSpan { first, last };
            let token = first + (pick % (last.abs_diff(first) + 1)) as i64;
            let leaf = span.leaf(depth, span.leaf_of(depth, token)).unwrap();
            prop_assert!(leaf.first <= token && token <= leaf.last);
        }
    }
}
