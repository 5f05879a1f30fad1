//! Terms: literals, collection, tuple and user type literals, bind markers,
//! function calls and type casts. Number literals keep their text; the executor
//! reads them as the target column's type. Bind markers carry the index of their
//! token here; `bind` renumbers them once the whole statement has parsed.

use nom::multi::{separated_list0, separated_list1};
use nom::sequence::delimited;
use nom::Parser;

use crate::cql::ast::Term;
use crate::cql::keyword::is_reserved;
use crate::cql::lexer::{Token, TokenKind};

use super::input::{at_sym, ident, is_sym, nested, quietly, sym, PResult, Tokens};
use super::types::cql_type;

/// Any term.
pub(crate) fn term(i: Tokens<'_>) -> PResult<'_, Term> {
    nested(i, term_inner)
}

fn term_inner(i: Tokens<'_>) -> PResult<'_, Term> {
    let Some(tok) = i.first() else {
        return Err(i.expect_err("a value"));
    };
    match tok.kind {
        TokenKind::Symbol => match tok.text {
            "?" | ":" => bind_marker(i),
            "(" => cast_or_tuple(i),
            "[" => list(i),
            "{" => brace_literal(i),
            "-" => negative(i),
            _ => Err(i.expect_err("a value")),
        },
        _ if starts_function_call(&i) => function_call(i),
        TokenKind::Ident => word_literal(i, tok),
        _ => literal(i, tok),
    }
}

/// `?` or `:name`; the index is the token position until `bind` renumbers it.
pub(crate) fn bind_marker(i: Tokens<'_>) -> PResult<'_, Term> {
    let index = i.pos();
    if at_sym(&i, "?") {
        return Ok((i.next(), Term::Bind { index, name: None }));
    }
    // The name must touch the colon: `{k: v}` has a colon too, and `{(t) x: f(y)}`
    // must not read `: f` as a marker.
    let colon_end = i.first().map(|t| t.offset + t.text.len());
    let (after, ()) = sym(":")(i)?;
    if after.first().map(|t| t.offset) != colon_end {
        return Err(after.expect_err("bind marker name"));
    }
    let (after, name) = ident(after)?;
    Ok((after, Term::Bind { index, name: Some(name) }))
}

/// A literal token that is not a word: string, number, uuid, blob, duration.
fn literal<'a>(i: Tokens<'a>, tok: &Token<'_>) -> PResult<'a, Term> {
    let term = match tok.kind {
        TokenKind::String => Term::String(tok.value.to_string()),
        TokenKind::Integer => Term::Integer(tok.text.to_string()),
        TokenKind::Float => Term::Float(tok.text.to_string()),
        TokenKind::Duration => Term::Duration(tok.text.to_string()),
        TokenKind::Uuid => match uuid::Uuid::parse_str(tok.text) {
            Ok(u) => Term::Uuid(u),
            Err(e) => return Err(i.fail(format!("invalid uuid literal '{}': {e}", tok.text))),
        },
        TokenKind::Blob => match decode_hex(tok.text.get(2..).unwrap_or_default()) {
            Some(bytes) => Term::Blob(bytes),
            None => return Err(i.fail(format!("blob literal '{}' has an odd number of hex digits", tok.text))),
        },
        _ => return Err(i.expect_err("a value")),
    };
    Ok((i.next(), term))
}

/// The bytes a hex string (without `0x`) stands for; `None` when it is not hex.
pub fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).ok().and_then(|s| u8::from_str_radix(s, 16).ok()))
        .collect()
}

/// `true`, `false`, `null`, `NaN`, `Infinity` and ISO durations such as `P1DT2H`.
fn word_literal<'a>(i: Tokens<'a>, tok: &Token<'_>) -> PResult<'a, Term> {
    let lower = tok.text.to_ascii_lowercase();
    let term = match lower.as_str() {
        "true" => Term::Boolean(true),
        "false" => Term::Boolean(false),
        "null" => Term::Null,
        "nan" => Term::Float("NaN".into()),
        "infinity" => Term::Float("Infinity".into()),
        _ if is_iso_duration(tok.text) => Term::Duration(tok.text.to_string()),
        _ => return Err(i.expect_err("a value")),
    };
    Ok((i.next(), term))
}

/// `P[nY][nM][nD][T[nH][nM][nS]]` or `PnW`, in any case, with at least one part.
pub(crate) fn is_iso_duration(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    let Some(body) = upper.strip_prefix('P') else {
        return false;
    };
    if let Some(weeks) = body.strip_suffix('W') {
        return !weeks.is_empty() && weeks.bytes().all(|b| b.is_ascii_digit());
    }
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let date_ok = designators(date, b"YMD");
    let time_ok = time.map(|t| designators(t, b"HMS"));
    match (date_ok, time_ok) {
        (Some(date_parts), None) => date_parts > 0,
        (Some(_), Some(Some(time_parts))) => time_parts > 0,
        _ => false,
    }
}

/// Counts `digits letter` groups whose letters appear in `order`, in that order.
fn designators(part: &str, order: &[u8]) -> Option<usize> {
    let mut next_allowed = 0;
    let mut digits = 0;
    let mut groups = 0;
    for b in part.bytes() {
        if b.is_ascii_digit() {
            digits += 1;
            continue;
        }
        let at = order.iter().position(|&o| o == b)?;
        if digits == 0 || at < next_allowed {
            return None;
        }
        next_allowed = at + 1;
        digits = 0;
        groups += 1;
    }
    (digits == 0).then_some(groups)
}

/// `-` before a number, duration or `Infinity`.
fn negative(i: Tokens<'_>) -> PResult<'_, Term> {
    let after = i.next();
    let Some(tok) = after.first() else {
        return Err(after.expect_err("a number"));
    };
    let term = match tok.kind {
        TokenKind::Integer => Term::Integer(format!("-{}", tok.text)),
        TokenKind::Float => Term::Float(format!("-{}", tok.text)),
        TokenKind::Duration => Term::Duration(format!("-{}", tok.text)),
        TokenKind::Ident if tok.text.eq_ignore_ascii_case("infinity") => Term::Float("-Infinity".into()),
        _ => return Err(after.expect_err("a number")),
    };
    Ok((after.next(), term))
}

/// `name(args)`; the name lower-cased unless quoted.
fn function_call(i: Tokens<'_>) -> PResult<'_, Term> {
    let (i, name) = function_name(i)?;
    let (i, args) = parenthesised(i, term)?;
    Ok((i, Term::FunctionCall { name, args }))
}

/// Whether a function name followed by `(` starts here.
pub(crate) fn starts_function_call(i: &Tokens<'_>) -> bool {
    is_function_name(i.first()) && is_sym(i.peek(1), "(")
}

/// An unreserved word, `token`, or a quoted name. Other reserved words are not
/// functions, so `x = (t) AND (c) = 1` keeps `AND` a keyword.
fn is_function_name(tok: Option<&Token<'_>>) -> bool {
    tok.is_some_and(|t| {
        t.kind == TokenKind::QuotedIdent || (t.kind == TokenKind::Ident && (!is_reserved(t.text) || t.text.eq_ignore_ascii_case("token")))
    })
}

/// A function name (see `is_function_name`), lower-cased unless quoted.
pub(crate) fn function_name(i: Tokens<'_>) -> PResult<'_, String> {
    match i.first() {
        Some(t) if t.kind == TokenKind::Ident && is_function_name(Some(t)) => Ok((i.next(), t.text.to_ascii_lowercase())),
        Some(t) if t.kind == TokenKind::QuotedIdent => Ok((i.next(), t.value.to_string())),
        _ => Err(i.expect_err("function name")),
    }
}

/// `( item, item, ... )`, possibly empty.
pub(crate) fn parenthesised<'a, O>(i: Tokens<'a>, item: fn(Tokens<'a>) -> PResult<'a, O>) -> PResult<'a, Vec<O>> {
    delimited_list(i, "(", ")", item)
}

/// `open item, item, ... close`, possibly empty.
pub(crate) fn delimited_list<'a, O>(
    i: Tokens<'a>,
    open: &'static str,
    close: &'static str,
    item: fn(Tokens<'a>) -> PResult<'a, O>,
) -> PResult<'a, Vec<O>> {
    delimited(sym(open), separated_list0(sym(","), item), sym(close)).parse(i)
}

/// `item, item, ...`: at least one.
pub(crate) fn comma_list<'a, O>(i: Tokens<'a>, item: fn(Tokens<'a>) -> PResult<'a, O>) -> PResult<'a, Vec<O>> {
    separated_list1(sym(","), item).parse(i)
}

/// `(type) term` or a tuple `(a, b, ...)`.
fn cast_or_tuple(i: Tokens<'_>) -> PResult<'_, Term> {
    if let Ok((rest, ty)) = quietly(i.next(), |j| {
        let (j, ty) = cql_type(j)?;
        let (j, ()) = sym(")")(j)?;
        Ok((j, ty))
    }) {
        match quietly(rest, term) {
            Ok((rest, value)) => return Ok((rest, Term::Cast(ty, Box::new(value)))),
            Err(nom::Err::Error(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let (i, ()) = sym("(")(i)?;
    let (i, items) = comma_list(i, term)?;
    let (i, ()) = sym(")")(i)?;
    Ok((i, Term::Tuple(items)))
}

fn list(i: Tokens<'_>) -> PResult<'_, Term> {
    let (i, items) = delimited_list(i, "[", "]", term)?;
    Ok((i, Term::List(items)))
}

/// `{}` (an empty map), `{k: v, ...}` (a map), `{a, b}` (a set) or `{field: v}`
/// (a user type value, when the keys are identifiers).
fn brace_literal(i: Tokens<'_>) -> PResult<'_, Term> {
    let inner = i.next();
    if at_sym(&inner, "}") {
        return Ok((inner.next(), Term::Map(Vec::new())));
    }
    if is_field_name(inner.first()) && is_sym(inner.peek(1), ":") {
        let (i, fields) = delimited_list(i, "{", "}", user_type_field)?;
        return Ok((i, Term::UserType(fields)));
    }
    let (rest, first) = term(inner)?;
    if at_sym(&rest, ":") {
        let (mut rest, value) = term(rest.next())?;
        let mut entries = vec![(first, value)];
        while at_sym(&rest, ",") {
            let (after, entry) = map_entry(rest.next())?;
            entries.push(entry);
            rest = after;
        }
        let (rest, ()) = sym("}")(rest)?;
        Ok((rest, Term::Map(entries)))
    } else {
        let mut items = vec![first];
        let mut rest = rest;
        while at_sym(&rest, ",") {
            let (after, item) = term(rest.next())?;
            items.push(item);
            rest = after;
        }
        let (rest, ()) = sym("}")(rest)?;
        Ok((rest, Term::Set(items)))
    }
}

fn is_field_name(tok: Option<&Token<'_>>) -> bool {
    tok.is_some_and(|t| {
        t.kind == TokenKind::QuotedIdent || (t.kind == TokenKind::Ident && !is_reserved(t.text) && !is_iso_duration(t.text))
    })
}

fn user_type_field(i: Tokens<'_>) -> PResult<'_, (String, Term)> {
    let (i, name) = ident(i)?;
    let (i, ()) = sym(":")(i)?;
    let (i, value) = term(i)?;
    Ok((i, (name, value)))
}

fn map_entry(i: Tokens<'_>) -> PResult<'_, (Term, Term)> {
    let (i, key) = term(i)?;
    let (i, ()) = sym(":")(i)?;
    let (i, value) = term(i)?;
    Ok((i, (key, value)))
}

/// An integer or a bind marker, for `LIMIT`, `USING TTL` and `USING TIMESTAMP`.
pub(crate) fn int_value(i: Tokens<'_>) -> PResult<'_, Term> {
    match i.first() {
        Some(t) if t.kind == TokenKind::Integer => Ok((i.next(), Term::Integer(t.text.to_string()))),
        Some(t) if t.kind == TokenKind::Symbol && t.text == "-" => match i.peek(1) {
            Some(n) if n.kind == TokenKind::Integer => Ok((i.next().next(), Term::Integer(format!("-{}", n.text)))),
            _ => Err(i.next().expect_err("an integer")),
        },
        Some(t) if t.kind == TokenKind::Symbol && (t.text == "?" || t.text == ":") => bind_marker(i),
        _ => Err(i.expect_err("an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_need_ordered_designators() {
        for ok in ["P1DT2H", "P2W", "p1y2m3d", "PT30M", "P1Y2M3DT4H5M6S"] {
            assert!(is_iso_duration(ok), "{ok}");
        }
        for bad in ["P", "PT", "P1", "P1H", "P1D2Y", "P1DT", "PW", "pk", "P1DT2"] {
            assert!(!is_iso_duration(bad), "{bad}");
        }
    }

    #[test]
    fn hex_decoding_rejects_odd_lengths() {
        assert_eq!(decode_hex("CAFE"), Some(vec![0xca, 0xfe]));
        assert_eq!(decode_hex(""), Some(vec![]));
        assert_eq!(decode_hex("ABC"), None);
    }
}
