//! `INSERT ... JSON`: a JSON object's members as values of the table's columns,
//! read as Cassandra reads them (`fromJson`): numbers bare or in strings,
//! text only from strings, blobs as "0x..", timestamps and dates as strings or
//! numbers, maps as objects whose keys are strings (a non-text key's string is
//! itself read as JSON), tuples as arrays and user types as objects. Each value
//! becomes the CQL literal it stands for and is checked by `literal::evaluate`,
//! so range checks and messages are those of literals. Numbers are read from
//! their exact text (`json_text`), as Cassandra reads them into `BigInteger` /
//! `BigDecimal`. Pure.

use super::json_text::{self, Json};
use super::literal::{evaluate, Binds, Evaluated};
use crate::error::QueryError;
use crate::schema::{Column, Table};
use cql_protocol::cql::ast::Term;
use cql_protocol::cql::decode_hex;
use cql_protocol::types::ColumnType;

/// The members of a JSON object, each paired with its column: a name in
/// double quotes is matched as written, any other in lower case.
pub fn columns<'t>(table: &'t Table, text: &str) -> Result<Vec<(&'t Column, Json)>, QueryError> {
    let parsed = json_text::parse(text)
        .map_err(|e| QueryError::invalid(format!("Could not decode JSON string as a map: {e}. (String was: {text})")))?;
    let Json::Object(members) = parsed else {
        return Err(QueryError::invalid(format!(
            "Could not decode JSON string as a map: not a JSON object. (String was: {text})"
        )));
    };
    members
        .into_iter()
        .map(|(key, value)| {
            let name = match key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
                Some(quoted) => quoted.to_string(),
                None => key.to_lowercase(),
            };
            let column = table
                .column_index(&name)
                .and_then(|i| table.columns.get(i))
                .ok_or_else(|| QueryError::invalid(format!("JSON values map contains unrecognized column: {key}")))?;
            Ok((column, value))
        })
        .collect()
}

/// A JSON value as a value of `column`'s type (`Evaluated::Null` for null).
pub fn value(column: &Column, json: &Json) -> Result<Evaluated, QueryError> {
    let term =
        term(json, &column.ty).map_err(|reason| QueryError::invalid(format!("Error decoding JSON value for {}: {reason}", column.name)))?;
    // A value of the right JSON kind that is no value of the type (`"x"` for
    // an int) is refused as Cassandra's Json does: "Error decoding JSON value".
    evaluate(&term, &column.ty, &Binds::default(), &column.name).map_err(|e| match e {
        QueryError::Invalid { message } => QueryError::invalid(format!("Error decoding JSON value for {}: {message}", column.name)),
        other => other,
    })
}

/// `fromJson(text)` as a value of type `ty` (Cassandra's `FromJsonFct`): JSON
/// `null` is null; text that is not JSON, or JSON of the wrong kind for the
/// type, is a function failure with Cassandra's words.
pub fn from_json_function(text: &str, ty: &ColumnType, what: &str) -> Result<Evaluated, QueryError> {
    let failure = |message: String| QueryError::FunctionFailure {
        function: "fromjson".into(),
        arg_types: vec!["text".into()],
        message,
    };
    let json = json_text::parse(text).map_err(|e| failure(format!("Could not decode JSON string '{text}': {e}")))?;
    let term = term(&json, ty).map_err(|reason| {
        failure(format!(
            "execution of 'system.fromjson[text]' failed: org.apache.cassandra.serializers.MarshalException: {reason}"
        ))
    })?;
    evaluate(&term, ty, &Binds::default(), what)
}

/// The CQL literal a JSON value stands for in a column of type `ty`.
fn term(json: &Json, ty: &ColumnType) -> Result<Term, String> {
    use ColumnType as T;
    let wrong = |expected: &str| format!("Expected {expected}, but got a {}: {json}", json.java_class());
    Ok(match (ty, json) {
        (_, Json::Null) => Term::Null,
        (T::Ascii | T::Varchar, Json::String(s)) => Term::String(s.clone()),
        (T::Ascii, _) => return Err(wrong("an ascii string")),
        (T::Varchar, _) => return Err(wrong("a UTF-8 string")),
        (T::Int | T::Bigint | T::Smallint | T::Tinyint | T::Varint | T::Counter, Json::Number { text, integer: true }) => {
            Term::Integer(text.clone())
        }
        (T::Int | T::Bigint | T::Smallint | T::Tinyint | T::Varint | T::Counter, Json::String(s)) => Term::Integer(s.trim().to_string()),
        (T::Int | T::Bigint | T::Smallint | T::Tinyint | T::Varint | T::Counter, _) => return Err(wrong("an integer")),
        (T::Float | T::Double | T::Decimal, Json::Number { text, .. }) => Term::Float(text.clone()),
        (T::Float | T::Double | T::Decimal, Json::String(s)) => Term::Float(s.trim().to_string()),
        (T::Float | T::Double | T::Decimal, _) => return Err(wrong("a number")),
        (T::Boolean, Json::Bool(b)) => Term::Boolean(*b),
        (T::Boolean, Json::String(s)) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
            Term::Boolean(s.eq_ignore_ascii_case("true"))
        }
        (T::Boolean, _) => return Err(wrong("a boolean value")),
        (T::Uuid | T::Timeuuid, Json::String(s)) => {
            Term::Uuid(uuid::Uuid::parse_str(s).map_err(|_| format!("Unable to make UUID from '{s}'"))?)
        }
        (T::Blob, Json::String(s)) => {
            let hex = s.strip_prefix("0x").ok_or_else(|| {
                format!("Value '{s}' is not a valid blob representation: String representation of blob is missing 0x prefix: {s}")
            })?;
            Term::Blob(decode_hex(hex).ok_or_else(|| format!("Value '{s}' is not a valid blob representation"))?)
        }
        (T::Timestamp | T::Date | T::Time, Json::Number { text, integer: true }) => Term::Integer(text.clone()),
        (T::Timestamp | T::Date | T::Time | T::Inet, Json::String(s)) => Term::String(s.clone()),
        (T::Duration, Json::String(s)) => Term::Duration(s.clone()),
        (T::List(element), Json::Array(items)) => Term::List(items.iter().map(|i| term(i, element)).collect::<Result<_, _>>()?),
        (T::Set(element), Json::Array(items)) => Term::Set(items.iter().map(|i| term(i, element)).collect::<Result<_, _>>()?),
        (T::Map(key, value), Json::Object(members)) => Term::Map(
            members
                .iter()
                .map(|(k, v)| Ok((map_key(k, key)?, term(v, value)?)))
                .collect::<Result<_, String>>()?,
        ),
        (T::Tuple(types), Json::Array(items)) => {
            if items.len() > types.len() {
                return Err(format!("Tuple contains extra items (expected {})", types.len()));
            }
            Term::Tuple(items.iter().zip(types).map(|(i, t)| term(i, t)).collect::<Result<_, _>>()?)
        }
        (T::Udt { fields, .. }, Json::Object(members)) => Term::UserType(
            members
                .iter()
                .map(|(k, v)| {
                    let name = match k.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
                        Some(quoted) => quoted.to_string(),
                        None => k.to_lowercase(),
                    };
                    let (_, field_type) = fields
                        .iter()
                        .find(|(f, _)| *f == name)
                        .ok_or_else(|| format!("Unknown field '{name}' in value of user defined type"))?;
                    Ok((name, term(v, field_type)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        (T::List(_) | T::Set(_) | T::Tuple(_), _) => return Err(wrong("a list")),
        (T::Map(..) | T::Udt { .. }, _) => return Err(wrong("a map")),
        _ => return Err(wrong("a string")),
    })
}

/// A map key: JSON keys are strings; a text key is the string, any other is
/// the string read as JSON (`{"1": ...}` for an int key).
fn map_key(key: &str, ty: &ColumnType) -> Result<Term, String> {
    match ty {
        ColumnType::Ascii | ColumnType::Varchar => Ok(Term::String(key.to_string())),
        _ => {
            let parsed = json_text::parse(key).unwrap_or_else(|_| Json::String(key.to_string()));
            term(&parsed, ty)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(json: &str, ty: ColumnType) -> Result<Term, String> {
        term(&json_text::parse(json).unwrap(), &ty)
    }

    #[test]
    fn json_values_become_the_literals_cassandra_reads_them_as() {
        assert_eq!(read("5", ColumnType::Int), Ok(Term::Integer("5".into())));
        assert_eq!(read("\"5\"", ColumnType::Bigint), Ok(Term::Integer("5".into())));
        assert_eq!(read("1.5", ColumnType::Double), Ok(Term::Float("1.5".into())));
        assert_eq!(read("1.50", ColumnType::Decimal), Ok(Term::Float("1.50".into())));
        assert_eq!(
            read("123456789012345678901234567890", ColumnType::Varint),
            Ok(Term::Integer("123456789012345678901234567890".into()))
        );
        assert_eq!(read("\"0xcafe\"", ColumnType::Blob), Ok(Term::Blob(vec![0xca, 0xfe])));
        assert_eq!(read("\"True\"", ColumnType::Boolean), Ok(Term::Boolean(true)));
        assert_eq!(read("null", ColumnType::Varchar), Ok(Term::Null));
        assert_eq!(
            read(
                "{\"1\": [\"a\"]}",
                ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::List(Box::new(ColumnType::Varchar))))
            ),
            Ok(Term::Map(vec![(
                Term::Integer("1".into()),
                Term::List(vec![Term::String("a".into())])
            )]))
        );
        assert!(read("5", ColumnType::Varchar)
            .unwrap_err()
            .contains("Expected a UTF-8 string, but got a Integer: 5"));
        for (number, class, printed) in [
            ("-2147483648", "Integer", "-2147483648"),
            ("2147483648", "Long", "2147483648"),
            ("9223372036854775808", "BigInteger", "9223372036854775808"),
            ("1e3", "Double", "1000.0"),
        ] {
            let message = read(number, ColumnType::Varchar).unwrap_err();
            assert!(message.ends_with(&format!("but got a {class}: {printed}")), "{message}");
        }
        assert!(read("1.5", ColumnType::Int).is_err());
        assert!(read("\"cafe\"", ColumnType::Blob).unwrap_err().contains("missing 0x prefix"));
        assert!(read("[1, 2, 3]", ColumnType::Tuple(vec![ColumnType::Int])).is_err());
    }
}
