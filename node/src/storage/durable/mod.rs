//! The durable `StorageEngine` on fjall (an LSM tree with a journal): one fjall
//! keyspace per table, one key per version of every cell and tombstone (`layout`,
//! `codec`), blind appends as atomic write batches, commit log modes (`sync`),
//! purging by a compaction filter (`filter`). A read rebuilds each partition it
//! visits from its keys into the shared `partition::Partition` and visits it
//! exactly as the memory engine does. Schema, the node's wiring and config are
//! not here.

pub mod codec;
pub mod failure;
mod filter;
pub mod layout;
pub mod sync;
mod written_marks;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use uuid::Uuid;

use self::codec::EntryValue;
use self::failure::{CommitFailurePolicy, CommitHealth};
use self::layout::{Component, RowId, RowPart};
pub use self::sync::CommitLogSync;
use self::sync::{GroupCommit, PeriodicSync};
use self::written_marks::WrittenMarks;
use super::partition::{resume_after, skipped_by_resume, slices_after, token_before_end, token_in, Partition, RawAnswer, Slice};
use super::truncation::{now_micros, Truncations};
use super::unrepaired::{self, MarkGate, RepairedBefore};
use super::{
    prefix_end, ColumnData, Mutation, PartitionPosition, PartitionSelection, RangeTombstone, ReadCommand, ReadLimits, ResumePoint, Row,
    StorageEngine, StorageError, Visit, Visitor,
};

/// Seconds since the epoch; tests inject their own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How a `DurableEngine` is opened.
#[derive(Clone)]
pub struct DurableOptions {
    pub sync: CommitLogSync,
    /// Block cache shared by every table.
    pub cache_bytes: u64,
    /// Memory for memtables of every table together (each table's memtable is
    /// at most this, capped at 64 MiB).
    pub memtable_bytes: u64,
    /// Drives `gc_grace_seconds` and TTL expiry in the compaction filter, and the
    /// local deletion time of cell tombstones.
    pub clock: Clock,
    /// What a failed commit log write or fsync does.
    pub commit_failure_policy: CommitFailurePolicy,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            sync: CommitLogSync::default(),
            cache_bytes: 64 << 20,
            memtable_bytes: 64 << 20,
            clock: Arc::new(|| chrono::Utc::now().timestamp()),
            commit_failure_policy: CommitFailurePolicy::default(),
        }
    }
}

impl std::fmt::Debug for DurableOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableOptions")
            .field("sync", &self.sync)
            .field("cache_bytes", &self.cache_bytes)
            .field("memtable_bytes", &self.memtable_bytes)
            .finish_non_exhaustive()
    }
}

type Tables = Arc<RwLock<HashMap<Uuid, Keyspace>>>;
type FilterAssigner = Arc<dyn Fn(&str) -> Option<Arc<dyn fjall::compaction::filter::Factory>> + Send + Sync>;
type GcGrace = Arc<RwLock<HashMap<Uuid, i32>>>;
/// Tables whose compaction may purge tombstones right now (see `filter`).
type Purging = Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>;

/// A key no entry has (entries start with 8 token bytes): rewritten before a
/// purging compaction, see `filter`. Reads skip it.
const ANCHOR: &[u8] = &[0x00];

pub struct DurableEngine {
    // Dropped first: joins the fsync thread before the database closes.
    periodic: Option<PeriodicSync>,
    db: Database,
    path: PathBuf,
    tables: Tables,
    gc_grace: GcGrace,
    purging: Purging,
    sync: CommitLogSync,
    /// Whether the commit log has failed (and writes are refused).
    health: Arc<CommitHealth>,
    group: GroupCommit,
    clock: Clock,
    memtable_bytes: u64,
    next_write_id: AtomicU64,
    /// The truncation records (`TRUNCATIONS_KEYSPACE`), also held in memory.
    truncation_records: Keyspace,
    truncations: Truncations,
    /// The unrepaired marks (`MARKS_KEYSPACE`, see `unrepaired`).
    marks: Keyspace,
    /// Marks put in storage lately: a partition written again within an
    /// epoch is not marked again (`written_marks`).
    written: WrittenMarks,
    gate: MarkGate,
    /// Tables whose writes leave no mark (`set_repair_tracking`).
    untracked: RwLock<HashSet<Uuid>>,
}

/// The fjall keyspace of the unrepaired marks: key `unrepaired::mark_key`
/// (table id, partition position, epoch), value [`MARK_VALUE`]. Not a table:
/// its name is no table id.
const MARKS_KEYSPACE: &str = "unrepaired";
/// A mark's value: the version of the mark layout, and nothing else.
const MARK_VALUE: [u8; 1] = [1];

/// The fjall keyspace of the truncation records: key the table id (16 bytes),
/// value a version byte then the truncation time (i64 big-endian, microseconds
/// since the epoch). Not a table: its name is no table id.
const TRUNCATIONS_KEYSPACE: &str = "truncated_at";
const TRUNCATION_RECORD_VERSION: u8 = 1;

impl std::fmt::Debug for DurableEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableEngine")
            .field("path", &self.path)
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

const MIN_MEMTABLE: u64 = 1 << 20;
const MAX_MEMTABLE: u64 = 64 << 20;

impl DurableEngine {
    /// Opens (or creates) the engine in `dir`, recovering the journal, and opens
    /// every table found there.
    pub fn open(dir: &Path, options: DurableOptions) -> Result<DurableEngine, StorageError> {
        let tables: Tables = Arc::default();
        let gc_grace: GcGrace = Arc::default();
        let purging: Purging = Arc::default();
        let factory_purging = purging.clone();
        let factory_tables = Arc::downgrade(&tables);
        let factory_grace = gc_grace.clone();
        let factory_clock = options.clock.clone();
        let assigner: FilterAssigner = Arc::new(move |name: &str| {
            let table = Uuid::try_parse(name).ok()?;
            let factory: Arc<dyn fjall::compaction::filter::Factory> = Arc::new(filter::PurgeFactory::new(
                table,
                factory_tables.clone(),
                factory_grace.clone(),
                factory_purging.clone(),
                factory_clock.clone(),
            ));
            Some(factory)
        });
        #[allow(deprecated)]
        let db = Database::builder(dir)
            .cache_size(options.cache_bytes)
            .max_write_buffer_size(Some(options.memtable_bytes.max(MIN_MEMTABLE)))
            .with_compaction_filter_factories(assigner)
            .open()
            .map_err(|e| engine_error(dir, e))?;
        let health = Arc::new(CommitHealth::new(options.commit_failure_policy));
        let truncation_records = db
            .keyspace(TRUNCATIONS_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(|e| engine_error(dir, e))?;
        let truncations = Truncations::new(load_truncations(dir, &truncation_records)?);
        let marks = db
            .keyspace(MARKS_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(|e| engine_error(dir, e))?;
        let opened = initial_write_id();
        let periodic = match options.sync {
            CommitLogSync::Periodic { period } => Some(PeriodicSync::start(db.clone(), period, health.clone())?),
            CommitLogSync::Batch => None,
        };
        let engine = DurableEngine {
            periodic,
            db,
            path: dir.to_path_buf(),
            tables,
            gc_grace,
            purging,
            sync: options.sync,
            health,
            group: GroupCommit::default(),
            clock: options.clock,
            memtable_bytes: options.memtable_bytes.clamp(MIN_MEMTABLE, MAX_MEMTABLE),
            next_write_id: AtomicU64::new(opened),
            truncation_records,
            truncations,
            marks,
            written: WrittenMarks::default(),
            gate: MarkGate::new(opened, u64::try_from(now_micros()).unwrap_or(0)),
            untracked: RwLock::default(),
        };
        for name in engine.db.list_keyspace_names() {
            if let Ok(table) = Uuid::try_parse(&name) {
                engine.create_table(table)?;
            }
        }
        Ok(engine)
    }

    fn keyspace(&self, table: Uuid) -> Result<Keyspace, StorageError> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        tables.get(&table).cloned().ok_or(StorageError::UnknownTable { table })
    }

    fn keyspaces(&self) -> Vec<Keyspace> {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    fn error(&self, e: fjall::Error) -> StorageError {
        engine_error(&self.path, e)
    }

    /// The entries of one mutation as (key, value) pairs, one write id for all.
    fn entries(&self, mutation: Mutation, out: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
        let write_id = self.next_write_id.fetch_add(1, Ordering::Relaxed);
        let now = (self.clock)();
        let position = mutation.position.clone();
        // Merging first gives each cell of the mutation one entry, as the memory
        // engine would hold it.
        let mut merged = Partition::default();
        merged.apply(mutation);
        let mut put = |component: Component, timestamp: i64, value: EntryValue| {
            out.insert(layout::encode_key(&position, &component, timestamp, write_id), value.encode());
        };
        if let Some(d) = merged.deletion {
            put(Component::PartitionDeletion, d.timestamp, EntryValue::from_deletion(d));
        }
        for rt in merged.range_tombstones {
            put(
                Component::RangeTombstone {
                    start: rt.start,
                    end: rt.end,
                },
                rt.deletion.timestamp,
                EntryValue::from_deletion(rt.deletion),
            );
        }
        let static_row = std::mem::take(&mut merged.static_row);
        let rows = std::iter::once((RowId::Static, static_row)).chain(merged.rows.into_iter().map(|(c, r)| (RowId::Clustering(c), r)));
        for (row, r) in rows {
            let part = |part: RowPart| Component::Row { row: row.clone(), part };
            if let Some(m) = &r.marker {
                put(part(RowPart::Marker), m.timestamp, EntryValue::from_cell(m, now));
            }
            if let Some(d) = r.deletion {
                put(part(RowPart::Deletion), d.timestamp, EntryValue::from_deletion(d));
            }
            for (name, data) in r.columns {
                match data {
                    ColumnData::Simple(cell) => put(part(RowPart::Cell(name)), cell.timestamp, EntryValue::from_cell(&cell, now)),
                    ColumnData::Complex { deletion, cells } => {
                        if let Some(d) = deletion {
                            put(
                                part(RowPart::ColumnDeletion(name.clone())),
                                d.timestamp,
                                EntryValue::from_deletion(d),
                            );
                        }
                        for (path, cell) in cells {
                            put(
                                part(RowPart::Element(name.clone(), path)),
                                cell.timestamp,
                                EntryValue::from_cell(&cell, now),
                            );
                        }
                    }
                }
            }
        }
    }

    fn write(&self, mutations: Vec<Mutation>) -> Result<(), StorageError> {
        self.health.check()?;
        // Held until the batch is in the memtables: see `unrepaired`.
        let gate = self.gate.enter();
        let epoch = *gate;
        let generation = self.written.generation();
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        let mut all = Vec::with_capacity(mutations.len());
        {
            let untracked = self.untracked.read().unwrap_or_else(|e| e.into_inner());
            for mutation in mutations {
                let keyspace = self.keyspace(mutation.table)?;
                let Some(mutation) = self.truncations.filter(mutation) else {
                    continue;
                };
                let mark = (!untracked.contains(&mutation.table)).then(|| {
                    let key = unrepaired::mark_key(mutation.table, &mutation.position, epoch);
                    if self.written.contains(&key) {
                        Mark::InStorage(key)
                    } else {
                        Mark::Write(key)
                    }
                });
                let mut entries = BTreeMap::new();
                self.entries(mutation, &mut entries);
                // Refused whole, before anything is written (fjall would panic on it).
                if let Some(length) = entries
                    .keys()
                    .chain(mark.as_ref().map(Mark::key))
                    .map(Vec::len)
                    .find(|l| *l > MAX_KEY)
                {
                    return Err(StorageError::KeyTooLong { length, max: MAX_KEY });
                }
                all.push((keyspace, entries, mark));
            }
        }
        let mut written = Vec::new();
        let mut skipped = Vec::new();
        for (keyspace, entries, mark) in all {
            if entries.is_empty() {
                continue;
            }
            for (k, v) in entries {
                batch.insert(&keyspace, k, v);
            }
            match mark {
                Some(Mark::Write(mark)) => {
                    batch.insert(&self.marks, mark.clone(), MARK_VALUE);
                    written.push(mark);
                }
                Some(Mark::InStorage(mark)) => skipped.push(mark),
                None => {}
            }
        }
        crate::trace::event("Appending to commitlog");
        if let Err(e) = batch.commit() {
            self.health.failed("commit log write", &e);
            return Err(self.error(e));
        }
        if !skipped.is_empty() && self.written.generation() != generation {
            // Marks were removed since the cache was asked: the skipped ones
            // may be among them.
            let mut again = self.db.batch().durability(Some(PersistMode::Buffer));
            for mark in skipped {
                again.insert(&self.marks, mark, MARK_VALUE);
            }
            if let Err(e) = again.commit() {
                self.health.failed("commit log write", &e);
                return Err(self.error(e));
            }
        }
        self.written.record(generation, written);
        drop(gate);
        // fjall's commit appends to its journal, then inserts into the memtables.
        crate::trace::event("Adding to memtable");
        if self.sync == CommitLogSync::Batch {
            crate::trace::event("Waiting for the commit log sync");
            if let Err(e) = self.group.wait_durable(|| self.db.persist(PersistMode::SyncData)) {
                self.health.failed("commit log fsync", &e);
                return Err(self.error(e));
            }
        }
        Ok(())
    }

    /// Removes `table`'s marks with tokens in the range and epochs before
    /// `epoch`; how many went.
    fn clear_marks(&self, table: Uuid, start: &Bound<i64>, end: &Bound<i64>, epoch: u64) -> Result<u64, StorageError> {
        let Some(range) = unrepaired::mark_range(table, start, end) else {
            return Ok(0);
        };
        self.written.forget();
        let mut removed = 0u64;
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        let mut queued = 0usize;
        for item in self.marks.range::<Vec<u8>, _>(range) {
            let (k, _) = item.into_inner().map_err(|e| self.error(e))?;
            let (_, _, mark_epoch) = unrepaired::decode_mark_key(&k).map_err(|e| self.corrupt(e))?;
            if mark_epoch >= epoch {
                continue;
            }
            batch.remove(&self.marks, k);
            removed += 1;
            queued += 1;
            if queued >= 10_000 {
                std::mem::replace(&mut batch, self.db.batch().durability(Some(PersistMode::Buffer)))
                    .commit()
                    .map_err(|e| self.error(e))?;
                queued = 0;
            }
        }
        batch.commit().map_err(|e| self.error(e))?;
        // Again after: a write that ran beside the removal may have recorded
        // a mark the removal then took.
        self.written.forget();
        Ok(removed)
    }

    /// Loads one partition, only the rows the command's slices may select
    /// after its resume point (a superset: `Partition::visit` and
    /// `raw_mutation` apply them exactly), and no more than `row_cap` rows
    /// in read order: an answer limited to that many never needs more. A
    /// reversed read scans the rows backwards from the end of its last
    /// slice, so it holds no more of a wide partition than a forward read.
    fn load_partition(
        &self,
        keyspace: &Keyspace,
        position: &PartitionPosition,
        command: &ReadCommand,
        row_cap: Option<usize>,
    ) -> Result<Option<(Partition, bool)>, StorageError> {
        let mut builder = PartitionBuilder {
            row_cap,
            ..PartitionBuilder::default()
        };
        let after = resume_after(command.resume.as_ref(), position);
        let slices = slices_after(&command.slices, after, command.reversed);
        let prefix = layout::partition_prefix(position);
        let rows = layout::rows_prefix(position);
        if slices.is_none() && !command.reversed {
            let end = prefix_end(&prefix);
            self.scan(keyspace, (Bound::Included(prefix), end), &mut builder, &[])?;
            return Ok(builder.finish());
        }
        // The partition deletion, range tombstones and static row come first
        // in either order: a row cannot be resolved without them.
        self.scan(
            keyspace,
            (Bound::Included(prefix), Bound::Excluded(rows.clone())),
            &mut builder,
            &[],
        )?;
        let row_ranges: Vec<KeyRange> = match &slices {
            None => vec![(Bound::Included(rows.clone()), prefix_end(&rows))],
            Some(slices) => slices.iter().map(|slice| row_keys(position, &rows, slice)).collect(),
        };
        let slices = slices.unwrap_or_default();
        let mut row_ranges = row_ranges;
        if command.reversed {
            row_ranges.reverse();
        }
        for range in row_ranges {
            if builder.capped {
                break;
            }
            if command.reversed {
                self.scan_back(keyspace, range, &mut builder, &slices)?;
            } else {
                self.scan(keyspace, range, &mut builder, &slices)?;
            }
        }
        Ok(builder.finish())
    }

    /// Adds the entries of one key range of a partition to `builder`. Older
    /// versions of an entry lose to the newest, which comes first; past
    /// `SEEK_OVER_VERSIONS` of them in a row the scan seeks over the rest
    /// instead of stepping through them: a hot row (a counter, a Paxos state)
    /// piles up versions in the memtable until a flush and a compaction.
    fn scan(
        &self,
        keyspace: &Keyspace,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        builder: &mut PartitionBuilder,
        slices: &[Slice],
    ) -> Result<(), StorageError> {
        let (mut lo, hi) = range;
        'seek: loop {
            let mut older = 0;
            for item in keyspace.range((lo.clone(), hi.clone())) {
                let (k, v) = item.into_inner().map_err(|e| self.error(e))?;
                let (component, timestamp, _) = layout::split_suffix(&k).map_err(|e| self.corrupt(e.to_string()))?;
                if builder.is_older_version(component, timestamp) {
                    older += 1;
                    if older >= SEEK_OVER_VERSIONS {
                        match past_versions(component, &hi) {
                            Some(past) => {
                                lo = past;
                                continue 'seek;
                            }
                            None => return Ok(()),
                        }
                    }
                    continue;
                }
                older = 0;
                self.add_entry(builder, &k, &v, slices)?;
                if builder.capped {
                    return Ok(());
                }
            }
            return Ok(());
        }
    }

    /// Adds the entries of one key range of a partition to `builder`, last
    /// key first, until the builder is capped: rows come highest clustering
    /// first. Versions of an entry come oldest first here, so none is
    /// skipped; the row merge keeps the newest.
    fn scan_back(
        &self,
        keyspace: &Keyspace,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        builder: &mut PartitionBuilder,
        slices: &[Slice],
    ) -> Result<(), StorageError> {
        for item in keyspace.range(range).rev() {
            let (k, v) = item.into_inner().map_err(|e| self.error(e))?;
            self.add_entry(builder, &k, &v, slices)?;
            if builder.capped {
                break;
            }
        }
        Ok(())
    }

    fn add_entry(&self, builder: &mut PartitionBuilder, key: &[u8], value: &[u8], slices: &[Slice]) -> Result<(), StorageError> {
        let entry = layout::decode_key(key).map_err(|e| self.corrupt(e.to_string()))?;
        let (component_bytes, _, _) = layout::split_suffix(key).map_err(|e| self.corrupt(e.to_string()))?;
        let value = EntryValue::decode(value).map_err(|e| self.corrupt(e.to_string()))?;
        builder.add(component_bytes, entry.component, entry.timestamp, value, slices);
        Ok(())
    }

    fn corrupt(&self, message: String) -> StorageError {
        StorageError::Corrupt {
            path: self.path.clone(),
            message,
        }
    }

    /// Calls `f` with each partition the command selects, in ring order, rebuilt
    /// from disk, skipping those the resume point is past, until `f` returns
    /// false. A partition holds at most `row_cap` rows in read order, and `f`
    /// is told when it was cut there.
    fn each_partition(&self, command: &ReadCommand, row_cap: Option<usize>, f: &mut PartitionFn<'_>) -> Result<(), StorageError> {
        let keyspace = self.keyspace(command.table)?;
        match &command.partitions {
            PartitionSelection::Keys(keys) => {
                let resume = command.resume.as_ref();
                let mut keys = keys.clone();
                keys.sort();
                keys.dedup();
                for key in keys.iter().filter(|k| !skipped_by_resume(resume, k)) {
                    if let Some((p, capped)) = self.load_partition(&keyspace, key, command, row_cap)? {
                        if !f(key, &p, capped) {
                            break;
                        }
                    }
                }
                Ok(())
            }
            PartitionSelection::Tokens { start, end } => self.read_tokens(&keyspace, command, start, end, row_cap, f),
        }
    }

    fn read_tokens(
        &self,
        keyspace: &Keyspace,
        command: &ReadCommand,
        start: &Bound<i64>,
        end: &Bound<i64>,
        row_cap: Option<usize>,
        f: &mut PartitionFn<'_>,
    ) -> Result<(), StorageError> {
        let resume = command.resume.as_ref();
        let Some((lo, hi)) = token_keys(start, end) else {
            return Ok(());
        };
        let lo = match resume {
            // Resumed inside a partition: the rest of that one as a single
            // partition read (from the resume point on), then the partitions after it.
            Some(r) if r.clustering.is_some() && token_in(start, r.position.token) && token_before_end(end, r.position.token) => {
                if let Some((p, capped)) = self.load_partition(keyspace, &r.position, command, row_cap)? {
                    if !f(&r.position, &p, capped) {
                        return Ok(());
                    }
                }
                match prefix_end(&layout::partition_prefix(&r.position)) {
                    Bound::Excluded(next) => Bound::Included(next),
                    _ => return Ok(()),
                }
            }
            Some(r) if token_in(start, r.position.token) => Bound::Included(layout::partition_prefix(&r.position)),
            _ => lo,
        };
        if command.reversed {
            return self.read_partitions_from(keyspace, command, (lo, hi), row_cap, f);
        }
        let mut current: Option<(PartitionPosition, Vec<u8>, PartitionBuilder)> = None;
        let finish = |current: Option<(PartitionPosition, Vec<u8>, PartitionBuilder)>, f: &mut PartitionFn<'_>| -> bool {
            match current {
                Some((position, _, b)) if b.any => f(&position, &b.partition, b.capped),
                _ => true,
            }
        };
        let mut lo = lo;
        'seek: loop {
            let mut older = 0;
            for item in keyspace.range::<Vec<u8>, _>((lo.clone(), hi.clone())) {
                let (k, v) = item.into_inner().map_err(|e| self.error(e))?;
                if &*k == ANCHOR {
                    continue;
                }
                let same = current.as_ref().is_some_and(|(_, prefix, _)| k.starts_with(prefix));
                if !same {
                    let entry = layout::decode_key(&k).map_err(|e| self.corrupt(e.to_string()))?;
                    if !finish(current.take(), f) {
                        return Ok(());
                    }
                    let prefix = layout::partition_prefix(&entry.position);
                    if skipped_by_resume(resume, &entry.position) {
                        current = Some((entry.position, prefix, PartitionBuilder::skipping()));
                        continue;
                    }
                    let builder = PartitionBuilder {
                        row_cap,
                        ..PartitionBuilder::default()
                    };
                    current = Some((entry.position, prefix, builder));
                }
                let Some((_, prefix, builder)) = current.as_mut() else { continue };
                if builder.skip {
                    continue;
                }
                if builder.capped {
                    // Enough rows of this partition: on to the next one.
                    match prefix_end(prefix) {
                        Bound::Excluded(next) => {
                            lo = Bound::Included(next);
                            continue 'seek;
                        }
                        _ => break,
                    }
                }
                // As in `scan`: older versions lose unread, and past a few of
                // them the scan seeks over the rest.
                let (component, timestamp, _) = layout::split_suffix(&k).map_err(|e| self.corrupt(e.to_string()))?;
                if builder.is_older_version(component, timestamp) {
                    older += 1;
                    if older >= SEEK_OVER_VERSIONS {
                        if let Some(past) = past_versions(component, &hi) {
                            lo = past;
                            continue 'seek;
                        }
                        break;
                    }
                    continue;
                }
                older = 0;
                self.add_entry(builder, &k, &v, &command.slices)?;
            }
            break;
        }
        finish(current, f);
        Ok(())
    }

    /// `read_tokens` for a reversed read: each partition of the key range
    /// is found by its first key and loaded on its own by `load_partition`
    /// (backwards, within `row_cap`), and the scan goes on past it.
    fn read_partitions_from(
        &self,
        keyspace: &Keyspace,
        command: &ReadCommand,
        (mut lo, hi): KeyRange,
        row_cap: Option<usize>,
        f: &mut PartitionFn<'_>,
    ) -> Result<(), StorageError> {
        let resume = command.resume.as_ref();
        loop {
            let Some(item) = keyspace.range::<Vec<u8>, _>((lo.clone(), hi.clone())).next() else {
                return Ok(());
            };
            let (k, _) = item.into_inner().map_err(|e| self.error(e))?;
            if &*k == ANCHOR {
                lo = Bound::Excluded(k.to_vec());
                continue;
            }
            let entry = layout::decode_key(&k).map_err(|e| self.corrupt(e.to_string()))?;
            if !skipped_by_resume(resume, &entry.position) {
                if let Some((p, capped)) = self.load_partition(keyspace, &entry.position, command, row_cap)? {
                    if !f(&entry.position, &p, capped) {
                        return Ok(());
                    }
                }
            }
            match prefix_end(&layout::partition_prefix(&entry.position)) {
                Bound::Excluded(next) => lo = Bound::Included(next),
                _ => return Ok(()),
            }
        }
    }
}

type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The start of a scan that skips every remaining version of `component`;
/// `None` when that is past `hi`, the end of the scan.
fn past_versions(component: &[u8], hi: &Bound<Vec<u8>>) -> Option<Bound<Vec<u8>>> {
    let mut past = component.to_vec();
    past.extend_from_slice(&[0xFF; layout::SUFFIX_LEN]);
    match hi {
        Bound::Included(h) | Bound::Excluded(h) if past >= *h => None,
        _ => Some(Bound::Excluded(past)),
    }
}

/// The key range of one partition's rows that a clustering slice may
/// select (a superset: a bound covers every key that starts with it).
fn row_keys(position: &PartitionPosition, rows: &[u8], slice: &Slice) -> KeyRange {
    let lo = match &slice.0 {
        Bound::Included(s) | Bound::Excluded(s) => layout::row_lower_bound(position, s),
        Bound::Unbounded => rows.to_vec(),
    };
    let hi = match &slice.1 {
        Bound::Included(e) | Bound::Excluded(e) => prefix_end(&layout::row_lower_bound(position, e)),
        Bound::Unbounded => prefix_end(rows),
    };
    (Bound::Included(lo), hi)
}

/// The key range of the partitions whose tokens lie in `[start, end]`
/// (`None` when no token can).
fn token_keys(start: &Bound<i64>, end: &Bound<i64>) -> Option<KeyRange> {
    let lo = match start {
        Bound::Included(t) => Bound::Included(layout::token_start(*t)),
        Bound::Excluded(t) if *t == i64::MAX => return None,
        Bound::Excluded(t) => Bound::Included(layout::token_start(t + 1)),
        Bound::Unbounded => Bound::Unbounded,
    };
    let hi = match end {
        Bound::Included(t) if *t == i64::MAX => Bound::Unbounded,
        Bound::Included(t) => Bound::Excluded(layout::token_start(t + 1)),
        Bound::Excluded(t) => Bound::Excluded(layout::token_start(*t)),
        Bound::Unbounded => Bound::Unbounded,
    };
    Some((lo, hi))
}

/// A write id that grows across restarts (nanoseconds at open, then +1 per
/// mutation), so two writes of one cell at one timestamp keep distinct keys.
fn initial_write_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2))
        .unwrap_or(0)
}

/// Rebuilds a partition from its entries in key order (newest version of each
/// entry first, so older versions of an entry already seen are skipped).
#[derive(Default)]
struct PartitionBuilder {
    partition: Partition,
    any: bool,
    skip: bool,
    last: Option<(Vec<u8>, i64)>,
    /// The most rows to gather; past it the builder is `capped`.
    row_cap: Option<usize>,
    /// An entry of one row more than `row_cap` came: the rest is not needed.
    capped: bool,
}

/// A write's unrepaired mark: to be written with its data, or already in
/// storage for this epoch (`written_marks`).
enum Mark {
    Write(Vec<u8>),
    InStorage(Vec<u8>),
}

impl Mark {
    fn key(&self) -> &Vec<u8> {
        match self {
            Mark::Write(key) | Mark::InStorage(key) => key,
        }
    }
}

/// What `each_partition` calls with each partition: its position, its
/// content, and whether it was cut at the row cap (more rows follow).
type PartitionFn<'a> = dyn FnMut(&PartitionPosition, &Partition, bool) -> bool + 'a;

/// The most rows of one partition a visited read holds at once.
const VISIT_CHUNK_ROWS: usize = 1000;

/// The longest key fjall takes (its key length is a u16).
const MAX_KEY: usize = u16::MAX as usize;

/// Older versions of one entry a partition read steps over before it seeks
/// past the rest (`DurableEngine::scan`).
const SEEK_OVER_VERSIONS: usize = 8;

impl PartitionBuilder {
    /// Whether a key of `component` at `timestamp` is an older version of the
    /// entry just added, which loses to it unread.
    fn is_older_version(&self, component: &[u8], timestamp: i64) -> bool {
        matches!(&self.last, Some((last, last_ts)) if last.as_slice() == component && timestamp < *last_ts)
    }

    /// The partition gathered, and whether it was cut at the row cap; `None`
    /// when nothing of it was found.
    fn finish(self) -> Option<(Partition, bool)> {
        self.any.then_some((self.partition, self.capped))
    }

    fn skipping() -> PartitionBuilder {
        PartitionBuilder {
            skip: true,
            ..PartitionBuilder::default()
        }
    }

    fn add(&mut self, component_bytes: &[u8], component: Component, timestamp: i64, value: EntryValue, slices: &[Slice]) {
        self.any = true;
        if let Some((last, last_ts)) = &self.last {
            // Versions of one entry are adjacent, newest first: a lower timestamp loses.
            if last.as_slice() == component_bytes && timestamp < *last_ts {
                return;
            }
        }
        self.last = Some((component_bytes.to_vec(), timestamp));
        let p = &mut self.partition;
        match component {
            Component::PartitionDeletion => p.deletion = super::DeletionTime::max(p.deletion, Some(value.deletion(timestamp))),
            Component::RangeTombstone { start, end } => p.range_tombstones.push(RangeTombstone {
                start,
                end,
                deletion: value.deletion(timestamp),
            }),
            Component::Row { row, part } => {
                let target = match row {
                    RowId::Static => &mut p.static_row,
                    RowId::Clustering(c) => {
                        if !slices.is_empty() && !slices.iter().any(|(s, e)| super::contains(s, e, &c)) {
                            return;
                        }
                        if self.row_cap.is_some_and(|cap| p.rows.len() >= cap) && !p.rows.contains_key(&c) {
                            self.capped = true;
                            return;
                        }
                        p.rows.entry(c).or_default()
                    }
                };
                let mut piece = Row::default();
                match part {
                    RowPart::Marker => piece.marker = Some(value.into_cell(timestamp)),
                    RowPart::Deletion => piece.deletion = Some(value.deletion(timestamp)),
                    RowPart::ColumnDeletion(name) => {
                        piece.columns.insert(
                            name,
                            ColumnData::Complex {
                                deletion: Some(value.deletion(timestamp)),
                                cells: BTreeMap::new(),
                            },
                        );
                    }
                    RowPart::Cell(name) => {
                        piece.columns.insert(name, ColumnData::Simple(value.into_cell(timestamp)));
                    }
                    RowPart::Element(name, path) => {
                        let cells = BTreeMap::from([(path, value.into_cell(timestamp))]);
                        piece.columns.insert(name, ColumnData::Complex { deletion: None, cells });
                    }
                }
                target.merge(piece);
            }
        }
    }
}

fn engine_error(path: &Path, e: fjall::Error) -> StorageError {
    match e {
        fjall::Error::Io(io) | fjall::Error::Storage(fjall::LsmError::Io(io)) => io_error(path, io),
        fjall::Error::Storage(
            inner @ (fjall::LsmError::ChecksumMismatch { .. }
            | fjall::LsmError::InvalidTrailer
            | fjall::LsmError::InvalidHeader(_)
            | fjall::LsmError::Unrecoverable),
        ) => StorageError::Corrupt {
            path: path.to_path_buf(),
            message: inner.to_string(),
        },
        e @ (fjall::Error::JournalRecovery(_)
        | fjall::Error::InvalidTrailer
        | fjall::Error::InvalidTag(_)
        | fjall::Error::Unrecoverable) => StorageError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
        e => StorageError::Engine { message: e.to_string() },
    }
}

fn io_error(path: &Path, io: std::io::Error) -> StorageError {
    // ENOSPC (28) and EDQUOT (122) on Linux.
    if io.kind() == std::io::ErrorKind::StorageFull || matches!(io.raw_os_error(), Some(28 | 122)) {
        StorageError::DiskFull { path: path.to_path_buf() }
    } else {
        StorageError::Io { source: io }
    }
}

impl Drop for DurableEngine {
    fn drop(&mut self) {
        drop(self.periodic.take());
        if let Err(e) = self.db.persist(PersistMode::SyncAll) {
            tracing::error!(error = %e, "final commit log fsync failed");
        }
    }
}

impl StorageEngine for DurableEngine {
    fn waits_for_sync(&self) -> bool {
        self.sync == CommitLogSync::Batch
    }

    fn sync(&self) -> Result<(), StorageError> {
        if let Err(e) = self.db.persist(PersistMode::SyncData) {
            self.health.failed("commit log fsync", &e);
            return Err(self.error(e));
        }
        Ok(())
    }

    fn create_table(&self, table: Uuid) -> Result<(), StorageError> {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if tables.contains_key(&table) {
            return Ok(());
        }
        let memtable = self.memtable_bytes;
        let keyspace = self
            .db
            .keyspace(&table.simple().to_string(), || {
                KeyspaceCreateOptions::default().max_memtable_size(memtable)
            })
            .map_err(|e| self.error(e))?;
        tables.insert(table, keyspace);
        Ok(())
    }

    fn drop_table(&self, table: Uuid) -> Result<(), StorageError> {
        let removed = self.tables.write().unwrap_or_else(|e| e.into_inner()).remove(&table);
        if let Some(keyspace) = removed {
            self.db.delete_keyspace(keyspace).map_err(|e| self.error(e))?;
        }
        self.truncations.forget(table);
        self.truncation_records.remove(table.as_bytes()).map_err(|e| self.error(e))?;
        self.clear_marks(table, &Bound::Unbounded, &Bound::Unbounded, u64::MAX)?;
        self.untracked.write().unwrap_or_else(|e| e.into_inner()).remove(&table);
        Ok(())
    }

    /// The record first, durable, then the table's data: a crash in between
    /// leaves data that nothing older can be added to, never the reverse.
    fn truncate(&self, table: Uuid) -> Result<(), StorageError> {
        let keyspace = self.keyspace(table)?;
        let at = now_micros();
        let mut record = vec![TRUNCATION_RECORD_VERSION];
        record.extend_from_slice(&at.to_be_bytes());
        self.truncation_records
            .insert(table.as_bytes(), record)
            .map_err(|e| self.error(e))?;
        self.truncations.record(table, at);
        self.sync()?;
        keyspace.clear().map_err(|e| self.error(e))?;
        self.sync()
    }

    fn truncated_at(&self, table: Uuid) -> Option<i64> {
        self.truncations.get(table)
    }

    fn apply(&self, mutation: Mutation) -> Result<(), StorageError> {
        self.write(vec![mutation])
    }

    fn apply_all(&self, mutations: Vec<Mutation>) -> Result<(), StorageError> {
        self.write(mutations)
    }

    /// Visits the rows of each partition in parts of at most
    /// `VISIT_CHUNK_ROWS` in read order, forward or reversed, so that a
    /// visitor that stops early (a LIMIT, a page) never has the whole of a
    /// large partition read.
    fn read(&self, command: &ReadCommand, now: i64, visitor: &mut Visitor<'_>) -> Result<(), StorageError> {
        let keyspace = self.keyspace(command.table)?;
        let resume = command.resume.as_ref();
        let mut failed = None;
        self.each_partition(command, Some(VISIT_CHUNK_ROWS), &mut |position, first, capped| {
            let from = resume_after(resume, position);
            let mut seen_live = false;
            // The parts after the first, as they are loaded.
            let mut rest: Option<(Partition, bool)> = None;
            let mut after = from.map(<[u8]>::to_vec);
            loop {
                let (p, capped) = rest.as_ref().map_or((first, capped), |(p, c)| (p, *c));
                match p.visit_part(
                    position,
                    command,
                    after.as_deref(),
                    now,
                    visitor,
                    &mut seen_live,
                    !capped && from.is_none(),
                ) {
                    Visit::Stop => return false,
                    Visit::NextPartition => return true,
                    Visit::Continue if !capped => return true,
                    Visit::Continue => {}
                }
                after = if command.reversed {
                    p.rows.keys().next()
                } else {
                    p.rows.keys().next_back()
                }
                .cloned();
                let from_last = ReadCommand {
                    resume: Some(ResumePoint {
                        position: position.clone(),
                        clustering: after.clone(),
                    }),
                    ..command.clone()
                };
                match self.load_partition(&keyspace, position, &from_last, Some(VISIT_CHUNK_ROWS)) {
                    Ok(Some(next)) => rest = Some(next),
                    Ok(None) => return true,
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    fn read_raw(&self, command: &ReadCommand, limits: ReadLimits) -> Result<Vec<Mutation>, StorageError> {
        let mut answer = RawAnswer::new(command, limits);
        let row_cap = answer.partition_rows_left();
        self.each_partition(command, row_cap, &mut |position, p, _| answer.add(position, p))?;
        Ok(answer.partitions)
    }

    fn flush(&self) -> Result<(), StorageError> {
        for keyspace in self.keyspaces() {
            keyspace.rotate_memtable_and_wait().map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn compact(&self) -> Result<(), StorageError> {
        let tables: Vec<(Uuid, Keyspace)> = self
            .tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(t, k)| (*t, k.clone()))
            .collect();
        for (table, keyspace) in tables {
            keyspace.insert(ANCHOR, []).map_err(|e| self.error(e))?;
            keyspace.rotate_memtable_and_wait().map_err(|e| self.error(e))?;
            self.purging.lock().unwrap_or_else(|e| e.into_inner()).insert(table);
            let result = keyspace.major_compact();
            self.purging.lock().unwrap_or_else(|e| e.into_inner()).remove(&table);
            result.map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn size_estimate(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>) -> Result<u64, StorageError> {
        let keyspace = self.keyspace(table)?;
        let total = keyspace.disk_space();
        let fraction = token_fraction(&start, &end);
        Ok((total as f64 * fraction) as u64)
    }

    fn remove_tokens(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>) -> Result<u64, StorageError> {
        let keyspace = self.keyspace(table)?;
        let Some(range) = token_keys(&start, &end) else {
            return Ok(0);
        };
        let mut partitions = 0u64;
        let mut prefix: Option<Vec<u8>> = None;
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        let mut queued = 0usize;
        for item in keyspace.range::<Vec<u8>, _>(range) {
            let (k, _) = item.into_inner().map_err(|e| self.error(e))?;
            if &*k == ANCHOR {
                continue;
            }
            if !prefix.as_ref().is_some_and(|p| k.starts_with(p)) {
                let entry = layout::decode_key(&k).map_err(|e| self.corrupt(e.to_string()))?;
                prefix = Some(layout::partition_prefix(&entry.position));
                partitions += 1;
            }
            batch.remove(&keyspace, k);
            queued += 1;
            if queued >= 10_000 {
                std::mem::replace(&mut batch, self.db.batch().durability(Some(PersistMode::Buffer)))
                    .commit()
                    .map_err(|e| self.error(e))?;
                queued = 0;
            }
        }
        batch.commit().map_err(|e| self.error(e))?;
        // Marks of ranges this node no longer replicates would never be cleared.
        self.clear_marks(table, &start, &end, u64::MAX)?;
        Ok(partitions)
    }

    fn data_bytes(&self) -> u64 {
        // Not `Database::disk_space`: that counts the journal, whose files are
        // preallocated (64 MiB for an empty node).
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(Keyspace::disk_space)
            .sum()
    }

    fn set_gc_grace(&self, table: Uuid, seconds: i32) {
        self.gc_grace.write().unwrap_or_else(|e| e.into_inner()).insert(table, seconds);
    }

    fn set_repair_tracking(&self, table: Uuid, tracked: bool) {
        let mut untracked = self.untracked.write().unwrap_or_else(|e| e.into_inner());
        if tracked {
            untracked.remove(&table);
        } else {
            untracked.insert(table);
        }
    }

    fn begin_repair(&self) -> Result<RepairedBefore, StorageError> {
        let before = self.gate.begin(u64::try_from(now_micros()).unwrap_or(0));
        self.sync()?;
        Ok(before)
    }

    fn unrepaired(
        &self,
        table: Uuid,
        start: Bound<i64>,
        end: Bound<i64>,
        max: usize,
    ) -> Result<Option<Vec<PartitionPosition>>, StorageError> {
        self.keyspace(table)?;
        let Some(range) = unrepaired::mark_range(table, &start, &end) else {
            return Ok(Some(Vec::new()));
        };
        let mut positions = unrepaired::Positions::new(max);
        for item in self.marks.range::<Vec<u8>, _>(range) {
            let (k, _) = item.into_inner().map_err(|e| self.error(e))?;
            let (_, position, _) = unrepaired::decode_mark_key(&k).map_err(|e| self.corrupt(e))?;
            if !positions.add(position) {
                break;
            }
        }
        Ok(positions.finish())
    }

    fn mark_repaired(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>, before: RepairedBefore) -> Result<u64, StorageError> {
        self.gate.check(&before).map_err(|reason| StorageError::RepairSession { reason })?;
        self.clear_marks(table, &start, &end, before.epoch)
    }
}

/// Reads the truncation records (see `TRUNCATIONS_KEYSPACE`).
fn load_truncations(dir: &Path, records: &Keyspace) -> Result<Vec<(Uuid, i64)>, StorageError> {
    let corrupt = |message: String| StorageError::Corrupt {
        path: dir.to_path_buf(),
        message,
    };
    let mut out = Vec::new();
    for item in records.iter() {
        let (k, v) = item.into_inner().map_err(|e| engine_error(dir, e))?;
        let table = Uuid::from_slice(&k).map_err(|_| corrupt(format!("a truncation record's key has {} bytes, not 16", k.len())))?;
        let at = match v.split_first() {
            Some((&TRUNCATION_RECORD_VERSION, time)) => i64::from_be_bytes(
                time.try_into()
                    .map_err(|_| corrupt(format!("the truncation record of {table} is {} bytes long", v.len())))?,
            ),
            Some((version, _)) => return Err(corrupt(format!("the truncation record of {table} has unknown version {version}"))),
            None => return Err(corrupt(format!("the truncation record of {table} is empty"))),
        };
        out.push((table, at));
    }
    Ok(out)
}

/// The share of the ring a token range covers (tokens are uniformly spread by
/// Murmur3, so it is also the expected share of a table's data).
fn token_fraction(start: &Bound<i64>, end: &Bound<i64>) -> f64 {
    let lo = match start {
        Bound::Included(t) | Bound::Excluded(t) => *t as f64,
        Bound::Unbounded => i64::MIN as f64,
    };
    let hi = match end {
        Bound::Included(t) | Bound::Excluded(t) => *t as f64,
        Bound::Unbounded => i64::MAX as f64,
    };
    ((hi - lo) / (i64::MAX as f64 - i64::MIN as f64)).clamp(0.0, 1.0)
}
