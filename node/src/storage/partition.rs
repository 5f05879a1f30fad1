//! One partition as both engines see it: its deletion, range tombstones, static
//! row and rows by clustering bytes, and how a read visits it (tombstones, expiry,
//! slices, paging and order). The memory engine keeps these in a map; the durable
//! engine rebuilds one from disk per partition read and visits it the same way, so
//! both engines answer reads identically. A replica's unresolved answer to a
//! coordinator (`read_raw`) is cut from the same partition (`raw_mutation`,
//! `RawAnswer`). Resume-point helpers shared by both engines' partition loops
//! live here too. No I/O and no locking.

use std::collections::BTreeMap;
use std::ops::Bound;

use uuid::Uuid;

use super::cell::resolve_row;
use super::read_limits::Budget;
/// A clustering slice: bounds on clustering bytes.
pub(crate) type Slice = (Bound<Vec<u8>>, Bound<Vec<u8>>);

use super::{
    DeletionTime, Mutation, PartitionPosition, PartitionView, RangeTombstone, ReadCommand, ReadLimits, ResumePoint, Row, Visit, Visitor,
};

#[derive(Debug, Default)]
pub(crate) struct Partition {
    pub(crate) deletion: Option<DeletionTime>,
    pub(crate) static_row: Row,
    pub(crate) rows: BTreeMap<Vec<u8>, Row>,
    pub(crate) range_tombstones: Vec<RangeTombstone>,
}

impl Partition {
    pub(crate) fn apply(&mut self, m: Mutation) {
        self.deletion = DeletionTime::max(self.deletion, m.partition_deletion);
        self.range_tombstones.extend(m.range_tombstones);
        if let Some(s) = m.static_row {
            self.static_row.merge(s);
        }
        for (clustering, row) in m.rows {
            self.rows.entry(clustering).or_default().merge(row);
        }
    }

    pub(crate) fn covering_deletion(&self, clustering: &[u8]) -> Option<DeletionTime> {
        self.range_tombstones
            .iter()
            .filter(|rt| rt.covers(clustering))
            .fold(self.deletion, |acc, rt| DeletionTime::max(acc, Some(rt.deletion)))
    }

    /// Visits the live rows of this partition; returns false when the visitor said Stop.
    pub(crate) fn visit(
        &self,
        position: &PartitionPosition,
        command: &ReadCommand,
        after: Option<&[u8]>,
        now: i64,
        visitor: &mut Visitor<'_>,
    ) -> bool {
        let mut seen_live = false;
        self.visit_part(position, command, after, now, visitor, &mut seen_live, after.is_none()) != Visit::Stop
    }

    /// Visits the live rows of one part of a partition (its rows after
    /// `after`), setting `seen_live` when it visits one. `whole_seen`: this
    /// part ends a read of the partition from its start, so when no part had
    /// a live row the visitor gets the partition without rows (its static
    /// row alone). Says how the visitor left: `Continue` when it saw every
    /// row of the part.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn visit_part(
        &self,
        position: &PartitionPosition,
        command: &ReadCommand,
        after: Option<&[u8]>,
        now: i64,
        visitor: &mut Visitor<'_>,
        seen_live: &mut bool,
        whole_seen: bool,
    ) -> Visit {
        let view = PartitionView {
            position,
            static_row: resolve_row(&self.static_row, self.deletion, now),
        };
        let full = [(Bound::Unbounded, Bound::Unbounded)];
        let slices: &[Slice] = if command.slices.is_empty() { &full } else { &command.slices };
        let mut visit_slice = |slice: &(Bound<Vec<u8>>, Bound<Vec<u8>>)| -> Option<Visit> {
            let (start, end) = slice_range(slice, after, command.reversed)?;
            let range = self.rows.range::<[u8], _>((start, end));
            let rows: Box<dyn Iterator<Item = (&Vec<u8>, &Row)>> = if command.reversed { Box::new(range.rev()) } else { Box::new(range) };
            for (clustering, row) in rows {
                let Some(live) = resolve_row(row, self.covering_deletion(clustering), now) else {
                    continue;
                };
                *seen_live = true;
                match visitor(&view, Some((clustering, &live))) {
                    Visit::Continue => {}
                    left => return Some(left),
                }
            }
            None
        };
        let ordered: Box<dyn Iterator<Item = &Slice>> = if command.reversed {
            Box::new(slices.iter().rev())
        } else {
            Box::new(slices.iter())
        };
        for slice in ordered {
            if let Some(left) = visit_slice(slice) {
                return left;
            }
        }
        if !*seen_live && whole_seen && view.static_row.is_some() {
            return match visitor(&view, None) {
                Visit::Stop => Visit::Stop,
                _ => Visit::NextPartition,
            };
        }
        Visit::Continue
    }
}

impl Partition {
    fn is_empty(&self) -> bool {
        self.deletion.is_none() && self.range_tombstones.is_empty() && self.static_row.is_empty() && self.rows.values().all(Row::is_empty)
    }

    /// The stored content a read of `command` selects here, unresolved: the
    /// partition deletion, every range tombstone, the static row, and the rows
    /// in the slices (after `after` in read order), taken in read order while
    /// `budget` lasts, for the answer and for this partition (`read_limits`). None when that is nothing.
    pub(crate) fn raw_mutation(
        &self,
        table: Uuid,
        position: &PartitionPosition,
        command: &ReadCommand,
        after: Option<&[u8]>,
        budget: &Budget,
    ) -> Option<Mutation> {
        let full = [(Bound::Unbounded, Bound::Unbounded)];
        let slices: &[Slice] = if command.slices.is_empty() { &full } else { &command.slices };
        let ordered: Box<dyn Iterator<Item = &Slice>> = if command.reversed {
            Box::new(slices.iter().rev())
        } else {
            Box::new(slices.iter())
        };
        let mut rows = BTreeMap::new();
        let mut taken_bytes = 0;
        'slices: for slice in ordered {
            let Some((start, end)) = slice_range(slice, after, command.reversed) else {
                continue;
            };
            let range = self.rows.range::<[u8], _>((start, end));
            let range: Box<dyn Iterator<Item = (&Vec<u8>, &Row)>> = if command.reversed { Box::new(range.rev()) } else { Box::new(range) };
            for (clustering, row) in range.filter(|(_, r)| !r.is_empty()) {
                if budget.partition_full(rows.len(), taken_bytes) {
                    break 'slices;
                }
                taken_bytes += Mutation::row_size(clustering, row);
                rows.insert(clustering.clone(), row.clone());
            }
        }
        let selected = Partition {
            deletion: self.deletion,
            static_row: self.static_row.clone(),
            rows,
            range_tombstones: self.range_tombstones.clone(),
        };
        (!selected.is_empty()).then(|| selected.into_mutation(table, position.clone()))
    }

    /// The partition as one mutation that rebuilds it when applied: rows in
    /// ascending clustering order, empty rows left out, and range tombstones of
    /// the same bounds collapsed to the newest (applying the mutation gives the
    /// same reads, and both engines give the same list).
    pub(crate) fn into_mutation(self, table: Uuid, position: PartitionPosition) -> Mutation {
        let mut tombstones: BTreeMap<(BoundKey, BoundKey), RangeTombstone> = BTreeMap::new();
        for rt in self.range_tombstones {
            let key = (bound_key(&rt.start), bound_key(&rt.end));
            match tombstones.get_mut(&key) {
                Some(existing) => {
                    let newer = (rt.deletion.timestamp, rt.deletion.local_deletion_time);
                    if newer > (existing.deletion.timestamp, existing.deletion.local_deletion_time) {
                        existing.deletion = rt.deletion;
                    }
                }
                None => {
                    tombstones.insert(key, rt);
                }
            }
        }
        Mutation {
            table,
            position,
            partition_deletion: self.deletion,
            range_tombstones: tombstones.into_values().collect(),
            static_row: (!self.static_row.is_empty()).then_some(self.static_row),
            rows: self.rows.into_iter().filter(|(_, r)| !r.is_empty()).collect(),
        }
    }
}

/// `read_raw`'s answer as it is gathered partition by partition, within its
/// limits (`read_limits`).
pub(crate) struct RawAnswer<'c> {
    command: &'c ReadCommand,
    budget: Budget,
    pub(crate) partitions: Vec<Mutation>,
}

impl<'c> RawAnswer<'c> {
    pub(crate) fn new(command: &'c ReadCommand, limits: ReadLimits) -> RawAnswer<'c> {
        RawAnswer {
            command,
            budget: Budget::new(limits),
            partitions: Vec::new(),
        }
    }

    /// Adds what the command selects of one partition; false once the limits are reached.
    pub(crate) fn add(&mut self, position: &PartitionPosition, partition: &Partition) -> bool {
        if self.budget.is_spent() {
            return false;
        }
        let after = resume_after(self.command.resume.as_ref(), position);
        if let Some(m) = partition.raw_mutation(self.command.table, position, self.command, after, &self.budget) {
            self.budget.spend(&m);
            self.partitions.push(m);
        }
        !self.budget.is_spent()
    }

    /// How many more rows of one partition the answer may take, as far as
    /// the row counts say: a storage scan need not gather more of a
    /// partition than that.
    pub(crate) fn partition_rows_left(&self) -> Option<usize> {
        self.budget.partition_rows_left()
    }
}

/// A bound as a sortable key: unbounded, then by bytes, included before excluded.
type BoundKey = (u8, Vec<u8>, u8);

fn bound_key(b: &Bound<Vec<u8>>) -> BoundKey {
    match b {
        Bound::Unbounded => (0, Vec::new(), 0),
        Bound::Included(v) => (1, v.clone(), 0),
        Bound::Excluded(v) => (1, v.clone(), 1),
    }
}

/// The clustering slices a read of one partition still has to cover after
/// the resume point `after` (all of them without one), in ascending order:
/// a storage scan need not look at rows before it. `None`: the whole
/// partition.
pub(crate) fn slices_after(slices: &[Slice], after: Option<&[u8]>, reversed: bool) -> Option<Vec<Slice>> {
    let Some(after) = after else {
        return (!slices.is_empty()).then(|| slices.to_vec());
    };
    let full = [(Bound::Unbounded, Bound::Unbounded)];
    let slices: &[Slice] = if slices.is_empty() { &full } else { slices };
    Some(
        slices
            .iter()
            .filter_map(|s| slice_range(s, Some(after), reversed))
            .map(|(start, end)| (start.map(<[u8]>::to_vec), end.map(<[u8]>::to_vec)))
            .collect(),
    )
}

/// A clustering slice borrowed, as `BTreeMap::range` takes it.
type SliceRef<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// A slice narrowed by the resume point; None when it selects nothing.
fn slice_range<'a>(slice: &'a Slice, after: Option<&'a [u8]>, reversed: bool) -> Option<SliceRef<'a>> {
    let (mut start, mut end) = (as_ref(&slice.0), as_ref(&slice.1));
    if let Some(after) = after {
        if reversed {
            end = tighter_end(end, after);
        } else {
            start = tighter_start(start, after);
        }
    }
    valid_range(start, end).then_some((start, end))
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn tighter_start<'a>(start: Bound<&'a [u8]>, after: &'a [u8]) -> Bound<&'a [u8]> {
    match start {
        Bound::Included(s) | Bound::Excluded(s) if s > after => start,
        _ => Bound::Excluded(after),
    }
}

fn tighter_end<'a>(end: Bound<&'a [u8]>, before: &'a [u8]) -> Bound<&'a [u8]> {
    match end {
        Bound::Included(e) | Bound::Excluded(e) if e < before => end,
        _ => Bound::Excluded(before),
    }
}

/// BTreeMap::range panics on an empty or inverted range; such a slice selects nothing.
fn valid_range(start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s <= e,
        (Bound::Included(s), Bound::Excluded(e)) | (Bound::Excluded(s), Bound::Included(e)) | (Bound::Excluded(s), Bound::Excluded(e)) => {
            s < e
        }
        _ => true,
    }
}

/// Whether a partition is skipped entirely because the page resumes after it.
pub(crate) fn skipped_by_resume(resume: Option<&ResumePoint>, position: &PartitionPosition) -> bool {
    match resume {
        Some(r) => position < &r.position || (position == &r.position && r.clustering.is_none()),
        None => false,
    }
}

/// The clustering bytes after which a resumed read continues in this partition.
pub(crate) fn resume_after<'r>(resume: Option<&'r ResumePoint>, position: &PartitionPosition) -> Option<&'r [u8]> {
    match resume {
        Some(r) if position == &r.position => r.clustering.as_deref(),
        _ => None,
    }
}

pub(crate) fn token_in(start: &Bound<i64>, token: i64) -> bool {
    match start {
        Bound::Included(s) => token >= *s,
        Bound::Excluded(s) => token > *s,
        Bound::Unbounded => true,
    }
}

pub(crate) fn token_before_end(end: &Bound<i64>, token: i64) -> bool {
    match end {
        Bound::Included(e) => token <= *e,
        Bound::Excluded(e) => token < *e,
        Bound::Unbounded => true,
    }
}
