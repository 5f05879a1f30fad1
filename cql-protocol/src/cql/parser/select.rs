//! SELECT: the selection (`*`, columns, `count(*)`, `writetime(c)`, function
//! calls, `CAST(c AS t)`, literals), the WHERE clause and the GROUP BY, ORDER BY,
//! LIMIT and ALLOW FILTERING tails. It does not check that the selectors make sense
//! for the table; the executor does.

use crate::cql::ast::{Order, Select, Selection, Selector, SelectorExpr};
use crate::cql::lexer::TokenKind;

use super::input::{at_kw, at_sym, ident, is_kw, is_sym, kw, nested, qualified_name, quietly, sym, PResult, Tokens};
use super::relation::{column_list, opt_where_clause};
use super::term::{comma_list, function_name, int_value, parenthesised, starts_function_call, term};
use super::types::cql_type;

/// `SELECT [JSON] [DISTINCT] selection FROM table [WHERE ...] [GROUP BY ...]
/// [ORDER BY ...] [PER PARTITION LIMIT n] [LIMIT n] [ALLOW FILTERING]`
pub(crate) fn select(i: Tokens<'_>) -> PResult<'_, Select> {
    let (i, ()) = kw("SELECT")(i)?;
    let (i, json) = leading_keyword(i, "JSON");
    let (i, distinct) = leading_keyword(i, "DISTINCT");
    let (i, selection) = selection(i)?;
    let (i, ()) = kw("FROM")(i)?;
    let (i, table) = qualified_name(i)?;
    let (i, where_clause) = opt_where_clause(i)?;
    let (i, group_by) = if at_kw(&i, "GROUP") {
        let (i, ()) = kw("BY")(i.next())?;
        column_list(i)?
    } else {
        i.expect_err("GROUP BY");
        (i, Vec::new())
    };
    let (i, order_by) = if at_kw(&i, "ORDER") {
        let (i, ()) = kw("BY")(i.next())?;
        comma_list(i, ordering)?
    } else {
        i.expect_err("ORDER BY");
        (i, Vec::new())
    };
    let (i, per_partition_limit) = if at_kw(&i, "PER") {
        let (i, ()) = kw("PARTITION")(i.next())?;
        let (i, ()) = kw("LIMIT")(i)?;
        let (i, n) = int_value(i)?;
        (i, Some(n))
    } else {
        i.expect_err("PER PARTITION LIMIT");
        (i, None)
    };
    let (i, limit) = if at_kw(&i, "LIMIT") {
        let (i, n) = int_value(i.next())?;
        (i, Some(n))
    } else {
        i.expect_err("LIMIT");
        (i, None)
    };
    let (i, allow_filtering) = if at_kw(&i, "ALLOW") {
        let (i, ()) = kw("FILTERING")(i.next())?;
        (i, true)
    } else {
        i.expect_err("ALLOW FILTERING");
        (i, false)
    };
    let select = Select {
        table,
        distinct,
        json,
        selection,
        where_clause,
        group_by,
        order_by,
        per_partition_limit,
        limit,
        allow_filtering,
    };
    Ok((i, select))
}

/// `JSON` and `DISTINCT` are also valid column names: they are keywords only when
/// a selection follows rather than `FROM`, `,`, `(`, `.` or an alias.
fn leading_keyword<'a>(i: Tokens<'a>, word: &str) -> (Tokens<'a>, bool) {
    if !at_kw(&i, word) {
        return (i, false);
    }
    let next = i.peek(1);
    // `json AS x FROM` aliases a column; `JSON as.f FROM` selects a field of `as`.
    let aliased = is_kw(next, "AS")
        && i.peek(2)
            .is_some_and(|t| matches!(t.kind, TokenKind::Ident | TokenKind::QuotedIdent))
        && (is_kw(i.peek(3), "FROM") || is_sym(i.peek(3), ","));
    let is_column = aliased || is_kw(next, "FROM") || is_sym(next, ",") || is_sym(next, "(") || is_sym(next, ".");
    if is_column {
        (i, false)
    } else {
        (i.next(), true)
    }
}

/// `c [ASC|DESC]`
pub(crate) fn ordering(i: Tokens<'_>) -> PResult<'_, (String, Order)> {
    let (i, column) = ident(i)?;
    Ok(order(i, column))
}

fn order(i: Tokens<'_>, column: String) -> (Tokens<'_>, (String, Order)) {
    if at_kw(&i, "ASC") {
        (i.next(), (column, Order::Asc))
    } else if at_kw(&i, "DESC") {
        (i.next(), (column, Order::Desc))
    } else {
        i.expect_err("ASC");
        i.expect_err("DESC");
        (i, (column, Order::Asc))
    }
}

fn selection(i: Tokens<'_>) -> PResult<'_, Selection> {
    if at_sym(&i, "*") {
        return Ok((i.next(), Selection::Wildcard));
    }
    let (i, selectors) = comma_list(i, selector)?;
    Ok((i, Selection::Selectors(selectors)))
}

fn selector(i: Tokens<'_>) -> PResult<'_, Selector> {
    let (i, expr) = selector_expr(i)?;
    if at_kw(&i, "AS") {
        let (i, alias) = ident(i.next())?;
        return Ok((i, Selector { expr, alias: Some(alias) }));
    }
    i.expect_err("AS");
    Ok((i, Selector { expr, alias: None }))
}

/// A selector expression with any `.field` suffixes.
fn selector_expr(i: Tokens<'_>) -> PResult<'_, SelectorExpr> {
    nested(i, |i| {
        let (mut i, mut expr) = selector_base(i)?;
        while at_sym(&i, ".") {
            let (rest, field) = ident(i.next())?;
            expr = SelectorExpr::Field(Box::new(expr), field);
            i = rest;
        }
        Ok((i, expr))
    })
}

fn selector_base(i: Tokens<'_>) -> PResult<'_, SelectorExpr> {
    let Some(tok) = i.first() else {
        return Err(i.expect_err("a selector"));
    };
    let is_call = starts_function_call(&i);
    if !is_call {
        if tok.kind == TokenKind::QuotedIdent || (tok.kind == TokenKind::Ident && quietly(i, ident).is_ok()) {
            let (i, column) = ident(i)?;
            return Ok((i, SelectorExpr::Column(column)));
        }
        i.expect_err("identifier");
        let (i, value) = term(i)?;
        return Ok((i, SelectorExpr::Term(value)));
    }
    if tok.kind == TokenKind::Ident {
        let args = i.next().next();
        if tok.text.eq_ignore_ascii_case("cast") {
            return cast(args);
        }
        if tok.text.eq_ignore_ascii_case("count") {
            let counts_rows = at_sym(&args, "*") || args.first().is_some_and(|t| t.kind == TokenKind::Integer && t.text == "1");
            if counts_rows && is_sym(args.peek(1), ")") {
                return Ok((args.next().next(), SelectorExpr::CountAll));
            }
        }
        let wrap: Option<fn(String) -> SelectorExpr> = if tok.text.eq_ignore_ascii_case("writetime") {
            Some(SelectorExpr::WriteTime)
        } else if tok.text.eq_ignore_ascii_case("ttl") {
            Some(SelectorExpr::Ttl)
        } else {
            None
        };
        if let Some(wrap) = wrap {
            if let Ok((rest, column)) = ident(args) {
                if at_sym(&rest, ")") {
                    return Ok((rest.next(), wrap(column)));
                }
            }
        }
    }
    let (i, name) = function_name(i)?;
    let (i, args) = parenthesised(i, selector_expr)?;
    Ok((i, SelectorExpr::Function { name, args }))
}

/// The part of `CAST(expr AS type)` after the opening parenthesis.
fn cast(i: Tokens<'_>) -> PResult<'_, SelectorExpr> {
    let (i, expr) = selector_expr(i)?;
    let (i, ()) = kw("AS")(i)?;
    let (i, ty) = cql_type(i)?;
    let (i, ()) = sym(")")(i)?;
    Ok((i, SelectorExpr::Cast(Box::new(expr), ty)))
}
