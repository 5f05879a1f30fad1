//! Schema changes: CREATE/ALTER/DROP of keyspaces, tables and types, validated
//! as Cassandra validates them, applied to a copy of the schema (see
//! `SchemaStore::update`). Returns what changed, for Schema_change results.

use std::collections::BTreeMap;
use std::sync::Arc;

use cql_protocol::cql::ast::{
    AlterKeyspace, AlterTable, AlterTableAction, ColumnDef, CqlType, CreateIndex, CreateKeyspace, CreateTable, CreateType, DropIndex,
    DropKeyspace, DropTable, DropType, IndexTargetKind, NativeType, Order, Property, Term,
};
use cql_protocol::response::{SchemaChange, SchemaChangeTarget, SchemaChangeType};
use uuid::Uuid;

use crate::error::QueryError;
use crate::schema::{qualify_type, Column, ColumnKind, Index, Keyspace, Schema, Table, TableOptions, UserType};
use crate::storage::key::check_key_type;

fn change(change: SchemaChangeType, target: SchemaChangeTarget) -> SchemaChange {
    SchemaChange { change, target }
}

fn keyspace_target(name: &str) -> SchemaChangeTarget {
    SchemaChangeTarget::Keyspace {
        keyspace: name.to_string(),
    }
}

fn table_target(ks: &str, name: &str) -> SchemaChangeTarget {
    SchemaChangeTarget::Table {
        keyspace: ks.to_string(),
        name: name.to_string(),
    }
}

/// System keyspaces whose replication ALTER KEYSPACE may change.
const ALTERABLE_SYSTEM_KEYSPACES: [&str; 3] = ["system_auth", "system_distributed", "system_traces"];

pub fn not_modifiable(ks: &str) -> QueryError {
    QueryError::Unauthorized {
        message: format!("{ks} keyspace is not user-modifiable."),
    }
}

fn user_keyspace<'s>(schema: &'s mut Schema, name: &str) -> Result<&'s mut Keyspace, QueryError> {
    match schema.keyspaces.get_mut(name) {
        Some(ks) if ks.system => Err(not_modifiable(name)),
        Some(ks) => Ok(ks),
        None => Err(QueryError::invalid(format!("Keyspace '{name}' doesn't exist"))),
    }
}

fn term_text(term: &Term) -> String {
    match term {
        Term::String(s) | Term::Integer(s) | Term::Float(s) => s.clone(),
        Term::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn property_map(p: &Property) -> Result<BTreeMap<String, String>, QueryError> {
    match &p.value {
        Term::Map(pairs) => Ok(pairs.iter().map(|(k, v)| (term_text(k), term_text(v))).collect()),
        _ => Err(QueryError::Syntax {
            message: format!("Invalid value for property '{}': expected a map", p.name),
        }),
    }
}

/// `replication = {...}` validated and normalised to full class names.
/// A replication factor as Cassandra's ReplicationFactor reads it: a
/// number, not negative; `context` says where it was given (" for dc1").
fn replication_factor(rf: &str, context: &str) -> Result<(), QueryError> {
    match rf.trim().parse::<i64>() {
        Err(_) => Err(QueryError::Config {
            message: format!("Replication factor must be numeric; found {rf}"),
        }),
        Ok(n) if n < 0 => Err(QueryError::Config {
            message: format!("Replication factor must be non-negative; found {rf}{context}"),
        }),
        Ok(_) => Ok(()),
    }
}

fn replication(properties: &[Property]) -> Result<Option<BTreeMap<String, String>>, QueryError> {
    let Some(p) = properties.iter().find(|p| p.name == "replication") else {
        return Ok(None);
    };
    let mut map = property_map(p)?;
    let class = map.remove("class").ok_or_else(|| QueryError::Config {
        message: "Missing replication strategy class".into(),
    })?;
    let short = class.rsplit('.').next().unwrap_or(&class).to_string();
    let full = match short.as_str() {
        "SimpleStrategy" => {
            let rf = map.get("replication_factor").ok_or_else(|| QueryError::Config {
                message: "SimpleStrategy requires a replication_factor strategy option.".into(),
            })?;
            replication_factor(rf, "")?;
            if map.len() > 1 {
                let extra: Vec<_> = map.keys().filter(|k| *k != "replication_factor").cloned().collect();
                return Err(QueryError::Config {
                    message: format!("Unrecognized strategy option {{{}}} passed to SimpleStrategy", extra.join(", ")),
                });
            }
            "org.apache.cassandra.locator.SimpleStrategy"
        }
        "NetworkTopologyStrategy" => {
            for (dc, rf) in &map {
                replication_factor(rf, &format!(" for {dc}"))?;
            }
            "org.apache.cassandra.locator.NetworkTopologyStrategy"
        }
        "LocalStrategy" | "EverywhereStrategy" => {
            return Err(QueryError::Config {
                message: format!("Unable to use given strategy class: {class} is reserved for internal use."),
            })
        }
        _ => {
            return Err(QueryError::Config {
                message: format!(
                    "Unable to find replication strategy class '{}'",
                    if class.contains('.') {
                        class.clone()
                    } else {
                        format!("org.apache.cassandra.locator.{class}")
                    }
                ),
            })
        }
    };
    map.insert("class".into(), full.into());
    Ok(Some(map))
}

/// A NetworkTopologyStrategy option must name a data centre of the cluster
/// (`known`), as Cassandra checks (`replication_factor` stands for all of them).
pub fn check_data_centres(keyspace: &str, properties: &[Property], known: &[&str]) -> Result<(), QueryError> {
    let Some(map) = replication(properties)? else {
        return Ok(());
    };
    if map.get("class").map(String::as_str) != Some("org.apache.cassandra.locator.NetworkTopologyStrategy") {
        return Ok(());
    }
    match map
        .keys()
        .find(|k| *k != "class" && *k != "replication_factor" && !known.contains(&k.as_str()))
    {
        Some(unknown) => Err(QueryError::Config {
            message: format!("Unrecognized strategy option {{{unknown}}} passed to NetworkTopologyStrategy for keyspace {keyspace}"),
        }),
        None => Ok(()),
    }
}

fn durable_writes(properties: &[Property]) -> Result<Option<bool>, QueryError> {
    match properties.iter().find(|p| p.name == "durable_writes") {
        None => Ok(None),
        Some(p) => match &p.value {
            Term::Boolean(b) => Ok(Some(*b)),
            Term::String(s) => Ok(Some(s.eq_ignore_ascii_case("true"))),
            _ => Err(QueryError::Syntax {
                message: "Invalid value for durable_writes: expected true or false".into(),
            }),
        },
    }
}

fn check_keyspace_properties(properties: &[Property]) -> Result<(), QueryError> {
    for p in properties {
        if p.name != "replication" && p.name != "durable_writes" {
            return Err(QueryError::Syntax {
                message: format!("Unknown property '{}'", p.name),
            });
        }
    }
    Ok(())
}

pub fn create_keyspace(schema: &mut Schema, stmt: &CreateKeyspace) -> Result<Option<SchemaChange>, QueryError> {
    check_keyspace_properties(&stmt.properties)?;
    if schema.keyspaces.contains_key(&stmt.name) {
        if stmt.if_not_exists {
            return Ok(None);
        }
        return Err(QueryError::AlreadyExists {
            keyspace: stmt.name.clone(),
            table: String::new(),
            message: format!("Cannot add existing keyspace \"{}\"", stmt.name),
        });
    }
    validate_name(&stmt.name, "Keyspace")?;
    let replication = replication(&stmt.properties)?.ok_or_else(|| QueryError::Config {
        message: "Missing mandatory option 'replication'".into(),
    })?;
    schema.keyspaces.insert(
        stmt.name.clone(),
        Keyspace {
            name: stmt.name.clone(),
            replication,
            durable_writes: durable_writes(&stmt.properties)?.unwrap_or(true),
            tables: BTreeMap::new(),
            types: BTreeMap::new(),
            system: false,
        },
    );
    Ok(Some(change(SchemaChangeType::Created, keyspace_target(&stmt.name))))
}

fn validate_name(name: &str, what: &str) -> Result<(), QueryError> {
    if name.is_empty() || name.len() > 48 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(QueryError::invalid(format!(
            "{what} name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"{name}\")"
        )));
    }
    Ok(())
}

pub fn alter_keyspace(schema: &mut Schema, stmt: &AlterKeyspace) -> Result<Option<SchemaChange>, QueryError> {
    check_keyspace_properties(&stmt.properties)?;
    if !schema.keyspaces.contains_key(&stmt.name) && stmt.if_exists {
        return Ok(None);
    }
    // The replicated system keyspaces may get another replication, as in
    // Cassandra (raise system_auth's RF so logins survive a node down).
    let alterable = schema
        .keyspace(&stmt.name)
        .is_some_and(|k| k.system && ALTERABLE_SYSTEM_KEYSPACES.contains(&stmt.name.as_str()));
    let ks = match schema.keyspaces.get_mut(&stmt.name) {
        Some(ks) if alterable => ks,
        _ => user_keyspace(schema, &stmt.name)?,
    };
    if let Some(r) = replication(&stmt.properties)? {
        ks.replication = r;
    }
    if let Some(d) = durable_writes(&stmt.properties)? {
        ks.durable_writes = d;
    }
    Ok(Some(change(SchemaChangeType::Updated, keyspace_target(&stmt.name))))
}

/// Returns the change and the ids of the tables dropped with the keyspace.
pub fn drop_keyspace(schema: &mut Schema, stmt: &DropKeyspace) -> Result<Option<(SchemaChange, Vec<Uuid>)>, QueryError> {
    if !schema.keyspaces.contains_key(&stmt.name) && stmt.if_exists {
        return Ok(None);
    }
    user_keyspace(schema, &stmt.name)?;
    let ks = schema.keyspaces.remove(&stmt.name);
    let ids = ks.map(|k| k.tables.values().map(|t| t.id).collect()).unwrap_or_default();
    Ok(Some((change(SchemaChangeType::Dropped, keyspace_target(&stmt.name)), ids)))
}

fn resolve_column_type(schema: &Schema, ks: &str, ty: &CqlType) -> Result<(CqlType, cql_protocol::types::ColumnType), QueryError> {
    let qualified = qualify_type(ty, ks);
    let resolved = schema.column_type(ks, &qualified).map_err(QueryError::invalid)?;
    Ok((qualified, resolved))
}

fn is_frozen_or_simple(ty: &CqlType) -> bool {
    matches!(ty, CqlType::Native(_) | CqlType::Frozen(_) | CqlType::Tuple(_) | CqlType::Custom(_))
}

/// Applies WITH options to table options; unknown options are a syntax error, as in Cassandra.
fn apply_table_properties(options: &mut TableOptions, properties: &[Property]) -> Result<(), QueryError> {
    let int = |p: &Property| -> Result<i32, QueryError> {
        term_text(&p.value).parse::<i32>().map_err(|_| QueryError::Syntax {
            message: format!("Invalid integer value for property '{}'", p.name),
        })
    };
    let float = |p: &Property| -> Result<f64, QueryError> {
        term_text(&p.value).parse::<f64>().map_err(|_| QueryError::Syntax {
            message: format!("Invalid double value for property '{}'", p.name),
        })
    };
    for p in properties {
        match p.name.as_str() {
            "comment" => options.comment = term_text(&p.value),
            "default_time_to_live" => {
                let ttl = int(p)?;
                if !(0..=crate::query::modify::MAX_TTL).contains(&ttl) {
                    return Err(QueryError::Config {
                        message: format!("default_time_to_live must be between 0 and {}", crate::query::modify::MAX_TTL),
                    });
                }
                options.default_time_to_live = ttl;
            }
            "gc_grace_seconds" => options.gc_grace_seconds = int(p)?,
            "bloom_filter_fp_chance" => options.bloom_filter_fp_chance = float(p)?,
            "crc_check_chance" => options.crc_check_chance = float(p)?,
            "speculative_retry" => options.speculative_retry = term_text(&p.value),
            "additional_write_policy" => options.additional_write_policy = term_text(&p.value),
            "read_repair" => options.read_repair = term_text(&p.value),
            "memtable_flush_period_in_ms" => options.memtable_flush_period_in_ms = int(p)?,
            "min_index_interval" => options.min_index_interval = int(p)?,
            "max_index_interval" => options.max_index_interval = int(p)?,
            "caching" => options.caching = property_map(p)?,
            "compaction" => {
                let mut m = property_map(p)?;
                let class = m.get("class").cloned().ok_or_else(|| QueryError::Config {
                    message: "Missing sub-option 'class' for the 'compaction' option.".into(),
                })?;
                if !class.contains('.') {
                    m.insert("class".into(), format!("org.apache.cassandra.db.compaction.{class}"));
                }
                options.compaction = m;
            }
            "compression" => {
                let mut m = property_map(p)?;
                if let Some(class) = m.get("class").cloned() {
                    if !class.contains('.') {
                        m.insert("class".into(), format!("org.apache.cassandra.io.compress.{class}"));
                    }
                }
                options.compression = m;
            }
            "cdc" => options.cdc = term_text(&p.value).eq_ignore_ascii_case("true"),
            // Accepted and ignored, as newer Cassandra versions also write them in DESCRIBE output.
            "extensions" | "memtable" | "read_repair_chance" | "dclocal_read_repair_chance" | "id" => {}
            other => {
                return Err(QueryError::Syntax {
                    message: format!("Unknown property '{other}'"),
                })
            }
        }
    }
    Ok(())
}

pub fn create_table(
    schema: &mut Schema,
    ks_name: &str,
    stmt: &CreateTable,
    id: Uuid,
) -> Result<Option<(SchemaChange, Arc<Table>)>, QueryError> {
    let ks = schema
        .keyspaces
        .get(ks_name)
        .ok_or_else(|| QueryError::invalid(format!("Keyspace '{ks_name}' doesn't exist")))?;
    if ks.system {
        return Err(not_modifiable(ks_name));
    }
    if ks.tables.contains_key(&stmt.name.name) {
        if stmt.if_not_exists {
            return Ok(None);
        }
        return Err(QueryError::AlreadyExists {
            keyspace: ks_name.to_string(),
            table: stmt.name.name.clone(),
            message: format!("Cannot add already existing table \"{}\" to keyspace \"{ks_name}\"", stmt.name.name),
        });
    }
    validate_name(&stmt.name.name, "Table")?;
    let table = build_table(schema, ks_name, stmt, id)?;
    let table = Arc::new(table);
    if let Some(ks) = schema.keyspaces.get_mut(ks_name) {
        ks.tables.insert(table.name.clone(), table.clone());
    }
    Ok(Some((change(SchemaChangeType::Created, table_target(ks_name, &table.name)), table)))
}

/// Builds a table definition; also used for the node's own system tables.
pub fn build_table(schema: &Schema, ks_name: &str, stmt: &CreateTable, id: Uuid) -> Result<Table, QueryError> {
    if stmt.compact_storage {
        return Err(QueryError::invalid(
            "COMPACT STORAGE tables are not supported (they were removed in Cassandra 4.0)",
        ));
    }
    if stmt.partition_key.is_empty() {
        // The parser refuses this first; a statement built otherwise gets the same words.
        return Err(QueryError::invalid(format!(
            "No PRIMARY KEY specifed for table '{}' (exactly one required)",
            stmt.name.unquoted()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &stmt.columns {
        if !seen.insert(c.name.as_str()) {
            // Cassandra checks this while parsing, so the table is named as written.
            return Err(QueryError::invalid(format!(
                "Duplicate column '{}' declaration for table '{}'",
                c.name,
                stmt.name.unquoted()
            )));
        }
    }
    let def = |name: &str| -> Result<&ColumnDef, QueryError> {
        stmt.columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| QueryError::invalid(format!("Unknown definition {name} referenced in PRIMARY KEY")))
    };
    let mut columns = Vec::new();
    for (kind, names) in [
        (ColumnKind::PartitionKey, &stmt.partition_key),
        (ColumnKind::Clustering, &stmt.clustering_key),
    ] {
        for (i, name) in names.iter().enumerate() {
            let d = def(name)?;
            if d.is_static {
                return Err(QueryError::invalid(format!(
                    "Static column {name} cannot be part of the PRIMARY KEY"
                )));
            }
            if !is_frozen_or_simple(&d.ty) {
                return Err(QueryError::invalid(format!(
                    "Invalid non-frozen collection type {} for PRIMARY KEY component {name}",
                    crate::schema::cql_type_name(&d.ty)
                )));
            }
            if d.ty == CqlType::Native(NativeType::Counter) {
                return Err(QueryError::invalid(format!(
                    "counter type is not supported for PRIMARY KEY column '{name}'"
                )));
            }
            let (cql_type, ty) = resolve_column_type(schema, ks_name, &d.ty)?;
            check_key_type(&ty)
                .map_err(|_| QueryError::invalid(format!("duration type is not supported for PRIMARY KEY column '{name}'")))?;
            let order = stmt
                .clustering_order
                .iter()
                .find(|(c, _)| c == name)
                .map(|(_, o)| *o)
                .unwrap_or(Order::Asc);
            columns.push(Column {
                name: name.clone(),
                cql_type,
                ty,
                kind,
                position: i as i32,
                order,
            });
        }
    }
    // Cassandra 5.0's CreateTableStatement.builder: columns that are not
    // clustering columns first (4.x only compared the counts), then each
    // ordered column against the clustering column at its place.
    let not_clustering: Vec<&str> = stmt
        .clustering_order
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !stmt.clustering_key.iter().any(|c| c == name))
        .collect();
    if !not_clustering.is_empty() {
        return Err(QueryError::invalid(format!(
            "Only clustering key columns can be defined in CLUSTERING ORDER directive: [{}] are not clustering columns",
            not_clustering.join(", ")
        )));
    }
    for (i, (name, _)) in stmt.clustering_order.iter().enumerate() {
        let Some(expected) = stmt.clustering_key.get(i) else { break };
        if expected != name {
            let ordered = stmt.clustering_order.iter().any(|(n, _)| n == expected);
            return Err(QueryError::invalid(if ordered {
                format!(
                    "The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns ({expected} must appear before {name})"
                )
            } else {
                format!("Missing CLUSTERING ORDER for column {expected}")
            }));
        }
    }
    let mut rest: Vec<Column> = Vec::new();
    for d in &stmt.columns {
        if stmt.partition_key.contains(&d.name) || stmt.clustering_key.contains(&d.name) {
            continue;
        }
        if d.is_static && stmt.clustering_key.is_empty() {
            return Err(QueryError::invalid(
                "Static columns are only useful (and thus allowed) if the table has at least one clustering column",
            ));
        }
        let (cql_type, ty) = resolve_column_type(schema, ks_name, &d.ty)?;
        let kind = if d.is_static { ColumnKind::Static } else { ColumnKind::Regular };
        rest.push(Column {
            name: d.name.clone(),
            cql_type,
            ty,
            kind,
            position: -1,
            order: Order::Asc,
        });
    }
    let counters = rest.iter().filter(|c| c.is_counter()).count();
    if counters > 0 && counters != rest.len() {
        return Err(QueryError::invalid("Cannot mix counter and non counter columns in the same table"));
    }
    rest.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    columns.extend(rest);
    let mut options = TableOptions::default();
    apply_table_properties(&mut options, &stmt.properties)?;
    if counters > 0 && options.default_time_to_live > 0 {
        return Err(QueryError::invalid("Cannot set default_time_to_live on a table with counters"));
    }
    Ok(Table {
        keyspace: ks_name.to_string(),
        name: stmt.name.name.clone(),
        id,
        columns,
        partition_key_len: stmt.partition_key.len(),
        clustering_len: stmt.clustering_key.len(),
        options,
        system: false,
        indexes: Vec::new(),
    })
}

pub fn alter_table(schema: &mut Schema, ks_name: &str, stmt: &AlterTable) -> Result<Option<SchemaChange>, QueryError> {
    let existing = match schema.table(ks_name, &stmt.name.name) {
        Some(t) => t.clone(),
        None if stmt.if_exists => return Ok(None),
        None => return Err(QueryError::invalid(format!("Table '{ks_name}.{}' doesn't exist", stmt.name.name))),
    };
    if schema.keyspace(ks_name).is_some_and(|k| k.system) {
        return Err(not_modifiable(ks_name));
    }
    let mut table = (*existing).clone();
    match &stmt.action {
        AlterTableAction::Add(defs) => {
            for d in defs {
                if table.column(&d.name).is_some() {
                    return Err(QueryError::invalid(format!("Column with name '{}' already exists", d.name)));
                }
                if d.is_static && table.clustering_len == 0 {
                    return Err(QueryError::invalid(format!(
                        "Static columns are only useful (and thus allowed) if the table has at least one clustering column: {}",
                        d.name
                    )));
                }
                let (cql_type, ty) = resolve_column_type(schema, ks_name, &d.ty)?;
                let kind = if d.is_static { ColumnKind::Static } else { ColumnKind::Regular };
                let col = Column {
                    name: d.name.clone(),
                    cql_type,
                    ty,
                    kind,
                    position: -1,
                    order: Order::Asc,
                };
                if col.is_counter() != table.is_counter_table() && !table.value_columns().is_empty() {
                    return Err(QueryError::invalid("Cannot mix counter and non counter columns in the same table"));
                }
                table.columns.push(col);
            }
            let keys = table.partition_key_len + table.clustering_len;
            let mut rest = table.columns.split_off(keys);
            rest.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
            table.columns.extend(rest);
        }
        AlterTableAction::Drop(names) => {
            for name in names {
                match table.column(name) {
                    None => {
                        return Err(QueryError::invalid(format!(
                            "Column {name} was not found in table {}.{}",
                            table.keyspace, table.name
                        )))
                    }
                    Some(c) if matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) => {
                        return Err(QueryError::invalid(format!("Cannot drop PRIMARY KEY part {name}")))
                    }
                    Some(_) => {
                        let dependent: Vec<&str> = table
                            .indexes
                            .iter()
                            .filter(|i| &i.column == name)
                            .map(|i| i.name.as_str())
                            .collect();
                        if !dependent.is_empty() {
                            return Err(QueryError::invalid(format!(
                                "Cannot drop column {name} because it has dependent secondary indexes ({})",
                                dependent.join(", ")
                            )));
                        }
                        table.columns.retain(|c| &c.name != name)
                    }
                }
            }
        }
        AlterTableAction::Rename(pairs) => {
            for (from, to) in pairs {
                if table.column(to).is_some() {
                    return Err(QueryError::invalid(format!(
                        "Cannot rename column {from} to {to} in table {}; another column of that name already exist",
                        table.name
                    )));
                }
                let col = table
                    .columns
                    .iter_mut()
                    .find(|c| &c.name == from)
                    .ok_or_else(|| QueryError::invalid(format!("Column {from} was not found in table {}", existing.name)))?;
                if !matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                    return Err(QueryError::invalid(format!("Cannot rename non PRIMARY KEY column {from}")));
                }
                col.name = to.clone();
                for index in table.indexes.iter_mut().filter(|i| &i.column == from) {
                    index.column = to.clone();
                }
            }
        }
        AlterTableAction::AlterType { column, .. } => {
            return Err(QueryError::invalid(format!(
                "Altering column types is no longer supported (column {column})"
            )));
        }
        AlterTableAction::With(properties) => apply_table_properties(&mut table.options, properties)?,
    }
    if let Some(ks) = schema.keyspaces.get_mut(ks_name) {
        ks.tables.insert(table.name.clone(), Arc::new(table));
    }
    Ok(Some(change(SchemaChangeType::Updated, table_target(ks_name, &stmt.name.name))))
}

pub fn drop_table(schema: &mut Schema, ks_name: &str, stmt: &DropTable) -> Result<Option<(SchemaChange, Uuid)>, QueryError> {
    if schema.keyspace(ks_name).is_some_and(|k| k.system) {
        return Err(not_modifiable(ks_name));
    }
    let Some(ks) = schema.keyspaces.get_mut(ks_name) else {
        if stmt.if_exists {
            return Ok(None);
        }
        return Err(QueryError::invalid(format!("Keyspace '{ks_name}' doesn't exist")));
    };
    match ks.tables.remove(&stmt.name.name) {
        Some(t) => Ok(Some((
            change(SchemaChangeType::Dropped, table_target(ks_name, &stmt.name.name)),
            t.id,
        ))),
        None if stmt.if_exists => Ok(None),
        None => Err(QueryError::invalid(format!("Table '{ks_name}.{}' doesn't exist", stmt.name.name))),
    }
}

/// Cassandra's default index name: `<table>_<column>_idx` with every
/// character that is not a word character dropped, then `_1`, `_2`... until
/// no index of the keyspace has it.
fn default_index_name(ks: &Keyspace, table: &str, column: &str) -> String {
    let word = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let base = format!("{}_{}_idx", word(table), word(column));
    let taken = |name: &str| ks.tables.values().any(|t| t.index(name).is_some());
    if !taken(&base) {
        return base;
    }
    (1..).map(|n| format!("{base}_{n}")).find(|name| !taken(name)).unwrap_or(base)
}

fn references_duration(ty: &cql_protocol::types::ColumnType) -> bool {
    use cql_protocol::types::ColumnType as T;
    match ty {
        T::Duration => true,
        T::List(t) | T::Set(t) => references_duration(t),
        T::Map(k, v) => references_duration(k) || references_duration(v),
        T::Tuple(ts) => ts.iter().any(references_duration),
        T::Udt { fields, .. } => fields.iter().any(|(_, t)| references_duration(t)),
        _ => false,
    }
}

/// The kind an index on `column` gets, checked as Cassandra checks an index
/// target (`CreateIndexStatement.validateIndexTarget`).
fn index_kind(table: &Table, column: &Column, kind: IndexTargetKind) -> Result<IndexTargetKind, QueryError> {
    use cql_protocol::types::ColumnType as T;
    let name = cql_protocol::cql::quote_identifier(&column.name);
    let collection = matches!(column.ty, T::List(_) | T::Set(_) | T::Map(..));
    let kind = if kind == IndexTargetKind::Simple && collection {
        IndexTargetKind::Values
    } else {
        kind
    };
    if references_duration(&column.ty) {
        return Err(QueryError::invalid(match &column.ty {
            T::List(_) | T::Set(_) | T::Map(..) => "Secondary indexes are not supported on collections containing durations",
            T::Tuple(_) => "Secondary indexes are not supported on tuples containing durations",
            T::Udt { .. } => "Secondary indexes are not supported on UDTs containing durations",
            _ => "Secondary indexes are not supported on duration columns",
        }));
    }
    if column.kind == ColumnKind::PartitionKey && table.partition_key_len == 1 {
        return Err(QueryError::invalid(format!(
            "Cannot create secondary index on the only partition key column {name}"
        )));
    }
    let frozen_collection = collection && !column.is_multi_cell();
    if frozen_collection && kind != IndexTargetKind::Full {
        return Err(QueryError::invalid(format!(
            "Cannot create {}() index on frozen column {name}. Frozen collections are immutable and must be fully indexed by using the 'full({name})' modifier",
            kind.as_str()
        )));
    }
    if !frozen_collection && kind == IndexTargetKind::Full {
        return Err(QueryError::invalid("full() indexes can only be created on frozen collections"));
    }
    if !collection && kind != IndexTargetKind::Simple {
        return Err(QueryError::invalid(format!(
            "Cannot create {}() index on {name}. Non-collection columns only support simple indexes",
            kind.as_str()
        )));
    }
    let multi_cell_map = matches!(column.ty, T::Map(..)) && column.is_multi_cell();
    if !multi_cell_map && matches!(kind, IndexTargetKind::Keys | IndexTargetKind::Entries) {
        return Err(QueryError::invalid(format!(
            "Cannot create index on {} of column {name} with non-map type",
            kind.as_str()
        )));
    }
    if matches!(column.ty, T::Udt { .. }) && column.is_multi_cell() {
        return Err(QueryError::invalid(format!("Cannot create index on non-frozen UDT column {name}")));
    }
    Ok(kind)
}

/// CREATE INDEX: a secondary index added to its table's schema. The change is
/// an update of the table, as Cassandra announces it.
pub fn create_index(schema: &mut Schema, ks_name: &str, stmt: &CreateIndex) -> Result<Option<SchemaChange>, QueryError> {
    let ks = match schema.keyspaces.get(ks_name) {
        Some(ks) if ks.system => return Err(not_modifiable(ks_name)),
        Some(ks) => ks,
        None => return Err(QueryError::invalid(format!("Keyspace '{ks_name}' doesn't exist"))),
    };
    let table = ks
        .tables
        .get(&stmt.table.name)
        .ok_or_else(|| QueryError::invalid(format!("Table '{}' doesn't exist", stmt.table.name)))?;
    if let Some(name) = &stmt.name {
        if ks.tables.values().any(|t| t.index(name).is_some()) {
            if stmt.if_not_exists {
                return Ok(None);
            }
            return Err(QueryError::invalid(format!("Index '{name}' already exists")));
        }
    }
    if table.is_counter_table() {
        return Err(QueryError::invalid("Secondary indexes on counter tables aren't supported"));
    }
    let column = table
        .column(&stmt.column)
        .ok_or_else(|| QueryError::invalid(format!("Undefined column name {} in table {ks_name}.{}", stmt.column, table.name)))?;
    let kind = index_kind(table, column, stmt.kind)?;
    let name = match &stmt.name {
        Some(name) => name.clone(),
        None => default_index_name(ks, &table.name, &column.name),
    };
    validate_name(&name, "Index")?;
    if let Some(equal) = table.indexes.iter().find(|i| i.column == column.name && i.kind == kind) {
        if stmt.if_not_exists {
            return Ok(None);
        }
        return Err(QueryError::invalid(format!(
            "Index {name} is a duplicate of existing index {}",
            equal.name
        )));
    }
    let mut next = (**table).clone();
    next.indexes.push(Index {
        name,
        column: column.name.clone(),
        kind,
    });
    let table_name = next.name.clone();
    if let Some(ks) = schema.keyspaces.get_mut(ks_name) {
        ks.tables.insert(table_name.clone(), Arc::new(next));
    }
    Ok(Some(change(SchemaChangeType::Updated, table_target(ks_name, &table_name))))
}

/// DROP INDEX: the index leaves its table's schema.
pub fn drop_index(schema: &mut Schema, ks_name: &str, stmt: &DropIndex) -> Result<Option<SchemaChange>, QueryError> {
    if schema.keyspace(ks_name).is_some_and(|k| k.system) {
        return Err(not_modifiable(ks_name));
    }
    let Some(table) = schema.indexed_table(ks_name, &stmt.name.name) else {
        if stmt.if_exists {
            return Ok(None);
        }
        return Err(QueryError::invalid(format!("Index '{ks_name}.{}' doesn't exist", stmt.name.name)));
    };
    let mut next = (**table).clone();
    next.indexes.retain(|i| i.name != stmt.name.name);
    let table_name = next.name.clone();
    if let Some(ks) = schema.keyspaces.get_mut(ks_name) {
        ks.tables.insert(table_name.clone(), Arc::new(next));
    }
    Ok(Some(change(SchemaChangeType::Updated, table_target(ks_name, &table_name))))
}

fn type_uses(ty: &CqlType, ks: &str, name: &str) -> bool {
    match ty {
        CqlType::UserDefined(q) => q.name == name && q.keyspace.as_deref().unwrap_or(ks) == ks,
        CqlType::List(t) | CqlType::Set(t) | CqlType::Frozen(t) => type_uses(t, ks, name),
        CqlType::Map(k, v) => type_uses(k, ks, name) || type_uses(v, ks, name),
        CqlType::Tuple(ts) => ts.iter().any(|t| type_uses(t, ks, name)),
        _ => false,
    }
}

pub fn create_type(schema: &mut Schema, ks_name: &str, stmt: &CreateType) -> Result<Option<SchemaChange>, QueryError> {
    let ks = user_keyspace(schema, ks_name)?;
    if ks.types.contains_key(&stmt.name.name) {
        if stmt.if_not_exists {
            return Ok(None);
        }
        // Cassandra's CreateTypeStatement answers InvalidRequest here, not
        // AlreadyExists (which it keeps for keyspaces and tables).
        return Err(QueryError::invalid(format!(
            "A user type with name '{}' already exists",
            stmt.name.name
        )));
    }
    let mut fields = Vec::new();
    for (f, ty) in &stmt.fields {
        if fields.iter().any(|(n, _): &(String, CqlType)| n == f) {
            return Err(QueryError::invalid(format!("Duplicate field name {f} in type {}", stmt.name.name)));
        }
        if type_uses(ty, ks_name, &stmt.name.name) {
            return Err(QueryError::invalid(format!(
                "Cannot create type {} referencing itself",
                stmt.name.name
            )));
        }
        fields.push((f.clone(), qualify_type(ty, ks_name)));
    }
    let udt = UserType {
        keyspace: ks_name.to_string(),
        name: stmt.name.name.clone(),
        fields,
    };
    // Every field type must resolve (nested user types must exist).
    let probe = schema.clone();
    for (_, ty) in &udt.fields {
        probe.column_type(ks_name, ty).map_err(QueryError::invalid)?;
    }
    if let Some(ks) = schema.keyspaces.get_mut(ks_name) {
        ks.types.insert(udt.name.clone(), Arc::new(udt));
    }
    Ok(Some(change(
        SchemaChangeType::Created,
        SchemaChangeTarget::Type {
            keyspace: ks_name.to_string(),
            name: stmt.name.name.clone(),
        },
    )))
}

pub fn drop_type(schema: &mut Schema, ks_name: &str, stmt: &DropType) -> Result<Option<SchemaChange>, QueryError> {
    let ks = user_keyspace(schema, ks_name)?;
    if !ks.types.contains_key(&stmt.name.name) {
        if stmt.if_exists {
            return Ok(None);
        }
        return Err(QueryError::invalid(format!("Type '{ks_name}.{}' doesn't exist", stmt.name.name)));
    }
    // Cassandra's DropTypeStatement: the user types nesting it first, then
    // every table using it, by name.
    let name = &stmt.name.name;
    let types: Vec<&str> = ks
        .types
        .values()
        .filter(|u| u.fields.iter().any(|(_, ty)| type_uses(ty, ks_name, name)))
        .map(|u| u.name.as_str())
        .collect();
    if !types.is_empty() {
        return Err(QueryError::invalid(format!(
            "Cannot drop user type '{ks_name}.{name}' as it is still used by user types {}",
            types.join(", ")
        )));
    }
    let tables: Vec<&str> = ks
        .tables
        .values()
        .filter(|t| t.columns.iter().any(|c| type_uses(&c.cql_type, ks_name, name)))
        .map(|t| t.name.as_str())
        .collect();
    if !tables.is_empty() {
        return Err(QueryError::invalid(format!(
            "Cannot drop user type '{ks_name}.{name}' as it is still used by tables {}",
            tables.join(", ")
        )));
    }
    ks.types.remove(&stmt.name.name);
    Ok(Some(change(
        SchemaChangeType::Dropped,
        SchemaChangeTarget::Type {
            keyspace: ks_name.to_string(),
            name: stmt.name.name.clone(),
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cql_protocol::cql::parse_statement;

    fn alter(schema: &mut Schema, text: &str) -> Result<Option<SchemaChange>, QueryError> {
        match parse_statement(text).unwrap() {
            cql_protocol::cql::ast::Statement::AlterKeyspace(a) => alter_keyspace(schema, &a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn system_auth_may_get_another_replication_factor_but_system_may_not() {
        let mut schema = crate::system::initial_schema().unwrap();
        alter(
            &mut schema,
            "ALTER KEYSPACE system_auth WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        )
        .unwrap();
        let rf = schema
            .keyspace("system_auth")
            .and_then(|k| k.replication.get("replication_factor").cloned());
        assert_eq!(rf.as_deref(), Some("3"));
        let refused = alter(
            &mut schema,
            "ALTER KEYSPACE system WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        );
        assert_eq!(refused, Err(not_modifiable("system")));
    }
}
