//! Short-read protection: a read runs in rounds, each asking the replicas for
//! at most a page's worth (`ReadLimits`), so a replica never reads or sends
//! more than the query can use. An answer that reached its limits may hold
//! only the first part of what the replica has; past its last row, another
//! replica's rows cannot be trusted (the cut-short replica might hold a
//! tombstone for them). So each round's merge is used only up to the
//! `cutoff`, the earliest end, in read order, among the answers that reached
//! their limits, and the next round resumes there. Cassandra protects its
//! reads the same way (`ShortReadProtection`).
//!
//! `Rounds` feeds the rounds' rows to the read's visitor as one read: a
//! partition split across rounds answers "no live rows" (its static row alone)
//! only once its last round shows it has none, and a partition the visitor
//! leaves (`Visit::NextPartition`) is not read on. Pure: no I/O.

use std::cmp::Ordering;

use crate::storage::{LiveRow, Mutation, PartitionPosition, PartitionView, ReadLimits, ResumePoint, Visit, Visitor};

/// Read order of two points: partitions in ring order; within one, rows by
/// clustering (descending when `reversed`), the partition's end after all.
fn read_order(a: &ResumePoint, b: &ResumePoint, reversed: bool) -> Ordering {
    a.position.cmp(&b.position).then_with(|| match (&a.clustering, &b.clustering) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) if reversed => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
    })
}

/// How far a round's answers can be trusted: the earliest end among those
/// that reached `limits`; `None` when none did (the answers are whole).
pub(crate) fn cutoff<'a>(answers: impl IntoIterator<Item = &'a [Mutation]>, limits: ReadLimits, reversed: bool) -> Option<ResumePoint> {
    answers
        .into_iter()
        .filter(|a| limits.reached(a))
        .filter_map(|a| ResumePoint::end_of(a, reversed))
        .min_by(|a, b| read_order(a, b, reversed))
}

/// Drops what an answer holds past `cut`.
pub(crate) fn trim(answer: &mut Vec<Mutation>, cut: &ResumePoint, reversed: bool) {
    answer.retain(|m| m.position <= cut.position);
    let Some(clustering) = &cut.clustering else { return };
    if let Some(last) = answer.last_mut().filter(|m| m.position == cut.position) {
        last.rows.retain(|(c, _)| if reversed { c >= clustering } else { c <= clustering });
    }
}

/// The rounds of one read of a partition or range, as the visitor sees them.
#[derive(Default)]
pub(crate) struct Rounds {
    /// A partition cut by a round before any live row of it was seen, with
    /// its static row: it has no live rows if its later rounds show none.
    pending: Option<(PartitionPosition, Option<LiveRow>)>,
    /// The partition the visitor left with `NextPartition`.
    left: Option<PartitionPosition>,
}

impl Rounds {
    /// Passes one row (or a partition without live rows) of a round whose
    /// answers were trusted up to `cut` to `visitor`.
    pub(crate) fn visit(
        &mut self,
        cut: Option<&ResumePoint>,
        visitor: &mut Visitor<'_>,
        pv: &PartitionView<'_>,
        row: Option<(&[u8], &LiveRow)>,
    ) -> Visit {
        if self.pending.as_ref().is_some_and(|(p, _)| p != pv.position) && self.flush(visitor) == Visit::Stop {
            return Visit::Stop;
        }
        let cut_here = cut.is_some_and(|c| &c.position == pv.position && c.clustering.is_some());
        match row {
            None if cut_here => {
                self.pending = Some((pv.position.clone(), pv.static_row.clone()));
                return Visit::Continue;
            }
            Some(_) if self.pending.as_ref().is_some_and(|(p, _)| p == pv.position) => self.pending = None,
            _ => {}
        }
        let visit = visitor(pv, row);
        if visit == Visit::NextPartition {
            self.left = Some(pv.position.clone());
        }
        visit
    }

    /// After a round trusted up to `cut`: where the next round resumes, or
    /// `None` when the read is done. A partition that ended without live rows
    /// is answered first.
    pub(crate) fn next(&mut self, cut: Option<ResumePoint>, visitor: &mut Visitor<'_>) -> Option<ResumePoint> {
        let cut_inside = |p: &PartitionPosition| cut.as_ref().is_some_and(|c| &c.position == p && c.clustering.is_some());
        if self.pending.as_ref().is_some_and(|(p, _)| !cut_inside(p)) && self.flush(visitor) == Visit::Stop {
            return None;
        }
        let mut cut = cut?;
        if self.left.as_ref() == Some(&cut.position) {
            cut.clustering = None;
        }
        Some(cut)
    }

    /// Answers the pending partition as one without live rows.
    fn flush(&mut self, visitor: &mut Visitor<'_>) -> Visit {
        let Some((position, static_row)) = self.pending.take() else {
            return Visit::Continue;
        };
        if static_row.is_none() {
            return Visit::Continue;
        }
        let pv = PartitionView {
            position: &position,
            static_row,
        };
        visitor(&pv, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Cell, ColumnData, Row};
    use uuid::Uuid;

    fn position(key: u8) -> PartitionPosition {
        PartitionPosition {
            token: i64::from(key),
            key: vec![key],
        }
    }

    fn partition(key: u8, clusterings: &[u8]) -> Mutation {
        let mut m = Mutation::new(Uuid::from_u128(1), position(key));
        for c in clusterings {
            let mut row = Row::default();
            row.columns.insert("v".into(), ColumnData::Simple(Cell::live(1, vec![*c], 0, 0)));
            m.rows.push((vec![*c], row));
        }
        m
    }

    fn point(key: u8, clustering: Option<u8>) -> ResumePoint {
        ResumePoint {
            position: position(key),
            clustering: clustering.map(|c| vec![c]),
        }
    }

    #[test]
    fn the_cutoff_is_the_earliest_end_among_answers_cut_short() {
        let limits = ReadLimits::rows(3);
        let a = vec![partition(1, &[1, 2, 3])];
        let b = vec![partition(1, &[1]), partition(2, &[1, 2])];
        let whole = vec![partition(1, &[1])];
        assert_eq!(cutoff([a.as_slice(), b.as_slice()], limits, false), Some(point(1, Some(3))));
        assert_eq!(cutoff([whole.as_slice(), b.as_slice()], limits, false), Some(point(2, Some(2))));
        assert_eq!(cutoff([whole.as_slice()], limits, false), None);
        // Reversed, rows are still listed ascending: the end is the lowest.
        let r = vec![partition(1, &[7, 8, 9])];
        assert_eq!(cutoff([r.as_slice()], limits, true), Some(point(1, Some(7))));
        // A partition without rows ends whole.
        let empty = vec![partition(1, &[1, 2]), partition(3, &[])];
        assert_eq!(cutoff([empty.as_slice()], limits, false), Some(point(3, None)));
    }

    #[test]
    fn trimming_drops_rows_and_partitions_past_the_cut() {
        let mut answer = vec![partition(1, &[1, 2, 3]), partition(2, &[1])];
        trim(&mut answer, &point(1, Some(2)), false);
        assert_eq!(answer, vec![partition(1, &[1, 2])]);
        let mut reversed = vec![partition(1, &[1, 2, 3])];
        trim(&mut reversed, &point(1, Some(2)), true);
        assert_eq!(reversed, vec![partition(1, &[2, 3])]);
        let mut whole = vec![partition(1, &[1, 2]), partition(2, &[1])];
        trim(&mut whole, &point(1, None), false);
        assert_eq!(whole, vec![partition(1, &[1, 2])]);
    }

    fn static_row() -> Option<LiveRow> {
        Some(LiveRow::default())
    }

    /// What the visitor saw: (partition, Some(row) or None for "no live rows").
    type Seen = Vec<(u8, Option<u8>)>;

    fn visit_all(rounds: &mut Rounds, cut: Option<&ResumePoint>, events: &[(u8, Option<u8>)], seen: &mut Seen, answer: Visit) -> Visit {
        let mut visitor = |pv: &PartitionView<'_>, row: Option<(&[u8], &LiveRow)>| {
            seen.push((pv.position.key[0], row.map(|(c, _)| c[0])));
            answer
        };
        let mut last = Visit::Continue;
        for (key, row) in events {
            let position = position(*key);
            let pv = PartitionView {
                position: &position,
                static_row: static_row(),
            };
            let clustering = row.map(|c| vec![c]);
            let live = LiveRow::default();
            last = rounds.visit(cut, &mut visitor, &pv, clustering.as_deref().map(|c| (c, &live)));
        }
        last
    }

    #[test]
    fn a_partition_split_across_rounds_without_live_rows_is_answered_once_at_its_end() {
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        // Round 1 is cut inside partition 1, which had no live row so far.
        let cut = point(1, Some(5));
        visit_all(&mut rounds, Some(&cut), &[(1, None)], &mut seen, Visit::Continue);
        assert!(seen.is_empty());
        let mut noop = |_: &PartitionView<'_>, _: Option<(&[u8], &LiveRow)>| Visit::Continue;
        assert_eq!(rounds.next(Some(cut.clone()), &mut noop), Some(cut));
        // Round 2 shows nothing more of it, then partition 2.
        visit_all(&mut rounds, None, &[(2, Some(1))], &mut seen, Visit::Continue);
        assert_eq!(seen, vec![(1, None), (2, Some(1))]);
    }

    #[test]
    fn a_split_partition_with_live_rows_later_is_not_answered_empty() {
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        let cut = point(1, Some(5));
        visit_all(&mut rounds, Some(&cut), &[(1, None)], &mut seen, Visit::Continue);
        let mut noop = |_: &PartitionView<'_>, _: Option<(&[u8], &LiveRow)>| Visit::Continue;
        rounds.next(Some(cut), &mut noop);
        visit_all(&mut rounds, None, &[(1, Some(7))], &mut seen, Visit::Continue);
        let mut record = |pv: &PartitionView<'_>, row: Option<(&[u8], &LiveRow)>| {
            seen.push((pv.position.key[0], row.map(|(c, _)| c[0])));
            Visit::Continue
        };
        assert_eq!(rounds.next(None, &mut record), None);
        assert_eq!(seen, vec![(1, Some(7))]);
    }

    #[test]
    fn a_partition_the_visitor_left_is_not_read_on() {
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        let cut = point(1, Some(5));
        visit_all(&mut rounds, Some(&cut), &[(1, Some(1))], &mut seen, Visit::NextPartition);
        let mut noop = |_: &PartitionView<'_>, _: Option<(&[u8], &LiveRow)>| Visit::Continue;
        assert_eq!(rounds.next(Some(cut), &mut noop), Some(point(1, None)));
    }

    #[test]
    fn read_order_puts_a_partitions_end_after_its_rows() {
        assert_eq!(read_order(&point(1, Some(9)), &point(1, None), false), Ordering::Less);
        assert_eq!(read_order(&point(1, Some(9)), &point(1, Some(3)), true), Ordering::Less);
        assert_eq!(read_order(&point(1, None), &point(2, Some(0)), false), Ordering::Less);
    }
}
