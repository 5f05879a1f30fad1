//! Bind markers of a statement: their types and names (the prepared metadata a
//! driver binds against), which of them carry the partition key (for token-aware
//! routing), and turning the values a client sent into `Binds` in marker order.

use cql_protocol::cql::ast::{Assignment, BatchStatement, DeleteTarget, Operator, Relation, RelationTarget, Statement, Term, Using};
use cql_protocol::request::{BoundValue, BoundValues};
use cql_protocol::response::ColumnSpec;
use cql_protocol::types::ColumnType;

use super::literal::Binds;
use super::restrictions::relation_value_type;
use crate::error::QueryError;
use crate::schema::{ColumnKind, Table};

/// The markers of one statement: spec per marker, in marker order.
#[derive(Debug, Default)]
pub struct Markers {
    found: Vec<(usize, ColumnSpec)>,
    /// (partition key position, marker index) for `pk = ?` and INSERT values.
    pk: Vec<(usize, usize)>,
}

impl Markers {
    fn push(&mut self, table: &Table, index: usize, name: &str, ty: &ColumnType) {
        self.found.push((
            index,
            ColumnSpec {
                keyspace: table.keyspace.clone(),
                table: table.name.clone(),
                name: name.to_string(),
                ty: ty.clone(),
            },
        ));
    }

    fn term(&mut self, table: &Table, term: &Term, ty: &ColumnType, name: &str) {
        match (term, ty) {
            (Term::Bind { index, name: marker }, _) => self.push(table, *index, marker.as_deref().unwrap_or(name), ty),
            (Term::Tuple(items), ColumnType::Tuple(types)) => {
                for (t, ty) in items.iter().zip(types) {
                    self.term(table, t, ty, name);
                }
            }
            (Term::Tuple(items) | Term::List(items) | Term::Set(items), ColumnType::List(e) | ColumnType::Set(e)) => {
                for t in items {
                    self.term(table, t, e, name);
                }
            }
            (Term::Map(pairs), ColumnType::Map(k, v)) => {
                for (kt, vt) in pairs {
                    self.term(table, kt, k, name);
                    self.term(table, vt, v, name);
                }
            }
            (Term::UserType(fields), ColumnType::Udt { fields: types, .. }) => {
                for (f, t) in fields {
                    if let Some((_, ty)) = types.iter().find(|(n, _)| n == f) {
                        self.term(table, t, ty, name);
                    }
                }
            }
            (Term::Cast(_, inner), _) => self.term(table, inner, ty, name),
            (Term::FunctionCall { name: f, args }, _) if f == "token" => {
                for (arg, col) in args.iter().zip(table.partition_key()) {
                    self.term(table, arg, &col.ty, &col.name);
                }
            }
            (Term::FunctionCall { args, .. }, _) => {
                for arg in args {
                    self.term(table, arg, &ColumnType::Varchar, name);
                }
            }
            _ => {}
        }
    }

    fn using(&mut self, table: &Table, using: &Using) {
        if let Some(t) = &using.ttl {
            self.term(table, t, &ColumnType::Int, "[ttl]");
        }
        if let Some(t) = &using.timestamp {
            self.term(table, t, &ColumnType::Bigint, "[timestamp]");
        }
    }

    fn relations(&mut self, table: &Table, relations: &[Relation]) -> Result<(), QueryError> {
        for r in relations {
            let ty = relation_value_type(table, r)?;
            let name = match &r.target {
                RelationTarget::Column(c) => c.clone(),
                RelationTarget::Tuple(cs) => format!("({})", cs.join(",")),
                RelationTarget::Token(_) => "partition key token".into(),
                RelationTarget::MapEntry { column, key } => {
                    if let Some(ColumnType::Map(key_type, _)) = table.column(column).map(|c| &c.ty) {
                        self.term(table, key, key_type, &format!("key({column})"));
                    }
                    format!("value({column})")
                }
            };
            if let (RelationTarget::Column(c), Operator::Eq, Term::Bind { index, .. }) = (&r.target, r.op, &r.value) {
                if let Some(col) = table.column(c).filter(|c| c.kind == ColumnKind::PartitionKey) {
                    self.pk.push((col.position as usize, *index));
                }
            }
            self.term(table, &r.value, &ty, &name);
        }
        Ok(())
    }

    fn assignments(&mut self, table: &Table, assignments: &[Assignment]) -> Result<(), QueryError> {
        for a in assignments {
            let (column, key, value, op_add) = match a {
                Assignment::Set { column, value } => (column, None, value, false),
                Assignment::SetElement { column, key, value } => (column, Some(key), value, false),
                Assignment::SetField { column, value, .. } => (column, None, value, false),
                Assignment::Add { column, value } | Assignment::Prepend { column, value } => (column, None, value, true),
                Assignment::Remove { column, value } => (column, None, value, true),
            };
            let col = table
                .column(column)
                .ok_or_else(|| QueryError::invalid(format!("Undefined column name {column}")))?;
            match (a, &col.ty) {
                (Assignment::SetElement { .. }, ColumnType::Map(k, v)) => {
                    if let Some(key) = key {
                        self.term(table, key, k, &format!("key({column})"));
                    }
                    self.term(table, value, v, &format!("value({column})"));
                }
                (Assignment::SetElement { .. }, ColumnType::List(e)) => {
                    if let Some(key) = key {
                        self.term(table, key, &ColumnType::Int, &format!("idx({column})"));
                    }
                    self.term(table, value, e, &format!("value({column})"));
                }
                (Assignment::SetField { field, .. }, ColumnType::Udt { fields, .. }) => {
                    if let Some((_, ty)) = fields.iter().find(|(n, _)| n == field) {
                        self.term(table, value, ty, column);
                    }
                }
                (Assignment::Remove { .. }, ColumnType::Map(k, _)) => self.term(table, value, &ColumnType::Set(k.clone()), column),
                (_, ColumnType::Counter) if op_add => self.term(table, value, &ColumnType::Counter, column),
                (_, ty) => self.term(table, value, ty, column),
            }
        }
        Ok(())
    }

    /// Collects the markers of a statement that targets `table`.
    pub fn collect(&mut self, table: &Table, stmt: &Statement) -> Result<(), QueryError> {
        match stmt {
            Statement::Insert(ins) => {
                for (c, v) in ins.columns.iter().zip(&ins.values) {
                    if let Some(col) = table.column(c) {
                        if let (ColumnKind::PartitionKey, Term::Bind { index, .. }) = (col.kind, v) {
                            self.pk.push((col.position as usize, *index));
                        }
                        self.term(table, v, &col.ty, c);
                    }
                }
                if let Some(json) = &ins.json {
                    self.term(table, json, &ColumnType::Varchar, "[json]");
                }
                self.using(table, &ins.using);
            }
            Statement::Update(up) => {
                self.using(table, &up.using);
                self.assignments(table, &up.assignments)?;
                self.relations(table, &up.where_clause)?;
                for c in &up.conditions {
                    if let Some(col) = table.column(&c.column) {
                        self.term(table, &c.value, &col.ty, &c.column);
                    }
                }
            }
            Statement::Delete(del) => {
                for t in &del.targets {
                    if let DeleteTarget::Element { column, key } = t {
                        if let Some(col) = table.column(column) {
                            let ty = match &col.ty {
                                ColumnType::Map(k, _) | ColumnType::Set(k) => k.as_ref().clone(),
                                _ => ColumnType::Int,
                            };
                            self.term(table, key, &ty, column);
                        }
                    }
                }
                if let Some(t) = &del.timestamp {
                    self.term(table, t, &ColumnType::Bigint, "[timestamp]");
                }
                self.relations(table, &del.where_clause)?;
                for c in &del.conditions {
                    if let Some(col) = table.column(&c.column) {
                        self.term(table, &c.value, &col.ty, &c.column);
                    }
                }
            }
            Statement::Select(sel) => {
                self.relations(table, &sel.where_clause)?;
                if let Some(t) = &sel.per_partition_limit {
                    self.term(table, t, &ColumnType::Int, "[per_partition_limit]");
                }
                if let Some(t) = &sel.limit {
                    self.term(table, t, &ColumnType::Int, "[limit]");
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Specs in marker order, and the partition key indexes (empty unless every
    /// partition key column is bound by one marker).
    pub fn finish(mut self, table: Option<&Table>) -> (Vec<ColumnSpec>, Vec<u16>) {
        self.found.sort_by_key(|(i, _)| *i);
        self.found.dedup_by_key(|(i, _)| *i);
        let pk_indexes = match table {
            Some(t) if !self.pk.is_empty() => {
                let mut idx = Vec::new();
                for pos in 0..t.partition_key_len {
                    match self.pk.iter().find(|(p, _)| *p == pos) {
                        Some((_, marker)) => idx.push(*marker as u16),
                        None => return (self.found.into_iter().map(|(_, s)| s).collect(), Vec::new()),
                    }
                }
                idx
            }
            _ => Vec::new(),
        };
        (self.found.into_iter().map(|(_, s)| s).collect(), pk_indexes)
    }
}

/// The tables a batch's statements name, in order, for marker collection.
pub fn batch_statement(b: &BatchStatement) -> Statement {
    match b {
        BatchStatement::Insert(i) => Statement::Insert(i.clone()),
        BatchStatement::Update(u) => Statement::Update(u.clone()),
        BatchStatement::Delete(d) => Statement::Delete(d.clone()),
    }
}

/// The client's values in marker order.
pub fn bind(values: &BoundValues, specs: &[ColumnSpec]) -> Result<Binds, QueryError> {
    match values {
        BoundValues::None => {
            if !specs.is_empty() {
                return Err(QueryError::invalid(format!(
                    "There were {} markers(?) in CQL but 0 bound variables",
                    specs.len()
                )));
            }
            Ok(Binds::default())
        }
        BoundValues::Positional(v) => {
            if v.len() != specs.len() {
                return Err(QueryError::invalid(format!(
                    "There were {} markers(?) in CQL but {} bound variables",
                    specs.len(),
                    v.len()
                )));
            }
            Ok(Binds { values: v.clone() })
        }
        BoundValues::Named(named) => {
            let mut out = Vec::with_capacity(specs.len());
            for s in specs {
                match named.iter().find(|(n, _)| n.eq_ignore_ascii_case(&s.name)) {
                    Some((_, v)) => out.push(v.clone()),
                    None => {
                        return Err(QueryError::invalid(format!(
                            "No value has been provided for bind marker {}",
                            s.name
                        )))
                    }
                }
            }
            let _ = BoundValue::Unset;
            Ok(Binds { values: out })
        }
    }
}
