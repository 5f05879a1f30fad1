//! Data modification: INSERT (with values or JSON), UPDATE with its assignment
//! forms, DELETE, their USING and IF clauses, and BATCH. Matching values to column
//! types is the executor's job.

use crate::cql::ast::{Assignment, Batch, BatchKind, BatchStatement, Delete, DeleteTarget, Insert, Term, Update, Using};

use super::input::{at_kw, at_sym, ident, if_not_exists, kw, qualified_name, quietly, sym, PResult, Tokens};
use super::relation::{and_list, if_clause, where_clause};
use super::term::{comma_list, int_value, parenthesised, term};

/// `INSERT INTO t (cols) VALUES (vals) | JSON 'json' [DEFAULT NULL | DEFAULT UNSET] [IF NOT EXISTS] [USING ...]`
pub(crate) fn insert(i: Tokens<'_>) -> PResult<'_, Insert> {
    let (i, ()) = kw("INSERT")(i)?;
    let (i, ()) = kw("INTO")(i)?;
    let (i, table) = qualified_name(i)?;
    let (i, columns, values, json, json_default_unset) = if at_kw(&i, "JSON") {
        let (i, json) = term(i.next())?;
        let (i, unset) = if at_kw(&i, "DEFAULT") {
            let after = i.next();
            if at_kw(&after, "UNSET") {
                (after.next(), true)
            } else {
                (kw("NULL")(after)?.0, false)
            }
        } else {
            (i, false)
        };
        (i, Vec::new(), Vec::new(), Some(json), unset)
    } else {
        let (i, columns) = parenthesised(i, ident)?;
        let (i, ()) = kw("VALUES")(i)?;
        let (i, values) = parenthesised(i, term)?;
        (i, columns, values, None, false)
    };
    let (i, if_not_exists) = if_not_exists(i)?;
    let (i, using) = opt_using(i)?;
    Ok((
        i,
        Insert {
            table,
            columns,
            values,
            json,
            json_default_unset,
            if_not_exists,
            using,
        },
    ))
}

/// `USING TTL t AND TIMESTAMP ts`, in either order, or nothing.
pub(crate) fn opt_using(i: Tokens<'_>) -> PResult<'_, Using> {
    if !at_kw(&i, "USING") {
        i.expect_err("USING");
        return Ok((i, Using::default()));
    }
    let (i, items) = and_list(i.next(), using_item)?;
    let mut using = Using::default();
    for (is_ttl, value) in items {
        if is_ttl {
            using.ttl = Some(value);
        } else {
            using.timestamp = Some(value);
        }
    }
    Ok((i, using))
}

/// `TTL v` (true) or `TIMESTAMP v` (false).
fn using_item(i: Tokens<'_>) -> PResult<'_, (bool, Term)> {
    if at_kw(&i, "TTL") {
        let (i, v) = int_value(i.next())?;
        return Ok((i, (true, v)));
    }
    if !at_kw(&i, "TIMESTAMP") {
        i.expect_err("TTL");
    }
    let (i, ()) = kw("TIMESTAMP")(i)?;
    let (i, v) = int_value(i)?;
    Ok((i, (false, v)))
}

/// `UPDATE t [USING ...] SET assignments WHERE relations [IF EXISTS | IF conditions]`
pub(crate) fn update(i: Tokens<'_>) -> PResult<'_, Update> {
    let (i, ()) = kw("UPDATE")(i)?;
    let (i, table) = qualified_name(i)?;
    let (i, using) = opt_using(i)?;
    let (i, ()) = kw("SET")(i)?;
    let (i, assignments) = comma_list(i, assignment)?;
    let (i, where_clause) = where_clause(i)?;
    let (i, (if_exists, conditions)) = if_clause(i)?;
    Ok((
        i,
        Update {
            table,
            using,
            assignments,
            where_clause,
            if_exists,
            conditions,
        },
    ))
}

fn assignment(i: Tokens<'_>) -> PResult<'_, Assignment> {
    let (i, column) = ident(i)?;
    if at_sym(&i, "[") {
        let (i, key) = term(i.next())?;
        let (i, ()) = sym("]")(i)?;
        let (i, ()) = sym("=")(i)?;
        let (i, value) = term(i)?;
        return Ok((i, Assignment::SetElement { column, key, value }));
    }
    if at_sym(&i, ".") {
        let (i, field) = ident(i.next())?;
        let (i, ()) = sym("=")(i)?;
        let (i, value) = term(i)?;
        return Ok((i, Assignment::SetField { column, field, value }));
    }
    if at_sym(&i, "+=") {
        let (i, value) = term(i.next())?;
        return Ok((i, Assignment::Add { column, value }));
    }
    if at_sym(&i, "-=") {
        let (i, value) = term(i.next())?;
        return Ok((i, Assignment::Remove { column, value }));
    }
    if !at_sym(&i, "=") {
        for what in ["'+='", "'-='", "'['", "'.'"] {
            i.expect_err(what);
        }
    }
    let (i, ()) = sym("=")(i)?;
    assignment_value(i, column)
}

/// The right side of `c = ...`: `v`, `c + v`, `c - v` or `v + c`.
fn assignment_value(i: Tokens<'_>, column: String) -> PResult<'_, Assignment> {
    let starts_with_column = quietly(i, ident).is_ok() && (at_sym(&i.next(), "+") || at_sym(&i.next(), "-"));
    if starts_with_column {
        let (after, other) = ident(i)?;
        if other != column {
            return Err(i.fail(format!(
                "only expressions of the form {column} = {column} + <value> are supported, not {column} = {other} ..."
            )));
        }
        let is_add = at_sym(&after, "+");
        let (rest, value) = term(after.next())?;
        let assignment = if is_add {
            Assignment::Add { column, value }
        } else {
            Assignment::Remove { column, value }
        };
        return Ok((rest, assignment));
    }
    let (i, value) = term(i)?;
    if at_sym(&i, "+") {
        let (rest, other) = ident(i.next())?;
        if other != column {
            return Err(i.next().fail(format!(
                "only expressions of the form {column} = <value> + {column} are supported, not ... + {other}"
            )));
        }
        return Ok((rest, Assignment::Prepend { column, value }));
    }
    i.expect_err("'+'");
    Ok((i, Assignment::Set { column, value }))
}

/// `DELETE [targets] FROM t [USING TIMESTAMP ts] WHERE relations [IF ...]`
pub(crate) fn delete(i: Tokens<'_>) -> PResult<'_, Delete> {
    let (i, ()) = kw("DELETE")(i)?;
    let (i, targets) = if at_kw(&i, "FROM") {
        (i, Vec::new())
    } else {
        comma_list(i, delete_target)?
    };
    let (i, ()) = kw("FROM")(i)?;
    let (i, table) = qualified_name(i)?;
    let (i, timestamp) = if at_kw(&i, "USING") {
        let (i, ()) = kw("TIMESTAMP")(i.next())?;
        let (i, ts) = int_value(i)?;
        (i, Some(ts))
    } else {
        i.expect_err("USING");
        (i, None)
    };
    let (i, where_clause) = where_clause(i)?;
    let (i, (if_exists, conditions)) = if_clause(i)?;
    Ok((
        i,
        Delete {
            table,
            targets,
            timestamp,
            where_clause,
            if_exists,
            conditions,
        },
    ))
}

fn delete_target(i: Tokens<'_>) -> PResult<'_, DeleteTarget> {
    let (i, column) = ident(i)?;
    if at_sym(&i, "[") {
        let (i, key) = term(i.next())?;
        let (i, ()) = sym("]")(i)?;
        return Ok((i, DeleteTarget::Element { column, key }));
    }
    if at_sym(&i, ".") {
        let (i, field) = ident(i.next())?;
        return Ok((i, DeleteTarget::Field { column, field }));
    }
    Ok((i, DeleteTarget::Column(column)))
}

/// `BEGIN [UNLOGGED | COUNTER] BATCH [USING ...] stmt [;] ... APPLY BATCH`
pub(crate) fn batch(i: Tokens<'_>) -> PResult<'_, Batch> {
    let (i, ()) = kw("BEGIN")(i)?;
    let (i, kind) = if at_kw(&i, "UNLOGGED") {
        (i.next(), BatchKind::Unlogged)
    } else if at_kw(&i, "COUNTER") {
        (i.next(), BatchKind::Counter)
    } else {
        (i, BatchKind::Logged)
    };
    let (i, ()) = kw("BATCH")(i)?;
    let (mut i, using) = opt_using(i)?;
    let mut statements = Vec::new();
    loop {
        if at_kw(&i, "APPLY") {
            let (rest, ()) = kw("BATCH")(i.next())?;
            return Ok((rest, Batch { kind, using, statements }));
        }
        let (rest, statement) = if at_kw(&i, "INSERT") {
            let (rest, s) = insert(i)?;
            (rest, BatchStatement::Insert(s))
        } else if at_kw(&i, "UPDATE") {
            let (rest, s) = update(i)?;
            (rest, BatchStatement::Update(s))
        } else if at_kw(&i, "DELETE") {
            let (rest, s) = delete(i)?;
            (rest, BatchStatement::Delete(s))
        } else {
            for word in ["INSERT", "UPDATE", "DELETE", "APPLY BATCH"] {
                i.expect_err(word);
            }
            return Err(i.expect_err("APPLY BATCH"));
        };
        statements.push(statement);
        i = rest;
        while at_sym(&i, ";") {
            i = i.next();
        }
    }
}
