//! Cassandra's data model inside one partition: cells with write timestamps and
//! TTLs, rows with liveness markers and deletions, and the reconciliation rules
//! (last write wins by timestamp; on a tie a tombstone or expiring cell wins,
//! then the later expiry, then the greater value). Pure data and pure functions: no locking and no I/O here.

use std::collections::BTreeMap;

/// When and at what timestamp something was deleted. `local_deletion_time` is in
/// seconds since the epoch and drives `gc_grace_seconds` purging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeletionTime {
    pub timestamp: i64,
    pub local_deletion_time: i64,
}

impl DeletionTime {
    /// The later of two deletions (the one with the higher timestamp).
    pub fn max(a: Option<DeletionTime>, b: Option<DeletionTime>) -> Option<DeletionTime> {
        match (a, b) {
            (Some(x), Some(y)) => Some(if y.timestamp > x.timestamp { y } else { x }),
            (x, None) => x,
            (None, y) => y,
        }
    }

    /// Whether data written at `timestamp` is hidden by this deletion.
    pub fn deletes(&self, timestamp: i64) -> bool {
        timestamp <= self.timestamp
    }
}

/// One version of a cell. `value: None` is a cell tombstone. A cell with a TTL
/// expires at `expires_at` (seconds since the epoch) and then counts as deleted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cell {
    pub timestamp: i64,
    pub value: Option<Vec<u8>>,
    /// The TTL the cell was written with, in seconds; 0 when none.
    pub ttl: i32,
    /// Seconds since the epoch when the cell expires; 0 when it never does.
    pub expires_at: i64,
}

impl Cell {
    pub fn live(timestamp: i64, value: Vec<u8>, ttl: i32, now: i64) -> Cell {
        Cell {
            timestamp,
            value: Some(value),
            ttl,
            expires_at: if ttl > 0 { now + i64::from(ttl) } else { 0 },
        }
    }

    pub fn tombstone(timestamp: i64) -> Cell {
        Cell {
            timestamp,
            value: None,
            ttl: 0,
            expires_at: 0,
        }
    }

    pub fn is_live(&self, now: i64) -> bool {
        self.value.is_some() && (self.expires_at == 0 || self.expires_at > now)
    }

    /// Seconds left to live, for `ttl(c)`; None when the cell has no TTL.
    pub fn remaining_ttl(&self, now: i64) -> Option<i32> {
        (self.expires_at != 0).then(|| i32::try_from((self.expires_at - now).max(0)).unwrap_or(i32::MAX))
    }

    /// Whether the cell is, or will become, a tombstone: a deletion or a cell
    /// with a TTL.
    fn dies(&self) -> bool {
        self.value.is_none() || self.expires_at != 0
    }

    /// Cassandra's reconciliation (`Cells.reconcile`): the higher timestamp
    /// wins. On a tie a cell that is or will become a tombstone wins over one
    /// that never will (so the outcome does not depend on when it is decided);
    /// then a tombstone over an expiring cell; then the later expiry; then the
    /// greater value. Commutative, so the order in which replicas or replays
    /// apply versions never matters.
    pub fn reconcile(self, other: Cell) -> Cell {
        use std::cmp::Ordering::*;
        let rank = |c: &Cell| (c.dies(), c.value.is_none(), c.expires_at);
        match self.timestamp.cmp(&other.timestamp).then_with(|| rank(&self).cmp(&rank(&other))) {
            Greater => self,
            Less => other,
            Equal => {
                if self.value >= other.value {
                    self
                } else {
                    other
                }
            }
        }
    }
}

/// A column's data in a row: one cell, or the cells of a non-frozen collection
/// keyed by their path (list element id, set element, map key, UDT field name).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ColumnData {
    Simple(Cell),
    Complex {
        /// Deletes every element written at or before its timestamp (`c = [..]` overwrites).
        deletion: Option<DeletionTime>,
        cells: BTreeMap<Vec<u8>, Cell>,
    },
}

impl ColumnData {
    pub fn reconcile(self, other: ColumnData) -> ColumnData {
        match (self, other) {
            (ColumnData::Simple(a), ColumnData::Simple(b)) => ColumnData::Simple(a.reconcile(b)),
            (
                ColumnData::Complex {
                    deletion: d1,
                    cells: mut c1,
                },
                ColumnData::Complex { deletion: d2, cells: c2 },
            ) => {
                for (path, cell) in c2 {
                    let merged = match c1.remove(&path) {
                        Some(existing) => existing.reconcile(cell),
                        None => cell,
                    };
                    c1.insert(path, merged);
                }
                let deletion = DeletionTime::max(d1, d2);
                if let Some(d) = deletion {
                    c1.retain(|_, cell| !d.deletes(cell.timestamp));
                }
                ColumnData::Complex { deletion, cells: c1 }
            }
            // A column whose kind changed (dropped and re-added): newest data wins.
            (a, b) => {
                if b.max_timestamp() >= a.max_timestamp() {
                    b
                } else {
                    a
                }
            }
        }
    }

    fn max_timestamp(&self) -> i64 {
        match self {
            ColumnData::Simple(c) => c.timestamp,
            ColumnData::Complex { deletion, cells } => cells
                .values()
                .map(|c| c.timestamp)
                .chain(deletion.map(|d| d.timestamp))
                .max()
                .unwrap_or(i64::MIN),
        }
    }
}

/// A row as stored: the liveness marker INSERT writes (a row exists even with
/// only key columns), a row deletion, and the columns written.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// An INSERT's marker: a cell without value whose liveness keeps the row alive.
    pub marker: Option<Cell>,
    pub deletion: Option<DeletionTime>,
    pub columns: BTreeMap<String, ColumnData>,
}

impl Row {
    pub fn merge(&mut self, other: Row) {
        self.marker = match (self.marker.take(), other.marker) {
            (Some(a), Some(b)) => Some(a.reconcile(b)),
            (a, b) => a.or(b),
        };
        self.deletion = DeletionTime::max(self.deletion, other.deletion);
        for (name, data) in other.columns {
            let merged = match self.columns.remove(&name) {
                Some(existing) => existing.reconcile(data),
                None => data,
            };
            self.columns.insert(name, merged);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.marker.is_none() && self.deletion.is_none() && self.columns.is_empty()
    }
}

/// What a read sees of a cell: its value, timestamp and TTL left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCell {
    pub value: Vec<u8>,
    pub timestamp: i64,
    pub ttl: Option<i32>,
}

/// A column as a read sees it, after tombstones and expiry are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveData {
    Simple(LiveCell),
    /// Live elements in path order (never empty).
    Complex(Vec<(Vec<u8>, LiveCell)>),
}

/// A row as a read sees it: only live columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveRow {
    pub columns: BTreeMap<String, LiveData>,
}

impl LiveRow {
    pub fn get(&self, column: &str) -> Option<&LiveData> {
        self.columns.get(column)
    }
}

fn live_cell(cell: &Cell, shadow: Option<DeletionTime>, now: i64) -> Option<LiveCell> {
    if shadow.is_some_and(|d| d.deletes(cell.timestamp)) || !cell.is_live(now) {
        return None;
    }
    Some(LiveCell {
        value: cell.value.clone().unwrap_or_default(),
        timestamp: cell.timestamp,
        ttl: cell.remaining_ttl(now),
    })
}

/// Resolves a stored row against the deletions that cover it (partition,
/// range tombstones) and the clock. Returns None when nothing of the row is live.
/// `needs_marker_or_cell`: a static row is live only through its cells.
pub fn resolve_row(row: &Row, covering: Option<DeletionTime>, now: i64) -> Option<LiveRow> {
    let shadow = DeletionTime::max(covering, row.deletion);
    let marker_live = row
        .marker
        .as_ref()
        .is_some_and(|m| !shadow.is_some_and(|d| d.deletes(m.timestamp)) && (m.expires_at == 0 || m.expires_at > now));
    let mut live = LiveRow::default();
    for (name, data) in &row.columns {
        match data {
            ColumnData::Simple(cell) => {
                if let Some(c) = live_cell(cell, shadow, now) {
                    live.columns.insert(name.clone(), LiveData::Simple(c));
                }
            }
            ColumnData::Complex { deletion, cells } => {
                let shadow = DeletionTime::max(shadow, *deletion);
                let elements: Vec<_> = cells
                    .iter()
                    .filter_map(|(path, cell)| live_cell(cell, shadow, now).map(|c| (path.clone(), c)))
                    .collect();
                if !elements.is_empty() {
                    live.columns.insert(name.clone(), LiveData::Complex(elements));
                }
            }
        }
    }
    (marker_live || !live.columns.is_empty()).then_some(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn del(ts: i64) -> DeletionTime {
        DeletionTime {
            timestamp: ts,
            local_deletion_time: 0,
        }
    }

    #[test]
    fn higher_timestamp_wins_whatever_the_order() {
        let old = Cell::live(1, b"old".to_vec(), 0, 0);
        let new = Cell::live(2, b"new".to_vec(), 0, 0);
        assert_eq!(old.clone().reconcile(new.clone()).value, Some(b"new".to_vec()));
        assert_eq!(new.reconcile(old).value, Some(b"new".to_vec()));
    }

    #[test]
    fn a_tombstone_wins_a_timestamp_tie() {
        let live = Cell::live(5, b"v".to_vec(), 0, 0);
        let dead = Cell::tombstone(5);
        assert_eq!(live.clone().reconcile(dead.clone()).value, None);
        assert_eq!(dead.reconcile(live).value, None);
    }

    #[test]
    fn a_timestamp_tie_goes_as_cassandra_decides_it_whatever_the_order() {
        let plain = |v: &[u8]| Cell::live(5, v.to_vec(), 0, 0);
        let expiring = |v: &[u8], expires_at: i64| Cell {
            expires_at,
            ttl: 100,
            ..plain(v)
        };
        // (one, other, the winner)
        let cases = [
            (plain(b"a"), plain(b"b"), plain(b"b")),
            (plain(b"z"), expiring(b"a", 1000), expiring(b"a", 1000)),
            (expiring(b"z", 1000), expiring(b"a", 2000), expiring(b"a", 2000)),
            (expiring(b"a", 1000), expiring(b"b", 1000), expiring(b"b", 1000)),
            (expiring(b"z", 9000), Cell::tombstone(5), Cell::tombstone(5)),
        ];
        for (one, other, winner) in cases {
            assert_eq!(one.clone().reconcile(other.clone()), winner, "{one:?} against {other:?}");
            assert_eq!(other.clone().reconcile(one.clone()), winner, "{other:?} against {one:?}");
        }
    }

    #[test]
    fn an_expired_cell_is_not_live() {
        let cell = Cell::live(1, b"v".to_vec(), 10, 100);
        assert!(cell.is_live(109));
        assert!(!cell.is_live(110));
        assert_eq!(cell.remaining_ttl(105), Some(5));
    }

    #[test]
    fn a_row_deletion_hides_only_older_cells() {
        let mut row = Row::default();
        row.columns
            .insert("a".into(), ColumnData::Simple(Cell::live(1, b"1".to_vec(), 0, 0)));
        row.columns
            .insert("b".into(), ColumnData::Simple(Cell::live(3, b"3".to_vec(), 0, 0)));
        row.deletion = Some(del(2));
        let live = resolve_row(&row, None, 0).unwrap();
        assert_eq!(live.columns.keys().cloned().collect::<Vec<_>>(), vec!["b".to_string()]);
    }

    #[test]
    fn a_row_with_only_a_marker_is_live_until_deleted() {
        let row = Row {
            marker: Some(Cell::live(1, Vec::new(), 0, 0)),
            ..Row::default()
        };
        assert_eq!(resolve_row(&row, None, 0), Some(LiveRow::default()));
        assert_eq!(resolve_row(&row, Some(del(1)), 0), None);
    }

    #[test]
    fn overwriting_a_collection_drops_older_elements() {
        let mut cells = BTreeMap::new();
        cells.insert(b"x".to_vec(), Cell::live(1, Vec::new(), 0, 0));
        let old = ColumnData::Complex { deletion: None, cells };
        let mut cells = BTreeMap::new();
        cells.insert(b"y".to_vec(), Cell::live(3, Vec::new(), 0, 0));
        let new = ColumnData::Complex {
            deletion: Some(del(2)),
            cells,
        };
        let merged = old.clone().reconcile(new.clone());
        assert_eq!(merged, new.clone().reconcile(old));
        match merged {
            ColumnData::Complex { cells, .. } => assert_eq!(cells.keys().cloned().collect::<Vec<_>>(), vec![b"y".to_vec()]),
            other => panic!("expected a collection, got {other:?}"),
        }
    }

    #[test]
    fn merging_rows_is_idempotent() {
        let mut row = Row::default();
        row.columns
            .insert("a".into(), ColumnData::Simple(Cell::live(1, b"1".to_vec(), 0, 0)));
        let mut merged = row.clone();
        merged.merge(row.clone());
        assert_eq!(merged, row);
    }
}
