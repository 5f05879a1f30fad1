//! The WHERE clause of a statement turned into what the storage engine can use:
//! which partitions (keys or a token range), which clustering slices (in the
//! byte space of the key codec), and which relations remain as row filters.
//! Pure: terms are evaluated against bound values, nothing is read.

use std::cmp::Ordering;
use std::ops::Bound;

use cql_protocol::cql::ast::{IndexTargetKind, Operator, Relation, RelationTarget, Term};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;

use super::literal::{evaluate, Binds, Evaluated};
use crate::error::QueryError;
use crate::schema::{ColumnKind, Index, Table};
use crate::storage::key::encode_clustering;
use crate::storage::{prefix_end, ClusteringSlice, PartitionPosition};
use crate::token::{murmur3_token, partition_key_bytes};

/// A relation that is checked row by row.
#[derive(Debug, Clone)]
pub struct Filter {
    pub column: usize,
    pub op: Operator,
    /// One value, or several for IN.
    pub values: Vec<Value>,
    /// `m[key] op value`: the relation is on this entry of the map.
    pub entry_key: Option<Value>,
}

impl Filter {
    /// Whether a row whose column holds `actual` passes.
    pub fn accepts(&self, actual: Option<&Value>) -> bool {
        let actual = match (&self.entry_key, actual) {
            (Some(key), Some(Value::Map(pairs))) => pairs.iter().find(|(k, _)| k.compare(key).is_eq()).map(|(_, v)| v),
            (Some(_), _) => None,
            (None, actual) => actual,
        };
        let Some(actual) = actual else { return false };
        let first = self.values.first();
        let cmp = |v: &Value| actual.compare(v);
        match self.op {
            Operator::Eq => first.is_some_and(|v| cmp(v) == Ordering::Equal),
            Operator::Neq => first.is_some_and(|v| cmp(v) != Ordering::Equal),
            Operator::Lt => first.is_some_and(|v| cmp(v) == Ordering::Less),
            Operator::Lte => first.is_some_and(|v| cmp(v) != Ordering::Greater),
            Operator::Gt => first.is_some_and(|v| cmp(v) == Ordering::Greater),
            Operator::Gte => first.is_some_and(|v| cmp(v) != Ordering::Less),
            Operator::In => self.values.iter().any(|v| cmp(v) == Ordering::Equal),
            Operator::Contains => match (actual, first) {
                (Value::List(items) | Value::Set(items), Some(v)) => items.iter().any(|i| i.compare(v).is_eq()),
                (Value::Map(pairs), Some(v)) => pairs.iter().any(|(_, i)| i.compare(v).is_eq()),
                _ => false,
            },
            Operator::ContainsKey => match (actual, first) {
                (Value::Map(pairs), Some(v)) => pairs.iter().any(|(k, _)| k.compare(v).is_eq()),
                _ => false,
            },
            Operator::Like => match (actual, first) {
                (Value::Text(a) | Value::Ascii(a), Some(Value::Text(p) | Value::Ascii(p))) => like(a, p),
                _ => false,
            },
        }
    }
}

fn like(s: &str, pattern: &str) -> bool {
    match (pattern.strip_prefix('%'), pattern.strip_suffix('%')) {
        (Some(inner), _) if inner.ends_with('%') => s.contains(inner.trim_end_matches('%')),
        (Some(suffix), _) => s.ends_with(suffix),
        (None, Some(prefix)) => s.starts_with(prefix),
        (None, None) => s == pattern,
    }
}

#[derive(Debug, Clone)]
pub enum Partitions {
    /// Every partition key fully given by = or IN (the cartesian product).
    Keys(Vec<Vec<Value>>),
    Tokens {
        start: Bound<i64>,
        end: Bound<i64>,
    },
}

#[derive(Debug, Clone)]
pub struct Restrictions {
    pub partitions: Partitions,
    /// Clustering prefixes given by = / IN (cartesian product), before any slice.
    pub clustering_prefixes: Vec<Vec<Value>>,
    /// Byte-space slices of the clustering key; empty when unrestricted.
    pub slices: Vec<ClusteringSlice>,
    /// Whether a slice (range) restriction follows the prefix.
    pub has_clustering_range: bool,
    pub filters: Vec<Filter>,
    /// Multi-column slices over clustering columns of mixed order, checked
    /// row by row (the slice above covers their first column only).
    pub tuple_filters: Vec<TupleFilter>,
    /// Filtering that Cassandra accepts only with ALLOW FILTERING.
    pub needs_filtering: bool,
    /// The secondary index that answers one of the relations.
    pub index: Option<IndexUse>,
}

/// A secondary index chosen for a query: its name and the values it looks up
/// (as the index stores them, see `index::IndexLookup`).
#[derive(Debug, Clone)]
pub struct IndexUse {
    pub name: String,
    pub values: Vec<Vec<u8>>,
}

/// `(c1, c2, ..) op (v1, v2, ..)` compared in value space, column by column,
/// whatever each column's clustering order.
#[derive(Debug, Clone, PartialEq)]
pub struct TupleFilter {
    /// The first column's index in the table.
    pub column: usize,
    pub op: Operator,
    pub values: Vec<Value>,
}

impl TupleFilter {
    /// Whether a row whose columns from `column` on hold `actual` passes.
    pub fn accepts(&self, actual: &[Option<Value>]) -> bool {
        let mut order = Ordering::Equal;
        for (value, bound) in actual.iter().zip(&self.values) {
            let Some(value) = value else { return false };
            order = value.compare(bound);
            if order != Ordering::Equal {
                break;
            }
        }
        match self.op {
            Operator::Gt => order == Ordering::Greater,
            Operator::Gte => order != Ordering::Less,
            Operator::Lt => order == Ordering::Less,
            Operator::Lte => order != Ordering::Greater,
            _ => order == Ordering::Equal,
        }
    }
}

impl Restrictions {
    pub fn restricts_clustering(&self) -> bool {
        !self.slices.is_empty()
    }
}

/// Serialised partition key and its ring position.
pub fn partition_position(table: &Table, key: &[Value]) -> PartitionPosition {
    let parts: Vec<Vec<u8>> = key.iter().map(Value::to_bytes).collect();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let bytes = if table.partition_key_len == 1 {
        parts.into_iter().next().unwrap_or_default()
    } else {
        partition_key_bytes(&refs)
    };
    PartitionPosition {
        token: murmur3_token(&bytes),
        key: bytes,
    }
}

/// The type a relation's right side has (the whole term, e.g. a list for `IN ?`).
pub fn relation_value_type(table: &Table, relation: &Relation) -> Result<ColumnType, QueryError> {
    let column_type = |name: &str| -> Result<ColumnType, QueryError> {
        table
            .column(name)
            .map(|c| c.ty.clone())
            .ok_or_else(|| QueryError::invalid(format!("Undefined column name {name} in table {}.{}", table.keyspace, table.name)))
    };
    Ok(match (&relation.target, relation.op) {
        (RelationTarget::Column(c), Operator::In) => ColumnType::List(Box::new(column_type(c)?)),
        (RelationTarget::Column(c), Operator::Contains) => match column_type(c)? {
            ColumnType::List(t) | ColumnType::Set(t) | ColumnType::Map(_, t) => *t,
            _ => return Err(QueryError::invalid(format!("Cannot use CONTAINS on non-collection column {c}"))),
        },
        (RelationTarget::Column(c), Operator::ContainsKey) => match column_type(c)? {
            ColumnType::Map(k, _) => *k,
            _ => return Err(QueryError::invalid(format!("Cannot use CONTAINS KEY on non-map column {c}"))),
        },
        (RelationTarget::Column(c), _) => column_type(c)?,
        (RelationTarget::Tuple(cols), op) => {
            let tuple = ColumnType::Tuple(cols.iter().map(|c| column_type(c)).collect::<Result<_, _>>()?);
            if op == Operator::In {
                ColumnType::List(Box::new(tuple))
            } else {
                tuple
            }
        }
        (RelationTarget::Token(_), _) => ColumnType::Bigint,
        (RelationTarget::MapEntry { column, .. }, _) => match column_type(column)? {
            ColumnType::Map(_, v) => *v,
            _ => return Err(QueryError::invalid(format!("Column {column} cannot be used as a map"))),
        },
    })
}

/// Values on the right of a relation: one, or a list for IN.
/// The values a relation names; an IN list without its repeats, as
/// Cassandra reads `k IN (1, 1)` as one key.
fn relation_values(table: &Table, relation: &Relation, binds: &Binds) -> Result<Vec<Value>, QueryError> {
    let mut values = relation_values_as_written(table, relation, binds)?;
    if relation.op == Operator::In {
        let mut seen = std::collections::HashSet::new();
        values.retain(|v| seen.insert(v.to_bytes()));
    }
    Ok(values)
}

fn relation_values_as_written(table: &Table, relation: &Relation, binds: &Binds) -> Result<Vec<Value>, QueryError> {
    let ty = relation_value_type(table, relation)?;
    let what = match &relation.target {
        RelationTarget::Column(c) => c.clone(),
        RelationTarget::Tuple(cs) => format!("({})", cs.join(", ")),
        RelationTarget::Token(_) => "partition key token".to_string(),
        RelationTarget::MapEntry { column, .. } => format!("value({column})"),
    };
    if let (RelationTarget::Token(_), Term::FunctionCall { name, args }) = (&relation.target, &relation.value) {
        if name == "token" {
            return Ok(vec![Value::Bigint(token_of(table, args, binds)?)]);
        }
    }
    let null = || QueryError::invalid(format!("Invalid null value in condition for column {what}"));
    match (&relation.value, &ty) {
        // IN (a, b, c): each element has the column's type.
        (Term::Tuple(items), ColumnType::List(elem)) if relation.op == Operator::In => items
            .iter()
            .map(|t| match evaluate(t, elem, binds, &what)? {
                Evaluated::Value(v) => Ok(v),
                _ => Err(null()),
            })
            .collect(),
        _ => match evaluate(&relation.value, &ty, binds, &what)? {
            Evaluated::Value(Value::List(items)) if relation.op == Operator::In => Ok(items),
            Evaluated::Value(v) => Ok(vec![v]),
            Evaluated::Unset => Err(QueryError::invalid(format!("Invalid unset value for column {what}"))),
            Evaluated::Null => Err(null()),
        },
    }
}

/// `token(a, b)` with literal or bound arguments typed by the partition key.
fn token_of(table: &Table, args: &[Term], binds: &Binds) -> Result<i64, QueryError> {
    if args.len() != table.partition_key_len {
        return Err(QueryError::invalid(
            "Invalid number of arguments to token(): it takes the partition key columns",
        ));
    }
    let mut key = Vec::with_capacity(args.len());
    for (arg, col) in args.iter().zip(table.partition_key()) {
        match evaluate(arg, &col.ty, binds, &col.name)? {
            Evaluated::Value(v) => key.push(v),
            _ => return Err(QueryError::invalid("Invalid null value for token()")),
        }
    }
    Ok(partition_position(table, &key).token)
}

fn cartesian(lists: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for list in lists {
        let mut next = Vec::with_capacity(out.len() * list.len());
        for prefix in &out {
            for v in list {
                let mut p = prefix.clone();
                p.push(v.clone());
                next.push(p);
            }
        }
        out = next;
    }
    out
}

struct Range {
    lower: Option<(Vec<Value>, bool)>,
    upper: Option<(Vec<Value>, bool)>,
}

/// Analyses a WHERE clause for `table`.
pub fn analyse(table: &Table, where_clause: &[Relation], binds: &Binds) -> Result<Restrictions, QueryError> {
    let mut pk_values: Vec<Option<Vec<Value>>> = vec![None; table.partition_key_len];
    let mut ck_values: Vec<Option<Vec<Value>>> = vec![None; table.clustering_len];
    let mut ck_tuples: Option<(usize, Vec<Vec<Value>>)> = None;
    let mut ranges: Vec<(usize, Operator, Vec<Value>)> = Vec::new();
    let mut token_start = Bound::Unbounded;
    let mut token_end = Bound::Unbounded;
    let mut has_token = false;
    let mut filters = Vec::new();
    let mut needs_filtering = false;
    let mut tuple_filters = Vec::new();

    for relation in where_clause {
        let values = relation_values(table, relation, binds)?;
        match &relation.target {
            RelationTarget::Token(cols) => {
                let pk: Vec<&str> = table.partition_key().iter().map(|c| c.name.as_str()).collect();
                if cols.iter().map(String::as_str).collect::<Vec<_>>() != pk {
                    return Err(QueryError::invalid(format!(
                        "The token() function must be applied to all partition key components or none of them: token({})",
                        pk.join(", ")
                    )));
                }
                has_token = true;
                let Some(Value::Bigint(t)) = values.first().cloned() else {
                    continue;
                };
                match relation.op {
                    Operator::Gt => token_start = Bound::Excluded(t),
                    Operator::Gte => token_start = Bound::Included(t),
                    Operator::Lt => token_end = Bound::Excluded(t),
                    Operator::Lte => token_end = Bound::Included(t),
                    Operator::Eq => {
                        token_start = Bound::Included(t);
                        token_end = Bound::Included(t);
                    }
                    op => return Err(QueryError::invalid(format!("Unsupported operator {op:?} on token()"))),
                }
            }
            RelationTarget::Column(name) => {
                let idx = table.column_index(name).ok_or_else(|| {
                    QueryError::invalid(format!("Undefined column name {name} in table {}.{}", table.keyspace, table.name))
                })?;
                let Some(col) = table.columns.get(idx) else { continue };
                let eq_like = matches!(relation.op, Operator::Eq | Operator::In);
                match col.kind {
                    ColumnKind::PartitionKey if eq_like => {
                        if let Some(slot) = pk_values.get_mut(col.position as usize) {
                            *slot = Some(values);
                        }
                    }
                    ColumnKind::Clustering if eq_like => {
                        if let Some(slot) = ck_values.get_mut(col.position as usize) {
                            *slot = Some(values);
                        }
                    }
                    ColumnKind::Clustering if matches!(relation.op, Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte) => {
                        ranges.push((col.position as usize, relation.op, values));
                    }
                    _ => {
                        needs_filtering = true;
                        filters.push(Filter {
                            column: idx,
                            op: relation.op,
                            values,
                            entry_key: None,
                        });
                    }
                }
            }
            RelationTarget::MapEntry { column, key } => {
                let idx = table.column_index(column).ok_or_else(|| {
                    QueryError::invalid(format!("Undefined column name {column} in table {}.{}", table.keyspace, table.name))
                })?;
                let key_type = match table.columns.get(idx).map(|c| &c.ty) {
                    Some(ColumnType::Map(k, _)) => k.as_ref().clone(),
                    _ => return Err(QueryError::invalid(format!("Column {column} cannot be used as a map"))),
                };
                let key = match evaluate(key, &key_type, binds, &format!("key({column})"))? {
                    Evaluated::Value(v) => v,
                    _ => return Err(QueryError::invalid(format!("Invalid null value for map key of column {column}"))),
                };
                needs_filtering = true;
                filters.push(Filter {
                    column: idx,
                    op: relation.op,
                    values,
                    entry_key: Some(key),
                });
            }
            RelationTarget::Tuple(cols) => {
                let first = cols
                    .first()
                    .and_then(|c| table.column(c))
                    .filter(|c| c.kind == ColumnKind::Clustering)
                    .ok_or_else(|| QueryError::invalid("Multi-column relations can only be applied to clustering columns"))?;
                for (i, c) in cols.iter().enumerate() {
                    match table.column(c) {
                        Some(col) if col.kind == ColumnKind::Clustering && col.position as usize == first.position as usize + i => {}
                        _ => {
                            return Err(QueryError::invalid(format!(
                                "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: ({})",
                                cols.join(", ")
                            )))
                        }
                    }
                }
                let tuples: Vec<Vec<Value>> = values
                    .into_iter()
                    .map(|v| match v {
                        Value::Tuple(items) => items.into_iter().map(|i| i.unwrap_or(Value::Blob(Vec::new()))).collect(),
                        other => vec![other],
                    })
                    .collect();
                let position = first.position as usize;
                let directions: Vec<bool> = table
                    .clustering_types()
                    .iter()
                    .skip(position)
                    .take(cols.len())
                    .map(|(_, desc)| *desc)
                    .collect();
                let mixed = directions.windows(2).any(|w| w.first() != w.get(1));
                match relation.op {
                    Operator::Eq | Operator::In => ck_tuples = Some((position, tuples)),
                    op if mixed => {
                        // One byte range cannot hold it: slice on the first column
                        // (bound included), then check the whole tuple per row.
                        let values = tuples.into_iter().next().unwrap_or_default();
                        let loose = match op {
                            Operator::Gt | Operator::Gte => Operator::Gte,
                            _ => Operator::Lte,
                        };
                        ranges.push((position, loose, values.iter().take(1).cloned().collect()));
                        tuple_filters.push(TupleFilter {
                            column: table.partition_key_len + position,
                            op,
                            values,
                        });
                    }
                    op => ranges.push((position, op, tuples.into_iter().next().unwrap_or_default())),
                }
            }
        }
    }

    // `c IN ()` selects nothing, whatever the partition key names.
    let no_rows = ck_values.iter().any(|v| v.as_ref().is_some_and(Vec::is_empty));
    if no_rows && pk_values.iter().all(Option::is_some) {
        pk_values = vec![Some(Vec::new()); table.partition_key_len];
    }
    // Partition key.
    let partitions = if pk_values.iter().all(Option::is_some) && !has_token {
        let lists: Vec<Vec<Value>> = pk_values.into_iter().flatten().collect();
        Partitions::Keys(cartesian(&lists))
    } else {
        for (i, values) in pk_values.into_iter().enumerate() {
            if let Some(values) = values {
                let column = i;
                needs_filtering = true;
                filters.push(Filter {
                    column,
                    op: if values.len() == 1 { Operator::Eq } else { Operator::In },
                    values,
                    entry_key: None,
                });
            }
        }
        Partitions::Tokens {
            start: token_start,
            end: token_end,
        }
    };
    let full_scan = matches!(partitions, Partitions::Tokens { .. });

    // Clustering prefix: =/IN on the first columns, in order.
    let mut prefix_lists: Vec<Vec<Value>> = Vec::new();
    let mut pos = 0;
    let mut tuple_prefixes: Option<Vec<Vec<Value>>> = None;
    while pos < table.clustering_len {
        if let Some((start, tuples)) = &ck_tuples {
            if *start == pos {
                let width = tuples.first().map(Vec::len).unwrap_or(1);
                tuple_prefixes = Some(tuples.clone());
                pos += width;
                break;
            }
        }
        match ck_values.get_mut(pos).and_then(Option::take) {
            Some(values) => prefix_lists.push(values),
            None => break,
        }
        pos += 1;
    }
    let mut prefixes = cartesian(&prefix_lists);
    if let Some(tuples) = tuple_prefixes {
        prefixes = prefixes
            .into_iter()
            .flat_map(|p| {
                tuples.iter().map(move |t| {
                    let mut q = p.clone();
                    q.extend(t.iter().cloned());
                    q
                })
            })
            .collect();
    }
    // A range right after the prefix becomes a slice; anything later is a filter.
    let mut range = Range { lower: None, upper: None };
    let mut has_range = false;
    for (column_pos, op, values) in ranges {
        if column_pos == pos && !has_range_conflict(&range, op) {
            has_range = true;
            match op {
                Operator::Gt => range.lower = Some((values, false)),
                Operator::Gte => range.lower = Some((values, true)),
                Operator::Lt => range.upper = Some((values, false)),
                _ => range.upper = Some((values, true)),
            }
        } else {
            let column = table.partition_key_len + column_pos;
            needs_filtering = true;
            filters.push(Filter {
                column,
                op,
                values,
                entry_key: None,
            });
        }
    }
    for (i, values) in ck_values.into_iter().enumerate() {
        if let Some(values) = values {
            needs_filtering = true;
            filters.push(Filter {
                column: table.partition_key_len + i,
                op: if values.len() == 1 { Operator::Eq } else { Operator::In },
                values,
                entry_key: None,
            });
        }
    }

    let restricted = !prefix_lists.is_empty() || prefixes.first().is_some_and(|p| !p.is_empty()) || has_range;
    if restricted && full_scan {
        needs_filtering = true;
    }
    let slices = if restricted {
        build_slices(table, &prefixes, &range)?
    } else {
        Vec::new()
    };
    // One indexed relation is answered by its index, as Cassandra does: the
    // query needs ALLOW FILTERING only for other relations on columns outside
    // the primary key (a second indexed one included).
    let indexed = where_clause.iter().find_map(|relation| match &relation.target {
        RelationTarget::Column(name) => table.column_index(name).and_then(|c| index_serving(table, c, relation.op, false)),
        RelationTarget::MapEntry { column, .. } => table.column_index(column).and_then(|c| index_serving(table, c, relation.op, true)),
        _ => None,
    });
    let mut index_use = None;
    if let Some(index) = indexed {
        let column = table.column_index(&index.column);
        needs_filtering = false;
        for f in &filters {
            let serves = column == Some(f.column) && index_serving(table, f.column, f.op, f.entry_key.is_some()).is_some();
            if index_use.is_none() && serves {
                let values = match &f.entry_key {
                    Some(key) => f
                        .values
                        .iter()
                        .map(|v| crate::index::entry_value(&key.to_bytes(), &v.to_bytes()))
                        .collect(),
                    None => f.values.iter().map(Value::to_bytes).collect(),
                };
                index_use = Some(IndexUse {
                    name: index.name.clone(),
                    values,
                });
            } else if table
                .columns
                .get(f.column)
                .is_some_and(|c| matches!(c.kind, ColumnKind::Regular | ColumnKind::Static))
            {
                needs_filtering = true;
            }
        }
        // An indexed clustering column restricted as a slice of the key has
        // no filter: the lookup takes its value from the relation.
        if index_use.is_none() {
            if let Some(relation) = where_clause
                .iter()
                .find(|r| matches!(&r.target, RelationTarget::Column(c) if *c == index.column) && r.op == Operator::Eq)
            {
                index_use = Some(IndexUse {
                    name: index.name.clone(),
                    values: relation_values(table, relation, binds)?.iter().map(Value::to_bytes).collect(),
                });
            }
        }
    }
    Ok(Restrictions {
        partitions,
        clustering_prefixes: if restricted { prefixes } else { vec![Vec::new()] },
        slices,
        has_clustering_range: has_range,
        filters,
        tuple_filters,
        needs_filtering,
        index: index_use,
    })
}

/// The index of `table` that answers a relation `op` on `column` (on one of
/// its map entries when `entry`): `col = v` by an index on the column (or on
/// the whole frozen collection), `col CONTAINS v` by one on its values,
/// `col CONTAINS KEY k` by one on its keys, `col[k] = v` by one on its entries.
pub fn index_serving(table: &Table, column: usize, op: Operator, entry: bool) -> Option<&Index> {
    let column = table.columns.get(column)?;
    table.indexes.iter().find(|index| {
        index.column == column.name
            && matches!(
                (index.kind, op, entry),
                (IndexTargetKind::Simple | IndexTargetKind::Full, Operator::Eq, false)
                    | (IndexTargetKind::Values, Operator::Contains, false)
                    | (IndexTargetKind::Keys, Operator::ContainsKey, false)
                    | (IndexTargetKind::Entries, Operator::Eq, true)
            )
    })
}

fn has_range_conflict(range: &Range, op: Operator) -> bool {
    match op {
        Operator::Gt | Operator::Gte => range.lower.is_some(),
        _ => range.upper.is_some(),
    }
}

fn build_slices(table: &Table, prefixes: &[Vec<Value>], range: &Range) -> Result<Vec<ClusteringSlice>, QueryError> {
    let types = table.clustering_types();
    let encode = |values: &[Value]| -> Result<Vec<u8>, QueryError> {
        encode_clustering(types.get(..values.len()).unwrap_or(&types), values).map_err(|e| QueryError::invalid(e.to_string()))
    };
    let mut slices = Vec::with_capacity(prefixes.len());
    for prefix in prefixes {
        let desc = types.get(prefix.len()).is_some_and(|(_, d)| *d);
        let bound_key = |tail: &[Value]| -> Result<Vec<u8>, QueryError> {
            let mut full = prefix.clone();
            full.extend_from_slice(tail);
            encode(&full)
        };
        // Value-space bounds on the range column, mapped to byte space.
        let lower = match &range.lower {
            Some((v, inclusive)) => Some((bound_key(v)?, *inclusive)),
            None => None,
        };
        let upper = match &range.upper {
            Some((v, inclusive)) => Some((bound_key(v)?, *inclusive)),
            None => None,
        };
        let (low_bytes, high_bytes) = if desc { (upper, lower) } else { (lower, upper) };
        let p = encode(prefix)?;
        // Start: at or after the low key (an excluded bound skips every key it prefixes).
        let start = match low_bytes {
            Some((k, true)) => Bound::Included(k),
            Some((k, false)) => match prefix_end(&k) {
                Bound::Excluded(next) => Bound::Included(next),
                _ => continue,
            },
            None => Bound::Included(p.clone()),
        };
        let end = match high_bytes {
            Some((k, true)) => prefix_end(&k),
            Some((k, false)) => Bound::Excluded(k),
            None => prefix_end(&p),
        };
        slices.push((start, end));
    }
    slices.sort_by(|a, b| bound_cmp(&a.0, &b.0));
    Ok(slices)
}

fn bound_cmp(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Ordering {
    match (a, b) {
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => x.cmp(y),
        (Bound::Unbounded, Bound::Unbounded) => Ordering::Equal,
        (Bound::Unbounded, _) => Ordering::Less,
        (_, Bound::Unbounded) => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tuple_slice_compares_in_value_space_column_by_column() {
        let filter = |op, a: i32, b: i32| TupleFilter {
            column: 1,
            op,
            values: vec![Value::Int(a), Value::Int(b)],
        };
        let row = |a: i32, b: i32| vec![Some(Value::Int(a)), Some(Value::Int(b))];
        let gt = filter(Operator::Gt, 1, 0);
        let passed: Vec<(i32, i32)> = [(0, 0), (1, 0), (1, 1), (2, 0), (0, 5)]
            .into_iter()
            .filter(|(a, b)| gt.accepts(&row(*a, *b)))
            .collect();
        assert_eq!(passed, vec![(1, 1), (2, 0)]);
        assert!(filter(Operator::Gte, 1, 0).accepts(&row(1, 0)));
        assert!(filter(Operator::Lte, 1, 0).accepts(&row(1, 0)));
        assert!(!filter(Operator::Lt, 1, 0).accepts(&row(1, 0)));
        assert!(filter(Operator::Lt, 1, 0).accepts(&row(0, 9)));
        assert!(!gt.accepts(&[None, None]), "a static row (no clustering) does not pass");
    }
}
