//! SELECT: compiling the selection (columns, writetime/ttl, token, aggregates,
//! functions) into projections with result metadata, then running the read over
//! the storage engine with filtering, limits and paging.

use std::sync::Arc;

use cql_protocol::cql::ast::{Operator, Relation, RelationTarget, Select, Selection, SelectorExpr, Term};
use cql_protocol::response::{ColumnSpec, Rows, RowsMetadata};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use num_bigint::BigInt;

use super::cells::{live_meta, live_value};
use super::functions;
use super::json::{row_to_json, to_json};
use super::literal::{evaluate, Binds, Evaluated};
use super::paging::PagingState;
use super::restrictions::{analyse, partition_position, Partitions, Restrictions};
use crate::coordinator::Want;
use crate::error::QueryError;
use crate::index::{index_table_id, IndexLookup};
use crate::schema::{ColumnKind, Table};
use crate::storage::key::{decode_clustering, encode_clustering};
use crate::storage::{LiveData, LiveRow, PartitionPosition, PartitionSelection, ReadCommand, ResumePoint, StorageEngine, Visit};
use crate::token::split_partition_key;

#[derive(Debug, Clone)]
enum Projection {
    Column(usize),
    WriteTime(usize),
    Ttl(usize),
    Token,
    CountAll,
    Aggregate(Aggregate, Box<Projection>),
    ToJson(Box<Projection>),
    Cast(Box<Projection>, ColumnType),
    Field(Box<Projection>, usize),
    Literal(Option<Value>),
    /// `intAsBlob(x)`, `blobAsInt(b)`, ...
    Blob(super::functions::BlobConversion, Box<Projection>),
    /// `now()`, `uuid()`, `currentTimestamp()`, ...: evaluated for each row.
    Current(super::functions::Current),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Count,
    Min,
    Max,
    Sum,
    Avg,
}

/// A SELECT resolved against its table: what to compute and the result columns.
#[derive(Debug, Clone)]
pub struct CompiledSelect {
    pub table: Arc<Table>,
    projections: Vec<Projection>,
    /// The result metadata the client sees: the `selected` columns, or
    /// `SELECT JSON`'s one `[json]` column.
    pub columns: Vec<ColumnSpec>,
    /// One column per selector, under its result name (alias or Cassandra's
    /// name for it) and type: what each row computes before `SELECT JSON`
    /// writes it as an object.
    selected: Vec<ColumnSpec>,
    json: bool,
    aggregate: bool,
    /// GROUP BY: how many clustering columns follow the partition key in the
    /// group's key (0: one group per partition); `None` without GROUP BY.
    group_clustering: Option<usize>,
}

fn spec(table: &Table, name: String, ty: ColumnType) -> ColumnSpec {
    ColumnSpec {
        keyspace: table.keyspace.clone(),
        table: table.name.clone(),
        name,
        ty,
    }
}

pub fn compile(table: Arc<Table>, select: &Select) -> Result<CompiledSelect, QueryError> {
    let mut projections = Vec::new();
    let mut columns = Vec::new();
    match &select.selection {
        Selection::Wildcard => {
            for (i, c) in table.columns.iter().enumerate() {
                projections.push(Projection::Column(i));
                columns.push(spec(&table, c.name.clone(), c.ty.clone()));
            }
        }
        Selection::Selectors(selectors) => {
            for s in selectors {
                let (p, name, ty) = compile_expr(&table, &s.expr)?;
                projections.push(p);
                columns.push(spec(&table, s.alias.clone().unwrap_or(name), ty));
            }
        }
    }
    if select.distinct {
        check_distinct(&table, select)?;
    }
    let group_clustering = group_by(&table, &select.group_by, &select.where_clause)?;
    // Grouped rows are folded as aggregates are, one result row per group.
    let aggregate = group_clustering.is_some()
        || projections
            .iter()
            .any(|p| matches!(p, Projection::CountAll | Projection::Aggregate(..)));
    // SELECT JSON computes the same rows (aggregates folded, groups
    // grouped) and writes each finished row as one object, as Cassandra does.
    let result_columns = if select.json {
        vec![spec(&table, "[json]".into(), ColumnType::Varchar)]
    } else {
        columns.clone()
    };
    Ok(CompiledSelect {
        table,
        projections,
        columns: result_columns,
        selected: columns,
        json: select.json,
        aggregate,
        group_clustering,
    })
}

/// Whether the WHERE clause restricts column `name` by a single `=`.
fn restricted_by_eq(where_clause: &[Relation], name: &str) -> bool {
    where_clause
        .iter()
        .any(|r| r.op == Operator::Eq && matches!(&r.target, RelationTarget::Column(c) if c == name))
}

/// GROUP BY's columns: primary key columns in their declared order, where a
/// column restricted by `=` may be left out (as Cassandra allows), ending
/// past the partition key. Returns how many clustering columns the group's
/// key holds.
fn group_by(table: &Table, names: &[String], where_clause: &[Relation]) -> Result<Option<usize>, QueryError> {
    if names.is_empty() {
        return Ok(None);
    }
    let key_len = table.partition_key_len + table.clustering_len;
    let out_of_order =
        || QueryError::invalid("Group by currently only support groups of columns following their declared order in the PRIMARY KEY");
    let mut next = 0;
    for name in names {
        let column = table
            .column_index(name)
            .ok_or_else(|| QueryError::invalid(format!("Undefined column name {name} in table {}.{}", table.keyspace, table.name)))?;
        if column >= key_len {
            return Err(QueryError::invalid(format!(
                "Group by is currently only supported on the columns of the PRIMARY KEY, got {name}"
            )));
        }
        if column < next {
            return Err(out_of_order());
        }
        while next < column {
            let skipped = table.columns.get(next).map(|c| c.name.as_str()).unwrap_or_default();
            if !restricted_by_eq(where_clause, skipped) {
                return Err(out_of_order());
            }
            next += 1;
        }
        next = column + 1;
    }
    if next < table.partition_key_len {
        return Err(QueryError::invalid("Group by is not supported on only a part of the partition key"));
    }
    Ok(Some(next - table.partition_key_len))
}

/// The columns a selector reads.
fn selector_columns<'s>(expr: &'s SelectorExpr, out: &mut Vec<&'s str>) {
    match expr {
        SelectorExpr::Column(c) | SelectorExpr::WriteTime(c) | SelectorExpr::Ttl(c) => out.push(c),
        SelectorExpr::Function { args, .. } => args.iter().for_each(|a| selector_columns(a, out)),
        SelectorExpr::Cast(inner, _) | SelectorExpr::Field(inner, _) => selector_columns(inner, out),
        SelectorExpr::CountAll | SelectorExpr::Term(_) => {}
    }
}

/// SELECT DISTINCT reads partition keys and statics only, as Cassandra's
/// validateDistinctSelection demands.
fn check_distinct(table: &Table, select: &Select) -> Result<(), QueryError> {
    if select.per_partition_limit.is_some() {
        return Err(QueryError::invalid(
            "PER PARTITION LIMIT is not allowed with SELECT DISTINCT queries",
        ));
    }
    let mut names = Vec::new();
    match &select.selection {
        Selection::Wildcard => names.extend(table.columns.iter().map(|c| c.name.as_str())),
        Selection::Selectors(selectors) => selectors.iter().for_each(|s| selector_columns(&s.expr, &mut names)),
    }
    for name in &names {
        if let Some(col) = table.column(name) {
            if !matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Static) {
                return Err(QueryError::invalid(format!(
                    "SELECT DISTINCT queries must only request partition key columns and/or static columns (not {name})"
                )));
            }
        }
    }
    let key_range = table.partition_key().iter().any(|c| {
        !select
            .where_clause
            .iter()
            .any(|r| matches!(r.op, Operator::Eq | Operator::In) && matches!(&r.target, RelationTarget::Column(n) if *n == c.name))
    });
    if key_range {
        if let Some(missing) = table.partition_key().iter().find(|c| !names.contains(&c.name.as_str())) {
            return Err(QueryError::invalid(format!(
                "SELECT DISTINCT queries must request all the partition key columns (missing {})",
                missing.name
            )));
        }
    }
    Ok(())
}

fn compile_expr(table: &Table, expr: &SelectorExpr) -> Result<(Projection, String, ColumnType), QueryError> {
    let col = |name: &str| -> Result<usize, QueryError> {
        table
            .column_index(name)
            .ok_or_else(|| QueryError::invalid(format!("Undefined column name {name} in table {}.{}", table.keyspace, table.name)))
    };
    let ty_of = |i: usize| table.columns.get(i).map(|c| c.ty.clone()).unwrap_or(ColumnType::Blob);
    Ok(match expr {
        SelectorExpr::Column(name) => {
            let i = col(name)?;
            (Projection::Column(i), name.clone(), ty_of(i))
        }
        SelectorExpr::CountAll => (Projection::CountAll, "count".into(), ColumnType::Bigint),
        SelectorExpr::WriteTime(name) => {
            let i = col(name)?;
            check_simple(table, i, "WRITETIME")?;
            (Projection::WriteTime(i), format!("writetime({name})"), ColumnType::Bigint)
        }
        SelectorExpr::Ttl(name) => {
            let i = col(name)?;
            check_simple(table, i, "TTL")?;
            (Projection::Ttl(i), format!("ttl({name})"), ColumnType::Int)
        }
        SelectorExpr::Function { name, args } => {
            let compiled: Vec<_> = args.iter().map(|a| compile_expr(table, a)).collect::<Result<_, _>>()?;
            let arg_names: Vec<&str> = compiled.iter().map(|(_, n, _)| n.as_str()).collect();
            let display = format!("system.{name}({})", arg_names.join(", "));
            match (name.as_str(), compiled.as_slice()) {
                ("token", _) => {
                    let pk: Vec<&str> = table.partition_key().iter().map(|c| c.name.as_str()).collect();
                    if arg_names != pk {
                        return Err(QueryError::invalid(format!(
                            "Type error: token() takes the partition key columns ({})",
                            pk.join(", ")
                        )));
                    }
                    (Projection::Token, display, ColumnType::Bigint)
                }
                ("count", [(p, _, _)]) => (
                    Projection::Aggregate(Aggregate::Count, Box::new(p.clone())),
                    display,
                    ColumnType::Bigint,
                ),
                ("min" | "max" | "sum" | "avg", [(p, _, ty)]) => {
                    let numeric = matches!(
                        ty,
                        ColumnType::Tinyint
                            | ColumnType::Smallint
                            | ColumnType::Int
                            | ColumnType::Bigint
                            | ColumnType::Float
                            | ColumnType::Double
                            | ColumnType::Decimal
                            | ColumnType::Varint
                            | ColumnType::Counter
                    );
                    if matches!(name.as_str(), "sum" | "avg") && !numeric {
                        // Cassandra's FunctionResolver: sum and avg exist for numbers only.
                        let signatures = [
                            "tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "varint", "counter",
                        ]
                        .iter()
                        .map(|t| format!("system.{name} : ({t}) -> {t}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                        return Err(QueryError::invalid(format!(
                            "Invalid call to function {name}, none of its type signatures match (known type signatures: {signatures})"
                        )));
                    }
                    let kind = match name.as_str() {
                        "min" => Aggregate::Min,
                        "max" => Aggregate::Max,
                        "sum" => Aggregate::Sum,
                        _ => Aggregate::Avg,
                    };
                    (Projection::Aggregate(kind, Box::new(p.clone())), display, ty.clone())
                }
                ("tojson", [(p, _, _)]) => (Projection::ToJson(Box::new(p.clone())), display, ColumnType::Varchar),
                ("totimestamp" | "tounixtimestamp" | "todate", [(p, _, _)]) => {
                    let ty = match name.as_str() {
                        "totimestamp" => ColumnType::Timestamp,
                        "tounixtimestamp" => ColumnType::Bigint,
                        _ => ColumnType::Date,
                    };
                    (Projection::Cast(Box::new(p.clone()), ty.clone()), display, ty)
                }
                ("dateof" | "unixtimestampof", [(p, arg, ty)]) => {
                    if *ty != ColumnType::Timeuuid {
                        return Err(functions::type_error(arg, 0, name, &ColumnType::Timeuuid));
                    }
                    let to = if name == "dateof" {
                        ColumnType::Timestamp
                    } else {
                        ColumnType::Bigint
                    };
                    (Projection::Cast(Box::new(p.clone()), to.clone()), display, to)
                }
                (_, []) if functions::Current::of(name).is_some() => {
                    let f = functions::Current::of(name).unwrap_or(functions::Current::Uuid);
                    (Projection::Current(f), display, f.ty())
                }
                (_, [(p, arg, ty)]) if functions::BlobConversion::of(name).is_some() => {
                    let Some(conversion) = functions::BlobConversion::of(name) else {
                        return Err(QueryError::invalid(format!("Unknown function '{name}'")));
                    };
                    let (wanted, result) = conversion.types();
                    let p = match args.first() {
                        // A literal takes the argument's type: bigintAsBlob(5).
                        Some(SelectorExpr::Term(term)) => {
                            Projection::Literal(evaluate(term, &wanted, &Binds::default(), "selector")?.into_value())
                        }
                        _ if !functions::accepts(&wanted, ty) => return Err(functions::type_error(arg, 0, name, &wanted)),
                        _ => p.clone(),
                    };
                    (Projection::Blob(conversion, Box::new(p)), display, result)
                }
                _ => return Err(QueryError::invalid(format!("Unknown function '{name}'"))),
            }
        }
        SelectorExpr::Cast(inner, ty) => {
            let (p, n, _) = compile_expr(table, inner)?;
            let target = crate::schema::Schema::default()
                .column_type(&table.keyspace, ty)
                .map_err(QueryError::invalid)?;
            let tname = super::literal::type_name(&target);
            (
                Projection::Cast(Box::new(p), target.clone()),
                format!("cast({n} as {tname})"),
                target,
            )
        }
        SelectorExpr::Field(inner, field) => {
            let (p, n, ty) = compile_expr(table, inner)?;
            match &ty {
                ColumnType::Udt { fields, .. } => {
                    let (i, (_, fty)) = fields
                        .iter()
                        .enumerate()
                        .find(|(_, (f, _))| f == field)
                        .ok_or_else(|| QueryError::invalid(format!("{n} has no field {field}")))?;
                    (Projection::Field(Box::new(p), i), format!("{n}.{field}"), fty.clone())
                }
                _ => {
                    return Err(QueryError::invalid(format!(
                        "Invalid field selection: {n} of type {} is not a user type",
                        super::literal::type_name(&ty)
                    )))
                }
            }
        }
        SelectorExpr::Term(term) => {
            let (value, ty) = literal_selector(term)?;
            (Projection::Literal(value), term.to_string(), ty)
        }
    })
}

fn literal_selector(term: &Term) -> Result<(Option<Value>, ColumnType), QueryError> {
    let ty = match term {
        Term::Integer(_) => ColumnType::Int,
        Term::Float(_) => ColumnType::Double,
        Term::Boolean(_) => ColumnType::Boolean,
        Term::Uuid(_) => ColumnType::Uuid,
        Term::Blob(_) => ColumnType::Blob,
        _ => ColumnType::Varchar,
    };
    let v = evaluate(term, &ty, &Binds::default(), "selector")?.into_value();
    Ok((v, ty))
}

fn check_simple(table: &Table, i: usize, what: &str) -> Result<(), QueryError> {
    match table.columns.get(i) {
        Some(c) if matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) => Err(QueryError::invalid(format!(
            "Cannot use selection function {what} on PRIMARY KEY part {}",
            c.name
        ))),
        Some(c) if c.is_multi_cell() => Err(QueryError::invalid(format!(
            "Cannot use selection function {what} on non-frozen collection {}",
            c.name
        ))),
        _ => Ok(()),
    }
}

/// One row being looked at: its partition key, clustering and live columns.
struct RowView<'a> {
    table: &'a Table,
    position: &'a PartitionPosition,
    pk: &'a [Value],
    clustering: Option<Vec<Value>>,
    row: Option<&'a LiveRow>,
    static_row: Option<&'a LiveRow>,
}

impl RowView<'_> {
    fn live(&self, i: usize) -> Option<&LiveData> {
        let col = self.table.columns.get(i)?;
        match col.kind {
            ColumnKind::Static => self.static_row?.get(&col.name),
            ColumnKind::Regular => self.row?.get(&col.name),
            _ => None,
        }
    }

    fn value(&self, i: usize) -> Result<Option<Value>, QueryError> {
        let Some(col) = self.table.columns.get(i) else { return Ok(None) };
        Ok(match col.kind {
            ColumnKind::PartitionKey => self.pk.get(col.position as usize).cloned(),
            ColumnKind::Clustering => self.clustering.as_ref().and_then(|c| c.get(col.position as usize).cloned()),
            _ => match self.live(i) {
                Some(data) => Some(live_value(col, data)?),
                None => None,
            },
        })
    }

    /// The wire bytes of a column, skipping a decode for simple cells.
    fn bytes(&self, i: usize) -> Result<Option<Vec<u8>>, QueryError> {
        if let Some(LiveData::Simple(cell)) = self.live(i) {
            return Ok(Some(cell.value.clone()));
        }
        Ok(self.value(i)?.map(|v| v.to_bytes()))
    }

    fn project(&self, p: &Projection) -> Result<Option<Value>, QueryError> {
        Ok(match p {
            Projection::Column(i) => self.value(*i)?,
            Projection::WriteTime(i) => self.live(*i).and_then(live_meta).map(|(ts, _)| Value::Bigint(ts)),
            Projection::Ttl(i) => self.live(*i).and_then(live_meta).and_then(|(_, ttl)| ttl).map(Value::Int),
            Projection::Token => Some(Value::Bigint(self.position.token)),
            Projection::ToJson(inner) => Some(Value::Text(match self.project(inner)? {
                Some(v) => to_json(&v),
                None => "null".into(),
            })),
            Projection::Cast(inner, ty) => self.project(inner)?.and_then(|v| cast(v, ty)),
            Projection::Field(inner, idx) => match self.project(inner)? {
                Some(Value::Udt(fields)) => fields.into_iter().nth(*idx).and_then(|(_, v)| v),
                _ => None,
            },
            Projection::Literal(v) => v.clone(),
            Projection::Blob(conversion, inner) => match self.project(inner)? {
                Some(v) => Some(conversion.apply(v)?),
                None => None,
            },
            Projection::Current(f) => Some(f.value()),
            Projection::CountAll | Projection::Aggregate(..) => None,
        })
    }

    fn project_bytes(&self, p: &Projection) -> Result<Option<Vec<u8>>, QueryError> {
        match p {
            Projection::Column(i) => self.bytes(*i),
            other => Ok(self.project(other)?.map(|v| v.to_bytes())),
        }
    }
}

fn cast(v: Value, ty: &ColumnType) -> Option<Value> {
    Some(match (v, ty) {
        (v, ColumnType::Varchar) => Value::Text(match v {
            Value::Text(s) | Value::Ascii(s) => s,
            Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
            other => other.cql_literal().trim_matches('\'').to_string(),
        }),
        (Value::Text(s), ColumnType::Blob) => Value::Blob(s.into_bytes()),
        (Value::Timeuuid(u), ColumnType::Timestamp) => Value::Timestamp(super::literal::timeuuid_millis(&u)?),
        (Value::Timeuuid(u), ColumnType::Bigint) => Value::Bigint(super::literal::timeuuid_millis(&u)?),
        (Value::Timestamp(ms), ColumnType::Date) => Value::Date(u32::try_from(ms.div_euclid(86_400_000) + (1i64 << 31)).ok()?),
        (Value::Timeuuid(u), ColumnType::Date) => {
            Value::Date(u32::try_from(super::literal::timeuuid_millis(&u)?.div_euclid(86_400_000) + (1i64 << 31)).ok()?)
        }
        // toTimestamp(date), toUnixTimestamp(date | timestamp): midnight UTC, milliseconds.
        (Value::Date(days), ColumnType::Timestamp) => Value::Timestamp((i64::from(days) - (1i64 << 31)) * 86_400_000),
        (Value::Date(days), ColumnType::Bigint) => Value::Bigint((i64::from(days) - (1i64 << 31)) * 86_400_000),
        (Value::Timestamp(ms), ColumnType::Bigint) => Value::Bigint(ms),
        (Value::Int(i), ColumnType::Bigint) => Value::Bigint(i64::from(i)),
        (Value::Int(i), ColumnType::Double) => Value::Double(f64::from(i)),
        (Value::Bigint(i), ColumnType::Int) => Value::Int(i as i32),
        (Value::Bigint(i), ColumnType::Double) => Value::Double(i as f64),
        (Value::Float(f), ColumnType::Double) => Value::Double(f64::from(f)),
        (Value::Double(f), ColumnType::Float) => Value::Float(f as f32),
        (Value::Double(f), ColumnType::Int) => Value::Int(f as i32),
        (Value::Double(f), ColumnType::Bigint) => Value::Bigint(f as i64),
        (v, t) if v.check_type(t).is_ok() => v,
        _ => return None,
    })
}

/// Per-statement knobs of a read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub page_size: Option<usize>,
    pub paging_state: Option<Vec<u8>>,
    pub now: i64,
}

#[derive(Default)]
struct Accumulator {
    count: i64,
    value: Option<Value>,
    sum: Option<Value>,
}

/// Runs a SELECT over this node's own storage (node-local tables, and reads at
/// start-up before the cluster runs).
pub fn execute(
    engine: &dyn StorageEngine,
    compiled: &CompiledSelect,
    select: &Select,
    binds: &Binds,
    opts: &ReadOptions,
) -> Result<Rows, QueryError> {
    let (command, mut collector) = Collector::plan(compiled, select, binds, opts)?;
    engine.read(&command, opts.now, &mut |pv, row| collector.visit(pv, row))?;
    collector.finish()
}

/// One SELECT in progress: the read command it sends and the rows it kept so
/// far. The caller feeds it the rows of the command (from the local engine or
/// the replicas, see `Coordinator::read`) through `visit`, then `finish`es it.
/// Pure: no I/O.
pub struct Collector<'a> {
    compiled: &'a CompiledSelect,
    select: &'a Select,
    restrictions: Restrictions,
    restricts_clustering: bool,
    paging: Option<PagingState>,
    per_partition: Option<usize>,
    page_size: Option<usize>,
    clustering_types: Vec<(ColumnType, bool)>,
    remaining: usize,
    rows: Vec<Vec<Option<Vec<u8>>>>,
    accumulators: Vec<Accumulator>,
    first_row: Option<Vec<Option<Value>>>,
    current_partition: Option<PartitionPosition>,
    pk_values: Vec<Value>,
    in_partition: usize,
    /// The last row taken: its partition, its clustering, and how many rows of
    /// its partition were taken up to it (for PER PARTITION LIMIT across pages).
    last: Option<(PartitionPosition, Option<Vec<u8>>, usize)>,
    more: bool,
    error: Option<QueryError>,
    /// ORDER BY over several partitions (IN): the rows are sorted once all are
    /// read, `reversed` or not, then cut to `limit`.
    post_order: Option<PostOrder>,
    /// GROUP BY: the key (partition, clustering prefix) of the group being
    /// folded into `accumulators` and `first_row`.
    group: Option<(PartitionPosition, Vec<Value>)>,
}

/// Rows of several partitions put in ORDER BY's order after the read.
struct PostOrder {
    reversed: bool,
    limit: Option<usize>,
    /// Each collected row's clustering key (bytes sort in clustering order).
    keys: Vec<Vec<u8>>,
}

impl<'a> Collector<'a> {
    /// The read command of a SELECT and the collector of its answer.
    pub fn plan(
        compiled: &'a CompiledSelect,
        select: &'a Select,
        binds: &Binds,
        opts: &ReadOptions,
    ) -> Result<(ReadCommand, Collector<'a>), QueryError> {
        let table = compiled.table.as_ref();
        let grouped = compiled.group_clustering.is_some();
        super::relation_rules::check_select(table, &select.where_clause, select.allow_filtering)?;
        let r = analyse(table, &select.where_clause, binds)?;
        if r.needs_filtering && !select.allow_filtering {
            return Err(QueryError::invalid(
                "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING",
            ));
        }
        if r.index.is_some() && !select.order_by.is_empty() {
            return Err(QueryError::invalid("ORDER BY with 2ndary indexes is not supported."));
        }
        let reversed = reversed(table, select, &r)?;
        let limit = positive(select.limit.as_ref(), binds, "LIMIT")?;
        let per_partition = positive(select.per_partition_limit.as_ref(), binds, "PER PARTITION LIMIT")?;
        let paging = match &opts.paging_state {
            Some(bytes) if !compiled.aggregate || grouped => Some(PagingState::decode(bytes)?),
            _ => None,
        };
        // An aggregate is one row; grouped rows are paged by group.
        let page_size = if compiled.aggregate && !grouped { None } else { opts.page_size };
        let several = matches!(&r.partitions, Partitions::Keys(keys) if keys.len() > 1);
        let post_order = (several && !select.order_by.is_empty() && !compiled.aggregate).then(|| PostOrder {
            reversed,
            limit,
            keys: Vec::new(),
        });
        // Cassandra pages (and so refuses the sort) only when the LIMIT does
        // not fit in one page.
        let pages = page_size.is_some_and(|size| limit.is_none_or(|l| l > size));
        if post_order.is_some() && pages {
            return Err(QueryError::invalid(
                "Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query",
            ));
        }
        let remaining = match (&post_order, &paging) {
            (Some(_), _) => usize::MAX,
            (None, Some(p)) => p.remaining,
            (None, None) => limit.unwrap_or(usize::MAX),
        };
        let command = ReadCommand {
            table: table.id,
            partitions: match &r.partitions {
                Partitions::Keys(keys) => PartitionSelection::Keys(keys.iter().map(|k| partition_position(table, k)).collect()),
                Partitions::Tokens { start, end } => PartitionSelection::Tokens { start: *start, end: *end },
            },
            slices: r.slices.clone(),
            reversed,
            resume: paging.as_ref().map(|p| ResumePoint {
                position: p.position.clone(),
                clustering: p.clustering.clone(),
            }),
            // Within named partitions the index has nothing to add.
            index: match (&r.index, &r.partitions) {
                (Some(used), Partitions::Tokens { .. }) => Some(IndexLookup {
                    index_table: index_table_id(table.id, &used.name),
                    values: used.values.clone(),
                }),
                _ => None,
            },
        };
        let in_partition = paging.as_ref().map(|p| p.partition_rows).unwrap_or(0);
        let collector = Collector {
            compiled,
            select,
            restricts_clustering: r.restricts_clustering(),
            restrictions: r,
            paging,
            per_partition,
            // Sorted rows are one page: the LIMIT fits in it.
            page_size: if post_order.is_some() { None } else { page_size },
            clustering_types: table.clustering_types(),
            remaining,
            rows: Vec::new(),
            accumulators: compiled.projections.iter().map(|_| Accumulator::default()).collect(),
            first_row: None,
            current_partition: None,
            pk_values: Vec::new(),
            in_partition,
            last: None,
            more: false,
            error: None,
            post_order,
            group: None,
        };
        Ok((command, collector))
    }

    /// How many rows the read should bring for this page: the rows left
    /// under LIMIT, or one more than the page (to tell whether there is
    /// more); `None` when every row is needed (an aggregate, rows sorted
    /// after the read). Rows the filters drop or a GROUP BY folds only make
    /// the read go on for longer (`Coordinator::read`). And how many rows of
    /// each partition: one for DISTINCT, the PER PARTITION LIMIT.
    pub fn wanted(&self) -> Want {
        let grouped = self.compiled.group_clustering.is_some();
        // GROUP BY counts groups per partition, not rows.
        let per_partition = if self.select.distinct {
            Some(1)
        } else if grouped {
            None
        } else {
            self.per_partition
        };
        if self.post_order.is_some() || (self.compiled.aggregate && !grouped) {
            return Want { rows: None, per_partition };
        }
        let page = self.page_size.map(|n| n.saturating_add(1));
        let limit = (self.remaining != usize::MAX).then_some(self.remaining);
        let rows = match (page, limit) {
            (Some(p), Some(l)) => Some(p.min(l)),
            (p, l) => p.or(l),
        };
        Want { rows, per_partition }
    }

    /// Takes one row (or a partition with no rows) of the answer; says whether
    /// to go on. An error stops the read and is returned by `finish`.
    pub fn visit(&mut self, pv: &crate::storage::PartitionView<'_>, row: Option<(&[u8], &LiveRow)>) -> Visit {
        match self.step(pv, row) {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(e);
                Visit::Stop
            }
        }
    }

    fn step(&mut self, pv: &crate::storage::PartitionView<'_>, row: Option<(&[u8], &LiveRow)>) -> Result<Visit, QueryError> {
        let compiled = self.compiled;
        let table = compiled.table.as_ref();
        if self.current_partition.as_ref() != Some(pv.position) {
            if self.current_partition.is_some() || self.paging.as_ref().is_some_and(|p| &p.position != pv.position) {
                self.in_partition = 0;
            }
            self.current_partition = Some(pv.position.clone());
            self.pk_values = decode_partition_key(table, &pv.position.key)?;
        }
        if row.is_none() && self.restricts_clustering {
            return Ok(Visit::NextPartition);
        }
        // The row's view borrows the partition key while the collector changes.
        let pk_values = std::mem::take(&mut self.pk_values);
        let visit = self.take_row(pv, row, &pk_values);
        self.pk_values = pk_values;
        visit
    }

    fn take_row(
        &mut self,
        pv: &crate::storage::PartitionView<'_>,
        row: Option<(&[u8], &LiveRow)>,
        pk_values: &[Value],
    ) -> Result<Visit, QueryError> {
        let compiled = self.compiled;
        let table = compiled.table.as_ref();
        let clustering = match row {
            Some((bytes, _)) if table.clustering_len > 0 => {
                Some(decode_clustering(&self.clustering_types, bytes).map_err(|e| QueryError::Server { message: e.to_string() })?)
            }
            _ => None,
        };
        let view = RowView {
            table,
            position: pv.position,
            pk: pk_values,
            clustering,
            row: row.map(|(_, r)| r),
            static_row: pv.static_row.as_ref(),
        };
        for f in &self.restrictions.filters {
            if !f.accepts(view.value(f.column)?.as_ref()) {
                return Ok(Visit::Continue);
            }
        }
        for f in &self.restrictions.tuple_filters {
            let actual = (f.column..f.column + f.values.len())
                .map(|i| view.value(i))
                .collect::<Result<Vec<_>, _>>()?;
            if !f.accepts(&actual) {
                return Ok(Visit::Continue);
            }
        }
        if let Some(n) = compiled.group_clustering {
            return self.fold_into_group(pv, row, &view, n);
        }
        if self.remaining == 0 {
            return Ok(Visit::Stop);
        }
        if self.per_partition.is_some_and(|n| self.in_partition >= n) {
            return Ok(Visit::NextPartition);
        }
        if self.page_size.is_some_and(|n| self.rows.len() >= n) {
            self.more = true;
            return Ok(Visit::Stop);
        }
        if compiled.aggregate {
            for (acc, p) in self.accumulators.iter_mut().zip(&compiled.projections) {
                accumulate(acc, p, &view)?;
            }
            if self.first_row.is_none() {
                self.first_row = Some(compiled.projections.iter().map(|p| view.project(p)).collect::<Result<_, _>>()?);
            }
            // LIMIT counts result rows: an aggregate's one row, not the rows read.
            self.in_partition += 1;
            return Ok(self.after_row());
        } else {
            self.rows.push(
                compiled
                    .projections
                    .iter()
                    .map(|p| view.project_bytes(p))
                    .collect::<Result<_, _>>()?,
            );
            if let Some(order) = &mut self.post_order {
                order.keys.push(row.map(|(key, _)| key.to_vec()).unwrap_or_default());
            }
        }
        self.remaining = self.remaining.saturating_sub(1);
        self.in_partition += 1;
        self.last = Some((pv.position.clone(), row.map(|(c, _)| c.to_vec()), self.in_partition));
        // The LIMIT is met: no need to read one more row to know it.
        if self.remaining == 0 {
            return Ok(Visit::Stop);
        }
        Ok(self.after_row())
    }

    /// Where the read goes after a row taken: to the next partition once
    /// this one gave all it may (DISTINCT: one row; PER PARTITION LIMIT), so
    /// that a partition cut at that limit is not read on (`short_read`).
    fn after_row(&self) -> Visit {
        if self.select.distinct || self.per_partition.is_some_and(|n| self.in_partition >= n) {
            Visit::NextPartition
        } else {
            Visit::Continue
        }
    }

    /// GROUP BY: a row of the group being folded, or the first of the next
    /// one, which ends the group before it (counted against LIMIT and the page:
    /// a page ends between groups, and its paging state is the last row of the
    /// last whole group).
    fn fold_into_group(
        &mut self,
        pv: &crate::storage::PartitionView<'_>,
        row: Option<(&[u8], &LiveRow)>,
        view: &RowView<'_>,
        clustering_len: usize,
    ) -> Result<Visit, QueryError> {
        let prefix: Vec<Value> = view
            .clustering
            .as_deref()
            .unwrap_or_default()
            .iter()
            .take(clustering_len)
            .cloned()
            .collect();
        let key = (pv.position.clone(), prefix);
        if self.group.as_ref().is_some_and(|g| *g != key) {
            self.end_group();
            if self.remaining == 0 {
                return Ok(Visit::Stop);
            }
            if self.page_size.is_some_and(|n| self.rows.len() >= n) {
                self.more = true;
                return Ok(Visit::Stop);
            }
        }
        if self.group.is_none() {
            // PER PARTITION LIMIT counts groups here, as Cassandra's
            // GroupByAwareCounter does: the partition's rows count once each.
            if self.per_partition.is_some_and(|n| self.in_partition >= n) {
                return Ok(Visit::NextPartition);
            }
            self.group = Some(key);
            self.in_partition += 1;
        }
        let compiled = self.compiled;
        for (acc, p) in self.accumulators.iter_mut().zip(&compiled.projections) {
            accumulate(acc, p, view)?;
        }
        if self.first_row.is_none() {
            self.first_row = Some(compiled.projections.iter().map(|p| view.project(p)).collect::<Result<_, _>>()?);
        }
        self.last = Some((pv.position.clone(), row.map(|(c, _)| c.to_vec()), self.in_partition));
        Ok(Visit::Continue)
    }

    /// Emits the folded group as one row.
    fn end_group(&mut self) {
        if self.group.take().is_none() {
            return;
        }
        let fresh = self.compiled.projections.iter().map(|_| Accumulator::default()).collect();
        let accumulators = std::mem::replace(&mut self.accumulators, fresh);
        let first = self.first_row.take().unwrap_or_default();
        let types: Vec<&ColumnType> = self.compiled.selected.iter().map(|c| &c.ty).collect();
        let row = self
            .compiled
            .projections
            .iter()
            .zip(accumulators)
            .enumerate()
            .map(|(i, (p, acc))| {
                finish(p, acc, types.get(i).copied())
                    .or_else(|| first.get(i).cloned().flatten())
                    .map(|v| v.to_bytes())
            })
            .collect();
        self.rows.push(row);
        self.remaining = self.remaining.saturating_sub(1);
    }

    /// The result: the rows (or the aggregate row) and, when the page filled
    /// before the read ended, the paging state to go on from.
    pub fn finish(mut self) -> Result<Rows, QueryError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.compiled.group_clustering.is_some() {
            // The last group, unless the read stopped between groups.
            if self.remaining > 0 {
                self.end_group();
            }
        }
        let compiled = self.compiled;
        let mut rows = self.rows;
        if let Some(order) = self.post_order {
            // Cassandra compares the ORDER BY columns only: the keys are cut
            // to that prefix (a prefix's encoding is a prefix of the key's).
            let types = compiled.table.clustering_types();
            let ordering = self.select.order_by.len().min(types.len());
            let cut = |key: Vec<u8>| -> Vec<u8> {
                decode_clustering(&types, &key)
                    .ok()
                    .and_then(|values| encode_clustering(types.get(..ordering)?, values.get(..ordering)?).ok())
                    .unwrap_or(key)
            };
            let mut keyed: Vec<(Vec<u8>, _)> = order.keys.into_iter().map(cut).zip(rows).collect();
            // Stable: rows of equal ORDER BY values keep the order of their partitions.
            if order.reversed {
                keyed.sort_by(|a, b| b.0.cmp(&a.0));
            } else {
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
            }
            keyed.truncate(order.limit.unwrap_or(usize::MAX));
            rows = keyed.into_iter().map(|(_, row)| row).collect();
        }
        if compiled.aggregate && compiled.group_clustering.is_none() {
            let first = self.first_row.unwrap_or_default();
            let types: Vec<&ColumnType> = compiled.selected.iter().map(|c| &c.ty).collect();
            let row = compiled
                .projections
                .iter()
                .zip(self.accumulators)
                .enumerate()
                .map(|(i, (p, acc))| {
                    finish(p, acc, types.get(i).copied())
                        .or_else(|| first.get(i).cloned().flatten())
                        .map(|v| v.to_bytes())
                })
                .collect();
            rows = vec![row];
        }
        if compiled.json {
            rows = rows
                .iter()
                .map(|row| Ok(vec![Some(Value::Text(row_to_json(&compiled.selected, row)?).to_bytes())]))
                .collect::<Result<_, QueryError>>()?;
        }
        let paging_state = match (self.more, self.last) {
            // The count of the last row's partition: the page may have filled
            // while the next partition was already begun.
            (true, Some((position, clustering, partition_rows))) => Some(
                PagingState {
                    position,
                    clustering: if self.select.distinct { None } else { clustering },
                    remaining: self.remaining,
                    partition_rows,
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(Rows {
            metadata: RowsMetadata {
                column_count: compiled.columns.len(),
                columns: compiled.columns.clone(),
                paging_state,
                no_metadata: false,
            },
            rows,
        })
    }
}

fn decode_partition_key(table: &Table, key: &[u8]) -> Result<Vec<Value>, QueryError> {
    let corrupt = || QueryError::Server {
        message: "stored partition key does not decode".into(),
    };
    let parts: Vec<&[u8]> = if table.partition_key_len == 1 {
        vec![key]
    } else {
        split_partition_key(key, table.partition_key_len).ok_or_else(corrupt)?
    };
    parts
        .iter()
        .zip(table.partition_key())
        .map(|(bytes, col)| Value::deserialize(&col.ty, bytes).map_err(|_| corrupt()))
        .collect()
}

fn positive(term: Option<&Term>, binds: &Binds, what: &str) -> Result<Option<usize>, QueryError> {
    let Some(term) = term else { return Ok(None) };
    match evaluate(term, &ColumnType::Int, binds, what)? {
        Evaluated::Value(Value::Int(n)) if n > 0 => Ok(Some(n as usize)),
        Evaluated::Value(Value::Int(_)) => Err(QueryError::invalid(format!("{what} must be strictly positive"))),
        Evaluated::Unset => Ok(None),
        _ => Err(QueryError::invalid(format!("Invalid null value of {what}"))),
    }
}

/// Whether ORDER BY asks for the reverse of the table's clustering order.
fn reversed(table: &Table, select: &Select, r: &Restrictions) -> Result<bool, QueryError> {
    if select.order_by.is_empty() {
        return Ok(false);
    }
    if !matches!(r.partitions, Partitions::Keys(_)) {
        return Err(QueryError::invalid(
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
        ));
    }
    let mut reversed = None;
    for (i, (name, order)) in select.order_by.iter().enumerate() {
        let col = table
            .column(name)
            .ok_or_else(|| QueryError::invalid(format!("Undefined column name {name} in table {}.{}", table.keyspace, table.name)))?;
        if col.kind != ColumnKind::Clustering {
            return Err(QueryError::invalid(format!(
                "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got {name}"
            )));
        }
        if col.position as usize != i {
            return Err(QueryError::invalid(
                "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
            ));
        }
        let this = *order != col.order;
        if reversed.is_some_and(|r| r != this) {
            return Err(QueryError::invalid("Unsupported order by relation"));
        }
        reversed = Some(this);
    }
    Ok(reversed.unwrap_or(false))
}

fn accumulate(acc: &mut Accumulator, p: &Projection, view: &RowView<'_>) -> Result<(), QueryError> {
    match p {
        Projection::CountAll => acc.count += 1,
        Projection::Aggregate(kind, inner) => {
            let Some(v) = view.project(inner)? else { return Ok(()) };
            acc.count += 1;
            match kind {
                Aggregate::Count => {}
                Aggregate::Min => {
                    if acc.value.as_ref().is_none_or(|cur| v.compare(cur).is_lt()) {
                        acc.value = Some(v);
                    }
                }
                Aggregate::Max => {
                    if acc.value.as_ref().is_none_or(|cur| v.compare(cur).is_gt()) {
                        acc.value = Some(v);
                    }
                }
                Aggregate::Sum | Aggregate::Avg => acc.sum = Some(add(acc.sum.take(), v)),
            }
        }
        _ => {}
    }
    Ok(())
}

fn add(sum: Option<Value>, v: Value) -> Value {
    match (sum, v) {
        (None, v) => v,
        (Some(Value::Int(a)), Value::Int(b)) => Value::Int(a.wrapping_add(b)),
        (Some(Value::Bigint(a)), Value::Bigint(b)) => Value::Bigint(a.wrapping_add(b)),
        (Some(Value::Counter(a)), Value::Counter(b)) => Value::Counter(a.wrapping_add(b)),
        (Some(Value::Smallint(a)), Value::Smallint(b)) => Value::Smallint(a.wrapping_add(b)),
        (Some(Value::Tinyint(a)), Value::Tinyint(b)) => Value::Tinyint(a.wrapping_add(b)),
        (Some(Value::Float(a)), Value::Float(b)) => Value::Float(a + b),
        (Some(Value::Double(a)), Value::Double(b)) => Value::Double(a + b),
        (Some(Value::Varint(a)), Value::Varint(b)) => Value::Varint(a + b),
        (Some(s), _) => s,
    }
}

/// Zero in a numeric type: what sum() and avg() of no rows answer.
fn zero_of(ty: Option<&ColumnType>) -> Value {
    match ty {
        Some(ColumnType::Bigint) => Value::Bigint(0),
        Some(ColumnType::Counter) => Value::Counter(0),
        Some(ColumnType::Smallint) => Value::Smallint(0),
        Some(ColumnType::Tinyint) => Value::Tinyint(0),
        Some(ColumnType::Float) => Value::Float(0.0),
        Some(ColumnType::Double) => Value::Double(0.0),
        Some(ColumnType::Varint) => Value::Varint(BigInt::from(0)),
        Some(ColumnType::Decimal) => Value::Decimal {
            unscaled: BigInt::from(0),
            scale: 0,
        },
        _ => Value::Int(0),
    }
}

/// An aggregate's value once its rows are in; `ty` is its result type.
fn finish(p: &Projection, acc: Accumulator, ty: Option<&ColumnType>) -> Option<Value> {
    match p {
        Projection::CountAll | Projection::Aggregate(Aggregate::Count, _) => Some(Value::Bigint(acc.count)),
        Projection::Aggregate(Aggregate::Min | Aggregate::Max, _) => acc.value,
        Projection::Aggregate(Aggregate::Sum, _) => acc.sum.or_else(|| Some(zero_of(ty))),
        Projection::Aggregate(Aggregate::Avg, _) => {
            let n = acc.count.max(1);
            Some(match acc.sum.unwrap_or_else(|| zero_of(ty)) {
                Value::Int(s) => Value::Int((i64::from(s) / n) as i32),
                Value::Bigint(s) => Value::Bigint(s / n),
                Value::Counter(s) => Value::Counter(s / n),
                Value::Smallint(s) => Value::Smallint((i64::from(s) / n) as i16),
                Value::Tinyint(s) => Value::Tinyint((i64::from(s) / n) as i8),
                Value::Float(s) => Value::Float(s / n as f32),
                Value::Double(s) => Value::Double(s / n as f64),
                Value::Varint(s) => Value::Varint(s / BigInt::from(n)),
                other => other,
            })
        }
        _ => None,
    }
}
