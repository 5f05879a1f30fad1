//! The compaction filter of a table's keyspace: what a compaction may drop.
//! It sees the compacted keys in order (a partition's deletions before its rows,
//! a row's deletion before its cells, a collection's deletion before its
//! elements, versions of one entry adjacent and newest first) and drops
//!
//! 1. an older version of an entry when a newer one was seen in this compaction
//!    (or an equal-timestamp version that loses `Cell::reconcile`);
//! 2. an entry hidden by a partition deletion, range tombstone, row deletion or
//!    collection deletion seen earlier in this compaction (timestamp at or below
//!    the deletion's);
//! 3. a tombstone (of any kind) or an expired cell whose local deletion time (or
//!    expiry) is more than the table's `gc_grace_seconds` in the past, only when
//!    a read of the whole keyspace (memtables and every SSTable, not just this
//!    compaction's) finds no other entry it shadows, i.e. nothing with a timestamp
//!    at or below its own in its scope. Such entries in this very compaction are
//!    dropped by rule 2 first, so a tombstone goes in the compaction after.
//!
//! Rule 3 runs only in `DurableEngine::compact` (the table is in `Purging`), right
//! after an anchor write and a flush: fjall replays the journal above the highest
//! sequence number left in the SSTables, and a compaction that drops the newest
//! entries lowers it, so data a purged tombstone hid could come back from the
//! journal on restart; the anchor keeps that number above everything the purge
//! saw. Rules 1 and 2 are safe under replay (what comes back is hidden again by
//! the kept deletion or newer version) and run in every compaction.
//!
//! Anything it cannot decode, and every tombstone of a table whose gc grace is
//! unknown, is kept. Dropping is `Destroy` (no LSM tombstone left), safe because
//! every key is written once (see `layout`'s write id). Scheduling compactions is
//! fjall's.

use std::panic::AssertUnwindSafe;
use std::sync::{RwLock, Weak};

use fjall::compaction::filter::{CompactionFilter, Context, Factory, ItemAccessor, Verdict};
use fjall::Keyspace;
use uuid::Uuid;

use super::codec::EntryValue;
use super::layout::{self, Component, EntryKey, RowId, RowPart};
use super::{Clock, GcGrace, Purging};
use crate::storage::partition::Slice;
use crate::storage::{contains, PartitionPosition};

pub(super) struct PurgeFactory {
    table: Uuid,
    tables: Weak<RwLock<std::collections::HashMap<Uuid, Keyspace>>>,
    gc_grace: GcGrace,
    purging: Purging,
    clock: AssertUnwindSafe<Clock>,
}

impl PurgeFactory {
    pub(super) fn new(
        table: Uuid,
        tables: Weak<RwLock<std::collections::HashMap<Uuid, Keyspace>>>,
        gc_grace: GcGrace,
        purging: Purging,
        clock: Clock,
    ) -> PurgeFactory {
        PurgeFactory {
            table,
            tables,
            gc_grace,
            purging,
            clock: AssertUnwindSafe(clock),
        }
    }
}

impl Factory for PurgeFactory {
    fn name(&self) -> &str {
        "rustica-purge"
    }

    fn make_filter(&self, _ctx: &Context) -> Box<dyn CompactionFilter> {
        let now = (self.clock.0)();
        let keyspace = self
            .tables
            .upgrade()
            .and_then(|t| t.read().unwrap_or_else(|e| e.into_inner()).get(&self.table).cloned());
        let purging = self.purging.lock().unwrap_or_else(|e| e.into_inner()).contains(&self.table);
        let grace = self.gc_grace.read().unwrap_or_else(|e| e.into_inner()).get(&self.table).copied();
        let grace = grace.filter(|_| purging);
        Box::new(PurgeFilter {
            keyspace,
            gc_before: grace.map(|g| now - i64::from(g)),
            now,
            state: State::default(),
        })
    }
}

#[derive(Default)]
struct State {
    partition: Option<PartitionPosition>,
    partition_deletion: Option<i64>,
    /// Range tombstones seen in this partition: bounds and timestamp.
    range_tombstones: Vec<(Slice, i64)>,
    row: Option<RowId>,
    row_deletion: Option<i64>,
    /// A collection deletion of the current row: column name and timestamp.
    column_deletion: Option<(String, i64)>,
    /// The kept newest version of the last entry: its bytes, timestamp, value.
    last: Option<(Vec<u8>, i64, EntryValue)>,
}

struct PurgeFilter {
    keyspace: Option<Keyspace>,
    gc_before: Option<i64>,
    now: i64,
    state: State,
}

impl CompactionFilter for PurgeFilter {
    fn filter_item(&mut self, item: ItemAccessor<'_>, _ctx: &Context) -> fjall::compaction::filter::CompactionFilterResult {
        let key = item.key();
        let (Ok(entry), Ok((component_bytes, _, _))) = (layout::decode_key(key), layout::split_suffix(key)) else {
            self.state.last = None;
            return Ok(Verdict::Keep);
        };
        self.enter(&entry);
        if self.shadow(&entry).is_some_and(|d| entry.timestamp <= d) {
            return Ok(Verdict::Destroy);
        }
        let Ok(value) = EntryValue::decode(&item.value()?) else {
            self.state.last = None;
            return Ok(Verdict::Keep);
        };
        if let Some((last, last_ts, last_value)) = &self.state.last {
            if last.as_slice() == component_bytes {
                let loses = entry.timestamp < *last_ts || {
                    let (a, b) = (last_value.clone().into_cell(*last_ts), value.clone().into_cell(entry.timestamp));
                    a.clone().reconcile(b) == a
                };
                if loses {
                    return Ok(Verdict::Destroy);
                }
            }
        }
        if self.purgeable(&value) && !self.shadows_anything(key, &entry) {
            return Ok(Verdict::Destroy);
        }
        self.remember(&entry, component_bytes, value);
        Ok(Verdict::Keep)
    }
}

impl PurgeFilter {
    fn enter(&mut self, entry: &EntryKey) {
        let s = &mut self.state;
        if s.partition.as_ref() != Some(&entry.position) {
            *s = State {
                partition: Some(entry.position.clone()),
                ..State::default()
            };
        }
        if let Component::Row { row, .. } = &entry.component {
            if s.row.as_ref() != Some(row) {
                s.row = Some(row.clone());
                s.row_deletion = None;
                s.column_deletion = None;
            }
        }
    }

    /// The newest deletion seen in this compaction that hides this entry.
    fn shadow(&self, entry: &EntryKey) -> Option<i64> {
        let s = &self.state;
        let max = |a: Option<i64>, b: Option<i64>| a.max(b);
        match &entry.component {
            Component::PartitionDeletion => None,
            Component::RangeTombstone { .. } => s.partition_deletion,
            Component::Row { row, part } => {
                let mut d = s.partition_deletion;
                if let RowId::Clustering(c) = row {
                    for ((start, end), ts) in &s.range_tombstones {
                        if contains(start, end, c) {
                            d = max(d, Some(*ts));
                        }
                    }
                }
                if !matches!(part, RowPart::Deletion) {
                    d = max(d, s.row_deletion);
                }
                if let (RowPart::Element(name, _), Some((deleted, ts))) = (part, &s.column_deletion) {
                    if name == deleted {
                        d = max(d, Some(*ts));
                    }
                }
                d
            }
        }
    }

    fn purgeable(&self, value: &EntryValue) -> bool {
        let Some(gc_before) = self.gc_before else {
            return false;
        };
        let dead = match value {
            EntryValue::Tombstone { .. } => true,
            EntryValue::Live { expires_at, .. } => *expires_at != 0 && *expires_at <= self.now,
        };
        dead && value.purgeable_from().is_some_and(|t| t < gc_before)
    }

    /// Whether any entry of the whole keyspace other than this one is hidden by
    /// it (unsure, e.g. on a read error, counts as yes).
    fn shadows_anything(&self, key: &[u8], entry: &EntryKey) -> bool {
        let Some(keyspace) = &self.keyspace else {
            return true;
        };
        let scope = match &entry.component {
            Component::PartitionDeletion | Component::RangeTombstone { .. } => layout::partition_prefix(&entry.position),
            Component::Row {
                row,
                part: RowPart::Deletion | RowPart::ColumnDeletion(_),
            } => layout::row_prefix(&entry.position, row),
            Component::Row { .. } => match layout::split_suffix(key) {
                Ok((component, _, _)) => component.to_vec(),
                Err(_) => return true,
            },
        };
        for item in keyspace.prefix(&scope) {
            let Ok((k, _)) = item.into_inner() else {
                return true;
            };
            if &*k == key {
                continue;
            }
            let Ok(other) = layout::decode_key(&k) else {
                return true;
            };
            if other.timestamp <= entry.timestamp && hides(&entry.component, &other.component, key, &k) {
                return true;
            }
        }
        false
    }

    fn remember(&mut self, entry: &EntryKey, component_bytes: &[u8], value: EntryValue) {
        let s = &mut self.state;
        let ts = Some(entry.timestamp);
        match &entry.component {
            Component::PartitionDeletion => s.partition_deletion = s.partition_deletion.max(ts),
            Component::RangeTombstone { start, end } => s.range_tombstones.push(((start.clone(), end.clone()), entry.timestamp)),
            Component::Row { part, .. } => match part {
                RowPart::Deletion => s.row_deletion = s.row_deletion.max(ts),
                RowPart::ColumnDeletion(name) => {
                    let newer = s.column_deletion.as_ref().is_some_and(|(n, t)| n == name && *t >= entry.timestamp);
                    if !newer {
                        s.column_deletion = Some((name.clone(), entry.timestamp));
                    }
                }
                _ => {}
            },
        }
        s.last = Some((component_bytes.to_vec(), entry.timestamp, value));
    }
}

/// Whether a deletion entry `by` (or a cell, for its own older versions) hides
/// the entry `other`, timestamps aside.
fn hides(by: &Component, other: &Component, by_key: &[u8], other_key: &[u8]) -> bool {
    let same_entry = match (layout::split_suffix(by_key), layout::split_suffix(other_key)) {
        (Ok((a, _, _)), Ok((b, _, _))) => a == b,
        _ => true,
    };
    match (by, other) {
        (Component::PartitionDeletion, _) => true,
        (
            Component::RangeTombstone { start, end },
            Component::Row {
                row: RowId::Clustering(c), ..
            },
        ) => contains(start, end, c),
        (Component::RangeTombstone { .. }, _) => same_entry,
        (
            Component::Row {
                row,
                part: RowPart::Deletion,
            },
            Component::Row { row: other_row, .. },
        ) => row == other_row,
        (
            Component::Row {
                row,
                part: RowPart::ColumnDeletion(name),
            },
            Component::Row {
                row: other_row,
                part: RowPart::Element(other_name, _),
            },
        ) => row == other_row && name == other_name,
        _ => same_entry,
    }
}
