//! What an incremental repair compares and streams, pure over the replicas'
//! answers: the union of the partitions each replica holds unrepaired in a
//! range (`storage::unrepaired`), or the whole range when a list is too long
//! to send; how deep a tree those partitions need; and which single tokens
//! to stream once the trees show where the replicas differ, so that only the
//! differing unrepaired partitions travel, never the repaired data around
//! them.

use super::merkle::{TokenSpan, MAX_DEPTH};
use crate::storage::PartitionPosition;

/// The most unrepaired partitions of one range and table compared by their
/// list; past it (on one replica or in the union) the whole range is
/// compared, as a full repair does. A list of 16 384 partitions with keys of
/// 16 bytes is about 500 KiB on the wire.
pub const MAX_LISTED_PARTITIONS: usize = 16_384;

/// What an incremental repair of one range and table compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No replica holds anything unrepaired there: nothing to compare.
    Nothing,
    /// Only these partitions (ring order, each once).
    Partitions(Vec<PartitionPosition>),
    /// Everything in the range.
    WholeRange,
}

/// The union of the replicas' unrepaired lists (`None`: a replica had more
/// than it lists), compared as a list while it holds at most `max`.
pub fn scope(lists: &[Option<Vec<PartitionPosition>>], max: usize) -> Scope {
    let mut union: Vec<PartitionPosition> = Vec::new();
    for list in lists {
        let Some(list) = list else { return Scope::WholeRange };
        union.extend(list.iter().cloned());
    }
    union.sort();
    union.dedup();
    match union.len() {
        0 => Scope::Nothing,
        n if n > max => Scope::WholeRange,
        _ => Scope::Partitions(union),
    }
}

/// The depth of a tree over `partitions` partitions: about two leaves each,
/// so that a differing leaf names about one partition.
pub fn depth_for_partitions(partitions: usize) -> u8 {
    let leaves = partitions.saturating_mul(2).max(1);
    let depth = usize::BITS - (leaves - 1).leading_zeros();
    u8::try_from(depth).unwrap_or(MAX_DEPTH).min(MAX_DEPTH)
}

/// The tokens of the compared partitions that lie in `span` (where the trees
/// differ), each once, as single-token spans: what is streamed.
pub fn tokens_to_stream(span: TokenSpan, partitions: &[PartitionPosition]) -> Vec<TokenSpan> {
    let mut out: Vec<TokenSpan> = Vec::new();
    let from = partitions.partition_point(|p| p.token < span.first);
    for p in partitions.iter().skip(from).take_while(|p| p.token <= span.last) {
        if out.last().map(|s| s.first) != Some(p.token) {
            out.push(TokenSpan {
                first: p.token,
                last: p.token,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(token: i64, key: u8) -> PartitionPosition {
        PartitionPosition { token, key: vec![key] }
    }

    #[test]
    fn the_replicas_lists_are_compared_as_their_union() {
        let a = Some(vec![p(1, 1), p(5, 1)]);
        let b = Some(vec![p(5, 1), p(9, 2)]);
        assert_eq!(
            scope(&[a.clone(), b.clone()], 10),
            Scope::Partitions(vec![p(1, 1), p(5, 1), p(9, 2)])
        );
        assert_eq!(scope(&[Some(vec![]), Some(vec![])], 10), Scope::Nothing);
        assert_eq!(scope(&[a.clone(), None], 10), Scope::WholeRange, "a replica with too many");
        assert_eq!(scope(&[a, b], 2), Scope::WholeRange, "a union with too many");
    }

    #[test]
    fn a_tree_has_about_two_leaves_a_partition() {
        assert_eq!(depth_for_partitions(0), 0);
        assert_eq!(depth_for_partitions(1), 1);
        assert_eq!(depth_for_partitions(3), 3);
        assert_eq!(depth_for_partitions(4), 3);
        assert_eq!(depth_for_partitions(1000), 11);
        assert_eq!(depth_for_partitions(usize::MAX), MAX_DEPTH);
    }

    #[test]
    fn only_the_tokens_of_compared_partitions_in_the_differing_span_stream() {
        let listed = [p(-4, 1), p(2, 1), p(2, 2), p(7, 1), p(12, 1)];
        let spans = tokens_to_stream(TokenSpan { first: 0, last: 10 }, &listed);
        assert_eq!(spans, vec![TokenSpan { first: 2, last: 2 }, TokenSpan { first: 7, last: 7 }]);
        assert!(tokens_to_stream(TokenSpan { first: 13, last: 20 }, &listed).is_empty());
    }
}
