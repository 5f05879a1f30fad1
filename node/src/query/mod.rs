//! Query execution on this node: statements in, results out. The executor owns
//! the schema, the storage engine, the prepared statement cache and the
//! per-connection session state (current keyspace); each statement kind has its
//! own module (`select`, `modify`, `ddl`, `describe`).

pub mod binds;
pub mod cells;
pub mod current;
pub mod ddl;
pub mod describe;
pub mod json;
pub mod literal;
mod lwt;
pub mod modify;
pub mod paging;
mod prepared_cache;
pub mod restrictions;
pub mod select;

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use cql_protocol::cql::ast::{BatchKind, BatchStatement, Delete, Insert, NodeTool, QualifiedName, Statement, Update};
use cql_protocol::cql::parse_statement;
use cql_protocol::request::{self, BatchTarget, BoundValues};
use cql_protocol::response::{ColumnSpec, Event, Prepared, PreparedMetadata, ResultBody, RowsMetadata, SchemaChange};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use cql_protocol::wire::Consistency;
use tokio::sync::broadcast;

use self::binds::{batch_statement, bind, Markers};
use self::literal::{evaluate, now_seconds, Binds, Evaluated};
use crate::auth::{Auth, AuthenticatedUser};
use crate::cluster::view::ClusterView;
use crate::coordinator::replicas::Strategy;
use crate::coordinator::Coordinator;
use crate::error::QueryError;
use crate::schema::{Schema, SchemaStore, Table};
use crate::schema_events::{self, SchemaEvent};
use crate::storage::{Mutation, PartitionPosition, PartitionSelection, StorageEngine};
use crate::system::{self, NodeInfo};

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
    /// Run by the node itself (the auth tables): no permission checks, and the
    /// auth keyspace is writable.
    pub internal: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            consistency: Consistency::One,
            page_size: None,
            paging_state: None,
            default_timestamp: None,
            serial_consistency: None,
            internal: false,
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
            internal: false,
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
}

pub struct Executor {
    pub schema: SchemaStore,
    /// The system keyspaces: what the schema events are replayed onto.
    base: Schema,
    /// Every schema event this node knows (held while the schema changes).
    schema_events: Mutex<Vec<SchemaEvent>>,
    /// Schema events made here, for the cluster to push to peers.
    pub schema_pushes: broadcast::Sender<Vec<SchemaEvent>>,
    pub engine: Arc<dyn StorageEngine>,
    pub node: NodeInfo,
    pub coordinator: Arc<Coordinator>,
    prepared: prepared_cache::PreparedCache<Vec<u8>, PreparedStatement>,
    metrics: QueryMetrics,
    pub events: broadcast::Sender<Event>,
    pub auth: Auth,
    /// `system.local.bootstrapped` as this node found it at start (`None`: a new node).
    pub bootstrapped: Option<String>,
    /// Ring operations (decommission, removenode, cleanup) for `movement::serve`.
    node_requests: tokio::sync::mpsc::UnboundedSender<crate::movement::Request>,
    node_requests_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<crate::movement::Request>>>,
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
/// prepared statement's EXECUTE parses nothing, so `statements_parsed` stays
/// still while `prepared_executed` climbs.
#[derive(Debug, Default)]
struct QueryMetrics {
    parsed: AtomicI64,
    prepared_executed: AtomicI64,
}

impl Executor {
    /// Opens the node's executor over `engine`: the system keyspaces, then the
    /// schema stored by an earlier run, if any, for the node `node` (its
    /// identity from `schema_load::identity`, which also gave `bootstrapped`).
    /// Its coordinator reaches the other replicas through `messaging` within
    /// `timeouts`.
    pub fn new(
        engine: Arc<dyn StorageEngine>,
        node: NodeInfo,
        bootstrapped: Option<String>,
        auth: Auth,
        messaging: Option<Arc<crate::internode::Messaging>>,
        timeouts: crate::coordinator::Timeouts,
    ) -> Result<Executor, QueryError> {
        let base = system::initial_schema()?;
        system::create_storage(engine.as_ref(), &base)?;
        let events = crate::schema_load::stored_events(engine.as_ref(), &base)?;
        let schema = schema_events::replay(&base, &events);
        system::create_storage(engine.as_ref(), &schema)?;
        system::write_schema_tables(engine.as_ref(), None, &schema)?;
        system::write_local(engine.as_ref(), &schema, &node)?;
        let (events_tx, _) = broadcast::channel(256);
        let (schema_pushes, _) = broadcast::channel(64);
        let (node_requests, node_requests_rx) = tokio::sync::mpsc::unbounded_channel();
        let view = Arc::new(ClusterView::new(node.clone()));
        let coordinator = Arc::new(Coordinator::new(node.address, engine.clone(), view, messaging, timeouts));
        Ok(Executor {
            coordinator,
            schema: SchemaStore::new(schema),
            base,
            schema_events: Mutex::new(events),
            schema_pushes,
            engine,
            node,
            prepared: prepared_cache::PreparedCache::new(prepared_cache::DEFAULT_CAPACITY),
            metrics: QueryMetrics::default(),
            events: events_tx,
            auth,
            bootstrapped,
            node_requests,
            node_requests_rx: Mutex::new(Some(node_requests_rx)),
        })
    }

    /// The receiving end of ring operation requests, for `movement::serve` (once).
    pub fn take_node_requests(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::movement::Request>> {
        self.node_requests_rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Asks for a cleanup once a peer finished joining (see `movement`).
    pub fn request_cleanup_after_join(&self) {
        let _ = self.node_requests.send(crate::movement::Request::CleanupAfterJoin);
    }

    /// `NODETOOL ...`: hands the operation to the movement service and waits
    /// for it to be accepted (decommission, removenode) or done (cleanup).
    async fn node_tool(&self, op: &NodeTool) -> Result<ResultBody, QueryError> {
        use crate::movement::Request;
        match op {
            NodeTool::Decommission { force } => {
                self.ask_movement(|reply| Request::Decommission { force: *force, reply }).await?;
                Ok(ResultBody::Void)
            }
            NodeTool::RemoveNode(id) => {
                let host_id = uuid::Uuid::parse_str(id).map_err(|_| QueryError::invalid(format!("{id} is not a host id")))?;
                self.ask_movement(|reply| Request::RemoveNode { host_id, reply }).await?;
                Ok(ResultBody::Void)
            }
            NodeTool::Cleanup => {
                let cleaned = self.ask_movement(|reply| Request::Cleanup { reply }).await?;
                let rows = cleaned
                    .into_iter()
                    .map(|c| vec![c.keyspace, c.table, c.partitions.to_string()])
                    .collect();
                Ok(ResultBody::Rows(describe::rows(
                    &["keyspace_name", "table_name", "partitions_removed"],
                    rows,
                )))
            }
            other => crate::nodetool::run(self, other).await,
        }
    }

    /// Sends a request to the movement service and waits for its answer; a
    /// refusal is an Invalid error with the service's reason.
    async fn ask_movement<T>(
        &self,
        request: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, String>>) -> crate::movement::Request,
    ) -> Result<T, QueryError> {
        let unavailable = || QueryError::invalid("this node runs no ring operations (its movement service is not running)");
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.node_requests.send(request(reply)).map_err(|_| unavailable())?;
        answer.await.map_err(|_| unavailable())?.map_err(QueryError::invalid)
    }

    /// Runs a statement on behalf of the node itself (no client, no permission
    /// checks), e.g. reads and writes of the auth tables.
    /// Boxed: the auth checks of `execute` call it, and it calls `execute`.
    pub fn execute_internal<'a>(
        &'a self,
        text: &str,
        consistency: Consistency,
        keyspace: Option<&str>,
    ) -> BoxFuture<'a, Result<ResultBody, QueryError>> {
        let statement = self.parse(text);
        let mut session = Session {
            keyspace: keyspace.map(str::to_string),
            user: None,
            client: None,
        };
        let opts = QueryOptions {
            consistency,
            internal: true,
            ..QueryOptions::default()
        };
        Box::pin(async move { self.execute(&mut session, &statement?, &Binds::default(), &opts).await })
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
        self.execute(session, &statement, &binds, opts).await
    }

    pub fn prepare(&self, session: &Session, text: &str) -> Result<Prepared, QueryError> {
        let statement = self.parse(text)?;
        let schema = self.schema.snapshot();
        let keyspace = session.keyspace.clone();
        let (bind_specs, pk_indexes, table) = self.markers(&schema, keyspace.as_deref(), &statement)?;
        let result_columns = match (&statement, &table) {
            (Statement::Select(sel), Some(t)) => select::compile(t.clone(), sel)?.columns,
            _ => Vec::new(),
        };
        let id = statement_id(keyspace.as_deref(), text);
        let prepared = Arc::new(PreparedStatement {
            id: id.clone(),
            statement,
            keyspace,
            bind_specs,
            pk_indexes,
            result_columns,
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
        self.prepared.insert(id, prepared);
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
        let result = self.execute(&mut scoped, &prepared.statement, &binds, opts).await;
        if let Statement::Use(_) = prepared.statement {
            session.keyspace = scoped.keyspace;
        }
        result
    }

    fn parse(&self, query: &str) -> Result<Statement, QueryError> {
        self.metrics.parsed.fetch_add(1, Ordering::Relaxed);
        parse_statement(query).map_err(|e| QueryError::Syntax { message: e.to_string() })
    }

    /// (name, count) of the coordinator's and the query layer's counters, for
    /// `system.coordinator_metrics`.
    pub fn metrics(&self) -> Vec<(&'static str, i64)> {
        let mut all = self.coordinator.metrics();
        all.push(("statements_parsed", self.metrics.parsed.load(Ordering::Relaxed)));
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
                .authorize(
                    self,
                    session.user.as_deref(),
                    session.client,
                    statement.statement(),
                    keyspace.as_deref(),
                )
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
            let table = self.writable_table(schema, *ks, s.table(), opts)?;
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
            if kind == BatchKind::Logged && counter {
                return Err(QueryError::invalid("Cannot include a counter statement in a logged batch"));
            }
            counters |= counter;
            others |= !counter;
        }
        if counters && others {
            return Err(QueryError::invalid(
                "Counter and non-counter mutations cannot exist in the same batch",
            ));
        }
        if conditional {
            return self.conditional(schema, items, opts).await;
        }
        lwt::check_not_serial(opts.consistency)?;
        let mut writes = Vec::new();
        let mut increments = Vec::new();
        for (s, ks, binds) in items {
            let table = self.writable_table(schema, *ks, s.table(), opts)?;
            check_modification(&table, s)?;
            let current = self.read_before_write(schema, &table, s, binds, opts.consistency).await?;
            let mutations = self.mutations(schema, *ks, *s, binds, opts, &current)?;
            if is_increment(&table, s) {
                increments.extend(mutations);
            } else {
                writes.extend(mutations);
            }
        }
        self.write(schema, writes, opts.consistency, "BATCH").await?;
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
            let table = mutations
                .first()
                .and_then(|m| schema.keyspaces.values().flat_map(|k| k.tables.values()).find(|t| t.id == m.table));
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

    fn writable_table(
        &self,
        schema: &Schema,
        session_ks: Option<&str>,
        name: &QualifiedName,
        opts: &QueryOptions,
    ) -> Result<Arc<Table>, QueryError> {
        let t = self.table(schema, session_ks, name)?;
        // The node itself writes the auth tables; clients never do.
        if t.system && !(opts.internal && t.keyspace == crate::system::AUTH_KEYSPACE) {
            return Err(QueryError::Unauthorized {
                message: format!("{} keyspace is not user-modifiable.", t.keyspace),
            });
        }
        Ok(t)
    }

    pub async fn execute(
        &self,
        session: &mut Session,
        statement: &Statement,
        binds: &Binds,
        opts: &QueryOptions,
    ) -> Result<ResultBody, QueryError> {
        let schema = self.schema.snapshot();
        let ks = session.keyspace.as_deref();
        if !opts.internal {
            self.auth
                .authorize(self, session.user.as_deref(), session.client, statement, ks)
                .await?;
        }
        match statement {
            Statement::CreateRole(_)
            | Statement::AlterRole(_)
            | Statement::DropRole(_)
            | Statement::ListRoles(_)
            | Statement::Grant(_)
            | Statement::Revoke(_)
            | Statement::ListPermissions(_) => crate::auth::statements::execute(self, session.user.as_deref(), ks, statement).await,
            Statement::Use(name) => {
                if schema.keyspace(name).is_none() {
                    return Err(QueryError::invalid(format!("Keyspace '{name}' does not exist")));
                }
                session.keyspace = Some(name.clone());
                Ok(ResultBody::SetKeyspace(name.clone()))
            }
            Statement::Select(sel) => {
                let table = self.table(&schema, ks, &sel.table)?;
                let compiled = select::compile(table, sel)?;
                let read = select::ReadOptions {
                    page_size: opts.page_size,
                    paging_state: opts.paging_state.clone(),
                    now: now_seconds(),
                };
                let strategy = self.strategy(&schema, &compiled.table);
                let (command, mut collector) = select::Collector::plan(&compiled, sel, binds, &read)?;
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
                    .read(&strategy, cl, &command, read.now, &mut |pv, row| collector.visit(pv, row))
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
                let table = self.writable_table(&schema, ks, &t.name, opts)?;
                let strategy = schema
                    .keyspaces
                    .get(&table.keyspace)
                    .map_or(Strategy::Local, |k| Strategy::from_replication(&k.replication));
                self.coordinator.truncate(&strategy, table.id).await?;
                Ok(ResultBody::Void)
            }
            Statement::NodeTool(op) => self.node_tool(op).await,
            _ => self.ddl(ks, statement),
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
                let t = self.writable_table(schema, ks, &i.table, opts)?;
                let ctx = modify::write_context(&t, &i.using, binds, opts.default_timestamp, now)?;
                Ok(vec![modify::insert(&t, i, binds, &ctx)?])
            }
            Modification::Update(u) => {
                let t = self.writable_table(schema, ks, &u.table, opts)?;
                let ctx = modify::write_context(&t, &u.using, binds, opts.default_timestamp, now)?;
                modify::update(&t, u, binds, &ctx, current)
            }
            Modification::Delete(d) => {
                let t = self.writable_table(schema, ks, &d.table, opts)?;
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
        let table = self.writable_table(schema, ks, s.table(), opts)?;
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

    /// A DDL statement: validated against the current schema, recorded as a schema
    /// event (so it replays the same everywhere), installed, and pushed to peers.
    fn ddl(&self, session_ks: Option<&str>, statement: &Statement) -> Result<ResultBody, QueryError> {
        let mut events = self.schema_events.lock().unwrap_or_else(|e| e.into_inner());
        let last = events.iter().map(|e| e.timestamp).max().unwrap_or(i64::MIN);
        let event = SchemaEvent {
            timestamp: literal::server_timestamp().max(last.saturating_add(1)),
            node: self.node.host_id,
            keyspace: session_ks.map(str::to_string),
            statement: statement.to_string(),
        };
        let current = self.schema.snapshot();
        let mut probe = (*current).clone();
        let Some(change) = schema_events::apply(&mut probe, &event)? else {
            return Ok(ResultBody::Void);
        };
        system::write_schema_events(self.engine.as_ref(), &current, std::slice::from_ref(&event))?;
        events.push(event.clone());
        let next = schema_events::replay(&self.base, &events);
        self.install(&current, next)?;
        drop(events);
        let _ = self.events.send(Event::SchemaChange(change.clone()));
        let _ = self.schema_pushes.send(vec![event]);
        Ok(ResultBody::SchemaChange(change))
    }

    /// Every schema event this node knows, for a peer that asked.
    pub fn schema_events(&self) -> Vec<SchemaEvent> {
        self.schema_events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Merges schema events from a peer; returns whether the schema changed.
    /// Events stamped further ahead of this node's clock than
    /// `schema_events::MAX_CLOCK_SKEW_MICROS` are refused (and logged).
    pub fn merge_schema_events(&self, incoming: Vec<SchemaEvent>) -> Result<bool, QueryError> {
        let (incoming, future) = schema_events::split_future(incoming, literal::server_timestamp());
        for event in &future {
            tracing::warn!(
                timestamp = event.timestamp,
                node = %event.node,
                statement = %event.statement,
                "refusing a schema change stamped more than {} s ahead of this node's clock",
                schema_events::MAX_CLOCK_SKEW_MICROS / 1_000_000
            );
        }
        let mut events = self.schema_events.lock().unwrap_or_else(|e| e.into_inner());
        let known: std::collections::HashSet<(i64, uuid::Uuid)> = events.iter().map(SchemaEvent::id).collect();
        let mut new: Vec<SchemaEvent> = incoming.into_iter().filter(|e| !known.contains(&e.id())).collect();
        new.sort_by_key(SchemaEvent::id);
        new.dedup_by_key(|e| e.id());
        if new.is_empty() {
            return Ok(false);
        }
        let current = self.schema.snapshot();
        system::write_schema_events(self.engine.as_ref(), &current, &new)?;
        events.extend(new);
        let next = schema_events::replay(&self.base, &events);
        let changes = schema_diff(&current, &next);
        self.install(&current, next)?;
        drop(events);
        for change in changes {
            let _ = self.events.send(Event::SchemaChange(change));
        }
        Ok(true)
    }

    /// Makes `next` the schema: storage for new tables, freed storage for dropped
    /// ones, the `system_schema` tables and `system.local` rewritten.
    fn install(&self, current: &Schema, next: Schema) -> Result<(), QueryError> {
        let old_ids: std::collections::HashSet<uuid::Uuid> =
            current.keyspaces.values().flat_map(|k| k.tables.values().map(|t| t.id)).collect();
        let new_ids: std::collections::HashSet<uuid::Uuid> =
            next.keyspaces.values().flat_map(|k| k.tables.values().map(|t| t.id)).collect();
        system::create_storage(self.engine.as_ref(), &next)?;
        for id in old_ids.difference(&new_ids) {
            self.engine.drop_table(*id)?;
        }
        system::write_schema_tables(self.engine.as_ref(), Some(current), &next)?;
        system::write_local(self.engine.as_ref(), &next, &self.node)?;
        self.schema.replace(next);
        Ok(())
    }
}

/// The Schema_change events that turn `old` into `new`, for drivers.
fn schema_diff(old: &Schema, new: &Schema) -> Vec<SchemaChange> {
    use cql_protocol::response::{SchemaChangeTarget as T, SchemaChangeType as C};
    let mut out = Vec::new();
    let change = |c, t| SchemaChange { change: c, target: t };
    for (name, ks) in &new.keyspaces {
        match old.keyspaces.get(name) {
            None => out.push(change(C::Created, T::Keyspace { keyspace: name.clone() })),
            Some(o) if o.replication != ks.replication || o.durable_writes != ks.durable_writes => {
                out.push(change(C::Updated, T::Keyspace { keyspace: name.clone() }))
            }
            _ => {}
        }
        let empty = std::collections::BTreeMap::new();
        let old_tables = old.keyspaces.get(name).map(|k| &k.tables).unwrap_or(&empty);
        for (t, table) in &ks.tables {
            match old_tables.get(t) {
                None => out.push(change(
                    C::Created,
                    T::Table {
                        keyspace: name.clone(),
                        name: t.clone(),
                    },
                )),
                Some(o) if o != table => out.push(change(
                    C::Updated,
                    T::Table {
                        keyspace: name.clone(),
                        name: t.clone(),
                    },
                )),
                _ => {}
            }
        }
        for t in old_tables.keys().filter(|t| !ks.tables.contains_key(*t)) {
            out.push(change(
                C::Dropped,
                T::Table {
                    keyspace: name.clone(),
                    name: t.clone(),
                },
            ));
        }
        let old_types = old
            .keyspaces
            .get(name)
            .map(|k| k.types.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        for t in ks.types.keys().filter(|t| !old_types.contains(t)) {
            out.push(change(
                C::Created,
                T::Type {
                    keyspace: name.clone(),
                    name: t.clone(),
                },
            ));
        }
    }
    for name in old.keyspaces.keys().filter(|k| !new.keyspaces.contains_key(*k)) {
        out.push(change(C::Dropped, T::Keyspace { keyspace: name.clone() }));
    }
    out
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

/// Mutations grouped by the replication of their keyspace.
fn by_strategy(schema: &Schema, mutations: Vec<Mutation>) -> Vec<(Strategy, Vec<Mutation>)> {
    let mut out: Vec<(Strategy, Vec<Mutation>)> = Vec::new();
    for m in mutations {
        let strategy = schema
            .keyspaces
            .values()
            .find(|k| k.tables.values().any(|t| t.id == m.table))
            .map(|k| Strategy::from_replication(&k.replication))
            .unwrap_or(Strategy::Local);
        match out.iter_mut().find(|(s, _)| *s == strategy) {
            Some((_, list)) => list.push(m),
            None => out.push((strategy, vec![m])),
        }
    }
    out
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
