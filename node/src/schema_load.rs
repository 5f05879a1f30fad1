//! What a node reads back from its system tables at start: its identity (host
//! id, tokens) from `system.local` and the schema event log from
//! `system.schema_events` (replayed into the schema by `schema_events`).

use std::collections::HashMap;

use cql_protocol::cql::ast::Statement;
use cql_protocol::cql::parse_statement;
use cql_protocol::value::Value;

use crate::clock::now_seconds;
use crate::error::QueryError;
use crate::query::literal::Binds;
use crate::query::select;
use crate::schema::Schema;
use crate::schema_events::SchemaEvent;
use crate::storage::StorageEngine;

type Row = HashMap<String, Value>;

fn corrupt(what: &str) -> QueryError {
    QueryError::Server {
        message: format!("the stored schema is unreadable: {what}"),
    }
}

/// Every row of a system table, as column name → value.
fn rows(engine: &dyn StorageEngine, schema: &Schema, table: &str) -> Result<Vec<Row>, QueryError> {
    let Statement::Select(sel) = parse_statement(&format!("SELECT * FROM {table}")).map_err(|e| corrupt(&e.to_string()))? else {
        return Err(corrupt("not a select"));
    };
    let (ks, name) = table.split_once('.').ok_or_else(|| corrupt(table))?;
    let t = schema.table(ks, name).ok_or_else(|| corrupt(table))?.clone();
    let compiled = select::compile(t, &sel)?;
    let opts = select::ReadOptions {
        page_size: None,
        paging_state: None,
        now: now_seconds(),
    };
    let result = select::execute(engine, &compiled, &sel, &Binds::default(), &opts)?;
    let mut out = Vec::with_capacity(result.rows.len());
    for r in result.rows {
        let mut row = Row::new();
        for (spec, cell) in compiled.columns.iter().zip(r) {
            if let Some(bytes) = cell {
                let v = Value::deserialize(&spec.ty, &bytes).map_err(|e| corrupt(&e.to_string()))?;
                row.insert(spec.name.clone(), v);
            }
        }
        out.push(row);
    }
    Ok(out)
}

fn text<'r>(row: &'r Row, name: &str) -> Result<&'r str, QueryError> {
    match row.get(name) {
        Some(Value::Text(s) | Value::Ascii(s)) => Ok(s),
        _ => Err(corrupt(&format!("missing text column {name}"))),
    }
}

/// What `system.local` says of this node from an earlier run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIdentity {
    pub host_id: uuid::Uuid,
    pub tokens: Vec<i64>,
    /// `system.local.bootstrapped`: `None` when never written.
    pub bootstrapped: Option<String>,
}

/// The identity this node stored in `system.local`, if it has started before.
pub fn stored_identity(engine: &dyn StorageEngine, schema: &Schema) -> Result<Option<StoredIdentity>, QueryError> {
    let Some(row) = rows(engine, schema, "system.local")?.into_iter().next() else {
        return Ok(None);
    };
    let host_id = match row.get("host_id") {
        Some(Value::Uuid(u)) => *u,
        _ => return Ok(None),
    };
    let tokens = match row.get("tokens") {
        Some(Value::Set(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::Text(t) => t.parse().ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let bootstrapped = text(&row, "bootstrapped").ok().map(str::to_string);
    Ok(Some(StoredIdentity {
        host_id,
        tokens,
        bootstrapped,
    }))
}

/// Who this node is: the identity an earlier run stored (host id, tokens), else
/// `fresh`; and `system.local.bootstrapped` as this start found it (`None`: a
/// new node). Opens the system tables' storage to read it.
pub fn identity(
    engine: &dyn StorageEngine,
    mut fresh: crate::system::NodeInfo,
) -> Result<(crate::system::NodeInfo, Option<String>), QueryError> {
    let base = crate::system::initial_schema()?;
    crate::system::create_storage(engine, &base)?;
    let stored = stored_identity(engine, &base)?;
    if let Some(identity) = &stored {
        fresh.host_id = identity.host_id;
        if !identity.tokens.is_empty() {
            fresh.tokens = identity.tokens.clone();
        }
    }
    Ok((fresh, stored.and_then(|s| s.bootstrapped)))
}

/// The schema events this node has stored.
pub fn stored_events(engine: &dyn StorageEngine, schema: &Schema) -> Result<Vec<SchemaEvent>, QueryError> {
    let mut events = Vec::new();
    for row in rows(engine, schema, "system.schema_events")? {
        let (Some(Value::Bigint(timestamp)), Some(Value::Uuid(node))) = (row.get("ts"), row.get("node")) else {
            return Err(corrupt("a schema event lacks its id"));
        };
        let keyspace = text(&row, "keyspace_name").ok().map(str::to_string);
        events.push(SchemaEvent {
            timestamp: *timestamp,
            node: *node,
            keyspace,
            statement: text(&row, "statement")?.to_string(),
        });
    }
    Ok(events)
}
