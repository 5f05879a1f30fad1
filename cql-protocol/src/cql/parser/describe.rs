//! Server-side `DESCRIBE` / `DESC`, which cqlsh 6 sends to Cassandra 4.0+ servers.
//! Producing the schema text is the server's job; this only reads the request.

use crate::cql::ast::Describe;

use super::input::{at_kw, at_statement_end, ident, kw, qualified_name, PResult, Tokens};

/// `DESCRIBE | DESC` followed by what to describe.
pub(crate) fn describe(i: Tokens<'_>) -> PResult<'_, Describe> {
    let i = if at_kw(&i, "DESC") {
        i.next()
    } else {
        i.expect_err("DESC");
        kw("DESCRIBE")(i)?.0
    };
    // Bare listing words only count as such when the statement ends after them,
    // so `DESCRIBE tables.t` still names keyspace `tables`.
    let listings = [
        ("CLUSTER", Describe::Cluster),
        ("KEYSPACES", Describe::Keyspaces),
        ("TABLES", Describe::Tables),
        ("TYPES", Describe::Types),
        ("FUNCTIONS", Describe::Functions),
        ("AGGREGATES", Describe::Aggregates),
    ];
    for (word, what) in listings {
        if at_kw(&i, word) && at_statement_end(&i.next()) {
            return Ok((i.next(), what));
        }
    }
    if at_kw(&i, "ONLY") && at_kw(&i.next(), "KEYSPACE") {
        return keyspace(i.next().next(), true);
    }
    if at_kw(&i, "KEYSPACE") {
        return keyspace(i.next(), false);
    }
    if at_kw(&i, "FULL") {
        let (i, ()) = kw("SCHEMA")(i.next())?;
        return Ok((i, Describe::Schema { full: true }));
    }
    if at_kw(&i, "SCHEMA") {
        return Ok((i.next(), Describe::Schema { full: false }));
    }
    if at_kw(&i, "TABLE") {
        let (i, name) = qualified_name(i.next())?;
        return Ok((i, Describe::Table(name)));
    }
    if at_kw(&i, "TYPE") {
        if let Ok((rest, name)) = qualified_name(i.next()) {
            return Ok((rest, Describe::Type(name)));
        }
    }
    if at_kw(&i, "INDEX") {
        if let Ok((rest, name)) = qualified_name(i.next()) {
            return Ok((rest, Describe::Index(name)));
        }
    }
    for word in [
        "CLUSTER",
        "KEYSPACES",
        "KEYSPACE",
        "TABLES",
        "TABLE",
        "TYPES",
        "TYPE",
        "INDEX",
        "SCHEMA",
    ] {
        i.expect_err(word);
    }
    let (i, name) = qualified_name(i)?;
    Ok((i, Describe::Name(name)))
}

fn keyspace(i: Tokens<'_>, only: bool) -> PResult<'_, Describe> {
    if at_statement_end(&i) {
        return Ok((i, Describe::Keyspace { name: None, only }));
    }
    let (i, name) = ident(i)?;
    Ok((i, Describe::Keyspace { name: Some(name), only }))
}
