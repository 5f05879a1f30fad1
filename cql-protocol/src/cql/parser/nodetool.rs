//! `NODETOOL DECOMMISSION [FORCE] | REMOVENODE <host id> | CLEANUP | FLUSH |
//! COMPACT | DRAIN | INFO | TABLESTATS [keyspace] | TPSTATS |
//! SETTRACEPROBABILITY <number> | GETTRACEPROBABILITY`: rustica's
//! cluster operations over CQL (see `ast::NodeTool`).

use crate::cql::ast::NodeTool;
use crate::cql::lexer::TokenKind;

use super::input::{at_kw, ident, kw, PResult, Tokens};

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
    let (i, ()) = match kw("REMOVENODE")(i) {
        Ok(ok) => ok,
        Err(e) => {
            i.expect_err("DECOMMISSION");
            for (word, _) in &WORDS {
                i.expect_err(word);
            }
            i.expect_err("TABLESTATS");
            i.expect_err("SETTRACEPROBABILITY");
            return Err(e);
        }
    };
    match i.first() {
        Some(t) if t.kind == TokenKind::Uuid => Ok((i.next(), NodeTool::RemoveNode(t.text.to_string()))),
        Some(t) if t.kind == TokenKind::String => Ok((i.next(), NodeTool::RemoveNode(t.value.to_string()))),
        _ => Err(i.expect_err("a host id")),
    }
}
