//! The query processor: statements in, results out. It parses, keeps the
//! prepared statement cache, checks permissions (through `auth`), and runs each
//! statement kind through its module (`select`, `modify`, `lwt`, `describe`)
//! against the coordinator; DDL goes to the schema service, ring operations to
//! the movement service. Per-connection state is the `Session`.

pub mod batch_guard;
pub mod binds;
pub mod cells;
pub mod current;
pub mod ddl;
pub mod describe;
pub mod from_json;
mod functions;
pub mod json;
mod json_text;
pub mod literal;
mod lwt;
pub mod modify;
pub mod paging;
mod prepared_cache;
mod relation_rules;
pub mod restrictions;
pub mod select;
mod term_text;

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use cql_protocol::cql::ast::{
    AlterKeyspace, BatchKind, BatchStatement, CreateKeyspace, Delete, Insert, NodeTool, QualifiedName, Statement, Update,
};
use cql_protocol::cql::parse_statement;
use cql_protocol::request::{self, BatchTarget, BoundValues};
use cql_protocol::response::{ColumnSpec, Prepared, PreparedMetadata, ResultBody, RowsMetadata};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use cql_protocol::wire::Consistency;

use self::binds::{batch_statement, bind, Markers};
use self::literal::{evaluate, Binds, Evaluated};
use crate::auth::{Auth, AuthenticatedUser};
use crate::clock::now_seconds;
use crate::coordinator::replicas::{by_strategy, Strategy};
use crate::coordinator::Coordinator;
use crate::error::QueryError;
use crate::movement;
use crate::schema::{Schema, Table};
use crate::schema_service::SchemaService;
use crate::storage::{Mutation, PartitionPosition, PartitionSelection};
use crate::system::NodeInfo;

/// Per-connection state.
#[derive(Debug, Default, Clone)]
pub struct Session {
    pub keyspace: Option<String>,
    /// The role this connection logged in as (None without a password authenticator).
    pub user: Option<Arc<AuthenticatedUser>>,
    /// The client's address (None for the node's own statements).
    pub client: Option<std::net::IpAddr>,
}

/// The knobs of one request that are not part of the statement.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    pub consistency: Consistency,
    pub page_size: Option<usize>,
    pub paging_state: Option<Vec<u8>>,
    pub default_timestamp: Option<i64>,
    /// The frame's serial consistency, for lightweight transactions.
    pub serial_consistency: Option<Consistency>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            consistency: Consistency::One,
            page_size: None,
            paging_state: None,
            default_timestamp: None,
            serial_consistency: None,
        }
    }
}

impl QueryOptions {
    pub fn from_params(p: &request::QueryParameters) -> QueryOptions {
        QueryOptions {
            consistency: p.consistency,
            page_size: p.page_size.filter(|n| *n > 0).map(|n| n as usize),
            paging_state: p.paging_state.clone(),
            default_timestamp: p.default_timestamp,
            serial_consistency: p.serial_consistency,
        }
    }
}

/// A statement prepared once and executed many times.
#[derive(Debug)]
pub struct PreparedStatement {
    pub id: Vec<u8>,
    pub statement: Statement,
    pub keyspace: Option<String>,
    pub bind_specs: Vec<ColumnSpec>,
    pub pk_indexes: Vec<u16>,
    pub result_columns: Vec<ColumnSpec>,
    /// A SELECT's selection compiled against its table when prepared: each
    /// EXECUTE reuses it while the table is the same one (an ALTER makes a new
    /// `Table`, and the statement is compiled again).
    pub plan: Option<select::CompiledSelect>,
}

pub struct QueryProcessor {
    schema: Arc<SchemaService>,
    coordinator: Arc<Coordinator>,
    auth: Arc<Auth>,
    /// Ring operations (`NODETOOL DECOMMISSION`, `REMOVENODE`, `CLEANUP`).
    movement: movement::Handle,
    /// This node's own `NODETOOL` statements (`FLUSH`, `INFO`, ...).
    local: crate::nodetool::LocalTools,
    node: NodeInfo,
    prepared: prepared_cache::PreparedCache<Vec<u8>, PreparedStatement>,
    limits: QueryLimits,
    metrics: QueryMetrics,
}

/// The query processor's bounds, from the node's configuration.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Memory for prepared statements (`prepared_statements_cache_size_mb`).
    pub prepared_cache_bytes: usize,
    /// Cassandra's guards on batches over several partitions.
    pub batch: batch_guard::BatchLimits,
}

/// An INSERT, UPDATE or DELETE, borrowed from a statement or a batch: what the
/// write path works on, so that no statement is cloned per execution.
#[derive(Debug, Clone, Copy)]
enum Modification<'a> {
    Insert(&'a Insert),
    Update(&'a Update),
    Delete(&'a Delete),
}

impl<'a> Modification<'a> {
    fn of(statement: &'a Statement) -> Option<Modification<'a>> {
        match statement {
            Statement::Insert(i) => Some(Modification::Insert(i)),
            Statement::Update(u) => Some(Modification::Update(u)),
            Statement::Delete(d) => Some(Modification::Delete(d)),
            _ => None,
        }
    }

    fn of_batch(statement: &'a BatchStatement) -> Modification<'a> {
        match statement {
            BatchStatement::Insert(i) => Modification::Insert(i),
            BatchStatement::Update(u) => Modification::Update(u),
            BatchStatement::Delete(d) => Modification::Delete(d),
        }
    }

    fn table(&self) -> &'a QualifiedName {
        match self {
            Modification::Insert(i) => &i.table,
            Modification::Update(u) => &u.table,
            Modification::Delete(d) => &d.table,
        }
    }

    /// A lightweight transaction: IF NOT EXISTS, IF EXISTS or IF conditions.
    fn is_conditional(&self) -> bool {
        match self {
            Modification::Insert(i) => i.if_not_exists,
            Modification::Update(u) => u.if_exists || !u.conditions.is_empty(),
            Modification::Delete(d) => d.if_exists || !d.conditions.is_empty(),
        }
    }
}

/// A batch item's statement: parsed from its text, or the prepared one.
enum Planned {
    Parsed(Box<Statement>),
    Prepared(Arc<PreparedStatement>),
}

impl Planned {
    fn statement(&self) -> &Statement {
        match self {
            Planned::Parsed(s) => s,
            Planned::Prepared(p) => &p.statement,
        }
    }
}

/// Bind marker specs, partition key marker indexes, and the statement's table.
type StatementMarkers = (Vec<ColumnSpec>, Vec<u16>, Option<Arc<Table>>);

/// An estimate of the memory a prepared statement holds, for the cache's
/// budget: its syntax tree (taken as eight bytes per byte of its text) and its
/// column specs.
fn weight(text: &str, prepared: &PreparedStatement) -> usize {
    // A SELECT keeps its result columns twice: as metadata and in its plan.
    512 + text.len() * 8 + (prepared.bind_specs.len() + 2 * prepared.result_columns.len()) * 128
}

fn statement_id(keyspace: Option<&str>, query: &str) -> Vec<u8> {
    let mut id = Vec::with_capacity(16);
    for salt in [0u8, 1] {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, keyspace, query).hash(&mut h);
        id.extend_from_slice(&h.finish().to_be_bytes());
    }
    id
}

/// Counts of the query layer's work, for `system.coordinator_metrics`: a
/// prepared statement's EXECUTE parses nothing and a prepared SELECT compiles
/// nothing, so `statements_parsed` and `selects_compiled` stay still while
/// `prepared_executed` climbs.
#[derive(Debug, Default)]
struct QueryMetrics {
    parsed: AtomicI64,
    selects_compiled: AtomicI64,
    prepared_executed: AtomicI64,
}

impl QueryProcessor {
    /// The query processor over this node's services: statements read and
    /// write through `coordinator`, DDL goes to `schema`, role and permission
    /// statements and checks to `auth`, ring operations to `movement`, this
    /// node's own NODETOOL statements to `local`.
    /// Prepared statements and batches are kept within `limits`.
    pub fn new(
        schema: Arc<SchemaService>,
        coordinator: Arc<Coordinator>,
        auth: Arc<Auth>,
        movement: movement::Handle,
        local: crate::nodetool::LocalTools,
        node: NodeInfo,
        limits: QueryLimits,
    ) -> QueryProcessor {
        QueryProcessor {
            schema,
            coordinator,
            auth,
            movement,
            local,
            node,
            prepared: prepared_cache::PreparedCache::new(limits.prepared_cache_bytes),
            limits,
            metrics: QueryMetrics::default(),
        }
    }

    /// `NODETOOL ...`: hands the operation to the movement service and waits
    /// for it to be accepted (decommission, removenode) or done (cleanup, repair).
    async fn node_tool(&self, op: &NodeTool) -> Result<ResultBody, QueryError> {
        match op {
            NodeTool::Decommission { force } => {
                self.movement.decommission(*force).await.map_err(QueryError::invalid)?;
                Ok(ResultBody::Void)
            }
            NodeTool::RemoveNode(id) => {
                let host_id = uuid::Uuid::parse_str(id).map_err(|_| QueryError::invalid(format!("{id} is not a host id")))?;
                self.movement.remove_node(host_id).await.map_err(QueryError::invalid)?;
                Ok(ResultBody::Void)
            }
            NodeTool::Cleanup => {
                let cleaned = self.movement.cleanup().await.map_err(QueryError::invalid)?;
                let rows = cleaned
                    .into_iter()
                    .map(|c| vec![c.keyspace, c.table, c.partitions.to_string()])
                    .collect();
                Ok(ResultBody::Rows(describe::rows(
                    &["keyspace_name", "table_name", "partitions_removed"],
                    rows,
                )))
            }
            NodeTool::Repair(options) => {
                let summaries = self.movement.repair(options.clone()).await.map_err(QueryError::invalid)?;
                let rows = summaries
                    .into_iter()
                    .map(|s| {
                        vec![
                            s.id.to_string(),
                            s.keyspace,
                            s.tables.join(", "),
                            s.ranges.to_string(),
                            s.ranges_differing.to_string(),
                            s.ranges_failed.to_string(),
                            s.rows_streamed.to_string(),
                            s.bytes_streamed.to_string(),
                            s.bytes_compared.to_string(),
                            format!("{:.3}", s.seconds),
                            s.status,
                            s.error.unwrap_or_default(),
                            if s.incremental { "incremental" } else { "full" }.to_string(),
                            s.rows_compared.to_string(),
                        ]
                    })
                    .collect();
                Ok(ResultBody::Rows(describe::rows(
                    &[
                        "id",
                        "keyspace_name",
                        "table_names",
                        "ranges",
                        "ranges_differing",
                        "ranges_failed",
                        "rows_streamed",
                        "bytes_streamed",
                        "bytes_compared",
                        "seconds",
                        "status",
                        "error",
                        "kind",
                        "rows_compared",
                    ],
                    rows,
                )))
            }
            other => crate::nodetool::run(&self.local, other).await,
        }
    }

    pub async fn query(
        &self,
        session: &mut Session,
        text: &str,
        values: &BoundValues,
        opts: &QueryOptions,
    ) -> Result<ResultBody, QueryError> {
        let statement = self.parse(text)?;
        let schema = self.schema.snapshot();
        let (specs, _, _) = self.markers(&schema, session.keyspace.as_deref(), &statement)?;
        let binds = bind(values, &specs)?;
        self.execute(session, &statement, None, &binds, opts).await
    }

    pub fn prepare(&self, session: &Session, text: &str) -> Result<Prepared, QueryError> {
        let statement = self.parse(text)?;
        crate::trace::event("Preparing statement");
        let schema = self.schema.snapshot();
        let keyspace = session.keyspace.clone();
        let (bind_specs, pk_indexes, table) = self.markers(&schema, keyspace.as_deref(), &statement)?;
        let plan = match (&statement, &table) {
            (Statement::Select(sel), Some(t)) => {
                self.metrics.selects_compiled.fetch_add(1, Ordering::Relaxed);
                Some(select::compile(t.clone(), sel)?)
            }
            _ => None,
        };
        let result_columns = plan.as_ref().map(|p| p.columns.clone()).unwrap_or_default();
        let id = statement_id(keyspace.as_deref(), text);
        let prepared = Arc::new(PreparedStatement {
            id: id.clone(),
            statement,
            keyspace,
            bind_specs,
            pk_indexes,
            result_columns,
            plan,
        });
        let response = Prepared {
            id: id.clone(),
            metadata: PreparedMetadata {
                columns: prepared.bind_specs.clone(),
                pk_indexes: prepared.pk_indexes.clone(),
            },
            result_metadata: RowsMetadata {
                column_count: prepared.result_columns.len(),
                columns: prepared.result_columns.clone(),
                paging_state: None,
                no_metadata: prepared.result_columns.is_empty(),
            },
        };
        let bytes = weight(text, &prepared);
        self.prepared.insert(id, prepared, bytes);
        Ok(response)
    }

    pub async fn execute_prepared(
        &self,
        session: &mut Session,
        id: &[u8],
        values: &BoundValues,
        opts: &QueryOptions,
    ) -> Result<ResultBody, QueryError> {
        let prepared = self.lookup(id)?;
        self.metrics.prepared_executed.fetch_add(1, Ordering::Relaxed);
        let binds = bind(values, &prepared.bind_specs)?;
        // A statement runs in the keyspace it was prepared in.
        let mut scoped = Session {
            keyspace: prepared.keyspace.clone().or_else(|| session.keyspace.clone()),
            user: session.user.clone(),
            client: session.client,
        };
        let plan = prepared.plan.as_ref();
        let result = self.execute(&mut scoped, &prepared.statement, plan, &binds, opts).await;
        if let Statement::Use(_) = prepared.statement {
            session.keyspace = scoped.keyspace;
        }
        result
    }

    fn parse(&self, query: &str) -> Result<Statement, QueryError> {
        self.metrics.parsed.fetch_add(1, Ordering::Relaxed);
        crate::trace::event_with(|| format!("Parsing {query}"));
        parse_statement(query).map_err(|e| match e.invalid {
            // Well formed but refused as Cassandra's preparation refuses it.
            true => QueryError::invalid(e.message),
            false => QueryError::Syntax { message: e.to_string() },
        })
    }

    /// (name, count) of the coordinator's and the query layer's counters, for
    /// `system.coordinator_metrics` (written by `start`'s metrics job).
    pub fn metrics(&self) -> Vec<(&'static str, i64)> {
        let mut all = self.coordinator.metrics();
        all.push(("statements_parsed", self.metrics.parsed.load(Ordering::Relaxed)));
        all.push(("selects_compiled", self.metrics.selects_compiled.load(Ordering::Relaxed)));
        all.push(("prepared_executed", self.metrics.prepared_executed.load(Ordering::Relaxed)));
        all
    }

    fn lookup(&self, id: &[u8]) -> Result<Arc<PreparedStatement>, QueryError> {
        self.prepared.get(id).ok_or_else(|| QueryError::Unprepared { id: id.to_vec() })
    }

    pub async fn batch(&self, session: &mut Session, batch: &request::Batch) -> Result<ResultBody, QueryError> {
        let schema = self.schema.snapshot();
        let opts = QueryOptions {
            consistency: batch.consistency,
            default_timestamp: batch.default_timestamp,
            serial_consistency: batch.serial_consistency,
            ..QueryOptions::default()
        };
        let mut planned = Vec::with_capacity(batch.statements.len());
        for item in &batch.statements {
            let (statement, keyspace, binds) = match &item.target {
                BatchTarget::Query(text) => {
                    let statement = self.parse(text)?;
                    let (specs, _, _) = self.markers(&schema, session.keyspace.as_deref(), &statement)?;
                    let binds = bind(&item.values, &specs)?;
                    (Planned::Parsed(Box::new(statement)), session.keyspace.clone(), binds)
                }
                BatchTarget::Prepared(id) => {
                    let p = self.lookup(id)?;
                    let binds = bind(&item.values, &p.bind_specs)?;
                    let keyspace = p.keyspace.clone().or_else(|| session.keyspace.clone());
                    (Planned::Prepared(p), keyspace, binds)
                }
            };
            self.auth
                .authorize(session.user.as_deref(), session.client, statement.statement(), keyspace.as_deref())
                .await?;
            planned.push((statement, keyspace, binds));
        }
        let mut items = Vec::with_capacity(planned.len());
        for (statement, keyspace, binds) in &planned {
            let s = Modification::of(statement.statement())
                .ok_or_else(|| QueryError::invalid("Only INSERT, UPDATE and DELETE statements are allowed in a BATCH"))?;
            items.push((s, keyspace.as_deref(), binds));
        }
        let kind = match batch.kind {
            request::BatchType::Logged => BatchKind::Logged,
            request::BatchType::Unlogged => BatchKind::Unlogged,
            request::BatchType::Counter => BatchKind::Counter,
        };
        self.run_batch(&schema, kind, false, &items, &opts).await
    }

    /// A batch's statements: checked against Cassandra's rules on counters and
    /// timestamps, run as one lightweight transaction when any has conditions,
    /// else written together. `timestamp_set`: the batch has USING TIMESTAMP.
    async fn run_batch(
        &self,
        schema: &Schema,
        kind: BatchKind,
        timestamp_set: bool,
        items: &[lwt::Item<'_>],
        opts: &QueryOptions,
    ) -> Result<ResultBody, QueryError> {
        let conditional = items.iter().any(|(s, _, _)| s.is_conditional());
        if timestamp_set && conditional {
            return Err(QueryError::invalid("Cannot provide custom timestamp for conditional BATCH"));
        }
        if timestamp_set && kind == BatchKind::Counter {
            return Err(QueryError::invalid("Cannot provide custom timestamp for counter BATCH"));
        }
        let (mut counters, mut others) = (false, false);
        for (s, ks, _) in items {
            let table = self.writable_table(schema, *ks, s.table())?;
            let counter = table.is_counter_table();
            if timestamp_set && counter {
                return Err(QueryError::invalid(
                    "Cannot provide custom timestamp for a BATCH containing counters",
                ));
            }
            if timestamp_set && lwt::has_timestamp(s) {
                return Err(QueryError::invalid(
                    "Timestamp must be set either on BATCH or individual statements",
                ));
            }
            if kind == BatchKind::Counter && !counter {
                return Err(QueryError::invalid("Cannot include non-counter statement in a counter batch"));
            }
            counters |= counter;
            others |= !counter;
        }
        // Cassandra's order (BatchStatement.validate): the mix is named
        // before the logged batch's counters.
        if counters && others {
            return Err(QueryError::invalid(
                "Counter and non-counter mutations cannot exist in the same batch",
            ));
        }
        if kind == BatchKind::Logged && counters {
            return Err(QueryError::invalid("Cannot include a counter statement in a logged batch"));
        }
        if conditional {
            return self.conditional(schema, items, opts).await;
        }
        lwt::check_not_serial(opts.consistency)?;
        let mut writes = Vec::new();
        let mut increments = Vec::new();
        for (s, ks, binds) in items {
            let table = self.writable_table(schema, *ks, s.table())?;
            check_modification(&table, s)?;
            let current = self.read_before_write(schema, &table, s, binds, opts.consistency).await?;
            let mutations = self.mutations(schema, *ks, *s, binds, opts, &current)?;
            if is_increment(&table, s) {
                increments.extend(mutations);
            } else {
                writes.extend(mutations);
            }
        }
        let table_name = |id| {
            schema
                .table_by_id(id)
                .map_or_else(|| id.to_string(), |(k, t)| format!("{}.{}", k.name, t.name))
        };
        for warning in batch_guard::check(&self.limits.batch, kind == BatchKind::Logged, &writes, table_name)? {
            crate::client_warn::warn(warning);
        }
        if kind == BatchKind::Logged && crate::coordinator::batchlog::needs_batchlog(&writes) {
            self.coordinator.write_logged(schema, writes, opts.consistency).await?;
        } else {
            self.write(schema, writes, opts.consistency, "BATCH").await?;
        }
        self.increment(schema, increments, opts.consistency).await?;
        Ok(ResultBody::Void)
    }

    /// The current lists an UPDATE or DELETE changes by index or by value, read
    /// at the statement's level (nothing for any other statement).
    async fn read_before_write(
        &self,
        schema: &Schema,
        table: &Table,
        s: &Modification<'_>,
        binds: &Binds,
        cl: Consistency,
    ) -> Result<current::Current, QueryError> {
        let rows = match s {
            Modification::Update(u) if modify::update_reads(table, u) => modify::written_rows(table, &u.where_clause, binds)?,
            Modification::Delete(d) if modify::delete_reads(table, d) => modify::written_rows(table, &d.where_clause, binds)?,
            _ => return Ok(current::Current::none()),
        };
        let strategy = self.strategy(schema, table);
        current::Current::fetch(&self.coordinator, &strategy, cl, table, &rows).await
    }

    /// Counter increments, each through a leader replica of its partition.
    async fn increment(&self, schema: &Schema, mutations: Vec<Mutation>, cl: Consistency) -> Result<(), QueryError> {
        if cl == Consistency::Any {
            let table = mutations.first().and_then(|m| schema.table_by_id(m.table).map(|(_, t)| t));
            return Err(QueryError::invalid(format!(
                "Consistency level ANY is not yet supported for counter table {}",
                table.map_or("", |t| t.name.as_str())
            )));
        }
        for (strategy, list) in by_strategy(schema, mutations) {
            self.coordinator.write_counters(&strategy, list, cl).await?;
        }
        Ok(())
    }

    /// Writes mutations through the coordinator, each to the replicas of its keyspace.
    async fn write(&self, schema: &Schema, mutations: Vec<Mutation>, cl: Consistency, write_type: &str) -> Result<(), QueryError> {
        for (strategy, list) in by_strategy(schema, mutations) {
            self.coordinator.write(&strategy, list, cl, write_type).await?;
        }
        Ok(())
    }

    fn strategy(&self, schema: &Schema, table: &Table) -> Strategy {
        match schema.keyspace(&table.keyspace) {
            Some(k) => Strategy::from_replication(&k.replication),
            _ => Strategy::Local,
        }
    }

    /// The bind markers of a statement, the partition key marker indexes, and its table.
    fn markers(&self, schema: &Schema, keyspace: Option<&str>, statement: &Statement) -> Result<StatementMarkers, QueryError> {
        let mut markers = Markers::default();
        let table = match statement {
            Statement::Insert(i) => Some(self.table(schema, keyspace, &i.table)?),
            Statement::Update(u) => Some(self.table(schema, keyspace, &u.table)?),
            Statement::Delete(d) => Some(self.table(schema, keyspace, &d.table)?),
            Statement::Select(s) => Some(self.table(schema, keyspace, &s.table)?),
            Statement::Batch(b) => {
                for s in &b.statements {
                    let st = batch_statement(s);
                    let t = self.table(schema, keyspace, s.table())?;
                    markers.collect(&t, &st)?;
                }
                None
            }
            _ => None,
        };
        if let Some(t) = &table {
            markers.collect(t, statement)?;
        }
        let (specs, pk) = markers.finish(table.as_deref());
        Ok((specs, pk, table))
    }

    fn table(&self, schema: &Schema, session_ks: Option<&str>, name: &QualifiedName) -> Result<Arc<Table>, QueryError> {
        let ks = keyspace_of(session_ks, name)?;
        let keyspace = schema
            .keyspace(&ks)
            .ok_or_else(|| QueryError::invalid(format!("Keyspace {ks} does not exist")))?;
        keyspace
            .tables
            .get(&name.name)
            .cloned()
            .ok_or_else(|| QueryError::invalid(format!("unconfigured table {}", name.name)))
    }

    fn writable_table(&self, schema: &Schema, session_ks: Option<&str>, name: &QualifiedName) -> Result<Arc<Table>, QueryError> {
        let t = self.table(schema, session_ks, name)?;
        // The node itself writes the system tables (the auth store too); clients never do.
        if t.system {
            return Err(QueryError::Unauthorized {
                message: format!("{} keyspace is not user-modifiable.", t.keyspace),
            });
        }
        Ok(t)
    }

    /// Runs one statement; `plan` is a prepared SELECT's compiled selection.
    async fn execute(
        &self,
        session: &mut Session,
        statement: &Statement,
        plan: Option<&select::CompiledSelect>,
        binds: &Binds,
        opts: &QueryOptions,
    ) -> Result<ResultBody, QueryError> {
        let schema = self.schema.snapshot();
        let ks = session.keyspace.as_deref();
        self.auth.authorize(session.user.as_deref(), session.client, statement, ks).await?;
        match statement {
            Statement::CreateRole(_)
            | Statement::AlterRole(_)
            | Statement::DropRole(_)
            | Statement::ListRoles(_)
            | Statement::Grant(_)
            | Statement::Revoke(_)
            | Statement::ListPermissions(_) => {
                crate::auth::statements::execute(&self.auth, &schema, session.user.as_deref(), ks, statement).await
            }
            Statement::Use(name) => {
                if schema.keyspace(name).is_none() {
                    return Err(QueryError::invalid(format!("Keyspace '{name}' does not exist")));
                }
                session.keyspace = Some(name.clone());
                Ok(ResultBody::SetKeyspace(name.clone()))
            }
            Statement::Select(sel) => {
                let table = self.table(&schema, ks, &sel.table)?;
                let fresh;
                let compiled = match plan {
                    Some(plan) if Arc::ptr_eq(&plan.table, &table) => plan,
                    _ => {
                        self.metrics.selects_compiled.fetch_add(1, Ordering::Relaxed);
                        fresh = select::compile(table, sel)?;
                        &fresh
                    }
                };
                let read = select::ReadOptions {
                    page_size: opts.page_size,
                    paging_state: opts.paging_state.clone(),
                    now: now_seconds(),
                };
                let strategy = self.strategy(&schema, &compiled.table);
                let (command, mut collector) = select::Collector::plan(compiled, sel, binds, &read)?;
                let mut cl = opts.consistency;
                if matches!(cl, Consistency::Serial | Consistency::LocalSerial) {
                    let position = match &command.partitions {
                        PartitionSelection::Keys(keys) if keys.len() == 1 => keys.first().cloned(),
                        _ => None,
                    };
                    let position = position.ok_or_else(|| {
                        QueryError::invalid("SERIAL/LOCAL_SERIAL consistency may only be requested for one partition at a time")
                    })?;
                    cl = self.serial_read(&strategy, &compiled.table, position, cl).await?;
                }
                self.coordinator
                    .read(&strategy, cl, &command, collector.wanted(), read.now, &mut |pv, row| {
                        collector.visit(pv, row)
                    })
                    .await?;
                Ok(ResultBody::Rows(collector.finish()?))
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => match Modification::of(statement) {
                Some(s) => self.modify(&schema, ks, s, binds, opts).await,
                None => Err(QueryError::Server {
                    message: "unreachable statement kind".into(),
                }),
            },
            Statement::Batch(b) => {
                let opts = match &b.using.timestamp {
                    Some(t) => match evaluate(t, &ColumnType::Bigint, binds, "[timestamp]")? {
                        Evaluated::Value(Value::Bigint(ts)) => QueryOptions {
                            default_timestamp: Some(ts),
                            ..opts.clone()
                        },
                        _ => opts.clone(),
                    },
                    None => opts.clone(),
                };
                let items: Vec<lwt::Item<'_>> = b.statements.iter().map(|s| (Modification::of_batch(s), ks, binds)).collect();
                self.run_batch(&schema, b.kind, b.using.timestamp.is_some(), &items, &opts).await
            }
            Statement::Describe(d) => Ok(ResultBody::Rows(describe::describe(&schema, ks, d, &self.node)?)),
            Statement::Truncate(t) => {
                let table = self.writable_table(&schema, ks, &t.name)?;
                let strategy = schema
                    .keyspaces
                    .get(&table.keyspace)
                    .map_or(Strategy::Local, |k| Strategy::from_replication(&k.replication));
                self.coordinator.truncate(&strategy, table.id).await?;
                Ok(ResultBody::Void)
            }
            Statement::NodeTool(op) => self.node_tool(op).await,
            Statement::CreateKeyspace(CreateKeyspace { name, properties, .. })
            | Statement::AlterKeyspace(AlterKeyspace { name, properties, .. }) => {
                let topology = self.coordinator.view.topology();
                let local = topology.local_dc();
                let members = topology.members();
                let mut known: Vec<&str> = members.iter().map(|m| topology.data_center(m)).collect();
                known.push(&local);
                ddl::check_data_centres(name, properties, &known)?;
                self.schema.apply(ks, statement)
            }
            _ => self.schema.apply(ks, statement),
        }
    }

    /// The mutations of one modification, with `current` the rows it reads
    /// before it writes (`read_before_write`, or a Paxos round's read).
    fn mutations(
        &self,
        schema: &Schema,
        ks: Option<&str>,
        s: Modification<'_>,
        binds: &Binds,
        opts: &QueryOptions,
        current: &current::Current,
    ) -> Result<Vec<Mutation>, QueryError> {
        let now = now_seconds();
        match s {
            Modification::Insert(i) => {
                let t = self.writable_table(schema, ks, &i.table)?;
                let ctx = modify::write_context(&t, &i.using, binds, opts.default_timestamp, now)?;
                Ok(vec![modify::insert(&t, i, binds, &ctx)?])
            }
            Modification::Update(u) => {
                let t = self.writable_table(schema, ks, &u.table)?;
                let ctx = modify::write_context(&t, &u.using, binds, opts.default_timestamp, now)?;
                modify::update(&t, u, binds, &ctx, current)
            }
            Modification::Delete(d) => {
                let t = self.writable_table(schema, ks, &d.table)?;
                let using = cql_protocol::cql::ast::Using {
                    ttl: None,
                    timestamp: d.timestamp.clone(),
                };
                let ctx = modify::write_context(&t, &using, binds, opts.default_timestamp, now)?;
                let ctx = cells::WriteContext { ttl: 0, ..ctx };
                modify::delete(&t, d, binds, &ctx, current)
            }
        }
    }

    /// One INSERT, UPDATE or DELETE: a lightweight transaction when it has
    /// conditions, counter increments through their leaders, else a write.
    async fn modify(
        &self,
        schema: &Schema,
        ks: Option<&str>,
        s: Modification<'_>,
        binds: &Binds,
        opts: &QueryOptions,
    ) -> Result<ResultBody, QueryError> {
        if s.is_conditional() {
            return self.conditional(schema, &[(s, ks, binds)], opts).await;
        }
        lwt::check_not_serial(opts.consistency)?;
        let table = self.writable_table(schema, ks, s.table())?;
        check_modification(&table, &s)?;
        let current = self.read_before_write(schema, &table, &s, binds, opts.consistency).await?;
        let mutations = self.mutations(schema, ks, s, binds, opts, &current)?;
        if is_increment(&table, &s) {
            self.increment(schema, mutations, opts.consistency).await?;
        } else {
            self.write(schema, mutations, opts.consistency, "SIMPLE").await?;
        }
        Ok(ResultBody::Void)
    }
}

/// An UPDATE of a counter table: increments, which go through their leaders.
fn is_increment(table: &Table, s: &Modification<'_>) -> bool {
    table.is_counter_table() && matches!(s, Modification::Update(_))
}

/// Cassandra's rules on a counter table's statements.
fn check_modification(table: &Table, s: &Modification<'_>) -> Result<(), QueryError> {
    if !table.is_counter_table() {
        return Ok(());
    }
    if lwt::has_timestamp(s) {
        return Err(QueryError::invalid("Cannot provide custom timestamp for counter updates"));
    }
    let ttl = match s {
        Modification::Insert(i) => i.using.ttl.is_some(),
        Modification::Update(u) => u.using.ttl.is_some(),
        Modification::Delete(_) => false,
    };
    if ttl {
        return Err(QueryError::invalid("Cannot provide custom TTL for counter updates"));
    }
    Ok(())
}

/// The keyspace a name refers to: its own, else the session's.
pub fn keyspace_of(session_ks: Option<&str>, name: &QualifiedName) -> Result<String, QueryError> {
    name.keyspace
        .clone()
        .or_else(|| session_ks.map(str::to_string))
        .ok_or_else(|| QueryError::invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename"))
}

/// Key column values of a row by column index (None for non-key columns).
fn select_key_values(table: &Table, position: &PartitionPosition, clustering: Option<&[u8]>) -> Vec<Option<Value>> {
    let mut out = vec![None; table.columns.len()];
    let parts: Vec<&[u8]> = if table.partition_key_len == 1 {
        vec![position.key.as_slice()]
    } else {
        crate::token::split_partition_key(&position.key, table.partition_key_len).unwrap_or_default()
    };
    for (i, (bytes, col)) in parts.iter().zip(table.partition_key()).enumerate() {
        if let (Some(slot), Ok(v)) = (out.get_mut(i), Value::deserialize(&col.ty, bytes)) {
            *slot = Some(v);
        }
    }
    if let Some(c) = clustering {
        if let Ok(values) = crate::storage::key::decode_clustering(&table.clustering_types(), c) {
            for (i, v) in values.into_iter().enumerate() {
                if let Some(slot) = out.get_mut(table.partition_key_len + i) {
                    *slot = Some(v);
                }
            }
        }
    }
    out
}
