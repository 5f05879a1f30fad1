//! Bind marker numbering. While parsing, a marker's `index` holds the position of
//! its token, which stays correct however much the parser backtracks; once a
//! statement has parsed, `number_bind_markers` replaces those positions with
//! 0, 1, 2... in order of appearance, across a whole batch.

use crate::cql::ast::{
    Assignment, BatchStatement, Condition, Delete, DeleteTarget, Insert, Relation, Select, Selection, SelectorExpr, Statement, Term,
    Update, Using,
};

/// Renumbers every bind marker of `statement` from 0 in source order.
pub(crate) fn number_bind_markers(statement: &mut Statement) {
    let mut positions = Vec::new();
    visit_statement(statement, &mut |t| {
        if let Term::Bind { index, .. } = t {
            positions.push(*index);
        }
    });
    if positions.is_empty() {
        return;
    }
    positions.sort_unstable();
    positions.dedup();
    visit_statement(statement, &mut |t| {
        if let Term::Bind { index, .. } = t {
            *index = positions.binary_search(index).unwrap_or(*index);
        }
    });
}

type Visitor<'v> = dyn FnMut(&mut Term) + 'v;

fn visit_statement(statement: &mut Statement, f: &mut Visitor<'_>) {
    match statement {
        Statement::Insert(s) => visit_insert(s, f),
        Statement::Update(s) => visit_update(s, f),
        Statement::Delete(s) => visit_delete(s, f),
        Statement::Select(s) => visit_select(s, f),
        Statement::Batch(b) => {
            visit_using(&mut b.using, f);
            for s in &mut b.statements {
                match s {
                    BatchStatement::Insert(s) => visit_insert(s, f),
                    BatchStatement::Update(s) => visit_update(s, f),
                    BatchStatement::Delete(s) => visit_delete(s, f),
                }
            }
        }
        Statement::CreateKeyspace(s) => s.properties.iter_mut().for_each(|p| visit_term(&mut p.value, f)),
        Statement::AlterKeyspace(s) => s.properties.iter_mut().for_each(|p| visit_term(&mut p.value, f)),
        Statement::CreateTable(s) => s.properties.iter_mut().for_each(|p| visit_term(&mut p.value, f)),
        Statement::AlterTable(s) => {
            if let crate::cql::ast::AlterTableAction::With(props) = &mut s.action {
                props.iter_mut().for_each(|p| visit_term(&mut p.value, f));
            }
        }
        Statement::DropKeyspace(_)
        | Statement::DropTable(_)
        | Statement::Truncate(_)
        | Statement::CreateType(_)
        | Statement::DropType(_)
        | Statement::CreateIndex(_)
        | Statement::DropIndex(_)
        | Statement::Use(_)
        | Statement::Describe(_)
        | Statement::CreateRole(_)
        | Statement::AlterRole(_)
        | Statement::DropRole(_)
        | Statement::ListRoles(_)
        | Statement::Grant(_)
        | Statement::Revoke(_)
        | Statement::ListPermissions(_)
        | Statement::NodeTool(_) => {}
    }
}

fn visit_insert(s: &mut Insert, f: &mut Visitor<'_>) {
    s.values.iter_mut().for_each(|t| visit_term(t, f));
    if let Some(json) = &mut s.json {
        visit_term(json, f);
    }
    visit_using(&mut s.using, f);
}

fn visit_update(s: &mut Update, f: &mut Visitor<'_>) {
    visit_using(&mut s.using, f);
    for a in &mut s.assignments {
        match a {
            Assignment::SetElement { key, value, .. } => {
                visit_term(key, f);
                visit_term(value, f);
            }
            Assignment::Set { value, .. }
            | Assignment::SetField { value, .. }
            | Assignment::Add { value, .. }
            | Assignment::Prepend { value, .. }
            | Assignment::Remove { value, .. } => visit_term(value, f),
        }
    }
    visit_relations(&mut s.where_clause, f);
    visit_conditions(&mut s.conditions, f);
}

fn visit_delete(s: &mut Delete, f: &mut Visitor<'_>) {
    for t in &mut s.targets {
        if let DeleteTarget::Element { key, .. } = t {
            visit_term(key, f);
        }
    }
    if let Some(ts) = &mut s.timestamp {
        visit_term(ts, f);
    }
    visit_relations(&mut s.where_clause, f);
    visit_conditions(&mut s.conditions, f);
}

fn visit_select(s: &mut Select, f: &mut Visitor<'_>) {
    if let Selection::Selectors(selectors) = &mut s.selection {
        selectors.iter_mut().for_each(|sel| visit_selector(&mut sel.expr, f));
    }
    visit_relations(&mut s.where_clause, f);
    for t in [&mut s.per_partition_limit, &mut s.limit].into_iter().flatten() {
        visit_term(t, f);
    }
}

fn visit_selector(e: &mut SelectorExpr, f: &mut Visitor<'_>) {
    match e {
        SelectorExpr::Function { args, .. } => args.iter_mut().for_each(|a| visit_selector(a, f)),
        SelectorExpr::Cast(inner, _) | SelectorExpr::Field(inner, _) => visit_selector(inner, f),
        SelectorExpr::Term(t) => visit_term(t, f),
        SelectorExpr::Column(_) | SelectorExpr::CountAll | SelectorExpr::WriteTime(_) | SelectorExpr::Ttl(_) => {}
    }
}

fn visit_using(u: &mut Using, f: &mut Visitor<'_>) {
    for t in [&mut u.ttl, &mut u.timestamp].into_iter().flatten() {
        visit_term(t, f);
    }
}

fn visit_relations(relations: &mut [Relation], f: &mut Visitor<'_>) {
    for r in relations {
        if let crate::cql::ast::RelationTarget::MapEntry { key, .. } = &mut r.target {
            visit_term(key, f);
        }
        visit_term(&mut r.value, f);
    }
}

fn visit_conditions(conditions: &mut [Condition], f: &mut Visitor<'_>) {
    for c in conditions {
        if let Some(e) = &mut c.element {
            visit_term(e, f);
        }
        visit_term(&mut c.value, f);
    }
}

fn visit_term(t: &mut Term, f: &mut Visitor<'_>) {
    match t {
        Term::List(items) | Term::Set(items) | Term::Tuple(items) => items.iter_mut().for_each(|i| visit_term(i, f)),
        Term::Map(entries) => {
            for (k, v) in entries {
                visit_term(k, f);
                visit_term(v, f);
            }
        }
        Term::UserType(fields) => fields.iter_mut().for_each(|(_, v)| visit_term(v, f)),
        Term::FunctionCall { args, .. } => args.iter_mut().for_each(|a| visit_term(a, f)),
        Term::Cast(_, inner) => visit_term(inner, f),
        Term::Bind { .. } => f(t),
        Term::Null
        | Term::Boolean(_)
        | Term::Integer(_)
        | Term::Float(_)
        | Term::String(_)
        | Term::Uuid(_)
        | Term::Blob(_)
        | Term::Duration(_) => {}
    }
}
