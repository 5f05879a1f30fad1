//! WHERE relations (`a = ?`, `(c, d) > (1, 2)`, `token(a) > ?`, `l CONTAINS 1`)
//! and the IF conditions of lightweight transactions. Whether a relation is
//! allowed on a column (a range on a partition key, say) is decided by the
//! executor, which knows the schema.

use nom::multi::separated_list1;
use nom::Parser;

use crate::cql::ast::{Condition, Operator, Relation, RelationTarget, Term};

use super::input::{at_kw, at_sym, ident, is_sym, kw, sym, PResult, Tokens};
use super::term::{bind_marker, comma_list, parenthesised, term};

/// `WHERE rel AND rel ...`
pub(crate) fn where_clause(i: Tokens<'_>) -> PResult<'_, Vec<Relation>> {
    let (i, ()) = kw("WHERE")(i)?;
    and_list(i, relation)
}

/// `WHERE ...` if present, else nothing.
pub(crate) fn opt_where_clause(i: Tokens<'_>) -> PResult<'_, Vec<Relation>> {
    if at_kw(&i, "WHERE") {
        where_clause(i)
    } else {
        i.expect_err("WHERE");
        Ok((i, Vec::new()))
    }
}

/// `item AND item ...`: at least one.
pub(crate) fn and_list<'a, O>(i: Tokens<'a>, item: fn(Tokens<'a>) -> PResult<'a, O>) -> PResult<'a, Vec<O>> {
    separated_list1(kw("AND"), item).parse(i)
}

fn relation(i: Tokens<'_>) -> PResult<'_, Relation> {
    let (i, target) = relation_target(i)?;
    let (i, op) = operator(i)?;
    let (i, value) = if op == Operator::In { in_value(i)? } else { term(i)? };
    Ok((i, Relation { target, op, value }))
}

fn relation_target(i: Tokens<'_>) -> PResult<'_, RelationTarget> {
    if at_sym(&i, "(") {
        let (i, columns) = parenthesised(i, ident)?;
        if columns.is_empty() {
            return Err(i.fail("a column tuple needs at least one column".into()));
        }
        return Ok((i, RelationTarget::Tuple(columns)));
    }
    if at_kw(&i, "TOKEN") && is_sym(i.peek(1), "(") {
        let (i, columns) = parenthesised(i.next(), ident)?;
        return Ok((i, RelationTarget::Token(columns)));
    }
    let (i, column) = ident(i)?;
    if at_sym(&i, "[") {
        let (i, key) = term(i.next())?;
        let (i, ()) = sym("]")(i)?;
        return Ok((i, RelationTarget::MapEntry { column, key }));
    }
    Ok((i, RelationTarget::Column(column)))
}

/// A comparison operator, `IN`, `CONTAINS [KEY]` or `LIKE`.
pub(crate) fn operator(i: Tokens<'_>) -> PResult<'_, Operator> {
    let symbols = [
        ("=", Operator::Eq),
        ("!=", Operator::Neq),
        ("<", Operator::Lt),
        ("<=", Operator::Lte),
        (">", Operator::Gt),
        (">=", Operator::Gte),
    ];
    for (s, op) in symbols {
        if at_sym(&i, s) {
            return Ok((i.next(), op));
        }
    }
    if at_kw(&i, "IN") {
        return Ok((i.next(), Operator::In));
    }
    if at_kw(&i, "LIKE") {
        return Ok((i.next(), Operator::Like));
    }
    if at_kw(&i, "CONTAINS") {
        let after = i.next();
        if at_kw(&after, "KEY") {
            return Ok((after.next(), Operator::ContainsKey));
        }
        return Ok((after, Operator::Contains));
    }
    Err(i.expect_err("an operator"))
}

/// The right side of `IN`: `(v, ...)`, `()` or a bind marker; a `Term::Tuple` or `Term::Bind`.
fn in_value(i: Tokens<'_>) -> PResult<'_, Term> {
    if at_sym(&i, "?") || at_sym(&i, ":") {
        return bind_marker(i);
    }
    if !at_sym(&i, "(") {
        i.expect_err("'?'");
    }
    let (i, items) = parenthesised(i, term)?;
    Ok((i, Term::Tuple(items)))
}

/// `IF EXISTS` or `IF cond AND cond ...`, optional: (if_exists, conditions).
pub(crate) fn if_clause(i: Tokens<'_>) -> PResult<'_, (bool, Vec<Condition>)> {
    if !at_kw(&i, "IF") {
        i.expect_err("IF");
        return Ok((i, (false, Vec::new())));
    }
    let i = i.next();
    match and_list(i, condition) {
        Ok((rest, conditions)) => return Ok((rest, (false, conditions))),
        Err(nom::Err::Error(_)) => {}
        Err(e) => return Err(e),
    }
    let (i, ()) = kw("EXISTS")(i)?;
    Ok((i, (true, Vec::new())))
}

fn condition(i: Tokens<'_>) -> PResult<'_, Condition> {
    let (i, column) = ident(i)?;
    let (i, element) = if at_sym(&i, "[") {
        let (i, key) = term(i.next())?;
        let (i, ()) = sym("]")(i)?;
        (i, Some(key))
    } else {
        (i, None)
    };
    let (i, op) = operator(i)?;
    let (i, value) = if op == Operator::In { in_value(i)? } else { term(i)? };
    Ok((
        i,
        Condition {
            column,
            element,
            op,
            value,
        },
    ))
}

/// `a, b, c`: column names.
pub(crate) fn column_list(i: Tokens<'_>) -> PResult<'_, Vec<String>> {
    comma_list(i, ident)
}
