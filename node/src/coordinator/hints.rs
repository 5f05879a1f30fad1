//! Hinted handoff: a write that a replica missed (down, or no answer in time) is
//! kept on the coordinator in `system.hints` and replayed when the replica is
//! up again. A hint is the mutation itself (postcard bytes), keyed by target
//! and a time-ordered id; replay deletes it once the target acknowledged, or
//! refused it. As in Cassandra: no hints with `hinted_handoff_enabled = false`,
//! none for a node down longer than `max_hint_window_ms`, a hint expires after
//! `HINT_TTL_SECONDS`, and the hints for a node that left the ring are dropped.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use cql_protocol::value::Value;

use crate::cluster::view::ClusterView;
use crate::error::QueryError;
use crate::storage::{
    Cell, ColumnData, DeletionTime, LiveData, Mutation, PartitionPosition, PartitionSelection, ReadCommand, Row, StorageEngine, Visit,
};
use crate::token::murmur3_token;

/// How long a hint is kept: the default `gc_grace_seconds` (10 days). Past a
/// table's grace its tombstones may be purged, so an older hint could bring
/// deleted data back.
pub const HINT_TTL_SECONDS: i32 = 864_000;

/// When hints are written (Cassandra's `hinted_handoff_enabled` and
/// `max_hint_window_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintPolicy {
    pub enabled: bool,
    /// No hints for a node down longer than this.
    pub window: Duration,
}

impl Default for HintPolicy {
    fn default() -> Self {
        HintPolicy {
            enabled: true,
            window: Duration::from_secs(3 * 3600),
        }
    }
}

/// Stores the hints of one node by its policy.
#[derive(Clone)]
pub struct Hinter {
    engine: Arc<dyn StorageEngine>,
    view: Arc<ClusterView>,
    policy: HintPolicy,
}

impl Hinter {
    pub fn new(engine: Arc<dyn StorageEngine>, view: Arc<ClusterView>, policy: HintPolicy) -> Hinter {
        Hinter { engine, view, policy }
    }

    /// Stores a hint of `mutation` for `target`, unless hints are off or the
    /// target has been down longer than the window; returns whether it did.
    pub fn hint(&self, target: IpAddr, mutation: &Mutation) -> bool {
        if !self.policy.enabled {
            return false;
        }
        if let Some(down) = self.view.down_for(target).filter(|d| *d > self.policy.window) {
            tracing::debug!(%target, down_s = down.as_secs(), "no hint: the node has been down longer than max_hint_window_ms");
            return false;
        }
        match store(self.engine.as_ref(), target, mutation) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(%target, error = %e, "cannot store a hint");
                false
            }
        }
    }
}

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
        marker: Some(Cell::live(ts, Vec::new(), HINT_TTL_SECONDS, now.timestamp())),
        ..Row::default()
    };
    row.columns.insert(
        "mutation".into(),
        ColumnData::Simple(Cell::live(ts, bytes, HINT_TTL_SECONDS, now.timestamp())),
    );
    let mut m = Mutation::new(hints_table(), position(target));
    m.rows.push((clustering, row));
    engine.apply(m)?;
    crate::metrics::global().hints_stored.inc();
    Ok(())
}

/// The hints waiting for `target`: (clustering key, mutation).
pub fn pending(engine: &dyn StorageEngine, target: IpAddr, limit: usize) -> Result<Vec<(Vec<u8>, Mutation)>, QueryError> {
    let command = ReadCommand {
        index: None,
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

/// Every node this one holds hints for.
pub fn targets(engine: &dyn StorageEngine) -> Result<Vec<IpAddr>, QueryError> {
    let mut out = Vec::new();
    engine.read(&ReadCommand::all(hints_table()), chrono::Utc::now().timestamp(), &mut |pv, _| {
        if let Ok(Value::Inet(target)) = Value::deserialize(&cql_protocol::types::ColumnType::Inet, &pv.position.key) {
            out.push(target);
        }
        Visit::NextPartition
    })?;
    Ok(out)
}

/// Deletes every hint for `target` (a node that left the ring).
pub fn drop_all(engine: &dyn StorageEngine, target: IpAddr) -> Result<(), QueryError> {
    let now = chrono::Utc::now();
    let mut m = Mutation::new(hints_table(), position(target));
    m.partition_deletion = Some(DeletionTime {
        timestamp: now.timestamp_micros(),
        local_deletion_time: now.timestamp(),
    });
    engine.apply(m)?;
    Ok(())
}
