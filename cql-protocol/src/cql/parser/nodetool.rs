//! `NODETOOL DECOMMISSION [FORCE] | REMOVENODE <host id> | CLEANUP | FLUSH |
//! COMPACT | DRAIN | INFO | TABLESTATS [keyspace] | TPSTATS |
//! SETTRACEPROBABILITY <number> | GETTRACEPROBABILITY |
//! REPAIR [keyspace [table]] [FULL | INCREMENTAL] [PRIMARY] [START <token>] [END <token>]`:
//! rustica's cluster operations over CQL (see `ast::NodeTool`).

use crate::cql::ast::{NodeTool, RepairOptions};
use crate::cql::lexer::TokenKind;

use super::input::{at_kw, at_sym, ident, kw, PResult, Tokens};

/// The words of `NODETOOL REPAIR` that are options, never a keyspace or table.
const REPAIR_OPTIONS: [&str; 5] = ["FULL", "INCREMENTAL", "PRIMARY", "START", "END"];

/// The operations that are one word.
const WORDS: [(&str, NodeTool); 7] = [
    ("CLEANUP", NodeTool::Cleanup),
    ("FLUSH", NodeTool::Flush),
    ("COMPACT", NodeTool::Compact),
    ("DRAIN", NodeTool::Drain),
    ("INFO", NodeTool::Info),
    ("TPSTATS", NodeTool::TpStats),
    ("GETTRACEPROBABILITY", NodeTool::GetTraceProbability),
];

pub(crate) fn nodetool(i: Tokens<'_>) -> PResult<'_, NodeTool> {
    let (i, ()) = kw("NODETOOL")(i)?;
    if at_kw(&i, "DECOMMISSION") {
        let i = i.next();
        if at_kw(&i, "FORCE") {
            return Ok((i.next(), NodeTool::Decommission { force: true }));
        }
        return Ok((i, NodeTool::Decommission { force: false }));
    }
    for (word, op) in &WORDS {
        if at_kw(&i, word) {
            return Ok((i.next(), op.clone()));
        }
    }
    if at_kw(&i, "TABLESTATS") {
        let i = i.next();
        return match ident(i) {
            Ok((i, keyspace)) => Ok((i, NodeTool::TableStats(Some(keyspace)))),
            Err(_) => Ok((i, NodeTool::TableStats(None))),
        };
    }
    if at_kw(&i, "SETTRACEPROBABILITY") {
        let i = i.next();
        return match i.first() {
            Some(t) if matches!(t.kind, TokenKind::Integer | TokenKind::Float) => {
                Ok((i.next(), NodeTool::SetTraceProbability(t.text.to_string())))
            }
            _ => Err(i.expect_err("a probability between 0 and 1")),
        };
    }
    if at_kw(&i, "REPAIR") {
        return repair(i.next());
    }
    let (i, ()) = match kw("REMOVENODE")(i) {
        Ok(ok) => ok,
        Err(e) => {
            i.expect_err("DECOMMISSION");
            for (word, _) in &WORDS {
                i.expect_err(word);
            }
            i.expect_err("TABLESTATS");
            i.expect_err("SETTRACEPROBABILITY");
            i.expect_err("REPAIR");
            return Err(e);
        }
    };
    match i.first() {
        Some(t) if t.kind == TokenKind::Uuid => Ok((i.next(), NodeTool::RemoveNode(t.text.to_string()))),
        Some(t) if t.kind == TokenKind::String => Ok((i.next(), NodeTool::RemoveNode(t.value.to_string()))),
        _ => Err(i.expect_err("a host id")),
    }
}

fn repair(mut i: Tokens<'_>) -> PResult<'_, NodeTool> {
    let mut options = RepairOptions::default();
    let is_option = |i: &Tokens<'_>| REPAIR_OPTIONS.iter().any(|w| at_kw(i, w));
    if !is_option(&i) {
        if let Ok((rest, keyspace)) = ident(i) {
            options.keyspace = Some(keyspace);
            i = rest;
            if !is_option(&i) {
                if let Ok((rest, table)) = ident(i) {
                    options.table = Some(table);
                    i = rest;
                }
            }
        }
    }
    loop {
        if at_kw(&i, "FULL") {
            options.full = true;
            i = i.next();
        } else if at_kw(&i, "INCREMENTAL") {
            options.full = false;
            i = i.next();
        } else if at_kw(&i, "PRIMARY") {
            options.primary_range = true;
            i = i.next();
        } else if at_kw(&i, "START") {
            let (rest, t) = token(i.next())?;
            options.start_token = Some(t);
            i = rest;
        } else if at_kw(&i, "END") {
            let (rest, t) = token(i.next())?;
            options.end_token = Some(t);
            i = rest;
        } else {
            return Ok((i, NodeTool::Repair(options)));
        }
    }
}

/// A token of the ring: a signed 64-bit integer.
fn token(i: Tokens<'_>) -> PResult<'_, i64> {
    let (i, negative) = if at_sym(&i, "-") { (i.next(), true) } else { (i, false) };
    match i.first() {
        Some(t) if t.kind == TokenKind::Integer => {
            let text = if negative { format!("-{}", t.text) } else { t.text.to_string() };
            match text.parse::<i64>() {
                Ok(value) => Ok((i.next(), value)),
                Err(_) => Err(i.fail(format!("token {text} is not a signed 64-bit integer"))),
            }
        }
        _ => Err(i.expect_err("a token (a signed 64-bit integer)")),
    }
}
