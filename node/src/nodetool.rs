//! The everyday `NODETOOL` statements that read or tend this node alone:
//! `INFO`, `TABLESTATS`, `TPSTATS` (rows for `rustica info|tablestats|tpstats`
//! to lay out as nodetool does), `FLUSH`, `COMPACT`, `DRAIN`, and
//! `SETTRACEPROBABILITY` / `GETTRACEPROBABILITY` (this node's share of
//! requests traced unasked, `crate::trace`). The ring
//! operations (decommission, removenode, cleanup, repair) are the movement service's;
//! the cluster-wide reports (`ring`, `describecluster`, `gossipinfo`) are read
//! by the tools from the system tables. Disk work runs on the blocking pool.

use std::ops::Bound;
use std::sync::Arc;

use cql_protocol::cql::ast::NodeTool;
use cql_protocol::response::ResultBody;
use prometheus::core::Collector;

use crate::cluster::view::ClusterView;
use crate::error::QueryError;
use crate::query::describe::rows;
use crate::schema_service::SchemaService;
use crate::storage::StorageEngine;

/// What the local statements read and tend: this node's storage, its view of
/// the ring, its schema and its tracing.
#[derive(Clone)]
pub struct LocalTools {
    pub engine: Arc<dyn StorageEngine>,
    pub view: Arc<ClusterView>,
    pub schema: Arc<SchemaService>,
    pub tracing: Arc<crate::trace::Tracing>,
}

/// Runs one of this module's statements.
pub async fn run(tools: &LocalTools, op: &NodeTool) -> Result<ResultBody, QueryError> {
    match op {
        NodeTool::Flush => {
            on_disk(tools.engine.clone(), |e| e.flush()).await?;
            crate::metrics::global().flushes.inc();
            Ok(ResultBody::Void)
        }
        NodeTool::Compact => {
            on_disk(tools.engine.clone(), |e| e.compact()).await?;
            crate::metrics::global().compactions.inc();
            Ok(ResultBody::Void)
        }
        NodeTool::Drain => {
            // Every memtable to an SSTable: a restart replays nothing.
            on_disk(tools.engine.clone(), |e| e.flush()).await?;
            crate::metrics::global().flushes.inc();
            tracing::info!("drained: every memtable is flushed; the node may be stopped");
            Ok(ResultBody::Void)
        }
        NodeTool::Info => Ok(ResultBody::Rows(rows(&["name", "value"], info(tools)))),
        NodeTool::TableStats(keyspace) => Ok(ResultBody::Rows(rows(
            &["keyspace_name", "table_name", "space_used_bytes"],
            table_stats(tools, keyspace.as_deref()),
        ))),
        NodeTool::TpStats => Ok(ResultBody::Rows(rows(
            &["pool", "active", "pending", "completed", "blocked"],
            tp_stats(),
        ))),
        NodeTool::SetTraceProbability(text) => {
            tools
                .tracing
                .set_probability(text)
                .map_err(|message| QueryError::Invalid { message })?;
            Ok(ResultBody::Void)
        }
        NodeTool::GetTraceProbability => Ok(ResultBody::Rows(rows(
            &["probability"],
            vec![vec![tools.tracing.probability().to_string()]],
        ))),
        NodeTool::Decommission { .. } | NodeTool::RemoveNode(_) | NodeTool::Cleanup | NodeTool::Repair(_) => Err(QueryError::Server {
            message: format!("{op:?} is a ring operation, run by the movement service"),
        }),
    }
}

async fn on_disk(
    engine: Arc<dyn StorageEngine>,
    work: impl FnOnce(&dyn StorageEngine) -> Result<(), crate::storage::StorageError> + Send + 'static,
) -> Result<(), QueryError> {
    tokio::task::spawn_blocking(move || work(engine.as_ref()))
        .await
        .map_err(|e| QueryError::Server { message: e.to_string() })?
        .map_err(|e| QueryError::Server { message: e.to_string() })
}

/// `nodetool info`'s lines that this node has.
fn info(tools: &LocalTools) -> Vec<Vec<String>> {
    let node = tools.view.local();
    let m = crate::metrics::global();
    let status = tools.view.local_status();
    let mut lines = vec![
        ("ID", node.host_id.to_string()),
        ("Gossip active", "true".to_string()),
        ("Native Transport active", "true".to_string()),
        ("Load", tools.engine.data_bytes().to_string()),
        ("Uptime (seconds)", m.uptime().as_secs().to_string()),
        (
            "Memory used (RSS, bytes)",
            resident_bytes().map_or_else(|| "?".into(), |b| b.to_string()),
        ),
        ("Data Center", node.data_center.clone()),
        ("Rack", node.rack.clone()),
        ("Status", status),
        ("Exceptions", m.server_errors().to_string()),
        ("Token count", node.tokens.len().to_string()),
    ];
    lines.push(("Schema version", tools.schema.snapshot().version.to_string()));
    lines.into_iter().map(|(k, v)| vec![k.to_string(), v]).collect()
}

/// The process's resident memory, from `/proc/self/status` (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One row per table (of `keyspace`, when given): its data files' size.
fn table_stats(tools: &LocalTools, keyspace: Option<&str>) -> Vec<Vec<String>> {
    let schema = tools.schema.snapshot();
    let mut out = Vec::new();
    for ks in schema.keyspaces.values().filter(|k| keyspace.is_none_or(|want| k.name == want)) {
        for table in ks.tables.values() {
            let bytes = tools
                .engine
                .size_estimate(table.id, Bound::Unbounded, Bound::Unbounded)
                .unwrap_or(0);
            out.push(vec![table.keyspace.clone(), table.name.clone(), bytes.to_string()]);
        }
    }
    out
}

/// rustica's tasks in the shape of nodetool tpstats' thread pools: what is
/// active now and how much has completed since start. Requests never queue
/// in a pool (a connection past its bound stops reading: `blocked` is 0).
fn tp_stats() -> Vec<Vec<String>> {
    let m = crate::metrics::global();
    let (requests_active, requests_done) = m.request_counts();
    let pools: [(&str, i64, u64); 8] = [
        ("Native-Transport-Requests", requests_active, requests_done),
        ("RequestResponseStage", 0, m.internode_sent_total()),
        ("MutationStage", 0, m.received_total("mutate")),
        ("ReadStage", 0, m.received_total("read")),
        ("ReadRepairStage", 0, m.read_repairs.get()),
        ("HintsDispatcher", 0, m.hints_replayed.get()),
        ("CompactionExecutor", 0, m.compactions.get()),
        ("MemtableFlushWriter", 0, m.flushes.get()),
    ];
    pools
        .iter()
        .map(|(name, active, done)| {
            vec![
                name.to_string(),
                active.to_string(),
                "0".to_string(),
                done.to_string(),
                "0".to_string(),
            ]
        })
        .collect()
}

/// The sum of a counter family's values.
pub(crate) fn family_sum(collector: &dyn Collector) -> u64 {
    collector
        .collect()
        .iter()
        .flat_map(|f| f.get_metric().iter())
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}
