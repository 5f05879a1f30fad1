//! A term of a statement written back as CQL text, the way Cassandra quotes
//! the operation in some of its messages ("Invalid operation (v = v + 1) for
//! non counter column v"): strings in single quotes, collections in their
//! brackets, bind markers as `?`.

use cql_protocol::cql::ast::Term;

/// The CQL text of `term`.
pub fn term_text(term: &Term) -> String {
    let join = |items: &[Term]| items.iter().map(term_text).collect::<Vec<_>>().join(", ");
    match term {
        Term::Null => "null".to_string(),
        Term::Boolean(b) => b.to_string(),
        Term::Integer(s) | Term::Float(s) | Term::Duration(s) => s.clone(),
        Term::String(s) => format!("'{s}'"),
        Term::Uuid(u) => u.to_string(),
        Term::Blob(bytes) => format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        Term::List(items) => format!("[{}]", join(items)),
        Term::Set(items) => format!("{{{}}}", join(items)),
        Term::Tuple(items) => format!("({})", join(items)),
        Term::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", term_text(k), term_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Term::UserType(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", term_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Term::Bind { name: Some(name), .. } => format!(":{name}"),
        Term::Bind { name: None, .. } => "?".to_string(),
        Term::FunctionCall { name, args } => format!("{name}({})", join(args)),
        Term::Cast(_, inner) => term_text(inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_read_back_as_cassandra_prints_them() {
        assert_eq!(term_text(&Term::Integer("1".into())), "1");
        assert_eq!(term_text(&Term::String("x".into())), "'x'");
        assert_eq!(
            term_text(&Term::List(vec![Term::Integer("1".into()), Term::Bind { index: 0, name: None }])),
            "[1, ?]"
        );
        assert_eq!(
            term_text(&Term::Map(vec![(Term::String("a".into()), Term::Blob(vec![1, 255]))])),
            "{'a': 0x01ff}"
        );
    }
}
