//! Lightweight transactions: a conditional statement, or a batch of statements
//! on one partition of one table with conditions among them, run as a Paxos
//! round (`coordinator::cas`): prepare, read the rows the conditions name at
//! the serial level's quorum, check the conditions, propose the update (timed
//! at the ballot) or an empty one, and commit at the statement's level. The
//! answer is Cassandra's: `[applied]`, and when not applied the current values
//! the conditions looked at. A SELECT at SERIAL or LOCAL_SERIAL first finishes
//! any round in progress on its partition (`serial_read`).

use cql_protocol::cql::ast::{Condition, Operator};
use cql_protocol::response::{ColumnSpec, ResultBody, Rows, RowsMetadata};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use cql_protocol::wire::Consistency;

use super::current::Current;
use super::literal::{evaluate, Binds};
use super::modify::RowKey;
use super::{cells, modify, restrictions, Modification, QueryOptions, QueryProcessor};
use crate::coordinator::replicas::Strategy;
use crate::error::QueryError;
use crate::schema::{ColumnKind, Schema, Table};
use crate::storage::{LiveRow, PartitionPosition};

/// One statement of a conditional write, with its keyspace and bound values.
pub(super) type Item<'a> = (Modification<'a>, Option<&'a str>, &'a Binds);

/// The serial level of a conditional write or read: the frame's serial
/// consistency (SERIAL when absent), which must be a serial level.
pub(super) fn serial_level(opts: &QueryOptions) -> Result<Consistency, QueryError> {
    match opts.serial_consistency.unwrap_or(Consistency::Serial) {
        c @ (Consistency::Serial | Consistency::LocalSerial) => Ok(c),
        _ => Err(QueryError::invalid(
            "Invalid consistency for conditional update. Must be one of SERIAL or LOCAL_SERIAL",
        )),
    }
}

fn is_serial(cl: Consistency) -> bool {
    matches!(cl, Consistency::Serial | Consistency::LocalSerial)
}

/// A write that is not conditional may not ask for a serial level.
pub(super) fn check_not_serial(cl: Consistency) -> Result<(), QueryError> {
    if is_serial(cl) {
        return Err(QueryError::invalid("You must use conditional updates for serializable writes"));
    }
    Ok(())
}

/// Whether the statement carries its own USING TIMESTAMP.
pub(super) fn has_timestamp(s: &Modification<'_>) -> bool {
    match s {
        Modification::Insert(i) => i.using.timestamp.is_some(),
        Modification::Update(u) => u.using.timestamp.is_some(),
        Modification::Delete(d) => d.timestamp.is_some(),
    }
}

/// The rows a statement writes, which its conditions are checked on.
fn target_rows(table: &Table, item: &Item<'_>, opts: &QueryOptions) -> Result<Vec<RowKey>, QueryError> {
    let (s, _, binds) = item;
    match s {
        Modification::Insert(i) => {
            // An INSERT names its row in its values; its write context is irrelevant here.
            let ctx = modify::write_context(table, &i.using, binds, opts.default_timestamp, crate::clock::now_seconds())?;
            let m = modify::insert(table, i, binds, &ctx)?;
            Ok(vec![(m.position.clone(), m.rows.first().map(|(c, _)| c.clone()))])
        }
        Modification::Update(u) => modify::written_rows(table, &u.where_clause, binds),
        Modification::Delete(d) => {
            let rows = modify::written_rows(table, &d.where_clause, binds)?;
            // A condition on static columns alone may name only the partition.
            let static_only = !d.if_exists
                && d.conditions
                    .iter()
                    .all(|c| table.column(&c.column).is_some_and(|col| col.kind == ColumnKind::Static));
            if table.clustering_len > 0 && !static_only && rows.iter().any(|(_, row)| row.is_none()) {
                return Err(QueryError::invalid(
                    "DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions",
                ));
            }
            Ok(rows)
        }
    }
}

impl QueryProcessor {
    /// Runs conditional `items` (one statement, or a batch) as a Paxos round.
    pub(super) async fn conditional(&self, schema: &Schema, items: &[Item<'_>], opts: &QueryOptions) -> Result<ResultBody, QueryError> {
        let Some(((first, first_ks, _), _)) = items.split_first() else {
            return Ok(ResultBody::Void);
        };
        let table = self.writable_table(schema, *first_ks, first.table())?;
        for item in items {
            let t = self.writable_table(schema, item.1, item.0.table())?;
            if t.id != table.id {
                return Err(QueryError::invalid("Batch with conditions cannot span multiple tables"));
            }
            if has_timestamp(&item.0) {
                return Err(QueryError::invalid("Cannot provide custom timestamp for conditional updates"));
            }
        }
        if table.is_counter_table() {
            return Err(QueryError::invalid("Conditional updates are not supported on counter tables"));
        }
        let serial = serial_level(opts)?;
        if is_serial(opts.consistency) {
            return Err(QueryError::invalid(format!(
                "{} is not supported as conditional update commit consistency. Use ANY if you mean \"make sure it is accepted but I don't care how many replicas commit it for non-SERIAL reads\"",
                opts.consistency
            )));
        }
        let mut rows: Vec<RowKey> = Vec::new();
        let mut checked = Vec::with_capacity(items.len());
        for item in items {
            let targets = target_rows(&table, item, opts)?;
            checked.push(targets.first().cloned());
            if items.len() == 1 && targets.len() > 1 {
                let partitions = targets.iter().map(|(p, _)| p).collect::<std::collections::HashSet<_>>().len();
                return Err(QueryError::invalid(if partitions > 1 {
                    "IN on the partition key is not supported with conditional updates"
                } else {
                    "IN on the clustering key columns is not supported with conditional updates"
                }));
            }
            for t in targets {
                if !rows.contains(&t) {
                    rows.push(t);
                }
            }
        }
        let Some(position) = rows.first().map(|(p, _)| p.clone()) else {
            return Ok(ResultBody::Void);
        };
        if rows.iter().any(|(p, _)| *p != position) {
            return Err(QueryError::invalid("Batch with conditions cannot span multiple partitions"));
        }
        let strategy = self.strategy(schema, &table);
        let mut round = self.coordinator.paxos(&strategy, serial, table.id, position, false);
        loop {
            let ballot = round.begin().await?;
            let current = Current::fetch(&self.coordinator, &strategy, round.read_consistency(), &table, &rows).await?;
            let mut applied = true;
            for ((s, _, binds), target) in items.iter().zip(&checked) {
                if let Some((position, clustering)) = target {
                    applied &= applies(&table, s, binds, &current, position, clustering.as_deref())?;
                }
            }
            let mut update = Vec::new();
            if applied {
                let timed = QueryOptions {
                    default_timestamp: Some(ballot.micros),
                    ..opts.clone()
                };
                for (s, ks, binds) in items {
                    update.extend(self.mutations(schema, *ks, *s, binds, &timed, &current)?);
                }
            }
            let Some(proposal) = round.propose_or_back_off(ballot, update).await? else {
                continue;
            };
            if applied {
                round.commit(&proposal, opts.consistency).await?;
            }
            crate::metrics::global().cas(if applied { "applied" } else { "not_applied" });
            return result(&table, items, applied, &current, &rows);
        }
    }

    /// Before a SELECT at a serial level: finishes any round in progress on
    /// the partition (and closes it with an empty proposal), so the read that
    /// follows at the matching quorum sees every accepted write.
    pub(super) async fn serial_read(
        &self,
        strategy: &Strategy,
        table: &Table,
        position: PartitionPosition,
        serial: Consistency,
    ) -> Result<Consistency, QueryError> {
        let mut round = self.coordinator.paxos(strategy, serial, table.id, position, true);
        loop {
            let ballot = round.begin().await?;
            if round.propose_or_back_off(ballot, Vec::new()).await?.is_some() {
                return Ok(round.read_consistency());
            }
        }
    }
}

/// Whether one statement's condition holds on the row as read.
fn applies(
    table: &Table,
    s: &Modification<'_>,
    binds: &Binds,
    current: &Current,
    position: &PartitionPosition,
    clustering: Option<&[u8]>,
) -> Result<bool, QueryError> {
    let (row, static_row) = current.row(position, clustering);
    let exists = match clustering {
        Some(_) => row.is_some(),
        None => static_row.is_some(),
    };
    Ok(match s {
        Modification::Insert(i) => !i.if_not_exists || !exists,
        Modification::Update(u) if u.if_exists => exists,
        Modification::Delete(d) if d.if_exists => exists,
        Modification::Update(u) => check_conditions(table, &u.conditions, binds, row, static_row)?,
        Modification::Delete(d) => check_conditions(table, &d.conditions, binds, row, static_row)?,
    })
}

/// Whether every IF condition holds on `row` (and its partition's static row).
fn check_conditions(
    table: &Table,
    conditions: &[Condition],
    binds: &Binds,
    row: Option<&LiveRow>,
    static_row: Option<&LiveRow>,
) -> Result<bool, QueryError> {
    for c in conditions {
        let col = table
            .column(&c.column)
            .ok_or_else(|| QueryError::invalid(format!("Undefined column name {}", c.column)))?;
        let live = if col.kind == ColumnKind::Static { static_row } else { row };
        let actual = match live.and_then(|r| r.get(&col.name)) {
            Some(d) => Some(cells::live_value(col, d)?),
            None => None,
        };
        let actual = match (&c.element, actual) {
            (Some(key), Some(Value::Map(pairs))) => {
                let kt = match &col.ty {
                    ColumnType::Map(k, _) => k.as_ref().clone(),
                    _ => ColumnType::Blob,
                };
                let k = evaluate(key, &kt, binds, &col.name)?.into_value();
                pairs
                    .into_iter()
                    .find(|(pk, _)| k.as_ref().is_some_and(|k| k.compare(pk).is_eq()))
                    .map(|(_, v)| v)
            }
            (Some(_), _) => None,
            (None, v) => v,
        };
        let ty = match (&c.element, &col.ty) {
            (Some(_), ColumnType::Map(_, v)) => v.as_ref().clone(),
            _ => col.ty.clone(),
        };
        let expected = evaluate(&c.value, &ty, binds, &col.name)?.into_value();
        let filter = restrictions::Filter {
            column: 0,
            op: c.op,
            values: expected.clone().into_iter().collect(),
            entry_key: None,
        };
        let ok = match (&actual, &expected, c.op) {
            (None, None, Operator::Eq) => true,
            (None, Some(_), Operator::Neq) | (Some(_), None, Operator::Neq) => true,
            (_, None, _) => false,
            (a, Some(_), _) => filter.accepts(a.as_ref()),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn spec(table: &Table, name: &str, ty: ColumnType) -> ColumnSpec {
    ColumnSpec {
        keyspace: table.keyspace.clone(),
        table: table.name.clone(),
        name: name.into(),
        ty,
    }
}

/// The value of column `i` in the row at (position, clustering), as read.
fn value_at(
    table: &Table,
    i: usize,
    current: &Current,
    position: &PartitionPosition,
    clustering: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, QueryError> {
    let Some(col) = table.columns.get(i) else { return Ok(None) };
    let (row, static_row) = current.row(position, clustering);
    let v = match col.kind {
        ColumnKind::PartitionKey | ColumnKind::Clustering => {
            super::select_key_values(table, position, clustering).get(i).cloned().flatten()
        }
        ColumnKind::Static => static_row
            .and_then(|r| r.get(&col.name))
            .map(|d| cells::live_value(col, d))
            .transpose()?,
        ColumnKind::Regular => row.and_then(|r| r.get(&col.name)).map(|d| cells::live_value(col, d)).transpose()?,
    };
    Ok(v.map(|v| v.to_bytes()))
}

/// Cassandra's answer to a conditional write: `[applied]`; when not applied,
/// for one statement the current row (IF NOT EXISTS) or the columns its
/// conditions name, and for a batch the key and condition columns of each
/// row it read that exists.
fn result(table: &Table, items: &[Item<'_>], applied: bool, current: &Current, rows: &[RowKey]) -> Result<ResultBody, QueryError> {
    let condition_columns = |s: &Modification<'_>| -> Vec<usize> {
        match s {
            Modification::Update(u) => u.conditions.iter().filter_map(|c| table.column_index(&c.column)).collect(),
            Modification::Delete(d) => d.conditions.iter().filter_map(|c| table.column_index(&c.column)).collect(),
            Modification::Insert(_) => Vec::new(),
        }
    };
    let mut columns = vec![spec(table, "[applied]", ColumnType::Boolean)];
    let mut out_rows = Vec::new();
    let applied_cell = Some(Value::Boolean(applied).to_bytes());
    if applied {
        out_rows.push(vec![applied_cell]);
    } else if let ([(s, _, _)], Some((position, clustering))) = (items, rows.first()) {
        let (row, static_row) = current.row(position, clustering.as_deref());
        let exists = row.is_some() || static_row.is_some();
        let report: Vec<usize> = match s {
            Modification::Insert(_) if exists => (0..table.columns.len()).collect(),
            Modification::Update(u) if !u.if_exists => condition_columns(s),
            Modification::Delete(d) if !d.if_exists => condition_columns(s),
            _ => Vec::new(),
        };
        let mut values = vec![applied_cell];
        for i in report {
            let Some(col) = table.columns.get(i) else { continue };
            columns.push(spec(table, &col.name, col.ty.clone()));
            values.push(value_at(table, i, current, position, clustering.as_deref())?);
        }
        out_rows.push(values);
    } else {
        let mut report: Vec<usize> = (0..table.partition_key_len + table.clustering_len).collect();
        for (s, _, _) in items {
            for i in condition_columns(s) {
                if !report.contains(&i) {
                    report.push(i);
                }
            }
        }
        let existing: Vec<&RowKey> = rows
            .iter()
            .filter(|(p, c)| {
                let (row, static_row) = current.row(p, c.as_deref());
                row.is_some() || static_row.is_some()
            })
            .collect();
        if existing.is_empty() {
            out_rows.push(vec![applied_cell]);
        } else {
            for i in &report {
                if let Some(col) = table.columns.get(*i) {
                    columns.push(spec(table, &col.name, col.ty.clone()));
                }
            }
            for (position, clustering) in existing {
                let mut values = vec![applied_cell.clone()];
                for i in &report {
                    values.push(value_at(table, *i, current, position, clustering.as_deref())?);
                }
                out_rows.push(values);
            }
        }
    }
    Ok(ResultBody::Rows(Rows {
        metadata: RowsMetadata {
            column_count: columns.len(),
            columns,
            paging_state: None,
            no_metadata: false,
        },
        rows: out_rows,
    }))
}
