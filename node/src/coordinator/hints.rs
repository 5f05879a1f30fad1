//! Hinted handoff: a write that a replica missed (down, or no answer in time) is
//! kept on the coordinator in `system.hints` and replayed when the replica is
//! up again. A hint is the mutation itself (postcard bytes), keyed by target
//! and a time-ordered id; replay deletes it once the target acknowledged.

use std::net::IpAddr;

use cql_protocol::value::Value;

use crate::error::QueryError;
use crate::storage::{
    Cell, ColumnData, DeletionTime, LiveData, Mutation, PartitionPosition, PartitionSelection, ReadCommand, Row, StorageEngine, Visit,
};
use crate::token::murmur3_token;

/// The fixed id of `system.hints` (see `system::definitions`).
pub fn hints_table() -> uuid::Uuid {
    crate::system::system_table_id("system", "hints")
}

fn position(target: IpAddr) -> PartitionPosition {
    let key = Value::Inet(target).to_bytes();
    PartitionPosition {
        token: murmur3_token(&key),
        key,
    }
}

/// Stores a hint for `target`.
pub fn store(engine: &dyn StorageEngine, target: IpAddr, mutation: &Mutation) -> Result<(), QueryError> {
    let bytes = postcard::to_stdvec(mutation).map_err(|e| QueryError::Server {
        message: format!("cannot encode a hint: {e}"),
    })?;
    let now = chrono::Utc::now();
    let id = uuid::Uuid::now_v1(&[0, 0, 0, 0, 0, 1]);
    let mut clustering = Vec::new();
    crate::storage::key::encode_component(
        &mut clustering,
        &cql_protocol::types::ColumnType::Timeuuid,
        &Value::Timeuuid(id),
        false,
    )
    .map_err(|e| QueryError::Server { message: e.to_string() })?;
    let ts = now.timestamp_micros();
    let mut row = Row {
        marker: Some(Cell::live(ts, Vec::new(), 0, now.timestamp())),
        ..Row::default()
    };
    row.columns
        .insert("mutation".into(), ColumnData::Simple(Cell::live(ts, bytes, 0, now.timestamp())));
    let mut m = Mutation::new(hints_table(), position(target));
    m.rows.push((clustering, row));
    engine.apply(m)?;
    crate::metrics::global().hints_stored.inc();
    Ok(())
}

/// The hints waiting for `target`: (clustering key, mutation).
pub fn pending(engine: &dyn StorageEngine, target: IpAddr, limit: usize) -> Result<Vec<(Vec<u8>, Mutation)>, QueryError> {
    let command = ReadCommand {
        table: hints_table(),
        partitions: PartitionSelection::Keys(vec![position(target)]),
        slices: Vec::new(),
        reversed: false,
        resume: None,
    };
    let mut out = Vec::new();
    engine.read(&command, chrono::Utc::now().timestamp(), &mut |_, row| {
        if let Some((clustering, live)) = row {
            if let Some(LiveData::Simple(cell)) = live.get("mutation") {
                if let Ok(m) = postcard::from_bytes::<Mutation>(&cell.value) {
                    out.push((clustering.to_vec(), m));
                }
            }
        }
        if out.len() >= limit {
            Visit::Stop
        } else {
            Visit::Continue
        }
    })?;
    Ok(out)
}

/// Deletes a delivered hint.
pub fn delete(engine: &dyn StorageEngine, target: IpAddr, clustering: Vec<u8>) -> Result<(), QueryError> {
    let now = chrono::Utc::now();
    let mut m = Mutation::new(hints_table(), position(target));
    m.rows.push((
        clustering,
        Row {
            deletion: Some(DeletionTime {
                timestamp: now.timestamp_micros(),
                local_deletion_time: now.timestamp(),
            }),
            ..Row::default()
        },
    ));
    engine.apply(m)?;
    Ok(())
}
