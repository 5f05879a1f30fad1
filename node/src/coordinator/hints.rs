//! Hinted handoff: a write that a replica missed (down, or no answer in time) is
//! kept on the coordinator as a hint (`hint_store`: per-target append-only
//! files) and replayed when the replica is up again (`Coordinator::replay_hints`).
//! As in Cassandra: no hints with `hinted_handoff_enabled = false`, none for a
//! node down longer than `max_hint_window_ms`, a hint expires after
//! `HINT_TTL_SECONDS`, the hints for a node that left the ring are dropped, and
//! a decommissioning node hands its hints to another node before it leaves.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use cql_protocol::value::Value;

use super::hint_file::Hint;
use super::hint_store::HintStore;
use crate::cluster::view::ClusterView;
use crate::error::QueryError;
use crate::storage::{LiveData, ReadCommand, StorageEngine, Visit};

/// How long a hint is kept: the default `gc_grace_seconds` (10 days). Past a
/// table's grace its tombstones may be purged, so an older hint could bring
/// deleted data back.
pub const HINT_TTL_SECONDS: i32 = 864_000;

/// Whether a hint created at `created_at` (milliseconds) is past its TTL at `now_ms`.
pub fn expired(hint: &Hint, now_ms: i64) -> bool {
    now_ms.saturating_sub(hint.created_at) > i64::from(HINT_TTL_SECONDS) * 1000
}

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
    store: Arc<HintStore>,
    view: Arc<ClusterView>,
    policy: HintPolicy,
}

impl Hinter {
    pub fn new(store: Arc<HintStore>, view: Arc<ClusterView>, policy: HintPolicy) -> Hinter {
        Hinter { store, view, policy }
    }

    pub fn store(&self) -> &Arc<HintStore> {
        &self.store
    }

    /// Stores a hint of `mutation` for `target`, unless hints are off or the
    /// target has been down longer than the window; returns whether it did.
    pub fn hint(&self, target: IpAddr, mutation: &crate::storage::Mutation) -> bool {
        if !self.policy.enabled {
            return false;
        }
        if let Some(down) = self.view.down_for(target).filter(|d| *d > self.policy.window) {
            tracing::debug!(%target, down_s = down.as_secs(), "no hint: the node has been down longer than max_hint_window_ms");
            return false;
        }
        match self.store.store(target, mutation) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(%target, error = %e, "cannot store a hint");
                false
            }
        }
    }
}

/// The fixed id of the legacy `system.hints` table (see `system::definitions`),
/// where hints were rows before they were files.
pub fn legacy_hints_table() -> uuid::Uuid {
    crate::system::system_table_id("system", "hints")
}

/// Moves the hints left in the legacy `system.hints` table into `store` and
/// empties the table (as Cassandra 3.0's `LegacyHintsMigrator`); returns how
/// many moved.
pub fn migrate_legacy(engine: &dyn StorageEngine, store: &HintStore) -> Result<usize, QueryError> {
    let table = legacy_hints_table();
    let mut found = Vec::new();
    engine.read(&ReadCommand::all(table), chrono::Utc::now().timestamp(), &mut |pv, row| {
        let target = Value::deserialize(&cql_protocol::types::ColumnType::Inet, &pv.position.key);
        if let (Ok(Value::Inet(target)), Some((_, live))) = (target, row) {
            if let Some(LiveData::Simple(cell)) = live.get("mutation") {
                if let Ok(mutation) = postcard::from_bytes(&cell.value) {
                    found.push((target, cell.timestamp / 1000, mutation));
                }
            }
        }
        Visit::Continue
    })?;
    if found.is_empty() {
        return Ok(0);
    }
    for (target, created_at, mutation) in &found {
        let hint = Hint {
            created_at: *created_at,
            mutation: Clone::clone(mutation),
        };
        store
            .store_hint(*target, &hint)
            .map_err(|e| QueryError::Server { message: e.to_string() })?;
    }
    engine.truncate(table)?;
    Ok(found.len())
}
