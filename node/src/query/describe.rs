//! Server-side DESCRIBE (what cqlsh 6 sends to servers of release 4.0 and later):
//! listings answer rows of (keyspace_name, type, name); element and schema
//! describes add `create_statement`, the CQL that recreates the element.

use cql_protocol::cql::ast::{Describe, Order, QualifiedName};
use cql_protocol::cql::quote_identifier;
use cql_protocol::response::{ColumnSpec, Rows, RowsMetadata};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;

use crate::error::QueryError;
use crate::schema::{cql_type_name, ColumnKind, Index, Keyspace, Schema, Table, UserType};
use crate::system::{NodeInfo, PARTITIONER};

fn spec(name: &str) -> ColumnSpec {
    ColumnSpec {
        keyspace: String::new(),
        table: "describe".into(),
        name: name.into(),
        ty: ColumnType::Varchar,
    }
}

pub(crate) fn rows(names: &[&str], data: Vec<Vec<String>>) -> Rows {
    Rows {
        metadata: RowsMetadata {
            columns: names.iter().map(|n| spec(n)).collect(),
            column_count: names.len(),
            paging_state: None,
            no_metadata: false,
        },
        rows: data
            .into_iter()
            .map(|r| r.into_iter().map(|s| Some(Value::Text(s).to_bytes())).collect())
            .collect(),
    }
}

const LISTING: [&str; 3] = ["keyspace_name", "type", "name"];
const ELEMENT: [&str; 4] = ["keyspace_name", "type", "name", "create_statement"];

fn q(name: &str) -> String {
    quote_identifier(name)
}

fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn map_literal(m: &std::collections::BTreeMap<String, String>) -> String {
    let items: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{}: {}", string_literal(k), string_literal(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

pub fn keyspace_cql(ks: &Keyspace) -> String {
    let mut replication = ks.replication.clone();
    if let Some(class) = replication.get_mut("class") {
        if let Some(short) = class.strip_prefix("org.apache.cassandra.locator.") {
            *class = short.to_string();
        }
    }
    format!(
        "CREATE KEYSPACE {} WITH replication = {}  AND durable_writes = {};",
        q(&ks.name),
        map_literal(&replication),
        ks.durable_writes
    )
}

pub fn type_cql(t: &UserType) -> String {
    let fields: Vec<String> = t
        .fields
        .iter()
        .map(|(n, ty)| format!("    {} {}", q(n), cql_type_name(ty)))
        .collect();
    format!("CREATE TYPE {}.{} (\n{}\n);", q(&t.keyspace), q(&t.name), fields.join(",\n"))
}

pub fn table_cql(t: &Table) -> String {
    let mut lines = Vec::new();
    let single_key = t.partition_key_len == 1 && t.clustering_len == 0;
    for c in &t.columns {
        let mut line = format!("    {} {}", q(&c.name), cql_type_name(&c.cql_type));
        if c.kind == ColumnKind::Static {
            line.push_str(" static");
        }
        if single_key && c.kind == ColumnKind::PartitionKey {
            line.push_str(" PRIMARY KEY");
        }
        lines.push(line);
    }
    if !single_key {
        let pk: Vec<String> = t.partition_key().iter().map(|c| q(&c.name)).collect();
        let pk = if pk.len() == 1 {
            pk.join("")
        } else {
            format!("({})", pk.join(", "))
        };
        let mut key = vec![pk];
        key.extend(t.clustering().iter().map(|c| q(&c.name)));
        lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
    }
    let o = &t.options;
    let mut with = Vec::new();
    if t.clustering_len > 0 {
        let order: Vec<String> = t
            .clustering()
            .iter()
            .map(|c| format!("{} {}", q(&c.name), if c.order == Order::Desc { "DESC" } else { "ASC" }))
            .collect();
        with.push(format!("CLUSTERING ORDER BY ({})", order.join(", ")));
    }
    with.extend([
        format!("additional_write_policy = {}", string_literal(&o.additional_write_policy)),
        format!("bloom_filter_fp_chance = {}", o.bloom_filter_fp_chance),
        format!("caching = {}", map_literal(&o.caching)),
        format!("cdc = {}", o.cdc),
        format!("comment = {}", string_literal(&o.comment)),
        format!("compaction = {}", map_literal(&o.compaction)),
        format!("compression = {}", map_literal(&o.compression)),
        format!("crc_check_chance = {:?}", o.crc_check_chance),
        format!("default_time_to_live = {}", o.default_time_to_live),
        "extensions = {}".to_string(),
        format!("gc_grace_seconds = {}", o.gc_grace_seconds),
        format!("max_index_interval = {}", o.max_index_interval),
        format!("memtable_flush_period_in_ms = {}", o.memtable_flush_period_in_ms),
        format!("min_index_interval = {}", o.min_index_interval),
        format!("read_repair = {}", string_literal(&o.read_repair)),
        format!("speculative_retry = {}", string_literal(&o.speculative_retry)),
    ]);
    format!(
        "CREATE TABLE {}.{} (\n{}\n) WITH {};",
        q(&t.keyspace),
        q(&t.name),
        lines.join(",\n"),
        with.join("\n    AND ")
    )
}

/// `CREATE INDEX name ON ks.table (target);` as Cassandra's DESCRIBE prints it.
pub fn index_cql(t: &Table, index: &Index) -> String {
    format!(
        "CREATE INDEX {} ON {}.{} ({});",
        q(&index.name),
        q(&t.keyspace),
        q(&t.name),
        index.target()
    )
}

/// A table's element row, then one row per index of the table.
fn table_rows(t: &Table) -> Vec<Vec<String>> {
    let mut out = vec![vec![t.keyspace.clone(), "table".into(), t.name.clone(), table_cql(t)]];
    for index in &t.indexes {
        out.push(vec![t.keyspace.clone(), "index".into(), index.name.clone(), index_cql(t, index)]);
    }
    out
}

fn keyspace_rows(ks: &Keyspace, only: bool) -> Vec<Vec<String>> {
    let mut out = vec![vec![ks.name.clone(), "keyspace".into(), ks.name.clone(), keyspace_cql(ks)]];
    if only {
        return out;
    }
    for t in ks.types.values() {
        out.push(vec![ks.name.clone(), "type".into(), t.name.clone(), type_cql(t)]);
    }
    for t in ks.tables.values() {
        out.extend(table_rows(t));
    }
    out
}

pub fn describe(schema: &Schema, session_keyspace: Option<&str>, d: &Describe, node: &NodeInfo) -> Result<Rows, QueryError> {
    let keyspace = |name: Option<&str>| -> Result<&Keyspace, QueryError> {
        let name = name
            .or(session_keyspace)
            .ok_or_else(|| QueryError::invalid("No keyspace specified and no current keyspace"))?;
        schema
            .keyspace(name)
            .ok_or_else(|| QueryError::invalid(format!("'{name}' not found in keyspaces")))
    };
    let table = |qn: &QualifiedName| -> Result<&Table, QueryError> {
        let ks = keyspace(qn.keyspace.as_deref())?;
        ks.tables
            .get(&qn.name)
            .map(|t| t.as_ref())
            .ok_or_else(|| QueryError::invalid(format!("'{}' not found in keyspace '{}'", qn.name, ks.name)))
    };
    Ok(match d {
        Describe::Cluster => rows(
            &["cluster", "partitioner", "snitch"],
            vec![vec![
                node.cluster_name.clone(),
                PARTITIONER.into(),
                "org.apache.cassandra.locator.SimpleSnitch".into(),
            ]],
        ),
        Describe::Keyspaces => rows(
            &LISTING,
            schema
                .keyspaces
                .values()
                .map(|k| vec![k.name.clone(), "keyspace".into(), k.name.clone()])
                .collect(),
        ),
        Describe::Tables => rows(
            &LISTING,
            schema
                .keyspaces
                .values()
                .filter(|k| session_keyspace.is_none_or(|s| s == k.name))
                .flat_map(|k| k.tables.values().map(move |t| vec![k.name.clone(), "table".into(), t.name.clone()]))
                .collect(),
        ),
        Describe::Types => rows(
            &LISTING,
            schema
                .keyspaces
                .values()
                .filter(|k| session_keyspace.is_none_or(|s| s == k.name))
                .flat_map(|k| k.types.values().map(move |t| vec![k.name.clone(), "type".into(), t.name.clone()]))
                .collect(),
        ),
        Describe::Functions | Describe::Aggregates => rows(&LISTING, Vec::new()),
        Describe::Keyspace { name, only } => rows(&ELEMENT, keyspace_rows(keyspace(name.as_deref())?, *only)),
        Describe::Table(qn) => rows(&ELEMENT, table_rows(table(qn)?)),
        Describe::Index(qn) => {
            let ks = keyspace(qn.keyspace.as_deref())?;
            let (t, index) =
                index_of(ks, &qn.name).ok_or_else(|| QueryError::invalid(format!("'{}' not found in keyspace '{}'", qn.name, ks.name)))?;
            rows(
                &ELEMENT,
                vec![vec![ks.name.clone(), "index".into(), index.name.clone(), index_cql(t, index)]],
            )
        }
        Describe::Type(qn) => {
            let ks = keyspace(qn.keyspace.as_deref())?;
            let t = ks
                .types
                .get(&qn.name)
                .ok_or_else(|| QueryError::invalid(format!("User defined type '{}' not found in '{}'", qn.name, ks.name)))?;
            rows(&ELEMENT, vec![vec![ks.name.clone(), "type".into(), t.name.clone(), type_cql(t)]])
        }
        Describe::Schema { full } => rows(
            &ELEMENT,
            schema
                .keyspaces
                .values()
                .filter(|k| *full || !k.system)
                .flat_map(|k| keyspace_rows(k, false))
                .collect(),
        ),
        Describe::Name(qn) => {
            if qn.keyspace.is_none() && schema.keyspace(&qn.name).is_some() {
                return describe(
                    schema,
                    session_keyspace,
                    &Describe::Keyspace {
                        name: Some(qn.name.clone()),
                        only: false,
                    },
                    node,
                );
            }
            let ks = keyspace(qn.keyspace.as_deref())?;
            if let Some(t) = ks.tables.get(&qn.name) {
                rows(&ELEMENT, table_rows(t))
            } else if let Some((t, index)) = index_of(ks, &qn.name) {
                rows(
                    &ELEMENT,
                    vec![vec![ks.name.clone(), "index".into(), index.name.clone(), index_cql(t, index)]],
                )
            } else if let Some(t) = ks.types.get(&qn.name) {
                rows(&ELEMENT, vec![vec![ks.name.clone(), "type".into(), t.name.clone(), type_cql(t)]])
            } else {
                return Err(QueryError::invalid(format!("'{}' not found in keyspace '{}'", qn.name, ks.name)));
            }
        }
    })
}

fn index_of<'k>(ks: &'k Keyspace, name: &str) -> Option<(&'k Table, &'k Index)> {
    ks.tables.values().find_map(|t| t.index(name).map(|i| (t.as_ref(), i)))
}
