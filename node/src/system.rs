//! The node's own keyspaces: `system` (local, peers, peers_v2), `system_schema`
//! (keyspaces, tables, columns, types, ...), and the others drivers and cqlsh
//! probe. They are real tables in the storage engine, written by the node: the
//! schema tables are rewritten after every DDL, `system.local` at start and when
//! the schema version changes. Clients read them like any table.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use cql_protocol::cql::ast::{Order, Statement};
use cql_protocol::cql::parse_statement;
use cql_protocol::value::Value;
use uuid::Uuid;

use crate::clock::{now_seconds, server_timestamp};
use crate::error::QueryError;
use crate::query::cells::{assign, WriteContext};
use crate::query::restrictions::partition_position;
use crate::schema::{cql_type_name, ColumnKind, Keyspace, Schema, Table};
use crate::storage::key::encode_clustering;
use crate::storage::{Mutation, Row, StorageEngine};

pub const RELEASE_VERSION: &str = "5.0.0";
pub const CQL_VERSION: &str = "3.4.7";
pub const PARTITIONER: &str = "org.apache.cassandra.dht.Murmur3Partitioner";

/// What `system.local` says about this node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub cluster_name: String,
    pub address: IpAddr,
    pub native_port: u16,
    pub host_id: Uuid,
    pub data_center: String,
    pub rack: String,
    pub tokens: Vec<i64>,
}

/// The keyspace of roles and permissions, replicated like a user keyspace.
pub const AUTH_KEYSPACE: &str = "system_auth";

const FROZEN_TEXT_MAP: &str = "frozen<map<text, text>>";

fn definitions() -> Vec<(&'static str, String)> {
    let table_options = format!(
        "additional_write_policy text, bloom_filter_fp_chance double, caching {FROZEN_TEXT_MAP}, cdc boolean, comment text, \
         compaction {FROZEN_TEXT_MAP}, compression {FROZEN_TEXT_MAP}, crc_check_chance double, default_time_to_live int, \
         extensions frozen<map<text, blob>>, gc_grace_seconds int, id uuid, max_index_interval int, memtable_flush_period_in_ms int, \
         min_index_interval int, read_repair text, speculative_retry text"
    );
    vec![
        ("system", "CREATE TABLE local (key text PRIMARY KEY, bootstrapped text, broadcast_address inet, broadcast_port int, cluster_name text, cql_version text, data_center text, gossip_generation int, host_id uuid, listen_address inet, listen_port int, native_protocol_version text, partitioner text, rack text, release_version text, rpc_address inet, rpc_port int, schema_version uuid, tokens set<text>, truncated_at map<uuid, blob>)".into()),
        ("system", "CREATE TABLE peers (peer inet PRIMARY KEY, data_center text, host_id uuid, preferred_ip inet, rack text, release_version text, rpc_address inet, schema_version uuid, tokens set<text>)".into()),
        ("system", "CREATE TABLE peers_v2 (peer inet, peer_port int, data_center text, host_id uuid, native_address inet, native_port int, preferred_ip inet, preferred_port int, rack text, release_version text, schema_version uuid, tokens set<text>, PRIMARY KEY ((peer), peer_port))".into()),
        ("system", "CREATE TABLE size_estimates (keyspace_name text, table_name text, range_start text, range_end text, mean_partition_size bigint, partitions_count bigint, PRIMARY KEY ((keyspace_name), table_name, range_start, range_end))".into()),
        ("system_schema", "CREATE TABLE keyspaces (keyspace_name text PRIMARY KEY, durable_writes boolean, replication frozen<map<text, text>>)".into()),
        ("system_schema", format!("CREATE TABLE tables (keyspace_name text, table_name text, {table_options}, flags frozen<set<text>>, PRIMARY KEY ((keyspace_name), table_name))")),
        ("system_schema", "CREATE TABLE columns (keyspace_name text, table_name text, column_name text, clustering_order text, column_name_bytes blob, kind text, position int, type text, PRIMARY KEY ((keyspace_name), table_name, column_name))".into()),
        ("system_schema", "CREATE TABLE dropped_columns (keyspace_name text, table_name text, column_name text, dropped_time timestamp, kind text, type text, PRIMARY KEY ((keyspace_name), table_name, column_name))".into()),
        ("system_schema", "CREATE TABLE types (keyspace_name text, type_name text, field_names frozen<list<text>>, field_types frozen<list<text>>, PRIMARY KEY ((keyspace_name), type_name))".into()),
        ("system_schema", "CREATE TABLE functions (keyspace_name text, function_name text, argument_types frozen<list<text>>, argument_names frozen<list<text>>, body text, called_on_null_input boolean, language text, return_type text, PRIMARY KEY ((keyspace_name), function_name, argument_types))".into()),
        ("system_schema", "CREATE TABLE aggregates (keyspace_name text, aggregate_name text, argument_types frozen<list<text>>, final_func text, initcond text, return_type text, state_func text, state_type text, PRIMARY KEY ((keyspace_name), aggregate_name, argument_types))".into()),
        ("system_schema", format!("CREATE TABLE triggers (keyspace_name text, table_name text, trigger_name text, options {FROZEN_TEXT_MAP}, PRIMARY KEY ((keyspace_name), table_name, trigger_name))")),
        ("system_schema", format!("CREATE TABLE indexes (keyspace_name text, table_name text, index_name text, kind text, options {FROZEN_TEXT_MAP}, PRIMARY KEY ((keyspace_name), table_name, index_name))")),
        ("system_schema", format!("CREATE TABLE views (keyspace_name text, view_name text, base_table_id uuid, base_table_name text, include_all_columns boolean, where_clause text, {table_options}, PRIMARY KEY ((keyspace_name), view_name))")),
        ("system_virtual_schema", "CREATE TABLE keyspaces (keyspace_name text PRIMARY KEY)".into()),
        ("system_virtual_schema", "CREATE TABLE tables (keyspace_name text, table_name text, comment text, PRIMARY KEY ((keyspace_name), table_name))".into()),
        ("system_virtual_schema", "CREATE TABLE columns (keyspace_name text, table_name text, column_name text, clustering_order text, column_name_bytes blob, kind text, position int, type text, PRIMARY KEY ((keyspace_name), table_name, column_name))".into()),
        ("system_traces", "CREATE TABLE sessions (session_id uuid PRIMARY KEY, client inet, command text, coordinator inet, coordinator_port int, duration int, parameters map<text, text>, request text, started_at timestamp)".into()),
        ("system_traces", "CREATE TABLE events (session_id uuid, event_id timeuuid, activity text, source inet, source_elapsed int, source_port int, thread text, PRIMARY KEY ((session_id), event_id))".into()),
        ("system_distributed", "CREATE TABLE repair_history (keyspace_name text, columnfamily_name text, id timeuuid, coordinator inet, exception_message text, finished_at timestamp, started_at timestamp, status text, PRIMARY KEY ((keyspace_name, columnfamily_name), id))".into()),
        ("system", "CREATE TABLE schema_events (bucket int, ts bigint, node uuid, keyspace_name text, statement text, PRIMARY KEY ((bucket), ts, node))".into()),
        ("system", "CREATE TABLE coordinator_metrics (name text PRIMARY KEY, value bigint)".into()),
        ("system", "CREATE TABLE batches (id timeuuid PRIMARY KEY, mutations list<blob>, version int) WITH gc_grace_seconds = 0".into()),
        // Legacy: hints are files now (`coordinator::hint_store`); kept so that
        // hints left here by an older node move into files at start.
        ("system", "CREATE TABLE hints (target inet, id timeuuid, mutation blob, PRIMARY KEY ((target), id))".into()),
        ("system", "CREATE TABLE paxos (row_key blob, cf_id uuid, in_progress_ballot timeuuid, most_recent_commit blob, most_recent_commit_at timeuuid, proposal blob, proposal_ballot timeuuid, PRIMARY KEY ((row_key), cf_id))".into()),
        ("system", "CREATE TABLE streams (operation text, peer inet, direction text, state text, ranges_total int, ranges_done int, bytes bigint, rows bigint, mb_per_s double, started_at timestamp, updated_at timestamp, PRIMARY KEY ((operation), peer))".into()),
        ("system", "CREATE TABLE repairs (id uuid PRIMARY KEY, keyspace_name text, table_names text, options text, status text, ranges_total int, ranges_done int, ranges_differing int, ranges_failed int, rows_streamed bigint, bytes_streamed bigint, bytes_compared bigint, rows_compared bigint, started_at timestamp, finished_at timestamp, error text)".into()),
        ("system", "CREATE TABLE cluster_status (peer inet PRIMARY KEY, state text, status text, host_id uuid, data_center text, rack text, tokens int, load bigint, schema_version uuid, updated_at timestamp)".into()),
        ("system_auth", "CREATE TABLE roles (role text PRIMARY KEY, can_login boolean, is_superuser boolean, member_of set<text>, salted_hash text)".into()),
        ("system_auth", "CREATE TABLE role_permissions (role text, resource text, permissions set<text>, PRIMARY KEY ((role), resource))".into()),
    ]
}

/// A fixed id per system table, so it is the same on every node and every start.
pub fn system_table_id(ks: &str, table: &str) -> Uuid {
    let mut a = std::collections::hash_map::DefaultHasher::new();
    (ks, table, 1u8).hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (ks, table, 2u8).hash(&mut b);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.finish().to_be_bytes());
    bytes[8..].copy_from_slice(&b.finish().to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The schema of a new node: the system keyspaces and nothing else.
pub fn initial_schema() -> Result<Schema, QueryError> {
    let mut schema = Schema::default();
    for (ks, ddl) in definitions() {
        let replication: BTreeMap<String, String> = match ks {
            "system_auth" | "system_distributed" | "system_traces" => [
                ("class".to_string(), "org.apache.cassandra.locator.SimpleStrategy".to_string()),
                (
                    "replication_factor".to_string(),
                    // Cassandra's: auth 1, traces 2, distributed 3.
                    match ks {
                        "system_auth" => "1",
                        "system_traces" => "2",
                        _ => "3",
                    }
                    .to_string(),
                ),
            ]
            .into(),
            _ => [("class".to_string(), "org.apache.cassandra.locator.LocalStrategy".to_string())].into(),
        };
        schema.keyspaces.entry(ks.to_string()).or_insert_with(|| Keyspace {
            name: ks.to_string(),
            replication,
            durable_writes: true,
            tables: BTreeMap::new(),
            types: BTreeMap::new(),
            system: true,
        });
        let Statement::CreateTable(stmt) = parse_statement(&ddl).map_err(|e| QueryError::Server {
            message: format!("system table definition: {e}"),
        })?
        else {
            return Err(QueryError::Server {
                message: "system table definition is not CREATE TABLE".into(),
            });
        };
        let mut table = crate::query::ddl::build_table(&schema, ks, &stmt, system_table_id(ks, &stmt.name.name))?;
        table.system = true;
        if let Some(k) = schema.keyspaces.get_mut(ks) {
            k.tables.insert(table.name.clone(), Arc::new(table));
        }
    }
    schema.version = Uuid::new_v4();
    Ok(schema)
}

/// Opens (or creates) the storage of every table in the schema.
pub fn create_storage(engine: &dyn StorageEngine, schema: &Schema) -> Result<(), QueryError> {
    for ks in schema.keyspaces.values() {
        for t in ks.tables.values() {
            engine.create_table(t.id)?;
            engine.set_gc_grace(t.id, t.options.gc_grace_seconds);
            // A table local to each node is never repaired: its writes leave no mark.
            let local = matches!(
                crate::coordinator::replicas::Strategy::from_replication(&ks.replication),
                crate::coordinator::replicas::Strategy::Local
            );
            engine.set_repair_tracking(t.id, !local);
        }
    }
    Ok(())
}

/// A row of a system table from column values (absent columns stay unset).
pub(crate) fn row_mutation(table: &Table, values: Vec<(&str, Value)>, ctx: &WriteContext) -> Result<Mutation, QueryError> {
    let mut pk = Vec::new();
    let mut ck = Vec::new();
    let mut row = Row {
        marker: Some(ctx.cell(Vec::new())),
        ..Row::default()
    };
    for col in &table.columns {
        let Some((_, v)) = values.iter().find(|(n, _)| *n == col.name) else {
            if matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                return Err(QueryError::Server {
                    message: format!("system row for {} lacks key column {}", table.name, col.name),
                });
            }
            continue;
        };
        match col.kind {
            ColumnKind::PartitionKey => pk.push(v.clone()),
            ColumnKind::Clustering => ck.push(v.clone()),
            _ => {
                row.columns.insert(col.name.clone(), assign(col, Some(v), ctx)?);
            }
        }
    }
    let mut m = Mutation::new(table.id, partition_position(table, &pk));
    let ck = encode_clustering(&table.clustering_types(), &ck).map_err(|e| QueryError::Server { message: e.to_string() })?;
    m.rows.push((ck, row));
    Ok(m)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn text_map(m: &BTreeMap<String, String>) -> Value {
    Value::Map(m.iter().map(|(k, v)| (text(k), text(v))).collect())
}

fn text_list(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(items.into_iter().map(Value::Text).collect())
}

fn system_table<'s>(schema: &'s Schema, ks: &str, name: &str) -> Result<&'s Arc<Table>, QueryError> {
    schema.table(ks, name).ok_or_else(|| QueryError::Server {
        message: format!("system table {ks}.{name} is missing"),
    })
}

fn context() -> WriteContext {
    WriteContext {
        timestamp: server_timestamp(),
        ttl: 0,
        now: now_seconds(),
    }
}

pub fn write_local(engine: &dyn StorageEngine, schema: &Schema, node: &NodeInfo) -> Result<(), QueryError> {
    let table = system_table(schema, "system", "local")?;
    let tokens = Value::Set({
        let mut t: Vec<i64> = node.tokens.clone();
        t.sort_unstable();
        let mut v: Vec<Value> = t.iter().map(|t| Value::Text(t.to_string())).collect();
        v.sort_by(|a, b| a.compare(b));
        v
    });
    let values = vec![
        ("key", text("local")),
        ("broadcast_address", Value::Inet(node.address)),
        ("broadcast_port", Value::Int(7000)),
        ("cluster_name", text(&node.cluster_name)),
        ("cql_version", text(CQL_VERSION)),
        ("data_center", text(&node.data_center)),
        ("gossip_generation", Value::Int(now_seconds() as i32)),
        ("host_id", Value::Uuid(node.host_id)),
        ("listen_address", Value::Inet(node.address)),
        ("listen_port", Value::Int(7000)),
        ("native_protocol_version", text("4")),
        ("partitioner", text(PARTITIONER)),
        ("rack", text(&node.rack)),
        ("release_version", text(RELEASE_VERSION)),
        ("rpc_address", Value::Inet(node.address)),
        ("rpc_port", Value::Int(i32::from(node.native_port))),
        ("schema_version", Value::Uuid(schema.version)),
        ("tokens", tokens),
    ];
    engine.apply(row_mutation(table, values, &context())?)?;
    Ok(())
}

/// Records how far this node got joining the ring (`COMPLETED`, `IN_PROGRESS`,
/// `DECOMMISSIONED`) in `system.local.bootstrapped`.
pub fn write_bootstrapped(engine: &dyn StorageEngine, schema: &Schema, state: &str) -> Result<(), QueryError> {
    let table = system_table(schema, "system", "local")?;
    let values = vec![("key", text("local")), ("bootstrapped", text(state))];
    engine.apply(row_mutation(table, values, &context())?)?;
    Ok(())
}

const SCHEMA_TABLES: [&str; 5] = ["keyspaces", "tables", "columns", "types", "indexes"];

/// Rewrites the `system_schema` tables from the schema in one atomic write: every
/// keyspace partition of `previous` and `schema` is deleted just before the new
/// rows are written, so a dropped keyspace disappears and nothing is half-written.
pub fn write_schema_tables(engine: &dyn StorageEngine, previous: Option<&Schema>, schema: &Schema) -> Result<(), QueryError> {
    let ctx = context();
    let mut mutations = Vec::new();
    let names: std::collections::BTreeSet<&String> = schema
        .keyspaces
        .keys()
        .chain(previous.iter().flat_map(|p| p.keyspaces.keys()))
        .collect();
    let deletion = crate::storage::DeletionTime {
        timestamp: ctx.timestamp - 1,
        local_deletion_time: ctx.now,
    };
    for name in SCHEMA_TABLES {
        let table = system_table(schema, "system_schema", name)?;
        for ks in &names {
            let mut m = Mutation::new(table.id, partition_position(table, &[text(ks)]));
            m.partition_deletion = Some(deletion);
            mutations.push(m);
        }
    }
    let keyspaces = system_table(schema, "system_schema", "keyspaces")?;
    let tables = system_table(schema, "system_schema", "tables")?;
    let columns = system_table(schema, "system_schema", "columns")?;
    let types = system_table(schema, "system_schema", "types")?;
    let indexes = system_table(schema, "system_schema", "indexes")?;
    for ks in schema.keyspaces.values() {
        mutations.push(row_mutation(
            keyspaces,
            vec![
                ("keyspace_name", text(&ks.name)),
                ("durable_writes", Value::Boolean(ks.durable_writes)),
                ("replication", text_map(&ks.replication)),
            ],
            &ctx,
        )?);
        for t in ks.tables.values() {
            let o = &t.options;
            let flags = Value::Set(vec![text("compound")]);
            mutations.push(row_mutation(
                tables,
                vec![
                    ("keyspace_name", text(&ks.name)),
                    ("table_name", text(&t.name)),
                    ("additional_write_policy", text(&o.additional_write_policy)),
                    ("bloom_filter_fp_chance", Value::Double(o.bloom_filter_fp_chance)),
                    ("caching", text_map(&o.caching)),
                    ("cdc", Value::Boolean(o.cdc)),
                    ("comment", text(&o.comment)),
                    ("compaction", text_map(&o.compaction)),
                    ("compression", text_map(&o.compression)),
                    ("crc_check_chance", Value::Double(o.crc_check_chance)),
                    ("default_time_to_live", Value::Int(o.default_time_to_live)),
                    ("extensions", Value::Map(Vec::new())),
                    ("flags", flags),
                    ("gc_grace_seconds", Value::Int(o.gc_grace_seconds)),
                    ("id", Value::Uuid(t.id)),
                    ("max_index_interval", Value::Int(o.max_index_interval)),
                    ("memtable_flush_period_in_ms", Value::Int(o.memtable_flush_period_in_ms)),
                    ("min_index_interval", Value::Int(o.min_index_interval)),
                    ("read_repair", text(&o.read_repair)),
                    ("speculative_retry", text(&o.speculative_retry)),
                ],
                &ctx,
            )?);
            for c in &t.columns {
                let order = match (c.kind, c.order) {
                    (ColumnKind::Clustering, Order::Asc) => "asc",
                    (ColumnKind::Clustering, Order::Desc) => "desc",
                    _ => "none",
                };
                mutations.push(row_mutation(
                    columns,
                    vec![
                        ("keyspace_name", text(&ks.name)),
                        ("table_name", text(&t.name)),
                        ("column_name", text(&c.name)),
                        ("clustering_order", text(order)),
                        ("column_name_bytes", Value::Blob(c.name.as_bytes().to_vec())),
                        ("kind", text(c.kind.as_str())),
                        ("position", Value::Int(c.position)),
                        ("type", text(&cql_type_name(&c.cql_type))),
                    ],
                    &ctx,
                )?);
            }
            for index in &t.indexes {
                let options = BTreeMap::from([("target".to_string(), index.target())]);
                mutations.push(row_mutation(
                    indexes,
                    vec![
                        ("keyspace_name", text(&ks.name)),
                        ("table_name", text(&t.name)),
                        ("index_name", text(&index.name)),
                        ("kind", text("COMPOSITES")),
                        ("options", text_map(&options)),
                    ],
                    &ctx,
                )?);
            }
        }
        for u in ks.types.values() {
            mutations.push(row_mutation(
                types,
                vec![
                    ("keyspace_name", text(&ks.name)),
                    ("type_name", text(&u.name)),
                    ("field_names", text_list(u.fields.iter().map(|(n, _)| n.clone()))),
                    ("field_types", text_list(u.fields.iter().map(|(_, t)| cql_type_name(t)))),
                ],
                &ctx,
            )?);
        }
    }
    engine.apply_all(mutations)?;
    Ok(())
}

/// Stores schema events in `system.schema_events` (one atomic write).
pub fn write_schema_events(
    engine: &dyn StorageEngine,
    schema: &Schema,
    events: &[crate::schema_events::SchemaEvent],
) -> Result<(), QueryError> {
    let table = system_table(schema, "system", "schema_events")?;
    let ctx = context();
    let mut mutations = Vec::with_capacity(events.len());
    for e in events {
        let mut values = vec![
            ("bucket", Value::Int(0)),
            ("ts", Value::Bigint(e.timestamp)),
            ("node", Value::Uuid(e.node)),
            ("statement", text(&e.statement)),
        ];
        if let Some(k) = &e.keyspace {
            values.push(("keyspace_name", text(k)));
        }
        mutations.push(row_mutation(table, values, &ctx)?);
    }
    engine.apply_all(mutations)?;
    Ok(())
}

/// Writes a peer's rows in `system.peers` and `system.peers_v2`.
pub fn write_peer(engine: &dyn StorageEngine, schema: &Schema, peer: &crate::cluster::peers::PeerInfo) -> Result<(), QueryError> {
    let (Some(host_id), Some(native)) = (peer.host_id, peer.native_address) else {
        return Ok(());
    };
    let tokens = Value::Set({
        let mut v: Vec<Value> = peer.tokens.iter().map(|t| Value::Text(t.to_string())).collect();
        v.sort_by(|a, b| a.compare(b));
        v
    });
    let schema_version = peer.schema_version.map(Value::Uuid);
    let ctx = context();
    let mut common = vec![
        ("data_center", text(&peer.data_center)),
        ("host_id", Value::Uuid(host_id)),
        ("rack", text(&peer.rack)),
        ("release_version", text(&peer.release_version)),
        ("tokens", tokens),
    ];
    if let Some(v) = schema_version {
        common.push(("schema_version", v));
    }
    let mut v1 = common.clone();
    v1.extend([
        ("peer", Value::Inet(peer.address)),
        ("rpc_address", Value::Inet(native)),
        ("preferred_ip", Value::Inet(peer.address)),
    ]);
    let mut v2 = common;
    v2.extend([
        ("peer", Value::Inet(peer.address)),
        ("peer_port", Value::Int(7000)),
        ("native_address", Value::Inet(native)),
        ("native_port", Value::Int(i32::from(peer.native_port))),
        ("preferred_ip", Value::Inet(peer.address)),
        ("preferred_port", Value::Int(7000)),
    ]);
    engine.apply_all(vec![
        row_mutation(system_table(schema, "system", "peers")?, v1, &ctx)?,
        row_mutation(system_table(schema, "system", "peers_v2")?, v2, &ctx)?,
    ])?;
    Ok(())
}

/// Deletes a node that left the ring from `system.peers`, `peers_v2` and
/// `cluster_status`.
pub fn delete_peer(engine: &dyn StorageEngine, schema: &Schema, address: IpAddr) -> Result<(), QueryError> {
    let deletion = crate::storage::DeletionTime {
        timestamp: server_timestamp(),
        local_deletion_time: now_seconds(),
    };
    let mut mutations = Vec::new();
    for name in ["peers", "peers_v2", "cluster_status"] {
        let table = system_table(schema, "system", name)?;
        let mut m = Mutation::new(table.id, partition_position(table, &[Value::Inet(address)]));
        m.partition_deletion = Some(deletion);
        mutations.push(m);
    }
    engine.apply_all(mutations)?;
    Ok(())
}

/// One line of `rustica status`, kept in `system.cluster_status` by gossip.
pub fn write_cluster_status(
    engine: &dyn StorageEngine,
    schema: &Schema,
    peer: &crate::cluster::peers::PeerInfo,
    up: bool,
) -> Result<(), QueryError> {
    let table = system_table(schema, "system", "cluster_status")?;
    let mut values = vec![
        ("peer", Value::Inet(peer.address)),
        ("state", text(&peer.state_code(up))),
        ("status", text(&peer.status)),
        ("data_center", text(&peer.data_center)),
        ("rack", text(&peer.rack)),
        ("tokens", Value::Int(peer.tokens.len() as i32)),
        ("load", Value::Bigint(peer.load)),
        ("updated_at", Value::Timestamp(chrono::Utc::now().timestamp_millis())),
    ];
    if let Some(h) = peer.host_id {
        values.push(("host_id", Value::Uuid(h)));
    }
    if let Some(v) = peer.schema_version {
        values.push(("schema_version", Value::Uuid(v)));
    }
    engine.apply(row_mutation(table, values, &context())?)?;
    Ok(())
}

/// One stream of a ring change, as `system.streams` (and `rustica streams`) shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRow {
    /// The operation and when it started, e.g. `bootstrap@2026-12-01T23:10:00Z`.
    pub operation: String,
    pub peer: IpAddr,
    /// `in` (this node receives), `out` (it sends) or `relay` (it copies between two others).
    pub direction: String,
    pub state: String,
    pub ranges_total: i32,
    pub ranges_done: i32,
    pub bytes: i64,
    pub rows: i64,
    pub mb_per_s: f64,
    pub started_at: i64,
}

pub fn write_stream(engine: &dyn StorageEngine, schema: &Schema, row: &StreamRow) -> Result<(), QueryError> {
    let table = system_table(schema, "system", "streams")?;
    let values = vec![
        ("operation", text(&row.operation)),
        ("peer", Value::Inet(row.peer)),
        ("direction", text(&row.direction)),
        ("state", text(&row.state)),
        ("ranges_total", Value::Int(row.ranges_total)),
        ("ranges_done", Value::Int(row.ranges_done)),
        ("bytes", Value::Bigint(row.bytes)),
        ("rows", Value::Bigint(row.rows)),
        ("mb_per_s", Value::Double(row.mb_per_s)),
        ("started_at", Value::Timestamp(row.started_at)),
        ("updated_at", Value::Timestamp(chrono::Utc::now().timestamp_millis())),
    ];
    engine.apply(row_mutation(table, values, &context())?)?;
    Ok(())
}

/// One repair run of one keyspace, as `system.repairs` (and `rustica repair`) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairRow {
    pub id: Uuid,
    pub keyspace: String,
    pub tables: Vec<String>,
    /// How it was asked for: `incremental` or `full`, `primary ranges`, the tokens.
    pub options: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    pub ranges_total: i32,
    pub ranges_done: i32,
    pub ranges_differing: i32,
    pub ranges_failed: i32,
    pub rows_streamed: i64,
    pub bytes_streamed: i64,
    pub bytes_compared: i64,
    pub rows_compared: i64,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

pub fn write_repair(engine: &dyn StorageEngine, schema: &Schema, row: &RepairRow) -> Result<(), QueryError> {
    let table = system_table(schema, "system", "repairs")?;
    let mut values = vec![
        ("id", Value::Uuid(row.id)),
        ("keyspace_name", text(&row.keyspace)),
        ("table_names", text(&row.tables.join(", "))),
        ("options", text(&row.options)),
        ("status", text(&row.status)),
        ("ranges_total", Value::Int(row.ranges_total)),
        ("ranges_done", Value::Int(row.ranges_done)),
        ("ranges_differing", Value::Int(row.ranges_differing)),
        ("ranges_failed", Value::Int(row.ranges_failed)),
        ("rows_streamed", Value::Bigint(row.rows_streamed)),
        ("bytes_streamed", Value::Bigint(row.bytes_streamed)),
        ("bytes_compared", Value::Bigint(row.bytes_compared)),
        ("rows_compared", Value::Bigint(row.rows_compared)),
        ("started_at", Value::Timestamp(row.started_at)),
    ];
    if let Some(finished) = row.finished_at {
        values.push(("finished_at", Value::Timestamp(finished)));
    }
    if let Some(error) = &row.error {
        values.push(("error", text(error)));
    }
    engine.apply(row_mutation(table, values, &context())?)?;
    Ok(())
}

/// Writes the coordinator's counters to `system.coordinator_metrics`.
pub fn write_metrics(engine: &dyn StorageEngine, schema: &Schema, metrics: &[(&str, i64)]) -> Result<(), QueryError> {
    let table = system_table(schema, "system", "coordinator_metrics")?;
    let ctx = context();
    let mutations = metrics
        .iter()
        .map(|(name, value)| row_mutation(table, vec![("name", text(name)), ("value", Value::Bigint(*value))], &ctx))
        .collect::<Result<Vec<_>, _>>()?;
    engine.apply_all(mutations)?;
    Ok(())
}
