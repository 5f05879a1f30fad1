//! The WHERE clauses Cassandra refuses outright, with its words, before any
//! read is planned: a slice on the partition key, two relations on one column
//! that cannot be merged, and clustering restrictions that skip a column or
//! follow a slice. Without these checks the planner would quietly turn such a
//! relation into a filter and answer "use ALLOW FILTERING", which is not what
//! Cassandra tells the user (and drivers and users match on the text).
//!
//! Pure: it looks only at the table and the relations, never at values.

use cql_protocol::cql::ast::{Operator, Relation, RelationTarget};

use super::restrictions::index_serving;
use crate::error::QueryError;
use crate::schema::{ColumnKind, Table};

/// How one relation restricts its column, as far as merging goes.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Eq,
    In,
    Start,
    End,
    Other,
}

fn shape(op: Operator) -> Shape {
    match op {
        Operator::Eq => Shape::Eq,
        Operator::In => Shape::In,
        Operator::Gt | Operator::Gte => Shape::Start,
        Operator::Lt | Operator::Lte => Shape::End,
        _ => Shape::Other,
    }
}

/// Refuses two relations on one column (or on `token()`) that Cassandra
/// cannot merge into one restriction.
fn check_merge(name: &str, earlier: Shape, later: Shape) -> Result<(), QueryError> {
    let message = match (earlier, later) {
        (Shape::Other, _) | (_, Shape::Other) => return Ok(()),
        (Shape::Eq, _) | (_, Shape::Eq) => format!("{name} cannot be restricted by more than one relation if it includes an Equal"),
        (Shape::In, _) | (_, Shape::In) => format!("{name} cannot be restricted by more than one relation if it includes a IN"),
        (Shape::Start, Shape::Start) => format!("More than one restriction was found for the start bound on {name}"),
        (Shape::End, Shape::End) => format!("More than one restriction was found for the end bound on {name}"),
        _ => return Ok(()),
    };
    Err(QueryError::invalid(message))
}

/// Checks the relations of a SELECT's WHERE clause as Cassandra's
/// StatementRestrictions does; `allow_filtering` lifts the rules that
/// filtering can serve.
pub fn check_select(table: &Table, where_clause: &[Relation], allow_filtering: bool) -> Result<(), QueryError> {
    let indexed = where_clause.iter().any(|r| match &r.target {
        RelationTarget::Column(name) => table
            .column_index(name)
            .is_some_and(|c| index_serving(table, c, r.op, false).is_some()),
        RelationTarget::MapEntry { column, .. } => table
            .column_index(column)
            .is_some_and(|c| index_serving(table, c, r.op, true).is_some()),
        _ => false,
    });
    // Shapes seen so far per column name ("token" for token()).
    let mut seen: Vec<(String, Shape)> = Vec::new();
    // Clustering restrictions in WHERE order: (first position, is a slice).
    let mut clustering: Vec<(usize, bool)> = Vec::new();
    // Every clustering position some relation restricts.
    let mut covered: Vec<usize> = Vec::new();
    for relation in where_clause {
        let s = shape(relation.op);
        match &relation.target {
            RelationTarget::Column(name) => {
                let Some(column) = table.column(name) else { continue };
                if column.kind == ColumnKind::PartitionKey && matches!(s, Shape::Start | Shape::End) && !allow_filtering {
                    return Err(QueryError::invalid(
                        "Only EQ and IN relation are supported on the partition key (unless you use the token() function or allow filtering)",
                    ));
                }
                for (other, earlier) in &seen {
                    if other == name {
                        check_merge(name, *earlier, s)?;
                    }
                }
                seen.push((name.clone(), s));
                if column.kind == ColumnKind::Clustering && s != Shape::Other {
                    clustering.push((column.position as usize, matches!(s, Shape::Start | Shape::End)));
                    covered.push(column.position as usize);
                }
            }
            RelationTarget::Token(columns) => {
                let name = columns.join(", ");
                for (other, earlier) in &seen {
                    if *other == format!("token({name})") {
                        check_merge(&name, *earlier, s)?;
                    }
                }
                seen.push((format!("token({name})"), s));
            }
            RelationTarget::Tuple(columns) => {
                if let Some(first) = columns.first().and_then(|c| table.column(c)) {
                    if first.kind == ColumnKind::Clustering {
                        clustering.push((first.position as usize, matches!(s, Shape::Start | Shape::End)));
                    }
                }
                for c in columns {
                    match table.column(c) {
                        Some(col) if col.kind != ColumnKind::Clustering => {
                            return Err(QueryError::invalid(format!(
                                "Multi-column relations can only be applied to clustering columns but was applied to: {c}"
                            )))
                        }
                        Some(col) => covered.push(col.position as usize),
                        None => {}
                    }
                }
            }
            RelationTarget::MapEntry { .. } => {}
        }
    }
    if allow_filtering || indexed {
        return Ok(());
    }
    // A restriction after a slice on an earlier clustering column.
    let mut last: Option<(usize, bool)> = None;
    for &(position, slice) in &clustering {
        if let Some((last_position, last_slice)) = last {
            if last_slice && position > last_position {
                return Err(QueryError::invalid(format!(
                    "Clustering column \"{}\" cannot be restricted (preceding column \"{}\" is restricted by a non-EQ relation)",
                    clustering_name(table, position),
                    clustering_name(table, last_position)
                )));
            }
        }
        last = Some((position, slice));
    }
    // A restricted clustering column whose predecessor is not restricted.
    let mut positions = covered;
    positions.sort_unstable();
    positions.dedup();
    for (i, position) in positions.iter().enumerate() {
        if *position != i {
            return Err(QueryError::invalid(format!(
                "PRIMARY KEY column \"{}\" cannot be restricted as preceding column \"{}\" is not restricted",
                clustering_name(table, *position),
                clustering_name(table, i)
            )));
        }
    }
    Ok(())
}

fn clustering_name(table: &Table, position: usize) -> String {
    table
        .columns
        .iter()
        .find(|c| c.kind == ColumnKind::Clustering && c.position as usize == position)
        .map(|c| c.name.clone())
        .unwrap_or_default()
}
