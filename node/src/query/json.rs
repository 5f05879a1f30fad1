//! Values as JSON text, for `SELECT JSON` and `toJson()`, following Cassandra's
//! choices: numbers bare, text and timestamps quoted, blobs as "0x..", uuids quoted.

use cql_protocol::value::Value;

pub fn to_json(v: &Value) -> String {
    match v {
        Value::Ascii(s) | Value::Text(s) => quote(s),
        Value::Bigint(n) | Value::Counter(n) | Value::Time(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Smallint(n) => n.to_string(),
        Value::Tinyint(n) => n.to_string(),
        Value::Varint(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Double(f) if f.is_finite() => format!("{f:?}"),
        Value::Float(f) if f.is_finite() => format!("{f:?}"),
        Value::Double(_) | Value::Float(_) => "null".into(),
        Value::Decimal { .. } => v.cql_literal(),
        Value::Uuid(u) | Value::Timeuuid(u) => quote(&u.to_string()),
        Value::Blob(_) => quote(&v.cql_literal()),
        Value::Timestamp(_) | Value::Date(_) | Value::Inet(_) | Value::Duration { .. } => quote(v.cql_literal().trim_matches('\'')),
        Value::List(items) | Value::Set(items) => {
            format!("[{}]", items.iter().map(to_json).collect::<Vec<_>>().join(", "))
        }
        Value::Map(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(s) | Value::Ascii(s) => quote(s),
                        other => quote(&to_json(other)),
                    };
                    format!("{key}: {}", to_json(v))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Tuple(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| i.as_ref().map(to_json).unwrap_or_else(|| "null".into()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Udt(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(n, v)| format!("{}: {}", quote(n), v.as_ref().map(to_json).unwrap_or_else(|| "null".into())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_quoted_and_escaped() {
        assert_eq!(to_json(&Value::Text("a\"b".into())), "\"a\\\"b\"");
    }

    #[test]
    fn maps_with_text_keys_are_objects() {
        let m = Value::Map(vec![(Value::Text("k".into()), Value::Int(1))]);
        assert_eq!(to_json(&m), "{\"k\": 1}");
    }
}
