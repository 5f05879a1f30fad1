//! Values as JSON text, for `SELECT JSON` and `toJson()`, following Cassandra's
//! choices: numbers bare, text and timestamps quoted, blobs as "0x..", uuids quoted.

use cql_protocol::value::Value;

pub fn to_json(v: &Value) -> String {
    match v {
        Value::Ascii(s) | Value::Text(s) => quote(s),
        Value::Bigint(n) | Value::Counter(n) => n.to_string(),
        Value::Time(nanos) => quote(&time_text(*nanos)),
        Value::Timestamp(millis) => quote(&timestamp_text(*millis)),
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
        Value::Date(_) | Value::Inet(_) | Value::Duration { .. } => quote(v.cql_literal().trim_matches('\'')),
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

/// A timestamp as Cassandra's JSON writes it: `2014-01-01 12:15:45.000Z`, in UTC.
fn timestamp_text(millis: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(millis) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string(),
        None => millis.to_string(),
    }
}

/// A time of day as Cassandra writes it: `00:00:00.000000123`, nanoseconds in full.
fn time_text(nanos: i64) -> String {
    let (secs, frac) = (nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000));
    format!("{:02}:{:02}:{:02}.{frac:09}", secs / 3600, secs / 60 % 60, secs % 60)
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
    fn timestamps_and_times_read_as_cassandra_writes_them() {
        assert_eq!(to_json(&Value::Timestamp(1_388_578_545_000)), "\"2014-01-01 12:15:45.000Z\"");
        assert_eq!(to_json(&Value::Time(123)), "\"00:00:00.000000123\"");
        assert_eq!(to_json(&Value::Time(45_296_000_000_001)), "\"12:34:56.000000001\"");
    }

    #[test]
    fn maps_with_text_keys_are_objects() {
        let m = Value::Map(vec![(Value::Text("k".into()), Value::Int(1))]);
        assert_eq!(to_json(&m), "{\"k\": 1}");
    }
}
