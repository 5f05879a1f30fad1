//! `NODETOOL DECOMMISSION [FORCE] | REMOVENODE <host id> | CLEANUP`: rustica's
//! cluster operations over CQL (see `ast::NodeTool`).

use crate::cql::ast::NodeTool;
use crate::cql::lexer::TokenKind;

use super::input::{at_kw, kw, PResult, Tokens};

pub(crate) fn nodetool(i: Tokens<'_>) -> PResult<'_, NodeTool> {
    let (i, ()) = kw("NODETOOL")(i)?;
    if at_kw(&i, "DECOMMISSION") {
        let i = i.next();
        if at_kw(&i, "FORCE") {
            return Ok((i.next(), NodeTool::Decommission { force: true }));
        }
        return Ok((i, NodeTool::Decommission { force: false }));
    }
    if at_kw(&i, "CLEANUP") {
        return Ok((i.next(), NodeTool::Cleanup));
    }
    let (i, ()) = match kw("REMOVENODE")(i) {
        Ok(ok) => ok,
        Err(e) => {
            i.expect_err("DECOMMISSION");
            i.expect_err("CLEANUP");
            return Err(e);
        }
    };
    match i.first() {
        Some(t) if t.kind == TokenKind::Uuid => Ok((i.next(), NodeTool::RemoveNode(t.text.to_string()))),
        Some(t) if t.kind == TokenKind::String => Ok((i.next(), NodeTool::RemoveNode(t.value.to_string()))),
        _ => Err(i.expect_err("a host id")),
    }
}
