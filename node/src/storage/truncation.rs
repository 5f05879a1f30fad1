//! Truncation records: when this node last truncated each table (Cassandra's
//! `system.local.truncated_at`), and the rule that keeps truncated data from
//! coming back. A TRUNCATE acts as a tombstone over the whole table at the
//! moment it ran: every cell, row marker and tombstone of a later mutation
//! written at or before that time is dropped as it is applied, whether the
//! mutation is a hint, a late replica write, a read repair, a stream chunk of
//! bootstrap, decommission or repair, or a client write with an old `USING
//! TIMESTAMP`. Both engines filter in their `apply`, the one place every
//! such path reaches, so nothing older than the truncation ever enters the
//! commit log again.
//!
//! The decision is per cell, not per mutation: Cassandra drops a hint whole
//! when it was created before the truncation (`Hint.apply` compares creation
//! time), but a mutation here carries no creation time, and a cell written
//! after the TRUNCATE (a newer `USING TIMESTAMP` in the same batch, say) is
//! data the client wrote after it and must stay. Comparing each timestamp
//! with the truncation time is exactly what a table-wide tombstone would do.
//!
//! The records themselves are kept by the engine (the durable engine in its
//! own keyspace, see `docs/storage-format.md`); this module is pure.

use std::collections::HashMap;
use std::sync::RwLock;

use uuid::Uuid;

use super::{ColumnData, Mutation, Row};

/// Microseconds since the epoch now: what a truncation is recorded at (the
/// unit of write timestamps).
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The tables this node truncated, with when (microseconds since the epoch).
#[derive(Debug, Default)]
pub struct Truncations {
    at: RwLock<HashMap<Uuid, i64>>,
}

impl Truncations {
    pub fn new(records: impl IntoIterator<Item = (Uuid, i64)>) -> Truncations {
        Truncations {
            at: RwLock::new(records.into_iter().collect()),
        }
    }

    /// When `table` was last truncated here.
    pub fn get(&self, table: Uuid) -> Option<i64> {
        self.at.read().unwrap_or_else(|e| e.into_inner()).get(&table).copied()
    }

    /// Records a truncation of `table` at `at` (a later one never goes back).
    pub fn record(&self, table: Uuid, at: i64) {
        let mut map = self.at.write().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(table).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// Forgets a dropped table.
    pub fn forget(&self, table: Uuid) {
        self.at.write().unwrap_or_else(|e| e.into_inner()).remove(&table);
    }

    /// `mutation` without what its table's truncation covers; `None` when
    /// nothing of it is left.
    pub fn filter(&self, mutation: Mutation) -> Option<Mutation> {
        match self.get(mutation.table) {
            None => Some(mutation),
            Some(at) => without_truncated(mutation, at),
        }
    }
}

/// `mutation` without every cell, marker and tombstone written at or before
/// `truncated_at`; `None` when nothing is left.
pub fn without_truncated(mut mutation: Mutation, truncated_at: i64) -> Option<Mutation> {
    let newer = |timestamp: i64| timestamp > truncated_at;
    mutation.partition_deletion = mutation.partition_deletion.filter(|d| newer(d.timestamp));
    mutation.range_tombstones.retain(|rt| newer(rt.deletion.timestamp));
    mutation.static_row = mutation.static_row.take().and_then(|r| row_without(r, truncated_at));
    mutation.rows = std::mem::take(&mut mutation.rows)
        .into_iter()
        .filter_map(|(clustering, row)| row_without(row, truncated_at).map(|r| (clustering, r)))
        .collect();
    (!mutation.is_empty()).then_some(mutation)
}

fn row_without(mut row: Row, truncated_at: i64) -> Option<Row> {
    let newer = |timestamp: i64| timestamp > truncated_at;
    row.marker = row.marker.filter(|m| newer(m.timestamp));
    row.deletion = row.deletion.filter(|d| newer(d.timestamp));
    row.columns = std::mem::take(&mut row.columns)
        .into_iter()
        .filter_map(|(name, data)| {
            let data = match data {
                ColumnData::Simple(cell) => newer(cell.timestamp).then_some(ColumnData::Simple(cell))?,
                ColumnData::Complex { deletion, mut cells } => {
                    let deletion = deletion.filter(|d| newer(d.timestamp));
                    cells.retain(|_, c| newer(c.timestamp));
                    if deletion.is_none() && cells.is_empty() {
                        return None;
                    }
                    ColumnData::Complex { deletion, cells }
                }
            };
            Some((name, data))
        })
        .collect();
    (!row.is_empty()).then_some(row)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::storage::{Cell, DeletionTime, PartitionPosition, RangeTombstone};

    fn deletion(timestamp: i64) -> DeletionTime {
        DeletionTime {
            timestamp,
            local_deletion_time: 0,
        }
    }

    fn row(marker: i64, cells: &[(&str, i64)]) -> Row {
        Row {
            marker: Some(Cell::live(marker, Vec::new(), 0, 0)),
            deletion: None,
            columns: cells
                .iter()
                .map(|(n, ts)| (n.to_string(), ColumnData::Simple(Cell::live(*ts, b"v".to_vec(), 0, 0))))
                .collect(),
        }
    }

    fn mutation(rows: Vec<(Vec<u8>, Row)>) -> Mutation {
        Mutation {
            rows,
            ..Mutation::new(
                Uuid::from_u128(7),
                PartitionPosition {
                    token: 1,
                    key: b"k".to_vec(),
                },
            )
        }
    }

    #[test]
    fn a_mutation_written_wholly_before_the_truncation_is_dropped() {
        let mut m = mutation(vec![
            (b"a".to_vec(), row(10, &[("v", 10)])),
            (b"b".to_vec(), row(100, &[("v", 90)])),
        ]);
        m.partition_deletion = Some(deletion(50));
        m.range_tombstones.push(RangeTombstone {
            start: std::ops::Bound::Unbounded,
            end: std::ops::Bound::Unbounded,
            deletion: deletion(100),
        });
        assert_eq!(without_truncated(m, 100), None);
    }

    #[test]
    fn only_the_cells_newer_than_the_truncation_are_kept() {
        let mut complex = row(50, &[("v", 200)]);
        complex.columns.insert(
            "s".into(),
            ColumnData::Complex {
                deletion: Some(deletion(99)),
                cells: BTreeMap::from([
                    (b"x".to_vec(), Cell::live(98, vec![], 0, 0)),
                    (b"y".to_vec(), Cell::live(101, vec![], 0, 0)),
                ]),
            },
        );
        let m = mutation(vec![(b"a".to_vec(), complex), (b"b".to_vec(), row(1, &[("v", 2)]))]);
        let kept = without_truncated(m, 100).unwrap();
        assert_eq!(kept.rows.len(), 1);
        let (clustering, r) = &kept.rows[0];
        assert_eq!(clustering, b"a");
        assert_eq!(r.marker, None);
        assert_eq!(
            r.columns,
            BTreeMap::from([
                ("v".to_string(), ColumnData::Simple(Cell::live(200, b"v".to_vec(), 0, 0))),
                (
                    "s".to_string(),
                    ColumnData::Complex {
                        deletion: None,
                        cells: BTreeMap::from([(b"y".to_vec(), Cell::live(101, vec![], 0, 0))]),
                    }
                ),
            ])
        );
    }

    #[test]
    fn a_table_never_truncated_keeps_everything_and_records_only_move_forward() {
        let t = Truncations::default();
        let m = mutation(vec![(b"a".to_vec(), row(1, &[("v", 1)]))]);
        assert_eq!(t.filter(m.clone()), Some(m.clone()));
        t.record(m.table, 10);
        t.record(m.table, 5);
        assert_eq!(t.get(m.table), Some(10));
        assert_eq!(t.filter(m.clone()), None);
        t.forget(m.table);
        assert_eq!(t.filter(m.clone()), Some(m));
    }
}
