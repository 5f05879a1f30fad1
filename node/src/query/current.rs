//! The rows a write reads before it writes, fetched through the coordinator at
//! a consistency level: a lightweight transaction's rows (at the quorum of its
//! serial level, inside its Paxos round) and the lists an UPDATE or DELETE
//! changes by index or by value (at the statement's level, as Cassandra reads
//! them). Served to `modify` as its `CurrentRow`.

use std::collections::HashMap;

use cql_protocol::wire::Consistency;

use super::modify::{CurrentRow, RowKey};
use crate::coordinator::replicas::Strategy;
use crate::coordinator::{Coordinator, Want};
use crate::error::QueryError;
use crate::schema::Table;
use crate::storage::{LiveData, LiveRow, PartitionPosition, ReadCommand, Visit};

/// Rows as the replicas had them: by partition and full clustering key, and
/// each partition's static row.
#[derive(Debug, Default)]
pub struct Current {
    rows: HashMap<(PartitionPosition, Vec<u8>), LiveRow>,
    statics: HashMap<PartitionPosition, LiveRow>,
}

impl Current {
    /// Nothing read: every row absent.
    pub fn none() -> Current {
        Current::default()
    }

    /// Reads each (partition, clustering) of `rows` of `table` at `cl`; a
    /// `None` clustering reads only the partition's static row.
    pub async fn fetch(
        coordinator: &Coordinator,
        strategy: &Strategy,
        cl: Consistency,
        table: &Table,
        rows: &[RowKey],
    ) -> Result<Current, QueryError> {
        let mut current = Current::default();
        let now = crate::clock::now_seconds();
        for (position, clustering) in rows {
            let command = ReadCommand::rows(table.id, position.clone(), clustering.clone());
            coordinator
                .read(strategy, cl, &command, Want::rows(1), now, &mut |pv, row| {
                    if let Some(s) = &pv.static_row {
                        current.statics.insert(position.clone(), s.clone());
                    }
                    if let (Some(c), Some((_, live))) = (clustering, row) {
                        current.rows.insert((position.clone(), c.clone()), live.clone());
                    }
                    Visit::Stop
                })
                .await?;
        }
        Ok(current)
    }

    /// The row (and its partition's static row) as read.
    pub fn row(&self, position: &PartitionPosition, clustering: Option<&[u8]>) -> (Option<&LiveRow>, Option<&LiveRow>) {
        let row = clustering.and_then(|c| self.rows.get(&(position.clone(), c.to_vec())));
        (row, self.statics.get(position))
    }
}

impl CurrentRow for Current {
    fn current(
        &self,
        _table: &Table,
        position: &PartitionPosition,
        clustering: Option<&[u8]>,
        column: &str,
    ) -> Result<Option<LiveData>, QueryError> {
        let (row, static_row) = self.row(position, clustering);
        let source = if clustering.is_some() { row } else { static_row };
        Ok(source.and_then(|r| r.columns.get(column).cloned()))
    }
}
