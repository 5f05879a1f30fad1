//! Values as JSON text, for `SELECT JSON` and `toJson()`, following Cassandra's
//! choices: numbers bare, text and timestamps quoted, blobs as "0x..", uuids quoted.

use cql_protocol::response::ColumnSpec;
use cql_protocol::value::Value;

use crate::error::QueryError;

/// One finished result row as the text of `SELECT JSON`'s `[json]` column, as
/// Cassandra's `Selection.rowToJson` writes it: each column under its result
/// name (a name with capitals quoted, `"\"Foo\""`), a null as `null` and an
/// empty value as `""`.
pub fn row_to_json(columns: &[ColumnSpec], row: &[Option<Vec<u8>>]) -> Result<String, QueryError> {
    let mut out = String::from("{");
    for (i, (spec, cell)) in columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if spec.name == spec.name.to_lowercase() {
            out.push_str(&quote(&spec.name));
        } else {
            out.push_str(&quote(&format!("\"{}\"", spec.name)));
        }
        out.push_str(": ");
        match cell.as_deref() {
            None => out.push_str("null"),
            Some([]) => out.push_str("\"\""),
            Some(bytes) => {
                let value = Value::deserialize(&spec.ty, bytes).map_err(|e| QueryError::Server {
                    message: format!("result column {} does not decode: {e}", spec.name),
                })?;
                out.push_str(&to_json(&value));
            }
        }
    }
    out.push('}');
    Ok(out)
}

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
        Value::Double(f) if f.is_finite() => java_double(*f),
        Value::Float(f) if f.is_finite() => java_float(*f),
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

/// Java's `Double.toString`, as Cassandra writes a double: the shortest
/// digits that read back, plain from 10^-3 up to 10^7 and in computerised
/// scientific notation outside (`1.0E7`, `1.0E-4`).
pub(super) fn java_double(d: f64) -> String {
    java_decimal(format!("{d}"), format!("{d:e}"), d)
}

/// Java's `Float.toString`: as `java_double`, with a float's shortest digits.
fn java_float(f: f32) -> String {
    java_decimal(format!("{f}"), format!("{f:e}"), f64::from(f))
}

fn java_decimal(plain: String, scientific: String, d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = d.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        return if plain.contains('.') { plain } else { format!("{plain}.0") };
    }
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

/// `s` as a JSON string: quoted, with quotes, backslashes and control characters escaped.
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
    use cql_protocol::types::ColumnType;

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
    fn numbers_read_as_java_prints_them() {
        for (value, text) in [
            (Value::Double(1.5), "1.5"),
            (Value::Double(1e7), "1.0E7"),
            (Value::Double(9_999_999.0), "9999999.0"),
            (Value::Double(0.001), "0.001"),
            (Value::Double(1.25e-4), "1.25E-4"),
            (Value::Double(-0.0), "-0.0"),
            (Value::Double(f64::NAN), "null"),
            (Value::Float(0.1), "0.1"),
            (Value::Float(3.0e10), "3.0E10"),
            // BigDecimal.toString: an exponent where the scale is negative or the number tiny.
            (
                Value::Decimal {
                    unscaled: 15.into(),
                    scale: 1,
                },
                "1.5",
            ),
            (
                Value::Decimal {
                    unscaled: 1.into(),
                    scale: -3,
                },
                "1E+3",
            ),
            (
                Value::Decimal {
                    unscaled: 123.into(),
                    scale: 10,
                },
                "1.23E-8",
            ),
            (
                Value::Decimal {
                    unscaled: (-150).into(),
                    scale: 2,
                },
                "-1.50",
            ),
        ] {
            assert_eq!(to_json(&value), text, "{value:?}");
        }
    }

    fn column(name: &str, ty: ColumnType) -> ColumnSpec {
        ColumnSpec {
            keyspace: "ks".into(),
            table: "t".into(),
            name: name.into(),
            ty,
        }
    }

    #[test]
    fn a_row_is_one_object_under_its_column_names() {
        let columns = [column("count", ColumnType::Bigint), column("system.sum(v)", ColumnType::Int)];
        let row = [Some(Value::Bigint(2).to_bytes()), Some(Value::Int(7).to_bytes())];
        assert_eq!(row_to_json(&columns, &row).unwrap(), r#"{"count": 2, "system.sum(v)": 7}"#);
    }

    #[test]
    fn a_row_quotes_names_with_capitals_and_writes_nulls_and_empty_values() {
        let columns = [
            column("Foo", ColumnType::Int),
            column("v", ColumnType::Int),
            column("w", ColumnType::Int),
        ];
        let row = [Some(Value::Int(1).to_bytes()), None, Some(Vec::new())];
        assert_eq!(row_to_json(&columns, &row).unwrap(), r#"{"\"Foo\"": 1, "v": null, "w": ""}"#);
    }

    #[test]
    fn maps_with_text_keys_are_objects() {
        let m = Value::Map(vec![(Value::Text("k".into()), Value::Int(1))]);
        assert_eq!(to_json(&m), "{\"k\": 1}");
    }
}
