//! How much of a read a replica answers at once. A coordinator asks each
//! replica for at most a page's worth of rows and a few MiB of row data, so
//! that `LIMIT 1` on a large partition reads one row, and no answer outgrows
//! an internode frame; it reads on from where the answers stop (short-read
//! protection, `coordinator::short_read`).
//!
//! Both sides count the same way, so the coordinator can tell an answer that
//! may have been cut short from one that is whole: rows in total (a partition
//! without rows counts one, as it takes a place in the answer) and the data
//! size of the rows (`Mutation::row_size`; statics and tombstones are not
//! counted). The row that crosses the byte limit is kept, so every answer
//! holds at least one row.
//!
//! A per-partition limit (SELECT DISTINCT, PER PARTITION LIMIT) stops each
//! partition after that many rows and goes on with the next: a partition that
//! reached it may have been cut short, and the partitions after it are whole.

use super::Mutation;

/// The most a replica's answer holds; `NONE` for everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ReadLimits {
    /// Rows in total, a partition without rows counting one.
    pub rows: Option<u32>,
    /// Data size of the rows: the answer stops after the row that reaches it.
    pub bytes: Option<u32>,
    /// Rows of each partition (at least one): the partition stops there, and
    /// the answer goes on with the next.
    pub per_partition: Option<u32>,
}

impl ReadLimits {
    pub const NONE: ReadLimits = ReadLimits {
        rows: None,
        bytes: None,
        per_partition: None,
    };

    /// At most `n` rows (at least one), however large.
    pub fn rows(n: usize) -> ReadLimits {
        ReadLimits {
            rows: Some(clamp(n)),
            ..ReadLimits::NONE
        }
    }

    /// Whether one partition of an answer given under these limits may have
    /// been cut short by the per-partition limit: it holds that many rows.
    pub fn cut_in_partition(&self, partition: &Mutation) -> bool {
        self.per_partition.is_some_and(|n| partition.rows.len() >= n as usize)
    }

    /// Whether an answer given under these limits may have been cut short:
    /// it reached one of them.
    pub fn reached(&self, answer: &[Mutation]) -> bool {
        let mut budget = Budget::new(*self);
        for m in answer {
            budget.spend(m);
        }
        budget.is_spent()
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

/// What is left of the limits while an answer is gathered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    rows: Option<usize>,
    bytes: Option<usize>,
    per_partition: Option<usize>,
}

impl Budget {
    pub(crate) fn new(limits: ReadLimits) -> Budget {
        Budget {
            rows: limits.rows.map(|n| n as usize),
            bytes: limits.bytes.map(|n| n as usize),
            per_partition: limits.per_partition.map(|n| (n as usize).max(1)),
        }
    }

    /// Nothing more may be added.
    pub(crate) fn is_spent(&self) -> bool {
        self.rows == Some(0) || self.bytes == Some(0)
    }

    /// How many more rows of one partition may be taken, as far as the row
    /// counts say.
    pub(crate) fn partition_rows_left(&self) -> Option<usize> {
        match (self.rows, self.per_partition) {
            (Some(r), Some(p)) => Some(r.min(p)),
            (r, p) => r.or(p),
        }
    }

    /// Whether a partition that already took `taken_rows` rows and
    /// `taken_bytes` of row data must stop before its next row.
    pub(crate) fn partition_full(&self, taken_rows: usize, taken_bytes: usize) -> bool {
        self.partition_rows_left().is_some_and(|l| taken_rows >= l) || self.bytes.is_some_and(|b| taken_bytes >= b)
    }

    /// Counts one partition of the answer.
    pub(crate) fn spend(&mut self, m: &Mutation) {
        let rows = m.rows.len().max(1);
        let bytes: usize = m.rows.iter().map(|(c, r)| Mutation::row_size(c, r)).sum();
        self.rows = self.rows.map(|l| l.saturating_sub(rows));
        self.bytes = self.bytes.map(|l| l.saturating_sub(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Cell, ColumnData, PartitionPosition, Row};
    use uuid::Uuid;

    fn partition(key: u8, rows: usize, value_len: usize) -> Mutation {
        let mut m = Mutation::new(
            Uuid::from_u128(1),
            PartitionPosition {
                token: i64::from(key),
                key: vec![key],
            },
        );
        for i in 0..rows {
            let mut row = Row::default();
            row.columns
                .insert("v".into(), ColumnData::Simple(Cell::live(1, vec![0; value_len], 0, 0)));
            m.rows.push((vec![i as u8], row));
        }
        m
    }

    #[test]
    fn an_answer_is_cut_short_when_it_reaches_the_row_count() {
        let limits = ReadLimits::rows(3);
        assert!(!limits.reached(&[partition(1, 2, 1)]));
        assert!(limits.reached(&[partition(1, 3, 1)]));
        // A partition without rows takes a place.
        assert!(limits.reached(&[partition(1, 2, 1), partition(2, 0, 0)]));
        assert!(!ReadLimits::NONE.reached(&[partition(1, 1000, 1)]));
    }

    #[test]
    fn an_answer_is_cut_short_when_its_rows_reach_the_byte_limit() {
        let limits = ReadLimits {
            bytes: Some(100),
            ..ReadLimits::NONE
        };
        assert!(!limits.reached(&[partition(1, 1, 10)]));
        assert!(limits.reached(&[partition(1, 1, 200)]));
        assert!(limits.reached(&[partition(1, 5, 10), partition(2, 5, 10)]));
    }

    #[test]
    fn a_partition_is_cut_short_when_it_reaches_the_per_partition_limit() {
        let limits = ReadLimits {
            per_partition: Some(2),
            ..ReadLimits::rows(10)
        };
        assert!(!limits.cut_in_partition(&partition(1, 1, 1)));
        assert!(limits.cut_in_partition(&partition(1, 2, 1)));
        // The answer as a whole goes on past a partition cut short.
        assert!(!limits.reached(&[partition(1, 2, 1), partition(2, 2, 1)]));
        let mut budget = Budget::new(limits);
        assert_eq!(budget.partition_rows_left(), Some(2));
        budget.spend(&partition(1, 2, 1));
        budget.spend(&partition(2, 2, 1));
        budget.spend(&partition(3, 2, 1));
        budget.spend(&partition(4, 2, 1));
        assert_eq!(budget.partition_rows_left(), Some(2));
        budget.spend(&partition(5, 1, 1));
        assert_eq!(budget.partition_rows_left(), Some(1));
        assert!(budget.partition_full(1, 0));
    }

    #[test]
    fn a_limit_asks_for_at_least_one_row() {
        assert_eq!(ReadLimits::rows(0).rows, Some(1));
        assert_eq!(ReadLimits::rows(usize::MAX).rows, Some(u32::MAX));
    }
}
