//! Tests of the CQL parser and printer through the public API: one test per
//! statement form, error wording, a parse-print-parse corpus, and property tests.

mod auth;
mod ddl;
mod dml;
mod errors;
mod properties;
mod roundtrip;
mod select;

use super::ast::*;
use super::parse_statement;

fn parse(text: &str) -> Statement {
    match parse_statement(text) {
        Ok(s) => s,
        Err(e) => panic!("{text}\n{e}"),
    }
}

fn qn(keyspace: Option<&str>, name: &str) -> QualifiedName {
    QualifiedName {
        keyspace: keyspace.map(str::to_string),
        name: name.to_string(),
    }
}

fn int(n: &str) -> Term {
    Term::Integer(n.to_string())
}

fn text(s: &str) -> Term {
    Term::String(s.to_string())
}

fn bind(index: usize) -> Term {
    Term::Bind { index, name: None }
}

fn native(t: NativeType) -> CqlType {
    CqlType::Native(t)
}

fn rel(column: &str, op: Operator, value: Term) -> Relation {
    Relation {
        target: RelationTarget::Column(column.to_string()),
        op,
        value,
    }
}
