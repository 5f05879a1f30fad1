//! INSERT, UPDATE and DELETE turned into mutations: key values from the
//! statement, cells from the assignments, tombstones from deletions. A counter
//! increment is a cell holding its delta (its leader turns it into a shard:
//! `replica::counter`). List operations by index or by value read the current
//! list through `CurrentRow`, which the caller fetched first (`written_rows`).

use std::collections::BTreeMap;

use cql_protocol::cql::ast::{Assignment, Delete, DeleteTarget, Insert, Term, Update, Using};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;

use super::cells::{add_elements, assign, field_path, live_value, remove_paths, set_path, WriteContext};
use super::literal::{evaluate, Binds, Evaluated};
use super::restrictions::{analyse, partition_position, Partitions};
use super::term_text::term_text;
use crate::clock::server_timestamp;
use crate::error::QueryError;
use crate::schema::{Column, ColumnKind, Table};
use crate::storage::key::encode_clustering;
use crate::storage::{ClusteringSlice, ColumnData, LiveData, Mutation, PartitionPosition, RangeTombstone, Row};

/// Reads one column of one row as it is now (for list indexes and removals).
pub trait CurrentRow {
    fn current(
        &self,
        table: &Table,
        position: &PartitionPosition,
        clustering: Option<&[u8]>,
        column: &str,
    ) -> Result<Option<LiveData>, QueryError>;
}

pub const MAX_TTL: i32 = 20 * 365 * 24 * 60 * 60;

/// The timestamp and TTL of a statement: USING, else the client's, else the server's.
pub fn write_context(
    table: &Table,
    using: &Using,
    binds: &Binds,
    client_timestamp: Option<i64>,
    now: i64,
) -> Result<WriteContext, QueryError> {
    let timestamp = match &using.timestamp {
        Some(t) => match evaluate(t, &ColumnType::Bigint, binds, "[timestamp]")? {
            Evaluated::Value(Value::Bigint(ts)) => ts,
            Evaluated::Null => return Err(QueryError::invalid("Invalid null value of timestamp")),
            _ => client_timestamp.unwrap_or_else(server_timestamp),
        },
        None => client_timestamp.unwrap_or_else(server_timestamp),
    };
    // The smallest long means "no timestamp" to Cassandra, which refuses it.
    if timestamp == i64::MIN {
        return Err(QueryError::invalid(format!(
            "Out of bound timestamp, must be in [{}, {}]",
            i64::MIN + 1,
            i64::MAX
        )));
    }
    let ttl = match &using.ttl {
        Some(t) => match evaluate(t, &ColumnType::Int, binds, "[ttl]")? {
            Evaluated::Value(Value::Int(ttl)) => ttl,
            Evaluated::Null => 0,
            _ => table.options.default_time_to_live,
        },
        None => table.options.default_time_to_live,
    };
    if ttl < 0 {
        return Err(QueryError::invalid(format!("A TTL must be greater or equal to 0, but was {ttl}")));
    }
    if ttl > MAX_TTL {
        return Err(QueryError::invalid(format!(
            "ttl is too large. requested ({ttl}) maximum ({MAX_TTL})"
        )));
    }
    Ok(WriteContext { timestamp, ttl, now })
}

fn column<'t>(table: &'t Table, name: &str) -> Result<&'t Column, QueryError> {
    table
        .column(name)
        .ok_or_else(|| QueryError::invalid(format!("Undefined column name {name} in table {}.{}", table.keyspace, table.name)))
}

fn value_of(term: &Term, col: &Column, binds: &Binds) -> Result<Evaluated, QueryError> {
    evaluate(term, &col.ty, binds, &col.name)
}

/// Cassandra's limit on a partition key and on each clustering value.
const MAX_KEY_LENGTH: usize = 65_535;

fn key_too_long(length: usize) -> QueryError {
    QueryError::invalid(format!("Key length of {length} is longer than maximum of {MAX_KEY_LENGTH}"))
}

/// A partition key longer than Cassandra allows is refused before anything is written.
fn check_partition_key(position: &PartitionPosition) -> Result<(), QueryError> {
    match position.key.len() {
        n if n > MAX_KEY_LENGTH => Err(key_too_long(n)),
        _ => Ok(()),
    }
}

fn clustering_bytes(table: &Table, values: &[Value]) -> Result<Vec<u8>, QueryError> {
    // The encoding is never shorter than the values: only a long one needs a look.
    let encoded = encode_clustering(&table.clustering_types(), values).map_err(|e| QueryError::invalid(e.to_string()))?;
    if encoded.len() > MAX_KEY_LENGTH {
        if let Some(n) = values.iter().map(|v| v.to_bytes().len()).find(|n| *n > MAX_KEY_LENGTH) {
            return Err(key_too_long(n));
        }
    }
    Ok(encoded)
}

/// The columns an INSERT names and their values: its VALUES, or its JSON
/// object's members (and, unless `DEFAULT UNSET`, null for every other
/// regular and static column, as Cassandra's `DEFAULT NULL`).
fn insert_values<'t>(table: &'t Table, ins: &Insert, binds: &Binds) -> Result<Vec<(&'t Column, Evaluated)>, QueryError> {
    let Some(json) = &ins.json else {
        if ins.columns.len() != ins.values.len() {
            return Err(QueryError::invalid("Unmatched column names/values"));
        }
        if ins
            .columns
            .iter()
            .enumerate()
            .any(|(i, c)| ins.columns.iter().skip(i + 1).any(|d| d == c))
        {
            return Err(QueryError::invalid("The column names contains duplicates"));
        }
        return ins
            .columns
            .iter()
            .zip(&ins.values)
            .map(|(name, term)| {
                let col = column(table, name)?;
                Ok((col, value_of(term, col, binds)?))
            })
            .collect();
    };
    let text = match evaluate(json, &ColumnType::Varchar, binds, "[json]")? {
        Evaluated::Value(Value::Text(text)) => text,
        _ => return Err(QueryError::invalid("Got null for INSERT JSON values")),
    };
    let members = super::from_json::columns(table, &text)?;
    let mut values = members
        .iter()
        .map(|(col, json)| Ok((*col, super::from_json::value(col, json)?)))
        .collect::<Result<Vec<_>, QueryError>>()?;
    if !ins.json_default_unset {
        let named: Vec<&str> = members.iter().map(|(c, _)| c.name.as_str()).collect();
        values.extend(
            table
                .columns
                .iter()
                .filter(|c| matches!(c.kind, ColumnKind::Regular | ColumnKind::Static) && !named.contains(&c.name.as_str()))
                .map(|c| (c, Evaluated::Null)),
        );
    }
    Ok(values)
}

pub fn insert(table: &Table, ins: &Insert, binds: &Binds, ctx: &WriteContext) -> Result<Mutation, QueryError> {
    let mut pk: Vec<Option<Value>> = vec![None; table.partition_key_len];
    let mut ck: Vec<Option<Value>> = vec![None; table.clustering_len];
    let mut row = Row::default();
    let mut static_row = Row::default();
    for (col, value) in insert_values(table, ins, binds)? {
        match col.kind {
            ColumnKind::PartitionKey | ColumnKind::Clustering => {
                let v = match value {
                    Evaluated::Value(v) => v,
                    _ => {
                        return Err(QueryError::invalid(format!(
                            "Invalid null value in condition for column {}",
                            col.name
                        )))
                    }
                };
                let slot = if col.kind == ColumnKind::PartitionKey {
                    pk.get_mut(col.position as usize)
                } else {
                    ck.get_mut(col.position as usize)
                };
                if let Some(slot) = slot {
                    *slot = Some(v);
                }
            }
            ColumnKind::Regular | ColumnKind::Static => {
                if col.is_counter() {
                    return Err(QueryError::invalid(
                        "INSERT statements are not allowed on counter tables, use UPDATE instead",
                    ));
                }
                let data = match value {
                    Evaluated::Unset => continue,
                    Evaluated::Null => assign(col, None, ctx)?,
                    Evaluated::Value(v) => assign(col, Some(&v), ctx)?,
                };
                let target = if col.kind == ColumnKind::Static {
                    &mut static_row
                } else {
                    &mut row
                };
                target.columns.insert(col.name.clone(), data);
            }
        }
    }
    let pk = require_all(table.partition_key(), pk, "partition key parts")?;
    let position = partition_position(table, &pk);
    check_partition_key(&position)?;
    let mut m = Mutation::new(table.id, position);
    let only_static = !static_row.columns.is_empty() && row.columns.is_empty() && ck.iter().all(Option::is_none);
    if !only_static {
        let ck = require_all(table.clustering(), ck, "clustering keys")?;
        row.marker = Some(ctx.cell(Vec::new()));
        m.rows.push((clustering_bytes(table, &ck)?, row));
    }
    if !static_row.columns.is_empty() {
        m.static_row = Some(static_row);
    }
    Ok(m)
}

fn require_all(columns: &[Column], values: Vec<Option<Value>>, what: &str) -> Result<Vec<Value>, QueryError> {
    let missing: Vec<&str> = columns
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(c, _)| c.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(QueryError::invalid(format!("Some {what} are missing: {}", missing.join(", "))));
    }
    Ok(values.into_iter().flatten().collect())
}

/// The partitions (and, when every clustering column is given, the rows) a
/// modification's WHERE clause names.
struct Targets {
    positions: Vec<PartitionPosition>,
    /// Full clustering keys; None when the clustering key is not fully given.
    rows: Option<Vec<Vec<u8>>>,
    slices: Vec<ClusteringSlice>,
}

fn targets(table: &Table, where_clause: &[cql_protocol::cql::ast::Relation], binds: &Binds) -> Result<Targets, QueryError> {
    use cql_protocol::cql::ast::{Operator, RelationTarget};
    let pk_slice = where_clause.iter().any(|r| {
        matches!(r.op, Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte)
            && matches!(&r.target, RelationTarget::Column(c) if table.column(c).is_some_and(|col| col.kind == ColumnKind::PartitionKey))
    });
    if pk_slice {
        return Err(QueryError::invalid(
            "Only EQ and IN relation are supported on the partition key (unless you use the token() function or allow filtering)",
        ));
    }
    let r = analyse(table, where_clause, binds)?;
    let Partitions::Keys(keys) = &r.partitions else {
        let missing: Vec<&str> = table.partition_key().iter().map(|c| c.name.as_str()).collect();
        return Err(QueryError::invalid(format!(
            "Some partition key parts are missing: {}",
            missing.join(", ")
        )));
    };
    if !r.tuple_filters.is_empty() {
        // The slice covers more than the tuple; deleting it would delete too much.
        return Err(QueryError::invalid(
            "A multi-column slice over clustering columns of mixed order (ASC and DESC) is not supported in a modification yet; \
             restrict the first of them with = and slice the next",
        ));
    }
    if let Some(f) = r.filters.first() {
        let name = table.columns.get(f.column).map(|c| c.name.as_str()).unwrap_or("?");
        return Err(QueryError::invalid(format!(
            "Non PRIMARY KEY columns found in where clause: {name}"
        )));
    }
    let positions: Vec<PartitionPosition> = keys.iter().map(|k| partition_position(table, k)).collect();
    positions.iter().try_for_each(check_partition_key)?;
    let full = !r.has_clustering_range && r.clustering_prefixes.iter().all(|p| p.len() == table.clustering_len);
    let rows = if full {
        Some(
            r.clustering_prefixes
                .iter()
                .map(|p| clustering_bytes(table, p))
                .collect::<Result<_, _>>()?,
        )
    } else {
        None
    };
    Ok(Targets {
        positions,
        rows,
        slices: r.slices,
    })
}

pub fn update(
    table: &Table,
    up: &Update,
    binds: &Binds,
    ctx: &WriteContext,
    current: &dyn CurrentRow,
) -> Result<Vec<Mutation>, QueryError> {
    let t = targets(table, &up.where_clause, binds)?;
    let only_static = up
        .assignments
        .iter()
        .all(|a| table.column(assignment_column(a)).is_some_and(|c| c.kind == ColumnKind::Static));
    let rows = match (&t.rows, only_static) {
        (Some(rows), _) => rows.clone(),
        (None, true) => Vec::new(),
        (None, false) => {
            let missing: Vec<&str> = table.clustering().iter().map(|c| c.name.as_str()).collect();
            return Err(QueryError::invalid(format!(
                "Some clustering keys are missing: {}",
                missing.join(", ")
            )));
        }
    };
    let mut mutations = Vec::with_capacity(t.positions.len());
    for position in &t.positions {
        let mut m = Mutation::new(table.id, position.clone());
        let mut static_row = Row::default();
        let mut row_template = Row::default();
        for a in &up.assignments {
            let col = column(table, assignment_column(a))?;
            if matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                return Err(QueryError::invalid(format!("PRIMARY KEY part {} found in SET part", col.name)));
            }
            let target = if col.kind == ColumnKind::Static {
                &mut static_row
            } else {
                &mut row_template
            };
            // Operations that read the current value are per row: done below.
            if needs_read(col, a) {
                continue;
            }
            if let Some(data) = assignment_data(table, col, a, binds, ctx)? {
                merge_column(target, &col.name, data);
            }
        }
        for clustering in &rows {
            let mut row = row_template.clone();
            for a in &up.assignments {
                let col = column(table, assignment_column(a))?;
                if needs_read(col, a) && col.kind != ColumnKind::Static {
                    if let Some(data) = read_modify(table, col, a, binds, ctx, current, position, Some(clustering))? {
                        merge_column(&mut row, &col.name, data);
                    }
                }
            }
            if !row.columns.is_empty() {
                m.rows.push((clustering.clone(), row));
            }
        }
        for a in &up.assignments {
            let col = column(table, assignment_column(a))?;
            if needs_read(col, a) && col.kind == ColumnKind::Static {
                if let Some(data) = read_modify(table, col, a, binds, ctx, current, position, None)? {
                    merge_column(&mut static_row, &col.name, data);
                }
            }
        }
        if !static_row.columns.is_empty() {
            m.static_row = Some(static_row);
        }
        mutations.push(m);
    }
    Ok(mutations)
}

fn merge_column(row: &mut Row, name: &str, data: ColumnData) {
    let merged = match row.columns.remove(name) {
        Some(existing) => existing.reconcile(data),
        None => data,
    };
    row.columns.insert(name.to_string(), merged);
}

fn assignment_column(a: &Assignment) -> &str {
    match a {
        Assignment::Set { column, .. }
        | Assignment::SetElement { column, .. }
        | Assignment::SetField { column, .. }
        | Assignment::Add { column, .. }
        | Assignment::Prepend { column, .. }
        | Assignment::Remove { column, .. } => column,
    }
}

fn needs_read(col: &Column, a: &Assignment) -> bool {
    matches!(
        (&col.ty, a),
        (ColumnType::List(_), Assignment::SetElement { .. } | Assignment::Remove { .. })
    )
}

/// Whether an UPDATE reads lists before it writes (set by index, remove by value).
pub fn update_reads(table: &Table, up: &Update) -> bool {
    up.assignments
        .iter()
        .any(|a| table.column(assignment_column(a)).is_some_and(|c| needs_read(c, a)))
}

/// Whether a DELETE reads lists before it writes (delete by index).
pub fn delete_reads(table: &Table, del: &Delete) -> bool {
    del.targets.iter().any(|t| match t {
        DeleteTarget::Element { column, .. } => table.column(column).is_some_and(|c| matches!(c.ty, ColumnType::List(_))),
        _ => false,
    })
}

/// A row a write names: its partition and full clustering key, the clustering
/// `None` when no full row is named (a whole partition, or its static row).
pub type RowKey = (PartitionPosition, Option<Vec<u8>>);

/// The rows an UPDATE or DELETE writes: what a read before the write fetches.
pub fn written_rows(table: &Table, where_clause: &[cql_protocol::cql::ast::Relation], binds: &Binds) -> Result<Vec<RowKey>, QueryError> {
    let t = targets(table, where_clause, binds)?;
    let mut out = Vec::new();
    for p in &t.positions {
        match &t.rows {
            Some(rows) => out.extend(rows.iter().map(|c| (p.clone(), Some(c.clone())))),
            None => out.push((p.clone(), None)),
        }
    }
    Ok(out)
}

/// A counter increment: a cell holding the delta (`c = c + d`, `c = c - d`).
fn counter_delta(col: &Column, a: &Assignment, binds: &Binds, ctx: &WriteContext) -> Result<ColumnData, QueryError> {
    let (value, negate) = match a {
        Assignment::Add { value, .. } => (value, false),
        Assignment::Remove { value, .. } => (value, true),
        _ => {
            return Err(QueryError::invalid(format!(
                "Cannot set the value of counter column {} (counters can only be incremented/decremented, not set)",
                col.name
            )))
        }
    };
    let delta = match evaluate(value, &ColumnType::Bigint, binds, &col.name)? {
        Evaluated::Value(Value::Bigint(d)) => d,
        _ => return Err(QueryError::invalid("Invalid null value for counter increment")),
    };
    let delta = if negate { delta.wrapping_neg() } else { delta };
    Ok(ColumnData::Simple(crate::storage::Cell::live(
        ctx.timestamp,
        delta.to_be_bytes().to_vec(),
        0,
        ctx.now,
    )))
}

/// The data of an assignment that needs no read.
fn assignment_data(
    table: &Table,
    col: &Column,
    a: &Assignment,
    binds: &Binds,
    ctx: &WriteContext,
) -> Result<Option<ColumnData>, QueryError> {
    let _ = table;
    if col.is_counter() {
        return counter_delta(col, a, binds, ctx).map(Some);
    }
    Ok(match a {
        Assignment::Set { value, .. } => match value_of(value, col, binds)? {
            Evaluated::Unset => None,
            Evaluated::Null => Some(assign(col, None, ctx)?),
            Evaluated::Value(v) => Some(assign(col, Some(&v), ctx)?),
        },
        Assignment::Add { value, .. } | Assignment::Prepend { value, .. } => {
            let prepend = matches!(a, Assignment::Prepend { .. });
            let operation = if prepend {
                format!("{} = {} + {}", col.name, term_text(value), col.name)
            } else {
                format!("{} = {} + {}", col.name, col.name, term_text(value))
            };
            let collection = matches!(col.ty, ColumnType::List(_) | ColumnType::Set(_) | ColumnType::Map(..));
            let wrong = match (prepend, &col.ty) {
                (true, ColumnType::List(_)) if !col.is_multi_cell() => Some("frozen list column"),
                (true, ColumnType::List(_)) => None,
                (true, _) => Some("non list column"),
                (false, _) if !collection => Some("non counter column"),
                (false, _) if !col.is_multi_cell() => Some("frozen collection column"),
                (false, _) => None,
            };
            if let Some(what) = wrong {
                return Err(QueryError::invalid(format!(
                    "Invalid operation ({operation}) for {what} {}",
                    col.name
                )));
            }
            match value_of(value, col, binds)? {
                Evaluated::Value(v) => Some(add_elements(col, &v, ctx, matches!(a, Assignment::Prepend { .. }))?),
                _ => None,
            }
        }
        // A map's keys to remove are a set: the value is read as one there.
        Assignment::Remove { value, .. } => match (
            &col.ty,
            if matches!(col.ty, ColumnType::Map(..)) {
                Evaluated::Unset
            } else {
                value_of(value, col, binds)?
            },
        ) {
            (ColumnType::Set(elem), Evaluated::Value(Value::Set(items))) => Some(remove_paths(
                items.iter().map(|i| set_path(elem, i)).collect::<Result<Vec<_>, _>>()?,
                ctx,
            )),
            (ColumnType::Map(kt, _), _) => {
                let keys = match evaluate(value, &ColumnType::Set(kt.clone()), binds, &col.name)? {
                    Evaluated::Value(Value::Set(keys)) => keys,
                    _ => return Ok(None),
                };
                Some(remove_paths(
                    keys.iter().map(|k| set_path(kt, k)).collect::<Result<Vec<_>, _>>()?,
                    ctx,
                ))
            }
            (_, Evaluated::Value(_)) => {
                let operation = format!("{} = {} - {}", col.name, col.name, term_text(value));
                let what = match col.ty {
                    ColumnType::List(_) | ColumnType::Set(_) | ColumnType::Map(..) => "frozen collection column",
                    _ => "non counter column",
                };
                return Err(QueryError::invalid(format!(
                    "Invalid operation ({operation}) for {what} {}",
                    col.name
                )));
            }
            _ => None,
        },
        Assignment::SetElement { key, value, .. } => match &col.ty {
            ColumnType::Map(kt, vt) => {
                let k = match evaluate(key, kt, binds, &col.name)? {
                    Evaluated::Value(k) => k,
                    _ => return Err(QueryError::invalid(format!("Invalid null map key for column {}", col.name))),
                };
                let path = set_path(kt, &k)?;
                let cell = match evaluate(value, vt, binds, &col.name)? {
                    Evaluated::Value(v) => ctx.cell(v.to_bytes()),
                    Evaluated::Null => crate::storage::Cell::tombstone(ctx.timestamp),
                    Evaluated::Unset => return Ok(None),
                };
                Some(ColumnData::Complex {
                    deletion: None,
                    cells: BTreeMap::from([(path, cell)]),
                })
            }
            _ => {
                let what = match col.ty {
                    ColumnType::List(_) | ColumnType::Set(_) => "frozen collection column",
                    _ => "non collection column",
                };
                return Err(QueryError::invalid(format!(
                    "Invalid operation ({}[{}] = {}) for {what} {}",
                    col.name,
                    term_text(key),
                    term_text(value),
                    col.name
                )));
            }
        },
        Assignment::SetField { field, value, .. } => match &col.ty {
            ColumnType::Udt { fields, .. } if col.is_multi_cell() => {
                let (idx, (_, fty)) = fields
                    .iter()
                    .enumerate()
                    .find(|(_, (n, _))| n == field)
                    .ok_or_else(|| QueryError::invalid(format!("Unknown field {field} in column {}", col.name)))?;
                let cell = match evaluate(value, fty, binds, &col.name)? {
                    Evaluated::Value(v) => ctx.cell(v.to_bytes()),
                    Evaluated::Null => crate::storage::Cell::tombstone(ctx.timestamp),
                    Evaluated::Unset => return Ok(None),
                };
                Some(ColumnData::Complex {
                    deletion: None,
                    cells: BTreeMap::from([(field_path(idx), cell)]),
                })
            }
            _ => {
                return Err(QueryError::invalid(format!(
                    "Invalid operation ({}.{field} = ...) for column {}: not a non-frozen user type",
                    col.name, col.name
                )))
            }
        },
    })
}

/// List operations by index or value: read, then write.
#[allow(clippy::too_many_arguments)]
fn read_modify(
    table: &Table,
    col: &Column,
    a: &Assignment,
    binds: &Binds,
    ctx: &WriteContext,
    current: &dyn CurrentRow,
    position: &PartitionPosition,
    clustering: Option<&[u8]>,
) -> Result<Option<ColumnData>, QueryError> {
    let now = current.current(table, position, clustering, &col.name)?;
    let elements = match &now {
        Some(LiveData::Complex(e)) => e.clone(),
        _ => Vec::new(),
    };
    match a {
        Assignment::SetElement { key, value, .. } => {
            let idx = match evaluate(key, &ColumnType::Int, binds, &col.name)? {
                Evaluated::Value(Value::Int(i)) => i,
                _ => return Err(QueryError::invalid("Invalid null value for list index")),
            };
            let (path, _) = usize::try_from(idx)
                .ok()
                .and_then(|i| elements.get(i))
                .ok_or_else(|| QueryError::invalid(format!("List index {idx} out of bound, list has size {}", elements.len())))?;
            let elem_ty = match &col.ty {
                ColumnType::List(t) => t.as_ref(),
                _ => &col.ty,
            };
            let cell = match evaluate(value, elem_ty, binds, &col.name)? {
                Evaluated::Value(v) => ctx.cell(v.to_bytes()),
                Evaluated::Null => crate::storage::Cell::tombstone(ctx.timestamp),
                Evaluated::Unset => return Ok(None),
            };
            Ok(Some(ColumnData::Complex {
                deletion: None,
                cells: BTreeMap::from([(path.clone(), cell)]),
            }))
        }
        Assignment::Remove { value, .. } => {
            let remove = match value_of(value, col, binds)? {
                Evaluated::Value(Value::List(items)) => items,
                _ => return Ok(None),
            };
            let elem_ty = match &col.ty {
                ColumnType::List(t) => t.as_ref().clone(),
                other => other.clone(),
            };
            let mut paths = Vec::new();
            for (path, cell) in &elements {
                let v = Value::deserialize(&elem_ty, &cell.value).map_err(|e| QueryError::Server { message: e.to_string() })?;
                if remove.iter().any(|r| r.compare(&v).is_eq()) {
                    paths.push(path.clone());
                }
            }
            Ok(Some(remove_paths(paths, ctx)))
        }
        _ => Ok(None),
    }
}

pub fn delete(
    table: &Table,
    del: &Delete,
    binds: &Binds,
    ctx: &WriteContext,
    current: &dyn CurrentRow,
) -> Result<Vec<Mutation>, QueryError> {
    let t = targets(table, &del.where_clause, binds)?;
    let mut mutations = Vec::with_capacity(t.positions.len());
    for position in &t.positions {
        let mut m = Mutation::new(table.id, position.clone());
        if del.targets.is_empty() {
            match (&t.rows, t.slices.is_empty()) {
                (Some(rows), _) if table.clustering_len > 0 => {
                    for c in rows {
                        m.rows.push((
                            c.clone(),
                            Row {
                                deletion: Some(ctx.deletion()),
                                ..Row::default()
                            },
                        ));
                    }
                }
                (_, true) => m.partition_deletion = Some(ctx.deletion()),
                (_, false) => {
                    for (start, end) in &t.slices {
                        m.range_tombstones.push(RangeTombstone {
                            start: start.clone(),
                            end: end.clone(),
                            deletion: ctx.deletion(),
                        });
                    }
                }
            }
        } else {
            let mut static_row = Row::default();
            let mut row = Row::default();
            for target in &del.targets {
                let name = match target {
                    DeleteTarget::Column(c) | DeleteTarget::Element { column: c, .. } | DeleteTarget::Field { column: c, .. } => c,
                };
                let col = column(table, name)?;
                if matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                    return Err(QueryError::invalid(format!(
                        "Invalid identifier {} for deletion (should not be a PRIMARY KEY part)",
                        col.name
                    )));
                }
                let is_static = col.kind == ColumnKind::Static;
                if !is_static && t.rows.is_none() && table.clustering_len > 0 {
                    return Err(QueryError::invalid("Range deletions are not supported for specific columns"));
                }
                let data = match target {
                    // Shards merge as elements do: a deletion of them all is one.
                    DeleteTarget::Column(_) if col.is_counter() => ColumnData::Complex {
                        deletion: Some(ctx.deletion()),
                        cells: BTreeMap::new(),
                    },
                    DeleteTarget::Column(_) => assign(col, None, ctx)?,
                    DeleteTarget::Field { field, .. } => match &col.ty {
                        ColumnType::Udt { fields, .. } => {
                            let idx = fields
                                .iter()
                                .position(|(n, _)| n == field)
                                .ok_or_else(|| QueryError::invalid(format!("Unknown field {field}")))?;
                            remove_paths([field_path(idx)], ctx)
                        }
                        _ => {
                            return Err(QueryError::invalid(format!(
                                "Invalid deletion of field {field} of non user type column {}",
                                col.name
                            )))
                        }
                    },
                    DeleteTarget::Element { key, .. } => match &col.ty {
                        ColumnType::Map(kt, _) | ColumnType::Set(kt) => match evaluate(key, kt, binds, &col.name)? {
                            Evaluated::Value(k) => remove_paths([set_path(kt, &k)?], ctx),
                            _ => return Err(QueryError::invalid("Invalid null value for map key")),
                        },
                        ColumnType::List(_) => {
                            let idx = match evaluate(key, &ColumnType::Int, binds, &col.name)? {
                                Evaluated::Value(Value::Int(i)) => i,
                                _ => return Err(QueryError::invalid("Invalid null value for list index")),
                            };
                            let clustering = if is_static {
                                None
                            } else {
                                t.rows.as_ref().and_then(|r| r.first()).map(Vec::as_slice)
                            };
                            let elements = match current.current(table, position, clustering, &col.name)? {
                                Some(LiveData::Complex(e)) => e,
                                _ => Vec::new(),
                            };
                            let (path, _) = usize::try_from(idx).ok().and_then(|i| elements.get(i)).ok_or_else(|| {
                                QueryError::invalid(format!("List index {idx} out of bound, list has size {}", elements.len()))
                            })?;
                            remove_paths([path.clone()], ctx)
                        }
                        _ => {
                            return Err(QueryError::invalid(format!(
                                "Invalid element deletion of non collection column {}",
                                col.name
                            )))
                        }
                    },
                };
                merge_column(if is_static { &mut static_row } else { &mut row }, &col.name, data);
            }
            if !row.columns.is_empty() {
                for c in t.rows.iter().flatten() {
                    m.rows.push((c.clone(), row.clone()));
                }
                if table.clustering_len == 0 && t.rows.is_none() {
                    m.rows.push((Vec::new(), row));
                }
            }
            if !static_row.columns.is_empty() {
                m.static_row = Some(static_row);
            }
        }
        mutations.push(m);
    }
    Ok(mutations)
}

/// The current values of a row's columns, for a failed IF condition's answer.
pub fn row_values(table: &Table, live: &crate::storage::LiveRow) -> Result<Vec<(String, Value)>, QueryError> {
    let mut out = Vec::new();
    for col in table.value_columns() {
        if let Some(data) = live.get(&col.name) {
            out.push((col.name.clone(), live_value(col, data)?));
        }
    }
    Ok(out)
}
