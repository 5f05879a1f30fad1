//! The storage engine boundary: what a table stores (partitions of rows of cells,
//! see `cell`), the mutations that write it, the read commands that scan it, and
//! the `StorageEngine` trait the node uses. Keys arrive already encoded: partition
//! positions are (token, partition key bytes) and clustering keys are the
//! order-preserving bytes of `key`. The engine knows no CQL types.

pub mod cell;
pub mod durable;
pub mod key;
pub mod memory;
mod partition;
pub mod read_limits;
#[cfg(test)]
mod read_raw_tests;
pub mod truncation;
pub mod unrepaired;
#[cfg(test)]
mod unrepaired_tests;

use std::ops::Bound;

use uuid::Uuid;

pub use cell::{Cell, ColumnData, DeletionTime, LiveCell, LiveData, LiveRow, Row};
pub use read_limits::ReadLimits;
pub use unrepaired::RepairedBefore;

/// Where a partition sits in the ring order: by token, then by key bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct PartitionPosition {
    pub token: i64,
    pub key: Vec<u8>,
}

/// A range of clustering keys in byte space: (start, end).
pub type ClusteringSlice = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// A deletion of every row whose clustering bytes fall in `[start, end]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RangeTombstone {
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
    pub deletion: DeletionTime,
}

impl RangeTombstone {
    pub fn covers(&self, clustering: &[u8]) -> bool {
        contains(&self.start, &self.end, clustering)
    }
}

/// Whether `key` lies between two byte-string bounds.
pub fn contains(start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    let after_start = match start {
        Bound::Included(s) => key >= s.as_slice(),
        Bound::Excluded(s) => key > s.as_slice(),
        Bound::Unbounded => true,
    };
    let before_end = match end {
        Bound::Included(e) => key <= e.as_slice(),
        Bound::Excluded(e) => key < e.as_slice(),
        Bound::Unbounded => true,
    };
    after_start && before_end
}

/// The first byte string that does not start with `prefix`: the exclusive end of
/// the range of keys that start with it (Unbounded when there is none).
pub fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// Everything written to one partition of one table by one statement (or batch).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mutation {
    pub table: Uuid,
    pub position: PartitionPosition,
    pub partition_deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    pub static_row: Option<Row>,
    /// Rows by clustering bytes (empty bytes for a table without clustering columns).
    pub rows: Vec<(Vec<u8>, Row)>,
}

impl Mutation {
    /// The size of its data as Cassandra counts a batch's (`dataSize`): each
    /// cell's value and path with 16 bytes of timestamp, TTL and deletion
    /// time, each clustering, and 12 bytes per row marker or deletion.
    pub fn data_size(&self) -> usize {
        self.partition_deletion.as_ref().map_or(0, |_| 12)
            + self.range_tombstones.len() * 12
            + self.static_row.as_ref().map_or(0, |r| Mutation::row_size(&[], r))
            + self.rows.iter().map(|(c, r)| Mutation::row_size(c, r)).sum::<usize>()
    }

    /// One row's share of `data_size`.
    pub fn row_size(clustering: &[u8], r: &Row) -> usize {
        let cell = |c: &Cell| 16 + c.value.as_ref().map_or(0, Vec::len);
        let cells: usize = r
            .columns
            .values()
            .map(|d| match d {
                ColumnData::Simple(c) => cell(c),
                ColumnData::Complex { cells, deletion } => {
                    cells.iter().map(|(path, c)| path.len() + cell(c)).sum::<usize>() + deletion.as_ref().map_or(0, |_| 12)
                }
            })
            .sum();
        clustering.len() + cells + r.marker.as_ref().map_or(0, |_| 12) + r.deletion.as_ref().map_or(0, |_| 12)
    }

    pub fn new(table: Uuid, position: PartitionPosition) -> Mutation {
        Mutation {
            table,
            position,
            partition_deletion: None,
            range_tombstones: Vec::new(),
            static_row: None,
            rows: Vec::new(),
        }
    }

    /// Whether the mutation writes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.partition_deletion.is_none()
            && self.range_tombstones.is_empty()
            && self.static_row.as_ref().is_none_or(Row::is_empty)
            && self.rows.iter().all(|(_, r)| r.is_empty())
    }
}

/// Which partitions a read visits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PartitionSelection {
    /// These partitions (visited in ring order, each once).
    Keys(Vec<PartitionPosition>),
    /// Every partition whose token lies in the range.
    Tokens { start: Bound<i64>, end: Bound<i64> },
}

/// A read of one table: which partitions, which clustering slices, which order,
/// and where a previous page stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadCommand {
    pub table: Uuid,
    pub partitions: PartitionSelection,
    /// Clustering slices in ascending byte order; empty means the whole partition.
    pub slices: Vec<ClusteringSlice>,
    /// Rows in descending clustering order within each partition.
    pub reversed: bool,
    pub resume: Option<ResumePoint>,
    /// A secondary index read: the rows the local index lists for these
    /// values, within `partitions` (see `index::IndexingEngine`).
    pub index: Option<crate::index::IndexLookup>,
}

impl ReadCommand {
    /// Every partition of `table`, whole, in ring order.
    pub fn all(table: Uuid) -> ReadCommand {
        ReadCommand {
            index: None,
            table,
            partitions: PartitionSelection::Tokens {
                start: Bound::Unbounded,
                end: Bound::Unbounded,
            },
            slices: Vec::new(),
            reversed: false,
            resume: None,
        }
    }

    /// The rows with exactly these full clustering keys in one partition (and
    /// its static row); no keys: the whole partition.
    pub fn rows(table: Uuid, position: PartitionPosition, clusterings: impl IntoIterator<Item = Vec<u8>>) -> ReadCommand {
        ReadCommand {
            index: None,
            table,
            partitions: PartitionSelection::Keys(vec![position]),
            slices: clusterings
                .into_iter()
                .map(|c| (Bound::Included(c.clone()), Bound::Included(c)))
                .collect(),
            reversed: false,
            resume: None,
        }
    }
}

/// Where the previous page stopped: start at `position`, after `clustering` when
/// given (in read order), otherwise after the whole partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResumePoint {
    pub position: PartitionPosition,
    pub clustering: Option<Vec<u8>>,
}

impl ResumePoint {
    /// Where a raw answer (`read_raw`) ends in read order: its last partition
    /// and, when that one has rows, its last row (the lowest clustering when
    /// `reversed`, as rows are listed ascending); `None` for an empty answer.
    pub fn end_of(answer: &[Mutation], reversed: bool) -> Option<ResumePoint> {
        let last = answer.last()?;
        let row = if reversed { last.rows.first() } else { last.rows.last() };
        Some(ResumePoint {
            position: last.position.clone(),
            clustering: row.map(|(c, _)| c.clone()),
        })
    }
}

/// A partition as a read sees it.
#[derive(Debug)]
pub struct PartitionView<'a> {
    pub position: &'a PartitionPosition,
    pub static_row: Option<LiveRow>,
}

/// What a read visitor wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    Continue,
    NextPartition,
    Stop,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("table {table} does not exist in the storage engine")]
    UnknownTable { table: Uuid },
    #[error("storage I/O failed: {source}")]
    Io {
        #[from]
        source: std::io::Error,
    },
    #[error("this node refuses writes since its {reason}; fix the disk and restart the node (commit_failure_policy)")]
    CommitStopped { reason: String },
    #[error("the disk holding {path} is full")]
    DiskFull { path: std::path::PathBuf },
    #[error("corrupt data in {path}: {message}")]
    Corrupt { path: std::path::PathBuf, message: String },
    #[error("storage engine failed: {message}")]
    Engine { message: String },
    /// A key the engine cannot hold (the durable engine's keys are at most 64 KiB).
    #[error("a key of {length} bytes is longer than the storage's maximum of {max}")]
    KeyTooLong { length: usize, max: usize },
    /// An incremental repair's cut that this engine did not hand out.
    #[error("{reason}")]
    RepairSession { reason: String },
}

/// A visitor receives each live row of each partition in order; a partition
/// whose only live data is its static row is visited once with `None`.
pub type Visitor<'v> = dyn FnMut(&PartitionView<'_>, Option<(&[u8], &LiveRow)>) -> Visit + Send + 'v;

/// The local store of a node. Writes are blind (no read before write);
/// reads resolve tombstones and expiry at `now` (seconds since the epoch).
pub trait StorageEngine: Send + Sync + 'static {
    fn create_table(&self, table: Uuid) -> Result<(), StorageError>;
    fn drop_table(&self, table: Uuid) -> Result<(), StorageError>;
    /// Empties `table` and records when (`truncated_at`): from then on the
    /// engine drops whatever a mutation holds that is not newer than that
    /// (`truncation`), so hints, late writes and streams cannot bring the
    /// data back. The record is kept across restarts.
    fn truncate(&self, table: Uuid) -> Result<(), StorageError>;
    /// When this node last truncated `table` (microseconds since the epoch).
    fn truncated_at(&self, table: Uuid) -> Option<i64>;
    fn apply(&self, mutation: Mutation) -> Result<(), StorageError>;
    fn read(&self, command: &ReadCommand, now: i64, visitor: &mut Visitor<'_>) -> Result<(), StorageError>;

    /// What a replica answers a coordinator's read with: for each selected
    /// partition in ring order (after `resume`, as `read`), its stored content as
    /// a `Mutation`, nothing resolved (partition deletion, every range tombstone,
    /// the static row, and the rows in the command's slices in ascending
    /// clustering order, with their tombstones and expired cells). Partitions
    /// with nothing stored in the selection are left out. The answer stops
    /// where it reaches `limits` (`read_limits`); a partition cut short keeps
    /// its first rows in read order (the highest clusterings when `reversed`).
    fn read_raw(&self, command: &ReadCommand, limits: ReadLimits) -> Result<Vec<Mutation>, StorageError>;

    /// Applies every mutation; the durable engine makes them one atomic write
    /// (all or none survive a crash), the default applies them one by one.
    fn apply_all(&self, mutations: Vec<Mutation>) -> Result<(), StorageError> {
        mutations.into_iter().try_for_each(|m| self.apply(m))
    }

    /// Whether a write waits for the disk before it returns (an fsync in batch
    /// commit log mode): such writes are kept off the async worker threads.
    fn waits_for_sync(&self) -> bool {
        false
    }

    /// Makes every write so far durable (an fsync of the commit log), whatever
    /// the commit log mode; a no-op where nothing is on disk.
    fn sync(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Writes memtables out to disk (SSTables); a no-op where there are none.
    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Major compaction of every table: purges what the compaction rules allow.
    fn compact(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Approximate bytes a table holds for partitions with tokens in the range.
    fn size_estimate(&self, _table: Uuid, _start: Bound<i64>, _end: Bound<i64>) -> Result<u64, StorageError> {
        Ok(0)
    }

    /// Drops every partition of `table` whose token lies in the range, without
    /// tombstones (cleanup of ranges this node no longer replicates). Returns
    /// how many partitions went.
    fn remove_tokens(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>) -> Result<u64, StorageError>;

    /// Bytes of the tables' data files on disk, as Cassandra's Load: the
    /// commit log and memtables are not counted (what `rustica status` shows).
    fn data_bytes(&self) -> u64 {
        0
    }

    /// The table's `gc_grace_seconds`: how long its tombstones must be kept.
    fn set_gc_grace(&self, _table: Uuid, _seconds: i32) {}

    /// Whether writes of `table` leave unrepaired marks (`unrepaired`): every
    /// table does unless told otherwise, so a forgotten call costs marks that
    /// stay, never a write an incremental repair misses. Tables local to the
    /// node (system keyspaces, secondary index tables) are never repaired.
    fn set_repair_tracking(&self, table: Uuid, tracked: bool);

    /// Starts an incremental repair on this replica: every later write is
    /// marked with a newer epoch, every earlier one is in storage and durable
    /// (an fsync) when this returns. The answer names the cut for
    /// `mark_repaired`.
    fn begin_repair(&self) -> Result<RepairedBefore, StorageError>;

    /// The partitions of `table` with tokens in the range that hold data no
    /// incremental repair has covered, in ring order; `None` when there are
    /// more than `max`.
    fn unrepaired(
        &self,
        table: Uuid,
        start: Bound<i64>,
        end: Bound<i64>,
        max: usize,
    ) -> Result<Option<Vec<PartitionPosition>>, StorageError>;

    /// Removes `table`'s marks in the range from writes before `before` (an
    /// incremental repair of the range succeeded on every replica); how many
    /// marks went. Refused when `before` is not this engine's (a restart).
    fn mark_repaired(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>, before: RepairedBefore) -> Result<u64, StorageError>;
}
