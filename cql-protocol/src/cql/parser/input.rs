//! The token stream as a nom input, the parser's error type, and the primitive
//! matchers (keyword, symbol, identifier) every grammar rule is built from.
//!
//! Error reporting works like ANTLR's: each primitive that fails records what it
//! expected at its position in a shared tracker, keeping only the furthest
//! position. When the whole parse fails, the tracker says where the input stopped
//! making sense and which tokens would have been accepted there, however much
//! backtracking happened on the way. This module does not know the CQL grammar.

use std::cell::{Cell, RefCell};
use std::iter::Enumerate;
use std::slice::Iter;

use nom::combinator::{map, opt};
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::{IResult, Input, Needed, Parser};

use crate::cql::keyword::is_reserved;
use crate::cql::lexer::{Token, TokenKind};

/// How deeply terms, types and selectors may nest before the parser gives up,
/// so that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 48;

/// The state shared by every copy of the input during one parse.
#[derive(Debug, Default)]
pub(crate) struct Context {
    furthest: RefCell<Expected>,
    depth: Cell<usize>,
    quiet: Cell<usize>,
}

/// The furthest token index any primitive failed at, and what it wanted there.
#[derive(Debug, Default, Clone)]
pub(crate) struct Expected {
    pub pos: usize,
    pub words: Vec<&'static str>,
}

impl Context {
    fn record(&self, pos: usize, what: &'static str) {
        if self.quiet.get() > 0 {
            return;
        }
        if let Ok(mut furthest) = self.furthest.try_borrow_mut() {
            if pos > furthest.pos {
                furthest.pos = pos;
                furthest.words.clear();
            }
            if pos == furthest.pos && !furthest.words.contains(&what) {
                furthest.words.push(what);
            }
        }
    }

    pub(crate) fn expected(&self) -> Expected {
        self.furthest.try_borrow().map(|e| e.clone()).unwrap_or_default()
    }
}

/// A position in the token list; cheap to copy, as nom requires.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tokens<'a> {
    toks: &'a [Token<'a>],
    pos: usize,
    ctx: &'a Context,
}

/// A failed parse: where, and for semantic errors (raised with `Failure`) a message
/// that replaces the generic "mismatched input".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PError {
    pub pos: usize,
    pub message: Option<String>,
    /// The statement is well formed but Cassandra refuses it when preparing
    /// it: an InvalidRequest, not a SyntaxException (see `Tokens::refuse`).
    pub invalid: bool,
}

pub(crate) type PResult<'a, O> = IResult<Tokens<'a>, O, PError>;

impl<'a> NomParseError<Tokens<'a>> for PError {
    fn from_error_kind(input: Tokens<'a>, _: ErrorKind) -> Self {
        PError {
            pos: input.pos,
            message: None,
            invalid: false,
        }
    }

    fn append(_: Tokens<'a>, _: ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        match (&self.message, &other.message) {
            (Some(_), None) => self,
            (None, Some(_)) => other,
            _ if self.pos >= other.pos => self,
            _ => other,
        }
    }
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(toks: &'a [Token<'a>], ctx: &'a Context) -> Self {
        Tokens { toks, pos: 0, ctx }
    }

    /// Index of the current token in the whole statement.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn first(&self) -> Option<&'a Token<'a>> {
        self.toks.first()
    }

    pub(crate) fn peek(&self, n: usize) -> Option<&'a Token<'a>> {
        self.toks.get(n)
    }

    /// The input after the current token.
    pub(crate) fn next(&self) -> Self {
        self.take_from(1)
    }

    /// A plain (non-semantic) failure at this position, recording what was wanted.
    pub(crate) fn expect_err(&self, what: &'static str) -> nom::Err<PError> {
        self.ctx.record(self.pos, what);
        nom::Err::Error(PError {
            pos: self.pos,
            message: None,
            invalid: false,
        })
    }

    /// A semantic failure: parsing stops here with `message`.
    pub(crate) fn fail(&self, message: String) -> nom::Err<PError> {
        nom::Err::Failure(PError {
            pos: self.pos,
            message: Some(message),
            invalid: false,
        })
    }

    /// A statement that parses but that Cassandra refuses when it prepares
    /// it (its `ire(...)`), so an InvalidRequest with `message` as it stands,
    /// not a SyntaxException: a CREATE TABLE without a PRIMARY KEY.
    pub(crate) fn refuse(&self, message: String) -> nom::Err<PError> {
        nom::Err::Failure(PError {
            pos: self.pos,
            message: Some(message),
            invalid: true,
        })
    }
}

impl<'a> Input for Tokens<'a> {
    type Item = &'a Token<'a>;
    type Iter = Iter<'a, Token<'a>>;
    type IterIndices = Enumerate<Iter<'a, Token<'a>>>;

    fn input_len(&self) -> usize {
        self.toks.len()
    }

    fn take(&self, index: usize) -> Self {
        Tokens {
            toks: self.toks.get(..index).unwrap_or(self.toks),
            ..*self
        }
    }

    fn take_from(&self, index: usize) -> Self {
        let index = index.min(self.toks.len());
        Tokens {
            toks: self.toks.get(index..).unwrap_or_default(),
            pos: self.pos + index,
            ctx: self.ctx,
        }
    }

    fn take_split(&self, index: usize) -> (Self, Self) {
        (self.take_from(index), self.take(index))
    }

    fn position<P>(&self, predicate: P) -> Option<usize>
    where
        P: Fn(Self::Item) -> bool,
    {
        self.toks.iter().position(predicate)
    }

    fn iter_elements(&self) -> Self::Iter {
        self.toks.iter()
    }

    fn iter_indices(&self) -> Self::IterIndices {
        self.toks.iter().enumerate()
    }

    fn slice_index(&self, count: usize) -> Result<usize, Needed> {
        if self.toks.len() >= count {
            Ok(count)
        } else {
            Err(Needed::new(count - self.toks.len()))
        }
    }
}

/// Runs `f` one nesting level deeper, failing cleanly past `MAX_DEPTH`.
pub(crate) fn nested<'a, O>(i: Tokens<'a>, f: impl FnOnce(Tokens<'a>) -> PResult<'a, O>) -> PResult<'a, O> {
    let depth = i.ctx.depth.get();
    if depth >= MAX_DEPTH {
        return Err(i.fail(format!("input is nested more than {MAX_DEPTH} levels deep")));
    }
    i.ctx.depth.set(depth + 1);
    let result = f(i);
    i.ctx.depth.set(depth);
    result
}

/// Runs `f` without recording expectations: for speculative branches whose
/// failure says nothing useful to the user.
pub(crate) fn quietly<'a, O>(i: Tokens<'a>, f: impl FnOnce(Tokens<'a>) -> PResult<'a, O>) -> PResult<'a, O> {
    i.ctx.quiet.set(i.ctx.quiet.get() + 1);
    let result = f(i);
    i.ctx.quiet.set(i.ctx.quiet.get().saturating_sub(1));
    result
}

/// Whether the current token is the keyword `word`, without consuming or recording.
pub(crate) fn at_kw(i: &Tokens<'_>, word: &str) -> bool {
    is_kw(i.first(), word)
}

pub(crate) fn is_kw(tok: Option<&Token<'_>>, word: &str) -> bool {
    tok.is_some_and(|t| t.kind == TokenKind::Ident && t.text.eq_ignore_ascii_case(word))
}

/// Whether the current token is the symbol `s`, without consuming or recording.
pub(crate) fn at_sym(i: &Tokens<'_>, s: &str) -> bool {
    is_sym(i.first(), s)
}

pub(crate) fn is_sym(tok: Option<&Token<'_>>, s: &str) -> bool {
    tok.is_some_and(|t| t.kind == TokenKind::Symbol && t.text == s)
}

/// The keyword `word` (upper-case, matched in any case).
pub(crate) fn kw<'a>(word: &'static str) -> impl Fn(Tokens<'a>) -> PResult<'a, ()> {
    move |i: Tokens<'a>| {
        if at_kw(&i, word) {
            Ok((i.next(), ()))
        } else {
            Err(i.expect_err(word))
        }
    }
}

/// The symbol `s`; recorded as `'s'`.
pub(crate) fn sym<'a>(s: &'static str) -> impl Fn(Tokens<'a>) -> PResult<'a, ()> {
    move |i: Tokens<'a>| {
        if at_sym(&i, s) {
            Ok((i.next(), ()))
        } else {
            Err(i.expect_err(quoted_symbol(s)))
        }
    }
}

fn quoted_symbol(s: &str) -> &'static str {
    match s {
        "(" => "'('",
        ")" => "')'",
        "[" => "'['",
        "]" => "']'",
        "{" => "'{'",
        "}" => "'}'",
        "," => "','",
        ";" => "';'",
        "." => "'.'",
        ":" => "':'",
        "=" => "'='",
        "<" => "'<'",
        ">" => "'>'",
        "+" => "'+'",
        "-" => "'-'",
        "*" => "'*'",
        "?" => "'?'",
        _ => "a symbol",
    }
}

/// An identifier: an unreserved word (lower-cased) or a quoted name (kept as is).
pub(crate) fn ident(i: Tokens<'_>) -> PResult<'_, String> {
    match i.first() {
        Some(t) if t.kind == TokenKind::Ident && !is_reserved(t.text) => Ok((i.next(), t.text.to_ascii_lowercase())),
        Some(t) if t.kind == TokenKind::QuotedIdent => Ok((i.next(), t.value.to_string())),
        _ => Err(i.expect_err("identifier")),
    }
}

/// `name` or `keyspace.name`.
pub(crate) fn qualified_name(i: Tokens<'_>) -> PResult<'_, crate::cql::ast::QualifiedName> {
    let (i, first) = ident(i)?;
    if at_sym(&i, ".") {
        let (i, name) = ident(i.next())?;
        Ok((
            i,
            crate::cql::ast::QualifiedName {
                keyspace: Some(first),
                name,
            },
        ))
    } else {
        Ok((
            i,
            crate::cql::ast::QualifiedName {
                keyspace: None,
                name: first,
            },
        ))
    }
}

/// The end of the token list.
pub(crate) fn eof(i: Tokens<'_>) -> PResult<'_, ()> {
    match i.first() {
        Some(t) if t.kind == TokenKind::Eof => Ok((i, ())),
        _ => Err(i.expect_err("<EOF>")),
    }
}

/// Whether the statement ends here (`;` or end of input), without consuming.
pub(crate) fn at_statement_end(i: &Tokens<'_>) -> bool {
    at_sym(i, ";") || i.first().is_none_or(|t| t.kind == TokenKind::Eof)
}

/// `IF NOT EXISTS`, optional.
pub(crate) fn if_not_exists(i: Tokens<'_>) -> PResult<'_, bool> {
    map(opt((kw("IF"), kw("NOT"), kw("EXISTS"))), |found| found.is_some()).parse(i)
}

/// `IF EXISTS`, optional.
pub(crate) fn if_exists(i: Tokens<'_>) -> PResult<'_, bool> {
    map(opt((kw("IF"), kw("EXISTS"))), |found| found.is_some()).parse(i)
}
