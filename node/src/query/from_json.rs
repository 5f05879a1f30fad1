//! `INSERT ... JSON` and `fromJson()`: a JSON value as a value of a column's
//! type, read as each of Cassandra's types reads it (`fromJSONObject`). A type
//! takes exactly the JSON kinds Cassandra's does (an int only numbers Jackson
//! decodes to `Integer` and strings; a timestamp only `Long` numbers and
//! strings; a date, time, uuid or inet only strings; a collection, tuple or
//! user type also a string holding JSON) and refuses the rest in Cassandra's
//! words, naming the Java class Jackson decodes the value to and printing it as
//! Java does (`json_text`). Strings are read as the type's `fromString` reads
//! them, with its messages. Each value becomes a CQL literal that
//! `literal::evaluate` then turns into a value. Numbers keep their exact text,
//! so a varint past 2^63 and a decimal's scale survive. Pure (apart from the
//! clock of a `"now"` timestamp).
//!
//! Not here: the empty value Cassandra makes of `""` for most types (this
//! database has no empty values, so `""` is refused with the type's parse
//! message), DNS names for inet and hexadecimal floats.

use super::json_text::{self, Json};
use super::literal::{evaluate, parse_date, parse_duration, parse_time, timestamp_literal, Binds, Evaluated};
use crate::error::QueryError;
use crate::schema::{Column, Table};
use cql_protocol::cql::ast::Term;
use cql_protocol::cql::decode_hex;
use cql_protocol::types::ColumnType;

/// Why a JSON value is no value of its type, as Cassandra throws it.
#[derive(Debug, Clone, PartialEq)]
enum Refusal {
    /// A `MarshalException`: INSERT JSON says it after "Error decoding JSON
    /// value for <column>: ", `fromJson()` fails as a function.
    Marshal(String),
    /// An `InvalidRequestException` (the duration parser's): said as it is by both.
    Invalid(String),
}

fn marshal(message: impl Into<String>) -> Refusal {
    Refusal::Marshal(message.into())
}

/// "Expected <what>, but got a <Java class>: <value>", Cassandra's refusal of
/// a JSON kind a type does not take ("a" even before a vowel, as Cassandra writes it).
fn wrong_kind(expected: &str, json: &Json) -> Refusal {
    marshal(format!("Expected {expected}, but got a {}: {json}", json.java_class()))
}

/// The members of a JSON object, each paired with its column: a name in
/// double quotes is matched as written, any other in lower case.
pub fn columns<'t>(table: &'t Table, text: &str) -> Result<Vec<(&'t Column, Json)>, QueryError> {
    let parsed = json_text::parse(text)
        .map_err(|e| QueryError::invalid(format!("Could not decode JSON string as a map: {e}. (String was: {text})")))?;
    let members = match parsed {
        Json::Object(members) => members,
        Json::Null => return Err(QueryError::invalid("Got null for INSERT JSON values")),
        _ => {
            return Err(QueryError::invalid(format!(
                "Could not decode JSON string as a map: not a JSON object. (String was: {text})"
            )))
        }
    };
    members
        .into_iter()
        .map(|(key, value)| {
            let name = case_sensitive(&key);
            let column = table
                .column_index(&name)
                .and_then(|i| table.columns.get(i))
                .ok_or_else(|| QueryError::invalid(format!("JSON values map contains unrecognized column: {key}")))?;
            Ok((column, value))
        })
        .collect()
}

/// A JSON member name as Cassandra's `handleCaseSensitivity` reads it: in
/// double quotes as written, otherwise in lower case.
fn case_sensitive(key: &str) -> String {
    match key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => key.to_lowercase(),
    }
}

/// A JSON value as a value of `column`'s type (`Evaluated::Null` for null).
pub fn value(column: &Column, json: &Json) -> Result<Evaluated, QueryError> {
    let decoding = |message: String| QueryError::invalid(format!("Error decoding JSON value for {}: {message}", column.name));
    let term = term(json, &column.ty).map_err(|refusal| match refusal {
        Refusal::Marshal(message) => decoding(message),
        Refusal::Invalid(message) => QueryError::invalid(message),
    })?;
    evaluate(&term, &column.ty, &Binds::default(), &column.name).map_err(|e| match e {
        QueryError::Invalid { message } => decoding(message),
        other => other,
    })
}

/// `fromJson(text)` as a value of type `ty` (Cassandra's `FromJsonFct`): JSON
/// `null` is null; text that is not JSON, or JSON the type refuses, is a
/// function failure with Cassandra's words; the duration parser's refusals
/// are invalid requests, as Cassandra lets them through uncaught.
pub fn from_json_function(text: &str, ty: &ColumnType, what: &str) -> Result<Evaluated, QueryError> {
    let failure = |message: String| QueryError::FunctionFailure {
        function: "fromjson".into(),
        arg_types: vec!["text".into()],
        message: format!("execution of 'system.fromjson[text]' failed: {message}"),
    };
    let marshal_failure = |message: String| failure(format!("org.apache.cassandra.serializers.MarshalException: {message}"));
    let json = json_text::parse(text).map_err(|e| failure(format!("Could not decode JSON string '{text}': {e}")))?;
    let term = term(&json, ty).map_err(|refusal| match refusal {
        Refusal::Marshal(message) => marshal_failure(message),
        Refusal::Invalid(message) => QueryError::invalid(message),
    })?;
    evaluate(&term, ty, &Binds::default(), what).map_err(|e| match e {
        QueryError::Invalid { message } => marshal_failure(message),
        other => other,
    })
}

/// The CQL literal a JSON value stands for in a column of type `ty`.
fn term(json: &Json, ty: &ColumnType) -> Result<Term, Refusal> {
    use ColumnType as T;
    if *json == Json::Null {
        return Ok(Term::Null);
    }
    Ok(match ty {
        T::Tinyint => fixed_integer::<i8>(json, "byte")?,
        T::Smallint => fixed_integer::<i16>(json, "short")?,
        T::Int => match json {
            Json::String(s) => parsed_integer::<i32>(s, "int")?,
            Json::Number { text, .. } if json.java_class() == "Integer" => Term::Integer(text.clone()),
            _ => return Err(wrong_kind("an int value", json)),
        },
        // A counter's JSON Cassandra refuses outright; read as a bigint here.
        T::Bigint | T::Counter => match json {
            Json::String(s) => parsed_integer::<i64>(s, "long")?,
            Json::Number { text, .. } if matches!(json.java_class(), "Integer" | "Long") => Term::Integer(text.clone()),
            _ => return Err(wrong_kind("a bigint value", json)),
        },
        // `new BigInteger(parsed.toString())`, whatever the JSON.
        T::Varint => {
            let text = json.to_string();
            let digits = text.strip_prefix('+').unwrap_or(&text);
            let unsigned = digits.strip_prefix('-').unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(marshal(format!("Value '{text}' is not a valid representation of a varint value")));
            }
            Term::Integer(digits.to_string())
        }
        T::Float => match json {
            Json::String(s) => floating::<f32>(s, "float")?,
            // `Number.floatValue()`: a Double is rounded to a double first.
            Json::Number { text, integer } => {
                let value = if *integer {
                    text.parse::<f32>().ok()
                } else {
                    text.parse::<f64>().ok().map(|d| d as f32)
                };
                Term::Float(value.ok_or_else(|| wrong_kind("a float value", json))?.to_string())
            }
            _ => return Err(wrong_kind("a float value", json)),
        },
        T::Double => match json {
            Json::String(s) => floating::<f64>(s, "double")?,
            Json::Number { text, .. } => Term::Float(text.parse::<f64>().map_err(|_| wrong_kind("a double value", json))?.to_string()),
            _ => return Err(wrong_kind("a double value", json)),
        },
        // `new BigDecimal(Objects.toString(parsed))`, whatever the JSON; a
        // number keeps the text it was written with.
        T::Decimal => match json {
            Json::Number { text, .. } => Term::Float(text.clone()),
            _ => Term::Float(
                decimal_text(&json.to_string())
                    .ok_or_else(|| marshal(format!("Value '{json}' is not a valid representation of a decimal value")))?,
            ),
        },
        T::Boolean => match json {
            Json::Bool(b) => Term::Boolean(*b),
            Json::String(s) if s.is_empty() || s.eq_ignore_ascii_case("false") => Term::Boolean(false),
            Json::String(s) if s.eq_ignore_ascii_case("true") => Term::Boolean(true),
            Json::String(s) => return Err(marshal(format!("Unable to make boolean from '{s}'"))),
            _ => return Err(wrong_kind("a boolean value", json)),
        },
        T::Ascii => match json {
            Json::String(s) => match s.chars().find(|c| !c.is_ascii()) {
                // Java's US-ASCII encoder: a character outside the BMP is two UTF-16 units.
                Some(c) => {
                    return Err(marshal(format!(
                        "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = {}",
                        c.len_utf16()
                    )))
                }
                None => Term::String(s.clone()),
            },
            _ => return Err(wrong_kind("an ascii string", json)),
        },
        T::Varchar => match json {
            Json::String(s) => Term::String(s.clone()),
            _ => return Err(wrong_kind("a UTF-8 string", json)),
        },
        T::Blob => {
            Term::Blob(blob(json).map_err(|reason| marshal(format!("Value '{json}' is not a valid blob representation: {reason}")))?)
        }
        T::Uuid => match json {
            Json::String(s) => Term::Uuid(uuid_text(s).ok_or_else(|| marshal(format!("Unable to make UUID from '{s}'")))?),
            _ => return Err(wrong_kind("a string representation of a uuid", json)),
        },
        T::Timeuuid => match json {
            Json::String(s) => {
                let u = uuid_text(s).ok_or_else(|| marshal(format!("Unknown timeuuid representation: {s}")))?;
                if u.get_version_num() != 1 {
                    return Err(marshal("TimeUUID supports only version 1 UUIDs"));
                }
                Term::Uuid(u)
            }
            _ => return Err(wrong_kind("a string representation of a timeuuid", json)),
        },
        T::Timestamp => match json {
            Json::Number { text, .. } if json.java_class() == "Long" => Term::Integer(text.clone()),
            Json::String(s) => Term::Integer(timestamp_literal(s).map_err(Refusal::Marshal)?.to_string()),
            _ => return Err(wrong_kind("a long or a datestring representation of a timestamp value", json)),
        },
        T::Date => match json {
            Json::String(s) => Term::Integer(parse_date(s).map_err(Refusal::Marshal)?.to_string()),
            _ => return Err(wrong_kind("a string representation of a date value", json)),
        },
        T::Time => match json {
            Json::String(s) => Term::Integer(time_text(s)?.to_string()),
            _ => return Err(wrong_kind("a string representation of a time value", json)),
        },
        T::Inet => match json {
            Json::String(s) if s.parse::<std::net::IpAddr>().is_ok() => Term::String(s.clone()),
            Json::String(s) => return Err(marshal(format!("Unable to make inet address from '{s}'"))),
            _ => return Err(wrong_kind("a string representation of an inet value", json)),
        },
        T::Duration => match json {
            Json::String(s) => match parse_duration(s) {
                Ok(_) => Term::Duration(s.clone()),
                Err(message) => return Err(Refusal::Invalid(message)),
            },
            _ => return Err(wrong_kind("a string representation of a duration", json)),
        },
        T::List(element) => match &*decoded(json)? {
            Json::Array(items) => Term::List(elements(items, element, "list")?),
            other => return Err(wrong_kind("a list", other)),
        },
        T::Set(element) => match &*decoded(json)? {
            Json::Array(items) => Term::Set(elements(items, element, "set")?),
            other => return Err(wrong_kind("a list (representing a set)", other)),
        },
        // Keys are JSON member names, so always strings: `{"1": ..}` for an int key.
        T::Map(key, value) => match &*decoded(json)? {
            Json::Object(members) => Term::Map(
                members
                    .iter()
                    .map(|(k, v)| {
                        if *v == Json::Null {
                            return Err(marshal("Invalid null value in map"));
                        }
                        Ok((term(&Json::String(k.clone()), key)?, term(v, value)?))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(wrong_kind("a map", other)),
        },
        T::Tuple(types) => match &*decoded(json)? {
            list @ Json::Array(items) => {
                if items.len() > types.len() {
                    return Err(marshal(format!("Tuple contains extra items (expected {}): {list}", types.len())));
                }
                if items.len() < types.len() {
                    return Err(marshal(format!("Tuple is missing items (expected {}): {list}", types.len())));
                }
                Term::Tuple(items.iter().zip(types).map(|(i, t)| term(i, t)).collect::<Result<_, _>>()?)
            }
            other => return Err(wrong_kind("a list representation of a tuple", other)),
        },
        T::Udt { name, fields, .. } => match &*decoded(json)? {
            Json::Object(members) => user_type(members, name, fields)?,
            other => return Err(wrong_kind("a map", other)),
        },
        T::Custom(_) => return Err(wrong_kind("a string", json)),
    })
}

/// tinyint and smallint: a string or any number, read from its Java text by
/// `Byte.parseByte` / `Short.parseShort` (so `1.0` is refused).
fn fixed_integer<N: std::str::FromStr + ToString>(json: &Json, java_name: &str) -> Result<Term, Refusal> {
    match json {
        Json::String(_) | Json::Number { .. } => parsed_integer::<N>(&json.to_string(), java_name),
        _ => Err(wrong_kind(&format!("a {java_name} value"), json)),
    }
}

/// Java's `parseInt` and its kin: a sign and decimal digits, in range, which
/// Rust's integer parsing reads alike; refused as Cassandra's `fromString` words it.
fn parsed_integer<N: std::str::FromStr + ToString>(text: &str, java_name: &str) -> Result<Term, Refusal> {
    text.parse::<N>()
        .map(|n| Term::Integer(n.to_string()))
        .map_err(|_| marshal(format!("Unable to make {java_name} from '{text}'")))
}

/// A decimal number as Java's `BigDecimal(String)` reads it (a sign, digits
/// with at most one point, an exponent), in a form `literal` parses alike.
fn decimal_text(s: &str) -> Option<String> {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (s.get(..i)?, Some(s.get(i + 1..)?)),
        None => (s, None),
    };
    let (sign, unsigned) = match mantissa.as_bytes().first() {
        Some(b'-') => ("-", mantissa.get(1..)?),
        Some(b'+') => ("", mantissa.get(1..)?),
        _ => ("", mantissa),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let mut text = format!("{sign}{}", if whole.is_empty() { "0" } else { whole });
    if !fraction.is_empty() {
        text = format!("{text}.{fraction}");
    }
    if let Some(exponent) = exponent {
        let magnitude = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if magnitude.is_empty() || !digits(magnitude) {
            return None;
        }
        text = format!("{text}e{}", exponent.parse::<i32>().ok()?);
    }
    Some(text)
}

/// A float or a double from a string, as Java reads it (`java_floating`);
/// refused as Cassandra's `fromString` words it.
fn floating<F: std::str::FromStr + ToString>(s: &str, java_name: &str) -> Result<Term, Refusal> {
    java_floating(s)
        .and_then(|text| text.parse::<F>().ok())
        .map(|f| Term::Float(f.to_string()))
        .ok_or_else(|| marshal(format!("Unable to make {java_name} from '{s}'")))
}

/// A floating-point number as Java's `Float.parseFloat` / `Double.valueOf`
/// read it (surrounding blanks, `NaN`, `Infinity`, a decimal with an optional
/// `f` or `d` suffix), in a form Rust parses to the same value.
fn java_floating(s: &str) -> Option<String> {
    let trimmed = s.trim_matches(|c: char| c <= ' ');
    let (sign, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => ("-", trimmed.get(1..)?),
        Some(b'+') => ("", trimmed.get(1..)?),
        _ => ("", trimmed),
    };
    match unsigned {
        "NaN" => Some("NaN".into()),
        "Infinity" => Some(format!("{sign}inf")),
        _ => {
            let number = unsigned.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(unsigned);
            if number.starts_with(['+', '-']) {
                return None;
            }
            decimal_text(number).map(|text| format!("{sign}{text}"))
        }
    }
}

/// A blob's JSON: a string of `0x` and hex digits; the reason it is not,
/// in the words of Cassandra's `BytesType`.
fn blob(json: &Json) -> Result<Vec<u8>, String> {
    let Json::String(s) = json else {
        // Cassandra casts the value to a String and reports the JVM's words.
        let class = match json.java_class() {
            "BigInteger" => "java.math.BigInteger",
            "ArrayList" => "java.util.ArrayList",
            "LinkedHashMap" => "java.util.LinkedHashMap",
            other => return Err(java_cast_failure(&format!("java.lang.{other}"))),
        };
        return Err(java_cast_failure(class));
    };
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("String representation of blob is missing 0x prefix: {s}"))?;
    decode_hex(hex).ok_or_else(|| format!("cannot parse '{hex}' as hex bytes"))
}

/// The JVM's `ClassCastException` message for a cast of `class` to `String`.
fn java_cast_failure(class: &str) -> String {
    format!(
        "class {class} cannot be cast to class java.lang.String ({class} and java.lang.String are in module java.base of loader 'bootstrap')"
    )
}

/// A uuid in the only form Cassandra's `UUIDType` reads: 8-4-4-4-12 hex digits.
fn uuid_text(s: &str) -> Option<uuid::Uuid> {
    let groups: Vec<&str> = s.split('-').collect();
    let shaped = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if shaped {
        uuid::Uuid::parse_str(s).ok()
    } else {
        None
    }
}

/// A time as Cassandra's `TimeSerializer` reads a string: digits are
/// nanoseconds of the day, anything else a time of day.
fn time_text(s: &str) -> Result<i64, Refusal> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .filter(|n| (0..86_400_000_000_000).contains(n))
            .ok_or_else(|| marshal(format!("Unable to make long (for time) from: '{s}'")));
    }
    parse_time(s).ok_or_else(|| marshal(format!("(TimeType) Unable to coerce '{s}' to a formatted time (long)")))
}

/// A collection's JSON: a string is read as the JSON it holds first.
fn decoded(json: &Json) -> Result<std::borrow::Cow<'_, Json>, Refusal> {
    match json {
        Json::String(s) => json_text::parse(s)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| marshal(format!("Error decoding JSON string: {e}"))),
        other => Ok(std::borrow::Cow::Borrowed(other)),
    }
}

/// A list's or a set's items, none of them null.
fn elements(items: &[Json], ty: &ColumnType, collection: &str) -> Result<Vec<Term>, Refusal> {
    items
        .iter()
        .map(|item| match item {
            Json::Null => Err(marshal(format!("Invalid null element in {collection}"))),
            item => term(item, ty),
        })
        .collect()
}

/// A user type's fields from a JSON object, read in the type's field order; a
/// missing or null field is null, a member no field has is refused.
fn user_type(members: &[(String, Json)], name: &str, fields: &[(String, ColumnType)]) -> Result<Term, Refusal> {
    let members: Vec<(String, &Json)> = members.iter().map(|(k, v)| (case_sensitive(k), v)).collect();
    let mut values = Vec::new();
    for (field, field_type) in fields {
        if let Some((_, json)) = members.iter().find(|(k, _)| k == field) {
            if **json != Json::Null {
                values.push((field.clone(), term(json, field_type)?));
            }
        }
    }
    if let Some((unknown, _)) = members.iter().find(|(k, _)| !fields.iter().any(|(f, _)| f == k)) {
        return Err(marshal(format!("Unknown field '{unknown}' in value of user defined type {name}")));
    }
    Ok(Term::UserType(values))
}

#[cfg(test)]
mod tests;
