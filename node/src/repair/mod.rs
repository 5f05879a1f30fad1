//! Anti-entropy repair, as Cassandra's `nodetool repair`: the node asked
//! coordinates. For each token range it replicates (all of them,
//! or its primary ranges), within the tokens asked for, and for each table,
//! it asks every replica of the range for a Merkle tree of its content
//! (`Verb::Validate`, served by `validation`), compares the trees and streams
//! the sub-ranges whose leaves differ between the replicas, in both
//! directions (`plan::sync_tasks`), with the chunked copy that bootstrap and
//! decommission use (`movement::copy`). Streamed data keeps its timestamps,
//! tombstones and TTLs, so every replica ends with the newest version of
//! every cell. A range with a replica down fails ("Endpoint not alive") and
//! the others go on. Each keyspace's run is a row of `system.repairs`,
//! updated after every range.
//!
//! Incremental repair is the default, as in Cassandra 4 (`full` asks for a
//! full one). Every replica marks each partition it writes as unrepaired
//! (`storage::unrepaired`, in the same storage write as the data). For each
//! range and table the coordinator asks every replica to start the repair
//! (`Verb::RepairPrepare`: the replica moves its later writes to a new epoch,
//! makes the earlier ones durable and lists the partitions it holds
//! unrepaired), builds trees of only the union of those lists on every
//! replica (`Verb::ValidatePartitions`) and streams only the differing
//! partitions (`incremental`, `streaming`). When a list is too long the
//! whole range is compared, as in a full repair. Only when every table of the range was
//! repaired on every replica does it tell each replica to drop its marks from
//! before its cut (`Verb::RepairFinalize`): a failed or partial run clears
//! nothing, and writes that landed during the run stay marked for the next.
//! So after a successful incremental repair of a range its replicas agree on
//! everything written before it started, and a second run over unchanged data
//! compares only what the first streamed. A full repair neither reads nor
//! clears marks (as Cassandra 4's full repairs do not anticompact).

pub mod incremental;
pub mod merkle;
pub mod plan;
pub mod streaming;
pub mod validation;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use tracing::{info, warn};
use uuid::Uuid;

pub use cql_protocol::cql::ast::RepairOptions;

use self::incremental::Scope;
use self::merkle::{MerkleTree, TokenSpan};
use self::plan::RepairRange;
use crate::coordinator::replicas::Strategy;
use crate::internode::{Messaging, Reply, Verb};
use crate::movement::copy::{copy_range, Throttle};
use crate::movement::{MovementConfig, Services};
use crate::schema::{Keyspace, Table};
use crate::storage::RepairedBefore;
use crate::system::{self, RepairRow};

/// How long a replica may take to build one tree.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(600);
/// Failures named in a run's error; the rest are counted.
const ERRORS_SHOWN: usize = 3;

/// What one keyspace's repair did, for the statement's answer and the log.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairSummary {
    pub id: Uuid,
    pub keyspace: String,
    pub tables: Vec<String>,
    pub ranges: u64,
    pub ranges_differing: u64,
    pub ranges_failed: u64,
    pub rows_streamed: u64,
    pub bytes_streamed: u64,
    /// Bytes hashed by all replicas together.
    pub bytes_compared: u64,
    /// Rows hashed by all replicas together.
    pub rows_compared: u64,
    /// Whether it was incremental (else full).
    pub incremental: bool,
    pub seconds: f64,
    /// `done` or `failed`.
    pub status: String,
    pub error: Option<String>,
}

/// Repairs what `options` names; one summary per keyspace. Fails before
/// starting when the keyspace or table does not exist.
pub async fn run(services: Arc<Services>, config: MovementConfig, options: RepairOptions) -> Result<Vec<RepairSummary>, String> {
    let schema = services.schema.snapshot();
    let keyspaces: Vec<Keyspace> = match &options.keyspace {
        Some(name) => {
            let keyspace = schema
                .keyspaces
                .get(name)
                .ok_or_else(|| format!("keyspace {name} does not exist"))?;
            if matches!(Strategy::from_replication(&keyspace.replication), Strategy::Local) {
                return Err(format!(
                    "keyspace {name} is local to each node (LocalStrategy): it has nothing to repair"
                ));
            }
            vec![keyspace.clone()]
        }
        None => schema
            .keyspaces
            .values()
            .filter(|k| !matches!(Strategy::from_replication(&k.replication), Strategy::Local))
            .cloned()
            .collect(),
    };
    let mut out = Vec::new();
    for keyspace in keyspaces {
        let tables: Vec<Arc<Table>> = match &options.table {
            Some(name) => vec![keyspace
                .tables
                .get(name)
                .cloned()
                .ok_or_else(|| format!("table {}.{name} does not exist", keyspace.name))?],
            None => keyspace.tables.values().cloned().collect(),
        };
        out.push(repair_keyspace(&services, config, &options, &keyspace, &tables).await?);
    }
    Ok(out)
}

fn describe(options: &RepairOptions) -> String {
    let mut text = if options.full { "full" } else { "incremental" }.to_string();
    if options.primary_range {
        text.push_str(", primary ranges");
    }
    if options.start_token.is_some() || options.end_token.is_some() {
        let show = |t: Option<i64>| t.map_or_else(|| "-".to_string(), |t| t.to_string());
        text.push_str(&format!(", tokens ({}, {}]", show(options.start_token), show(options.end_token)));
    }
    text
}

/// What repairing one range did.
#[derive(Debug, Default)]
struct RangeOutcome {
    differing: bool,
    rows_streamed: u64,
    bytes_streamed: u64,
    bytes_compared: u64,
    rows_compared: u64,
    error: Option<String>,
}

async fn repair_keyspace(
    services: &Arc<Services>,
    config: MovementConfig,
    options: &RepairOptions,
    keyspace: &Keyspace,
    tables: &[Arc<Table>],
) -> Result<RepairSummary, String> {
    let messaging = services
        .coordinator
        .messaging()
        .ok_or_else(|| "internode messaging is not running".to_string())?;
    let started = Instant::now();
    let strategy = Strategy::from_replication(&keyspace.replication);
    let spans = plan::requested_spans(options.start_token, options.end_token);
    let topology = services.coordinator.view.topology();
    let ranges = plan::ranges_to_repair(&topology, &strategy, services.node.address, options.primary_range, &spans);
    let row = Mutex::new(RepairRow {
        id: Uuid::new_v4(),
        keyspace: keyspace.name.clone(),
        tables: tables.iter().map(|t| t.name.clone()).collect(),
        options: describe(options),
        status: "running".into(),
        ranges_total: i32::try_from(ranges.len()).unwrap_or(i32::MAX),
        ranges_done: 0,
        ranges_differing: 0,
        ranges_failed: 0,
        rows_streamed: 0,
        bytes_streamed: 0,
        bytes_compared: 0,
        rows_compared: 0,
        started_at: chrono::Utc::now().timestamp_millis(),
        finished_at: None,
        error: None,
    });
    let record = |row: &RepairRow| {
        let schema = services.schema.snapshot();
        if let Err(e) = system::write_repair(services.engine.as_ref(), &schema, row) {
            warn!(error = %e, "cannot write system.repairs");
        }
    };
    record(&lock(&row));
    info!(keyspace = %keyspace.name, ranges = ranges.len(), options = %describe(options), "repair started");
    let throttle = Throttle::new(config.stream_throughput_mb_per_sec);
    let errors = Mutex::new(Vec::new());
    stream::iter(ranges)
        .map(|range| {
            let (messaging, throttle) = (&messaging, &throttle);
            let incremental = !options.full;
            async move {
                (
                    range.span,
                    repair_range(services, messaging, throttle, tables, &range, incremental).await,
                )
            }
        })
        .buffer_unordered(config.parallel_ranges.max(1))
        .for_each(|(span, outcome)| {
            let snapshot = {
                let mut r = lock(&row);
                r.ranges_done += 1;
                r.ranges_differing += i32::from(outcome.differing);
                r.rows_streamed += outcome.rows_streamed as i64;
                r.bytes_streamed += outcome.bytes_streamed as i64;
                r.bytes_compared += outcome.bytes_compared as i64;
                r.rows_compared += outcome.rows_compared as i64;
                if let Some(e) = outcome.error {
                    warn!(keyspace = %keyspace.name, first = span.first, last = span.last, error = %e, "repair of a range failed");
                    r.ranges_failed += 1;
                    lock(&errors).push(e);
                }
                r.clone()
            };
            record(&snapshot);
            futures::future::ready(())
        })
        .await;
    let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut r = row.into_inner().unwrap_or_else(|e| e.into_inner());
    r.status = if errors.is_empty() { "done" } else { "failed" }.into();
    r.finished_at = Some(chrono::Utc::now().timestamp_millis());
    if !errors.is_empty() {
        let mut text = errors.iter().take(ERRORS_SHOWN).cloned().collect::<Vec<_>>().join("; ");
        if errors.len() > ERRORS_SHOWN {
            text.push_str(&format!("; and {} more", errors.len() - ERRORS_SHOWN));
        }
        r.error = Some(text);
    }
    record(&r);
    let summary = RepairSummary {
        id: r.id,
        keyspace: r.keyspace.clone(),
        tables: r.tables.clone(),
        ranges: r.ranges_total as u64,
        ranges_differing: r.ranges_differing as u64,
        ranges_failed: r.ranges_failed as u64,
        rows_streamed: r.rows_streamed as u64,
        bytes_streamed: r.bytes_streamed as u64,
        bytes_compared: r.bytes_compared as u64,
        rows_compared: r.rows_compared as u64,
        incremental: !options.full,
        seconds: started.elapsed().as_secs_f64(),
        status: r.status.clone(),
        error: r.error.clone(),
    };
    info!(
        keyspace = %summary.keyspace,
        ranges = summary.ranges,
        differing = summary.ranges_differing,
        failed = summary.ranges_failed,
        rows_streamed = summary.rows_streamed,
        bytes_streamed = summary.bytes_streamed,
        bytes_compared = summary.bytes_compared,
        rows_compared = summary.rows_compared,
        incremental = summary.incremental,
        seconds = summary.seconds,
        "repair finished"
    );
    Ok(summary)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Compares and syncs every table over one range; the first failure ends it.
/// An incremental repair then clears the replicas' marks, only once every
/// table is repaired on every replica.
async fn repair_range(
    services: &Arc<Services>,
    messaging: &Messaging,
    throttle: &Throttle,
    tables: &[Arc<Table>],
    range: &RepairRange,
    incremental: bool,
) -> RangeOutcome {
    let mut outcome = RangeOutcome::default();
    let topology = services.coordinator.view.topology();
    if let Some(dead) = range.replicas.iter().find(|r| !topology.is_up(r)) {
        outcome.error = Some(format!(
            "Endpoint not alive: /{dead} (a replica of tokens {}..={}); this range was not repaired",
            range.span.first, range.span.last
        ));
        return outcome;
    }
    let mut cuts: Vec<(&Table, Vec<(IpAddr, RepairedBefore)>)> = Vec::new();
    for table in tables {
        let result = if incremental {
            repair_table_incremental(services, messaging, throttle, table, range, &mut outcome)
                .await
                .map(|cut| cuts.push((table, cut)))
        } else {
            repair_table(services, messaging, throttle, table, range, &mut outcome).await
        };
        if let Err(e) = result {
            outcome.error = Some(format!(
                "{}.{} over tokens {}..={}: {e}",
                table.keyspace, table.name, range.span.first, range.span.last
            ));
            return outcome;
        }
    }
    for (table, cut) in cuts {
        if let Err(e) = finalize(messaging, table, range.span, &cut).await {
            outcome.error = Some(format!(
                "{}.{} over tokens {}..={} was repaired but not marked repaired: {e}",
                table.keyspace, table.name, range.span.first, range.span.last
            ));
            return outcome;
        }
    }
    outcome
}

/// Tells every replica that `table` is repaired over `span` up to its cut.
async fn finalize(messaging: &Messaging, table: &Table, span: TokenSpan, cut: &[(IpAddr, RepairedBefore)]) -> Result<(), String> {
    let asks = cut.iter().map(|(replica, before)| {
        let verb = Verb::RepairFinalize {
            table: table.id,
            span,
            before: *before,
        };
        async move { (*replica, messaging.send(*replica, verb, VALIDATION_TIMEOUT).await) }
    });
    for (replica, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(Reply::Ack) => {}
            Ok(Reply::Failed { message }) => return Err(format!("{replica} could not drop its unrepaired marks: {message}")),
            Ok(other) => return Err(format!("{replica} answered a repair finalize with {}", other.name())),
            Err(e) => return Err(format!("no answer from {replica} to a repair finalize: {e}")),
        }
    }
    Ok(())
}

/// Collects the replicas' trees; the first failure ends it.
async fn trees(
    messaging: &Messaging,
    range: &RepairRange,
    verb: impl Fn() -> Verb,
    outcome: &mut RangeOutcome,
) -> Result<Vec<(IpAddr, MerkleTree)>, String> {
    let asks = range.replicas.iter().map(|replica| {
        let verb = verb();
        async move { (*replica, messaging.send(*replica, verb, VALIDATION_TIMEOUT).await) }
    });
    let mut trees: Vec<(IpAddr, MerkleTree)> = Vec::new();
    for (replica, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(Reply::Tree { tree, rows, bytes }) => {
                tree.check().map_err(|e| format!("{replica} sent a malformed tree: {e}"))?;
                outcome.bytes_compared += bytes;
                outcome.rows_compared += rows;
                trees.push((replica, tree));
            }
            Ok(Reply::Failed { message }) => return Err(format!("{replica} could not build its Merkle tree: {message}")),
            Ok(other) => return Err(format!("{replica} answered a validation request with {}", other.name())),
            Err(e) => return Err(format!("no Merkle tree from {replica}: {e}")),
        }
    }
    Ok(trees)
}

/// Copies `span` of `table` from `source` to `target`, counting what went.
#[allow(clippy::too_many_arguments)]
async fn stream(
    messaging: &Messaging,
    throttle: &Throttle,
    table: &Table,
    source: IpAddr,
    target: IpAddr,
    span: TokenSpan,
    outcome: &mut RangeOutcome,
) -> Result<(), String> {
    let (mut bytes, mut rows) = (0u64, 0u64);
    let mut sent = |b: u64, r: u64| {
        bytes += b;
        rows += r;
    };
    let result = copy_range(messaging, source, target, table.id, span.bounds(), &mut None, throttle, &mut sent).await;
    outcome.bytes_streamed += bytes;
    outcome.rows_streamed += rows;
    result.map_err(|e| {
        format!(
            "streaming tokens {}..={} from {source} to {target} failed: {e}",
            span.first, span.last
        )
    })
}

/// The incremental repair of one table over one range: prepares every
/// replica, compares the union of their unrepaired partitions (or the whole
/// range when there are too many), streams the differing ones. Returns each
/// replica's cut, for `finalize` once the whole range is repaired.
async fn repair_table_incremental(
    services: &Arc<Services>,
    messaging: &Messaging,
    throttle: &Throttle,
    table: &Table,
    range: &RepairRange,
    outcome: &mut RangeOutcome,
) -> Result<Vec<(IpAddr, RepairedBefore)>, String> {
    let asks = range.replicas.iter().map(|replica| {
        let verb = Verb::RepairPrepare {
            table: table.id,
            span: range.span,
            max_partitions: incremental::MAX_LISTED_PARTITIONS as u32,
        };
        async move { (*replica, messaging.send(*replica, verb, VALIDATION_TIMEOUT).await) }
    });
    let mut cut = Vec::new();
    let mut lists = Vec::new();
    for (replica, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(Reply::Unrepaired { before, partitions }) => {
                cut.push((replica, before));
                lists.push(partitions);
            }
            Ok(Reply::Failed { message }) => return Err(format!("{replica} could not start an incremental repair: {message}")),
            Ok(other) => return Err(format!("{replica} answered a repair prepare with {}", other.name())),
            Err(e) => return Err(format!("no answer from {replica} to a repair prepare: {e}")),
        }
    }
    match incremental::scope(&lists, incremental::MAX_LISTED_PARTITIONS) {
        Scope::Nothing => {}
        Scope::WholeRange => repair_table(services, messaging, throttle, table, range, outcome).await?,
        Scope::Partitions(partitions) => {
            let depth = incremental::depth_for_partitions(partitions.len());
            let verb = || Verb::ValidatePartitions {
                table: table.id,
                span: range.span,
                depth,
                partitions: partitions.clone(),
            };
            let trees = trees(messaging, range, verb, outcome).await?;
            let tasks = plan::sync_tasks(range.span, &trees).map_err(|e| e.to_string())?;
            outcome.differing |= !tasks.is_empty();
            for task in tasks {
                let tokens = incremental::tokens_to_stream(task.span, &partitions);
                let (mut bytes, mut rows) = (0u64, 0u64);
                let mut sent = |b: u64, r: u64| {
                    bytes += b;
                    rows += r;
                };
                let result = streaming::copy_tokens(messaging, task.source, task.target, table.id, &tokens, throttle, &mut sent).await;
                outcome.bytes_streamed += bytes;
                outcome.rows_streamed += rows;
                result.map_err(|e| {
                    format!(
                        "streaming {} partitions from {} to {} failed: {e}",
                        tokens.len(),
                        task.source,
                        task.target
                    )
                })?;
            }
        }
    }
    Ok(cut)
}

async fn repair_table(
    services: &Arc<Services>,
    messaging: &Messaging,
    throttle: &Throttle,
    table: &Table,
    range: &RepairRange,
    outcome: &mut RangeOutcome,
) -> Result<(), String> {
    let (start, end) = range.span.bounds();
    let here = services.engine.size_estimate(table.id, start, end).unwrap_or(0);
    let depth = plan::depth_for(here);
    let verb = || Verb::Validate {
        table: table.id,
        span: range.span,
        depth,
    };
    let trees = trees(messaging, range, verb, outcome).await?;
    let tasks = plan::sync_tasks(range.span, &trees).map_err(|e| e.to_string())?;
    if tasks.is_empty() {
        return Ok(());
    }
    outcome.differing = true;
    for task in tasks {
        stream(messaging, throttle, table, task.source, task.target, task.span, outcome).await?;
    }
    Ok(())
}
