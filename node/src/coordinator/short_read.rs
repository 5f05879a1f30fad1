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
//! A per-partition limit (DISTINCT, PER PARTITION LIMIT) cuts partitions in
//! the middle of an answer: each such partition is trusted up to its own
//! cut, and the partitions after it are whole. A visitor that leaves the
//! partition before its cut never needs the rest; one that does not makes
//! the round stop there, and the next round reads on from that cut.
//!
//! `Rounds` feeds the rounds' rows to the read's visitor as one read: a
//! partition split across rounds answers "no live rows" (its static row alone)
//! only once its last round shows it has none, and a partition the visitor
//! leaves (`Visit::NextPartition`) is not read on. Pure: no I/O.

use std::cmp::Ordering;
use std::collections::BTreeMap;

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

fn earliest(a: ResumePoint, b: ResumePoint, reversed: bool) -> ResumePoint {
    if read_order(&b, &a, reversed) == Ordering::Less {
        b
    } else {
        a
    }
}

/// How far a round's answers can be trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cuts {
    /// The earliest end among the answers that reached their limits: nothing
    /// past it is trusted. `None` when none did.
    pub(crate) all: Option<ResumePoint>,
    /// Partitions before `all` that an answer cut short at the per-partition
    /// limit, in ring order, each trusted up to its earliest such cut.
    pub(crate) partitions: Vec<ResumePoint>,
}

impl Cuts {
    /// Whether the trusted part of the partition at `position` ends inside it.
    fn inside(&self, position: &PartitionPosition) -> bool {
        self.all.as_ref().is_some_and(|c| &c.position == position && c.clustering.is_some())
            || self.partitions.iter().any(|c| &c.position == position)
    }
}

/// How far a round's answers can be trusted, given the `limits` they were
/// asked under.
pub(crate) fn cutoff<'a>(answers: impl IntoIterator<Item = &'a [Mutation]>, limits: ReadLimits, reversed: bool) -> Cuts {
    let mut all: Option<ResumePoint> = None;
    let mut partitions: BTreeMap<PartitionPosition, ResumePoint> = BTreeMap::new();
    for answer in answers {
        if limits.reached(answer) {
            if let Some(end) = ResumePoint::end_of(answer, reversed) {
                all = Some(match all {
                    Some(a) => earliest(a, end, reversed),
                    None => end,
                });
            }
        }
        for m in answer.iter().filter(|m| limits.cut_in_partition(m)) {
            if let Some(end) = ResumePoint::end_of(std::slice::from_ref(m), reversed) {
                let cut = match partitions.remove(&m.position) {
                    Some(c) => earliest(c, end, reversed),
                    None => end,
                };
                partitions.insert(m.position.clone(), cut);
            }
        }
    }
    let mut cuts = Cuts {
        all,
        partitions: Vec::new(),
    };
    for (position, cut) in partitions {
        match &cuts.all {
            Some(a) if position > a.position => break,
            Some(a) if position == a.position => cuts.all = Some(earliest(a.clone(), cut, reversed)),
            _ => cuts.partitions.push(cut),
        }
    }
    cuts
}

/// Drops what an answer holds past the cuts.
pub(crate) fn trim(answer: &mut Vec<Mutation>, cuts: &Cuts, reversed: bool) {
    if let Some(all) = &cuts.all {
        answer.retain(|m| m.position <= all.position);
    }
    for cut in cuts.all.iter().chain(&cuts.partitions) {
        let Some(clustering) = &cut.clustering else { continue };
        if let Some(m) = answer.iter_mut().find(|m| m.position == cut.position) {
            m.rows.retain(|(c, _)| if reversed { c >= clustering } else { c <= clustering });
        }
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
    /// How many of this round's partition cuts the read has gone past.
    passed: usize,
    /// A partition cut the visitor had not left when the read went past it:
    /// this round stopped there, and the next one resumes from it.
    stopped_at: Option<ResumePoint>,
    /// The visitor said `Stop`: the read is over.
    done: bool,
}

impl Rounds {
    /// Passes one row (or a partition without live rows) of a round trusted
    /// as far as `cuts` say to `visitor`. Says `Stop` when the visitor did,
    /// and when the round must stop early (`next` then says where to resume).
    pub(crate) fn visit(
        &mut self,
        cuts: &Cuts,
        visitor: &mut Visitor<'_>,
        pv: &PartitionView<'_>,
        row: Option<(&[u8], &LiveRow)>,
    ) -> Visit {
        if let Some(cut) = self.unfinished_cut(cuts, Some(pv.position)) {
            self.stopped_at = Some(cut);
            return Visit::Stop;
        }
        if self.pending.as_ref().is_some_and(|(p, _)| p != pv.position) && self.flush(visitor) == Visit::Stop {
            return Visit::Stop;
        }
        match row {
            None if cuts.inside(pv.position) => {
                self.pending = Some((pv.position.clone(), pv.static_row.clone()));
                return Visit::Continue;
            }
            Some(_) if self.pending.as_ref().is_some_and(|(p, _)| p == pv.position) => self.pending = None,
            _ => {}
        }
        let visit = visitor(pv, row);
        match visit {
            Visit::NextPartition => self.left = Some(pv.position.clone()),
            Visit::Stop => self.done = true,
            Visit::Continue => {}
        }
        visit
    }

    /// The first partition cut before `before` (all of them when `None`)
    /// that the read has not yet gone past, if the visitor did not leave its
    /// partition: it wants rows past the cut.
    fn unfinished_cut(&mut self, cuts: &Cuts, before: Option<&PartitionPosition>) -> Option<ResumePoint> {
        while let Some(cut) = cuts.partitions.get(self.passed) {
            if before.is_some_and(|b| cut.position >= *b) {
                return None;
            }
            self.passed += 1;
            if self.left.as_ref() != Some(&cut.position) {
                return Some(cut.clone());
            }
        }
        None
    }

    /// Whether the visitor said `Stop`.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// After a round trusted as far as `cuts` say: where the next round
    /// resumes, or `None` when the read is done. A partition that ended
    /// without live rows is answered first.
    pub(crate) fn next(&mut self, cuts: &Cuts, visitor: &mut Visitor<'_>) -> Option<ResumePoint> {
        let resume = self.stopped_at.take().or_else(|| self.unfinished_cut(cuts, None));
        self.passed = 0;
        if resume.is_some() {
            return resume;
        }
        if self.pending.as_ref().is_some_and(|(p, _)| !cuts.inside(p)) && self.flush(visitor) == Visit::Stop {
            return None;
        }
        let mut cut = cuts.all.clone()?;
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
        let visit = visitor(&pv, None);
        if visit == Visit::Stop {
            self.done = true;
        }
        visit
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
        let all = |answers: &[&[Mutation]], reversed| cutoff(answers.iter().copied(), limits, reversed).all;
        assert_eq!(all(&[&a, &b], false), Some(point(1, Some(3))));
        assert_eq!(all(&[&whole, &b], false), Some(point(2, Some(2))));
        assert_eq!(all(&[&whole], false), None);
        // Reversed, rows are still listed ascending: the end is the lowest.
        let r = vec![partition(1, &[7, 8, 9])];
        assert_eq!(all(&[&r], true), Some(point(1, Some(7))));
        // A partition without rows ends whole.
        let empty = vec![partition(1, &[1, 2]), partition(3, &[])];
        assert_eq!(all(&[&empty], false), Some(point(3, None)));
    }

    #[test]
    fn partitions_cut_at_the_per_partition_limit_are_trusted_up_to_their_earliest_cut() {
        let limits = ReadLimits {
            per_partition: Some(2),
            ..ReadLimits::rows(5)
        };
        let a = vec![partition(1, &[1, 2]), partition(2, &[1]), partition(3, &[4, 5])];
        let b = vec![partition(1, &[3, 4]), partition(3, &[6, 7])];
        let cuts = cutoff([a.as_slice(), b.as_slice()], limits, false);
        assert_eq!(cuts.all, Some(point(3, Some(5))), "a reached 5 rows");
        assert_eq!(
            cuts.partitions,
            vec![point(1, Some(2))],
            "partition 3's cut folds into the earlier end"
        );
        let reversed = cutoff([a.as_slice(), b.as_slice()], limits, true);
        assert_eq!(reversed.partitions, vec![point(1, Some(3))]);
        let mut answer = b.clone();
        trim(&mut answer, &cuts, false);
        assert_eq!(answer, vec![partition(1, &[]), partition(3, &[])]);
        // Partitions past the end that holds everything are dropped.
        let limits = ReadLimits {
            per_partition: Some(2),
            ..ReadLimits::rows(3)
        };
        let x = vec![partition(1, &[1]), partition(2, &[1, 2])];
        let y = vec![partition(1, &[1]), partition(3, &[1, 2])];
        let cuts = cutoff([x.as_slice(), y.as_slice()], limits, false);
        assert_eq!(cuts.all, Some(point(2, Some(2))));
        assert_eq!(cuts.partitions, vec![]);
    }

    #[test]
    fn trimming_drops_rows_and_partitions_past_the_cut() {
        let mut answer = vec![partition(1, &[1, 2, 3]), partition(2, &[1])];
        trim(&mut answer, &all(point(1, Some(2))), false);
        assert_eq!(answer, vec![partition(1, &[1, 2])]);
        let mut reversed = vec![partition(1, &[1, 2, 3])];
        trim(&mut reversed, &all(point(1, Some(2))), true);
        assert_eq!(reversed, vec![partition(1, &[2, 3])]);
        let mut whole = vec![partition(1, &[1, 2]), partition(2, &[1])];
        trim(&mut whole, &all(point(1, None)), false);
        assert_eq!(whole, vec![partition(1, &[1, 2])]);
    }

    fn all(cut: ResumePoint) -> Cuts {
        Cuts {
            all: Some(cut),
            partitions: Vec::new(),
        }
    }

    fn static_row() -> Option<LiveRow> {
        Some(LiveRow::default())
    }

    /// What the visitor saw: (partition, Some(row) or None for "no live rows").
    type Seen = Vec<(u8, Option<u8>)>;

    fn visit_all(rounds: &mut Rounds, cuts: &Cuts, events: &[(u8, Option<u8>)], seen: &mut Seen, answer: Visit) -> Visit {
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
            last = rounds.visit(cuts, &mut visitor, &pv, clustering.as_deref().map(|c| (c, &live)));
        }
        last
    }

    #[test]
    fn a_partition_split_across_rounds_without_live_rows_is_answered_once_at_its_end() {
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        // Round 1 is cut inside partition 1, which had no live row so far.
        let cut = point(1, Some(5));
        visit_all(&mut rounds, &all(cut.clone()), &[(1, None)], &mut seen, Visit::Continue);
        assert!(seen.is_empty());
        let mut noop = |_: &PartitionView<'_>, _: Option<(&[u8], &LiveRow)>| Visit::Continue;
        assert_eq!(rounds.next(&all(cut.clone()), &mut noop), Some(cut));
        // Round 2 shows nothing more of it, then partition 2.
        visit_all(&mut rounds, &Cuts::default(), &[(2, Some(1))], &mut seen, Visit::Continue);
        assert_eq!(seen, vec![(1, None), (2, Some(1))]);
    }

    #[test]
    fn a_split_partition_with_live_rows_later_is_not_answered_empty() {
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        let cut = point(1, Some(5));
        visit_all(&mut rounds, &all(cut.clone()), &[(1, None)], &mut seen, Visit::Continue);
        let mut noop = |_: &PartitionView<'_>, _: Option<(&[u8], &LiveRow)>| Visit::Continue;
        rounds.next(&all(cut), &mut noop);
        visit_all(&mut rounds, &Cuts::default(), &[(1, Some(7))], &mut seen, Visit::Continue);
        let mut record = |pv: &PartitionView<'_>, row: Option<(&[u8], &LiveRow)>| {
            seen.push((pv.position.key[0], row.map(|(c, _)| c[0])));
            Visit::Continue
        };
        assert_eq!(rounds.next(&Cuts::default(), &mut record), None);
        assert_eq!(seen, vec![(1, Some(7))]);
    }

    #[test]
    fn a_partition_the_visitor_left_is_not_read_on() {
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        let cut = point(1, Some(5));
        visit_all(&mut rounds, &all(cut.clone()), &[(1, Some(1))], &mut seen, Visit::NextPartition);
        let mut noop = |_: &PartitionView<'_>, _: Option<(&[u8], &LiveRow)>| Visit::Continue;
        assert_eq!(rounds.next(&all(cut), &mut noop), Some(point(1, None)));
    }

    #[test]
    fn a_partition_cut_at_its_limit_is_read_on_only_if_the_visitor_did_not_leave_it() {
        let cuts = Cuts {
            all: None,
            partitions: vec![point(1, Some(2)), point(2, Some(2))],
        };
        let mut noop = |_: &PartitionView<'_>, _: Option<(&[u8], &LiveRow)>| Visit::Continue;
        // Left partition 1; partition 2 (its rows deleted) never visited.
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        visit_all(&mut rounds, &cuts, &[(1, Some(1))], &mut seen, Visit::NextPartition);
        assert_eq!(
            visit_all(&mut rounds, &cuts, &[(3, Some(1))], &mut seen, Visit::Continue),
            Visit::Stop
        );
        assert_eq!(seen, vec![(1, Some(1))], "partition 3 waits for the rest of 2");
        assert!(!rounds.is_done());
        assert_eq!(rounds.next(&cuts, &mut noop), Some(point(2, Some(2))));
        // Not left and last: the round ends and the next reads on from the cut.
        let mut rounds = Rounds::default();
        let mut seen = Seen::new();
        visit_all(&mut rounds, &cuts, &[(1, Some(1)), (2, Some(1))], &mut seen, Visit::Continue);
        assert_eq!(rounds.next(&cuts, &mut noop), Some(point(1, Some(2))));
        // Every cut partition left: the read goes on to the end.
        let mut rounds = Rounds::default();
        visit_all(
            &mut rounds,
            &cuts,
            &[(1, Some(1)), (2, Some(1))],
            &mut Seen::new(),
            Visit::NextPartition,
        );
        assert_eq!(rounds.next(&cuts, &mut noop), None);
    }

    #[test]
    fn read_order_puts_a_partitions_end_after_its_rows() {
        assert_eq!(read_order(&point(1, Some(9)), &point(1, None), false), Ordering::Less);
        assert_eq!(read_order(&point(1, Some(9)), &point(1, Some(3)), true), Ordering::Less);
        assert_eq!(read_order(&point(1, None), &point(2, Some(0)), false), Ordering::Less);
    }
}
