//! Cassandra's native scalar functions that are named after a type or read the
//! clock: `<type>AsBlob` / `blobAs<type>` for every native type, and `now()`,
//! `uuid()`, `currentTimestamp()` and the other `current*` functions. Pure:
//! the selection (`select`) and terms (`literal`) call them.

use cql_protocol::cql::native_type;
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use uuid::Uuid;

use crate::error::QueryError;
use crate::schema::native_column_type;

/// A conversion between a native type and `blob`, by the function's name
/// (lower case): `intasblob` is `ToBlob(Int)`, `blobasint` is `FromBlob(Int)`.
#[derive(Debug, Clone, PartialEq)]
pub enum BlobConversion {
    ToBlob(ColumnType),
    FromBlob(ColumnType),
}

impl BlobConversion {
    pub fn of(name: &str) -> Option<BlobConversion> {
        let native = |n: &str| native_type(n).map(native_column_type);
        if let Some(t) = name.strip_suffix("asblob") {
            return native(t).map(BlobConversion::ToBlob);
        }
        name.strip_prefix("blobas").and_then(native).map(BlobConversion::FromBlob)
    }

    /// The type of the argument, and of the result.
    pub fn types(&self) -> (ColumnType, ColumnType) {
        match self {
            BlobConversion::ToBlob(t) => (t.clone(), ColumnType::Blob),
            BlobConversion::FromBlob(t) => (ColumnType::Blob, t.clone()),
        }
    }

    pub fn apply(&self, value: Value) -> Result<Value, QueryError> {
        match (self, value) {
            (BlobConversion::ToBlob(_), v) => Ok(Value::Blob(v.to_bytes())),
            (BlobConversion::FromBlob(t), Value::Blob(bytes)) => Value::deserialize(t, &bytes).map_err(|_| {
                let name = super::literal::type_name(t);
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                QueryError::invalid(format!(
                    "In call to function system.blobas{name}, value 0x{hex} is not a valid binary representation for type {name}"
                ))
            }),
            (BlobConversion::FromBlob(_), other) => Err(QueryError::invalid(format!("{} is not a blob", other.cql_literal()))),
        }
    }
}

/// Whether an argument of type `given` may be passed where `wanted` is declared
/// (`text` and `varchar` are one type; `ascii` is also valid text).
pub fn accepts(wanted: &ColumnType, given: &ColumnType) -> bool {
    wanted == given || (*wanted == ColumnType::Varchar && *given == ColumnType::Ascii)
}

/// Cassandra's message when an argument has the wrong type.
pub fn type_error(arg: &str, index: usize, function: &str, wanted: &ColumnType) -> QueryError {
    QueryError::invalid(format!(
        "Type error: {arg} cannot be passed as argument {index} of function system.{function} of type {}",
        super::literal::type_name(wanted)
    ))
}

/// A function of no argument that reads the clock or makes an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Current {
    TimeUuid,
    Uuid,
    Timestamp,
    Date,
    Time,
}

impl Current {
    pub fn of(name: &str) -> Option<Current> {
        Some(match name {
            "now" | "currenttimeuuid" => Current::TimeUuid,
            "uuid" => Current::Uuid,
            "currenttimestamp" => Current::Timestamp,
            "currentdate" => Current::Date,
            "currenttime" => Current::Time,
            _ => return None,
        })
    }

    pub fn ty(self) -> ColumnType {
        match self {
            Current::TimeUuid => ColumnType::Timeuuid,
            Current::Uuid => ColumnType::Uuid,
            Current::Timestamp => ColumnType::Timestamp,
            Current::Date => ColumnType::Date,
            Current::Time => ColumnType::Time,
        }
    }

    /// Its value now (a new one at each call for the ids).
    pub fn value(self) -> Value {
        let ms = chrono::Utc::now().timestamp_millis();
        match self {
            Current::TimeUuid => Value::Timeuuid(super::literal::new_timeuuid()),
            Current::Uuid => Value::Uuid(Uuid::new_v4()),
            Current::Timestamp => Value::Timestamp(ms),
            Current::Date => Value::Date(super::literal::date_from_millis(ms)),
            Current::Time => Value::Time(ms.rem_euclid(86_400_000) * 1_000_000),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_native_type_converts_to_a_blob_and_back() {
        let values = [
            (ColumnType::Int, Value::Int(-7)),
            (ColumnType::Bigint, Value::Bigint(1 << 40)),
            (ColumnType::Varchar, Value::Text("héllo".into())),
            (ColumnType::Boolean, Value::Boolean(true)),
            (ColumnType::Double, Value::Double(2.5)),
            (ColumnType::Smallint, Value::Smallint(-2)),
            (ColumnType::Timestamp, Value::Timestamp(1_700_000_000_000)),
        ];
        for (ty, v) in values {
            let name = super::super::literal::type_name(&ty);
            let to = BlobConversion::of(&format!("{name}asblob")).unwrap();
            let from = BlobConversion::of(&format!("blobas{name}")).unwrap();
            assert_eq!(to.types(), (ty.clone(), ColumnType::Blob));
            let blob = to.apply(v.clone()).unwrap();
            assert_eq!(blob, Value::Blob(v.to_bytes()), "{name}");
            assert_eq!(from.apply(blob).unwrap(), v, "{name}");
        }
        assert_eq!(
            BlobConversion::of("intasblob").unwrap().apply(Value::Int(1)).unwrap(),
            Value::Blob(vec![0, 0, 0, 1])
        );
        assert!(
            BlobConversion::of("blobasint").unwrap().apply(Value::Blob(vec![1])).is_err(),
            "an int is four bytes"
        );
        assert_eq!(BlobConversion::of("nosuchasblob"), None);
        assert_eq!(
            BlobConversion::of("blobasvarchar"),
            Some(BlobConversion::FromBlob(ColumnType::Varchar))
        );
    }

    #[test]
    fn current_functions_have_their_types() {
        for name in ["now", "currenttimeuuid", "uuid", "currenttimestamp", "currentdate", "currenttime"] {
            let f = Current::of(name).unwrap();
            assert!(f.value().check_type(&f.ty()).is_ok(), "{name}");
        }
        assert_ne!(Current::TimeUuid.value(), Current::TimeUuid.value(), "a new timeuuid at each call");
    }
}
