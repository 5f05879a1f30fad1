//! CQL types as written in DDL and casts: native names, collections, tuples,
//! `frozen<...>`, user-defined type names and `'custom.Class'` strings. Whether a
//! type is allowed where it appears (a counter in a list, a non-frozen UDT in a
//! key) is the executor's business, not this module's.

use crate::cql::ast::{CqlType, NativeType, QualifiedName};
use crate::cql::lexer::TokenKind;

use super::input::{at_sym, ident, is_sym, nested, sym, PResult, Tokens};

/// The native type a lower-case name stands for.
pub fn native_type(name: &str) -> Option<NativeType> {
    Some(match name {
        "ascii" => NativeType::Ascii,
        "bigint" => NativeType::Bigint,
        "blob" => NativeType::Blob,
        "boolean" => NativeType::Boolean,
        "counter" => NativeType::Counter,
        "date" => NativeType::Date,
        "decimal" => NativeType::Decimal,
        "double" => NativeType::Double,
        "duration" => NativeType::Duration,
        "float" => NativeType::Float,
        "inet" => NativeType::Inet,
        "int" => NativeType::Int,
        "smallint" => NativeType::Smallint,
        "text" | "varchar" => NativeType::Text,
        "time" => NativeType::Time,
        "timestamp" => NativeType::Timestamp,
        "timeuuid" => NativeType::Timeuuid,
        "tinyint" => NativeType::Tinyint,
        "uuid" => NativeType::Uuid,
        "varint" => NativeType::Varint,
        _ => return None,
    })
}

/// Words that start a type constructor and so cannot name a bare user type.
pub(crate) const TYPE_CONSTRUCTORS: [&str; 5] = ["frozen", "list", "map", "set", "tuple"];

/// A CQL type.
pub(crate) fn cql_type(i: Tokens<'_>) -> PResult<'_, CqlType> {
    nested(i, cql_type_inner)
}

fn cql_type_inner(i: Tokens<'_>) -> PResult<'_, CqlType> {
    let Some(tok) = i.first() else {
        return Err(i.expect_err("a type"));
    };
    match tok.kind {
        TokenKind::String => Ok((i.next(), CqlType::Custom(tok.value.to_string()))),
        TokenKind::QuotedIdent => user_type(i),
        // `ks.name` is a user type even when `ks` is spelt like a type (`text.a`).
        TokenKind::Ident if is_sym(i.peek(1), ".") => user_type(i),
        TokenKind::Ident => {
            let name = tok.text.to_ascii_lowercase();
            let after = i.next();
            if TYPE_CONSTRUCTORS.contains(&name.as_str()) && at_sym(&after, "<") {
                let (rest, args) = type_args(after)?;
                let wrong_arity = |n: usize| after.fail(format!("{name} takes {n} type argument(s), got {}", args.len()));
                let ty = match (name.as_str(), args.as_slice()) {
                    ("frozen", [t]) => CqlType::Frozen(Box::new(t.clone())),
                    ("list", [t]) => CqlType::List(Box::new(t.clone())),
                    ("set", [t]) => CqlType::Set(Box::new(t.clone())),
                    ("map", [k, v]) => CqlType::Map(Box::new(k.clone()), Box::new(v.clone())),
                    ("tuple", _) => CqlType::Tuple(args.clone()),
                    ("map", _) => return Err(wrong_arity(2)),
                    _ => return Err(wrong_arity(1)),
                };
                return Ok((rest, ty));
            }
            if let Some(native) = native_type(&name) {
                return Ok((after, CqlType::Native(native)));
            }
            if TYPE_CONSTRUCTORS.contains(&name.as_str()) {
                return Err(after.expect_err("'<'"));
            }
            user_type(i)
        }
        _ => Err(i.expect_err("a type")),
    }
}

fn user_type(i: Tokens<'_>) -> PResult<'_, CqlType> {
    let (i, first) = ident(i)?;
    if at_sym(&i, ".") {
        let (i, name) = ident(i.next())?;
        Ok((
            i,
            CqlType::UserDefined(QualifiedName {
                keyspace: Some(first),
                name,
            }),
        ))
    } else {
        Ok((
            i,
            CqlType::UserDefined(QualifiedName {
                keyspace: None,
                name: first,
            }),
        ))
    }
}

/// `<t1, t2, ...>`
fn type_args(i: Tokens<'_>) -> PResult<'_, Vec<CqlType>> {
    let (mut i, ()) = sym("<")(i)?;
    let mut args = Vec::new();
    loop {
        let (rest, ty) = cql_type(i)?;
        args.push(ty);
        if at_sym(&rest, ",") {
            i = rest.next();
            continue;
        }
        let (rest, ()) = sym(">")(rest)?;
        return Ok((rest, args));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cql::lexer::tokenize;
    use crate::cql::parser::input::Context;

    fn parse(src: &str) -> CqlType {
        let toks = tokenize(src).unwrap();
        let ctx = Context::default();
        cql_type(Tokens::new(&toks, &ctx)).unwrap().1
    }

    #[test]
    fn nested_collections_parse_with_closing_angle_brackets_run_together() {
        let set_int = CqlType::Set(Box::new(CqlType::Native(NativeType::Int)));
        let map = CqlType::Map(Box::new(CqlType::Native(NativeType::Text)), Box::new(set_int));
        assert_eq!(parse("frozen<map<text, set<int>>>"), CqlType::Frozen(Box::new(map)));
    }

    #[test]
    fn varchar_is_text_and_unknown_names_are_user_types() {
        assert_eq!(parse("VARCHAR"), CqlType::Native(NativeType::Text));
        assert_eq!(
            parse("ks.My_Udt"),
            CqlType::UserDefined(QualifiedName {
                keyspace: Some("ks".into()),
                name: "my_udt".into()
            })
        );
        assert_eq!(parse("'org.Custom'"), CqlType::Custom("org.Custom".into()));
    }
}
