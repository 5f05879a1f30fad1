//! The CQL parser: nom combinators over the tokenizer's output, producing the AST
//! in `ast`. This module owns the entry points, the statement dispatch and the
//! wording of syntax errors; the rules live in the submodules by statement family.
//! It checks syntax only: names are not resolved and values are not typed.

mod auth;
mod bind;
mod ddl;
mod describe;
mod dml;
pub(crate) mod input;
mod nodetool;
mod relation;
mod select;
pub(crate) mod term;
pub(crate) mod types;

pub use term::decode_hex;
pub use types::native_type;

use crate::cql::ast::Statement;
use crate::cql::error::ParseError;
use crate::cql::lexer::{tokenize, Token, TokenKind};

use input::{at_sym, eof, ident, kw, Context, PError, PResult, Tokens};

/// How many tokens before and after the offending one an error message quotes.
const SNIPPET_BEFORE: usize = 10;
const SNIPPET_AFTER: usize = 2;
/// Above this many alternatives, "expecting ..." stops helping.
const MAX_LISTED_ALTERNATIVES: usize = 8;

/// Parses one statement, with an optional trailing `;`.
pub fn parse_statement(text: &str) -> Result<Statement, ParseError> {
    let tokens = tokenize(text)?;
    let ctx = Context::default();
    let input = Tokens::new(&tokens, &ctx);
    let result = (|| {
        let (i, mut statement) = statement(input)?;
        let i = if at_sym(&i, ";") { i.next() } else { i };
        i.expect_err("';'");
        let (i, ()) = eof(i)?;
        bind::number_bind_markers(&mut statement);
        Ok((i, statement))
    })();
    result.map(|(_, s)| s).map_err(|e| syntax_error(text, &tokens, &ctx, e))
}

/// Parses a CQL type as written in DDL or `system_schema.columns.type`
/// (`frozen<map<text, int>>`, `my_type`).
pub fn parse_type(text: &str) -> Result<crate::cql::ast::CqlType, ParseError> {
    let tokens = tokenize(text)?;
    let ctx = Context::default();
    let input = Tokens::new(&tokens, &ctx);
    let result = (|| {
        let (i, ty) = types::cql_type(input)?;
        let (i, ()) = eof(i)?;
        Ok((i, ty))
    })();
    result.map(|(_, t)| t).map_err(|e| syntax_error(text, &tokens, &ctx, e))
}

/// Parses a `;`-separated script; empty statements are skipped.
pub fn parse_statements(text: &str) -> Result<Vec<Statement>, ParseError> {
    let tokens = tokenize(text)?;
    let ctx = Context::default();
    let mut i = Tokens::new(&tokens, &ctx);
    let mut statements = Vec::new();
    loop {
        while at_sym(&i, ";") {
            i = i.next();
        }
        if eof(i).is_ok() {
            return Ok(statements);
        }
        let (rest, mut s) = match statement(i) {
            Ok(parsed) => parsed,
            Err(e) => return Err(syntax_error(text, &tokens, &ctx, e)),
        };
        bind::number_bind_markers(&mut s);
        statements.push(s);
        if !at_sym(&rest, ";") {
            if let Err(e) = eof(rest) {
                rest.expect_err("';'");
                return Err(syntax_error(text, &tokens, &ctx, e));
            }
        }
        i = rest;
    }
}

fn statement(i: Tokens<'_>) -> PResult<'_, Statement> {
    let Some(first) = i.first() else {
        return Err(i.expect_err("a statement"));
    };
    let word = if first.kind == TokenKind::Ident {
        first.text.to_ascii_uppercase()
    } else {
        String::new()
    };
    match word.as_str() {
        "SELECT" => select::select(i).map(|(i, s)| (i, Statement::Select(s))),
        "INSERT" => dml::insert(i).map(|(i, s)| (i, Statement::Insert(s))),
        "UPDATE" => dml::update(i).map(|(i, s)| (i, Statement::Update(s))),
        "DELETE" => dml::delete(i).map(|(i, s)| (i, Statement::Delete(s))),
        "BEGIN" => dml::batch(i).map(|(i, s)| (i, Statement::Batch(s))),
        "CREATE" if auth::is_role_statement(&i) => auth::create(i),
        "ALTER" if auth::is_role_statement(&i) => auth::alter(i),
        "DROP" if auth::is_role_statement(&i) => auth::drop(i),
        "CREATE" => ddl::create(i),
        "ALTER" => ddl::alter(i),
        "DROP" => ddl::drop(i),
        "GRANT" => auth::grant(i),
        "REVOKE" => auth::revoke(i),
        "LIST" => auth::list(i),
        "TRUNCATE" => ddl::truncate(i).map(|(i, s)| (i, Statement::Truncate(s))),
        "USE" => {
            let (i, ()) = kw("USE")(i)?;
            let (i, keyspace) = ident(i)?;
            Ok((i, Statement::Use(keyspace)))
        }
        "DESCRIBE" | "DESC" => describe::describe(i).map(|(i, s)| (i, Statement::Describe(s))),
        "NODETOOL" => nodetool::nodetool(i).map(|(i, s)| (i, Statement::NodeTool(s))),
        _ => {
            for word in [
                "SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "CREATE", "ALTER", "DROP", "TRUNCATE", "USE", "DESCRIBE", "GRANT",
                "REVOKE", "LIST",
            ] {
                i.expect_err(word);
            }
            Err(i.expect_err("DESC"))
        }
    }
}

/// Turns a failed parse into Cassandra-style wording at the offending token.
fn syntax_error(text: &str, tokens: &[Token<'_>], ctx: &Context, error: nom::Err<PError>) -> ParseError {
    let error = match error {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => PError {
            pos: tokens.len().saturating_sub(1),
            message: None,
            invalid: false,
        },
    };
    if let (true, Some(message)) = (error.invalid, &error.message) {
        let (line, column) = tokens.get(error.pos).map_or((1, 0), |t| (t.line, t.column));
        return ParseError::invalid(line, column, message.clone());
    }
    let (pos, message) = match error.message {
        Some(message) => (error.pos, message),
        None => {
            let expected = ctx.expected();
            let pos = expected.pos.max(error.pos);
            let found = tokens.get(pos).map_or_else(|| "<EOF>".to_string(), display_token);
            let words = if expected.pos == pos { expected.words } else { Vec::new() };
            let message = if words.is_empty() || words.len() > MAX_LISTED_ALTERNATIVES {
                format!("no viable alternative at input '{found}'")
            } else {
                format!("mismatched input '{found}' expecting {}", alternatives(&words))
            };
            (pos, message)
        }
    };
    let (line, column) = tokens.get(pos).map_or((1, 0), |t| (t.line, t.column));
    let snippet = snippet(text, tokens, pos);
    ParseError::new(line, column, format!("{message} ({snippet})"))
}

fn display_token(token: &Token<'_>) -> String {
    if token.kind == TokenKind::Eof {
        "<EOF>".to_string()
    } else {
        token.text.to_string()
    }
}

/// `A`, `A or B`, `A, B or C`.
fn alternatives(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The statement around the offending token, which is put in brackets:
/// `SELECT * [FRM] t...`.
fn snippet(text: &str, tokens: &[Token<'_>], pos: usize) -> String {
    let Some(offending) = tokens.get(pos) else {
        return String::new();
    };
    let first = tokens.get(pos.saturating_sub(SNIPPET_BEFORE)).map_or(0, |t| t.offset);
    let last = tokens
        .get(pos + SNIPPET_AFTER)
        .or_else(|| tokens.last())
        .map_or(text.len(), |t| t.offset + t.text.len());
    let start = offending.offset;
    let end = start + offending.text.len();
    let before = text.get(first..start).unwrap_or_default();
    let inside = if offending.kind == TokenKind::Eof {
        "<EOF>"
    } else {
        text.get(start..end).unwrap_or_default()
    };
    let after = text.get(end..last.max(end)).unwrap_or_default();
    let lead = if pos > SNIPPET_BEFORE { "..." } else { "" };
    // The last token is the end marker; anything before it not shown is elided.
    let tail = if pos + SNIPPET_AFTER + 2 < tokens.len() { "..." } else { "" };
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let before = flat(before);
    let after = flat(after);
    let spaced_before = offending.kind == TokenKind::Eof || text.get(..start).unwrap_or_default().ends_with(char::is_whitespace);
    let gap_before = if before.is_empty() || !spaced_before { "" } else { " " };
    let gap_after = if after.is_empty() || !text.get(end..).unwrap_or_default().starts_with(char::is_whitespace) {
        ""
    } else {
        " "
    };
    format!("{lead}{before}{gap_before}[{inside}]{gap_after}{after}{tail}")
}
