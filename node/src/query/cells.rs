//! How a CQL value of a column becomes cells, and live cells become a value
//! again: simple columns hold one cell with the serialised value; non-frozen
//! collections and user types hold one cell per element, keyed by a path
//! (list: a time-ordered id; set: the element's key encoding; map: the key's key
//! encoding; user type: the field's index).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;

use crate::error::QueryError;
use crate::schema::Column;
use crate::storage::key::{decode_component, encode_component};
use crate::storage::{Cell, ColumnData, DeletionTime, LiveCell, LiveData};

/// The write timestamp, TTL and clock of one statement.
#[derive(Debug, Clone, Copy)]
pub struct WriteContext {
    pub timestamp: i64,
    pub ttl: i32,
    pub now: i64,
}

impl WriteContext {
    pub fn cell(&self, value: Vec<u8>) -> Cell {
        Cell::live(self.timestamp, value, self.ttl, self.now)
    }

    pub fn deletion(&self) -> DeletionTime {
        DeletionTime {
            timestamp: self.timestamp,
            local_deletion_time: self.now,
        }
    }

    /// The deletion that an overwrite of a whole collection writes: just before
    /// the new elements, so they survive it.
    fn overwrite(&self) -> DeletionTime {
        DeletionTime {
            timestamp: self.timestamp - 1,
            local_deletion_time: self.now,
        }
    }
}

fn key_error(e: impl std::fmt::Display) -> QueryError {
    QueryError::invalid(e.to_string())
}

/// A path that sorts after (append) or before (prepend) every path made earlier.
pub fn list_path(ctx: &WriteContext, prepend: bool, index: usize, count: usize) -> Vec<u8> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let micros = ctx.timestamp.max(0);
    // Prepended elements get decreasing times; within one statement they keep their order.
    let time = if prepend {
        -micros.saturating_mul(1024) - (count - index) as i64
    } else {
        micros.saturating_mul(1024) + index as i64
    };
    // Statements at one timestamp (a batch) are told apart by the order they
    // ran in: a later append sorts after, a later prepend before, as if each ran
    // on its own.
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let sequence = if prepend { u64::MAX - sequence } else { sequence };
    let mut path = ((time as u64) ^ (1 << 63)).to_be_bytes().to_vec();
    path.extend_from_slice(&sequence.to_be_bytes());
    path
}

pub fn set_path(elem_ty: &ColumnType, element: &Value) -> Result<Vec<u8>, QueryError> {
    let mut path = Vec::new();
    encode_component(&mut path, elem_ty, element, false).map_err(key_error)?;
    Ok(path)
}

pub fn field_path(index: usize) -> Vec<u8> {
    (index as u16).to_be_bytes().to_vec()
}

/// The element cells of a collection or user type value.
pub fn element_cells(column: &Column, value: &Value, ctx: &WriteContext, prepend: bool) -> Result<BTreeMap<Vec<u8>, Cell>, QueryError> {
    let mut cells = BTreeMap::new();
    match (&column.ty, value) {
        (ColumnType::List(_), Value::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                cells.insert(list_path(ctx, prepend, i, items.len()), ctx.cell(item.to_bytes()));
            }
        }
        (ColumnType::Set(elem), Value::Set(items) | Value::List(items)) => {
            for item in items {
                cells.insert(set_path(elem, item)?, ctx.cell(Vec::new()));
            }
        }
        (ColumnType::Map(kt, _), Value::Map(pairs)) => {
            for (k, v) in pairs {
                cells.insert(set_path(kt, k)?, ctx.cell(v.to_bytes()));
            }
        }
        (ColumnType::Udt { .. }, Value::Udt(fields)) => {
            for (i, (_, v)) in fields.iter().enumerate() {
                let cell = match v {
                    Some(v) => ctx.cell(v.to_bytes()),
                    None => Cell::tombstone(ctx.timestamp),
                };
                cells.insert(field_path(i), cell);
            }
        }
        (ty, v) => {
            return Err(QueryError::invalid(format!(
                "Invalid value {} for column {} of type {ty:?}",
                v.cql_literal(),
                column.name
            )))
        }
    }
    Ok(cells)
}

/// The data a `column = value` (or `= null`) assignment writes.
pub fn assign(column: &Column, value: Option<&Value>, ctx: &WriteContext) -> Result<ColumnData, QueryError> {
    if !column.is_multi_cell() {
        let cell = match value {
            Some(v) => ctx.cell(v.to_bytes()),
            None => Cell::tombstone(ctx.timestamp),
        };
        return Ok(ColumnData::Simple(cell));
    }
    let cells = match value {
        Some(v) => element_cells(column, v, ctx, false)?,
        None => BTreeMap::new(),
    };
    Ok(ColumnData::Complex {
        deletion: Some(ctx.overwrite()),
        cells,
    })
}

/// The data that adds elements without removing others (`c = c + v`).
pub fn add_elements(column: &Column, value: &Value, ctx: &WriteContext, prepend: bool) -> Result<ColumnData, QueryError> {
    Ok(ColumnData::Complex {
        deletion: None,
        cells: element_cells(column, value, ctx, prepend)?,
    })
}

/// Tombstones for the given element paths.
pub fn remove_paths(paths: impl IntoIterator<Item = Vec<u8>>, ctx: &WriteContext) -> ColumnData {
    ColumnData::Complex {
        deletion: None,
        cells: paths.into_iter().map(|p| (p, Cell::tombstone(ctx.timestamp))).collect(),
    }
}

fn decode(ty: &ColumnType, bytes: &[u8]) -> Result<Value, QueryError> {
    Value::deserialize(ty, bytes).map_err(|e| QueryError::Server {
        message: format!("stored value does not decode as {ty:?}: {e}"),
    })
}

/// The value a live column holds.
pub fn live_value(column: &Column, data: &LiveData) -> Result<Value, QueryError> {
    match data {
        LiveData::Simple(cell) => decode(&column.ty, &cell.value),
        LiveData::Complex(elements) => complex_value(&column.ty, elements),
    }
}

fn complex_value(ty: &ColumnType, elements: &[(Vec<u8>, LiveCell)]) -> Result<Value, QueryError> {
    Ok(match ty {
        // A counter's shards, one per node that led an increment.
        ColumnType::Counter => Value::Counter(crate::replica::counter::sum(elements)),
        ColumnType::List(elem) => Value::List(elements.iter().map(|(_, c)| decode(elem, &c.value)).collect::<Result<_, _>>()?),
        ColumnType::Set(elem) => Value::Set(
            elements
                .iter()
                .map(|(p, _)| decode_component(&mut p.as_slice(), elem, false).map_err(key_error))
                .collect::<Result<_, _>>()?,
        ),
        ColumnType::Map(kt, vt) => Value::Map(
            elements
                .iter()
                .map(|(p, c)| {
                    Ok((
                        decode_component(&mut p.as_slice(), kt, false).map_err(key_error)?,
                        decode(vt, &c.value)?,
                    ))
                })
                .collect::<Result<_, QueryError>>()?,
        ),
        ColumnType::Udt { fields, .. } => {
            let mut out: Vec<(String, Option<Value>)> = fields.iter().map(|(n, _)| (n.clone(), None)).collect();
            for (path, cell) in elements {
                let idx = path.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize);
                if let Some((slot, (_, fty))) = idx.and_then(|i| out.get_mut(i).zip(fields.get(i))) {
                    slot.1 = Some(decode(fty, &cell.value)?);
                }
            }
            Value::Udt(out)
        }
        other => {
            return Err(QueryError::Server {
                message: format!("a {other:?} column holds element cells"),
            })
        }
    })
}

/// The newest timestamp and the TTL left of a live column, for writetime() and ttl().
pub fn live_meta(data: &LiveData) -> Option<(i64, Option<i32>)> {
    match data {
        LiveData::Simple(c) => Some((c.timestamp, c.ttl)),
        LiveData::Complex(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_at_one_timestamp_append_and_prepend_as_if_each_ran_alone() {
        let ctx = WriteContext {
            timestamp: 1_000,
            ttl: 0,
            now: 0,
        };
        // Three `x = [i] + x` in one batch: the last one's element comes first.
        let prepended: Vec<Vec<u8>> = (0..3).map(|_| list_path(&ctx, true, 0, 1)).collect();
        assert!(prepended[2] < prepended[1] && prepended[1] < prepended[0], "{prepended:?}");
        // Three `x = x + [i]`: the last one's element comes last.
        let appended: Vec<Vec<u8>> = (0..3).map(|_| list_path(&ctx, false, 0, 1)).collect();
        assert!(appended[0] < appended[1] && appended[1] < appended[2], "{appended:?}");
        // Every prepend sorts before every append of the same timestamp, and one
        // statement's elements keep their order.
        assert!(prepended[0] < appended[0]);
        let (first, second) = (list_path(&ctx, true, 0, 2), list_path(&ctx, true, 1, 2));
        assert!(first < second);
    }
}
