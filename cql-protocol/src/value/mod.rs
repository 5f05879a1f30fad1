//! CQL values and their serialisation (the spec's section 6): this module owns how
//! a value of each type is laid out in a `[bytes]`, how it prints as a CQL literal
//! (`literal`) and how two values of one type order (`order`). Types live in
//! `types`; the `[bytes]` framing of a whole value inside a frame body does not
//! live here, only the framing of elements inside collections, tuples and UDTs.

mod literal;
mod order;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use num_bigint::BigInt;
use uuid::Uuid;

use crate::types::ColumnType;

/// A non-null CQL value. A null is `None` wherever a value may be absent.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Ascii(String),
    Bigint(i64),
    Blob(Vec<u8>),
    Boolean(bool),
    Counter(i64),
    /// `unscaled * 10^-scale`
    Decimal {
        unscaled: BigInt,
        scale: i32,
    },
    Double(f64),
    Float(f32),
    Int(i32),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid(Uuid),
    Text(String),
    Varint(BigInt),
    Timeuuid(Uuid),
    Inet(IpAddr),
    /// Days since the epoch with 2^31 as the epoch (the spec's unsigned encoding).
    Date(u32),
    /// Nanoseconds since midnight.
    Time(i64),
    Smallint(i16),
    Tinyint(i8),
    Duration {
        months: i32,
        days: i32,
        nanoseconds: i64,
    },
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Tuple(Vec<Option<Value>>),
    /// Fields in the type's order; a missing trailing field is a null.
    Udt(Vec<(String, Option<Value>)>),
}

/// How many collections, tuples and UDTs may nest inside one another. Cassandra has
/// no such limit, but a type tree read off the wire must not drive unbounded
/// recursion; 32 is far beyond any schema seen in practice.
pub const MAX_DEPTH: usize = 32;

/// The last nanosecond of a day, the largest valid `time`.
pub const MAX_TIME_NANOS: i64 = 86_399_999_999_999;

/// Why a value could not be decoded, or does not fit a type.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ValueError {
    #[error("expected {expected} bytes for {} {type_name}, got {got}", article(type_name))]
    WrongSize {
        type_name: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{type_name} value is not valid UTF-8 (the first bad byte is at offset {valid_up_to})")]
    InvalidUtf8 { type_name: &'static str, valid_up_to: usize },
    #[error("ascii value has byte 0x{byte:02x} at offset {index}, outside the ASCII range 0..=127")]
    NotAscii { index: usize, byte: u8 },
    #[error("{what} needs {needed} bytes but only {available} remain")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("{what} has a negative length or count ({length})")]
    NegativeLength { what: &'static str, length: i32 },
    #[error("{type_name} value has {extra} bytes left over after its last element")]
    TrailingBytes { type_name: &'static str, extra: usize },
    #[error("{} {type_name} may not contain a null element", article(type_name))]
    NullElement { type_name: &'static str },
    #[error("collections, tuples and UDTs nest more than {limit} levels deep")]
    TooDeep { limit: usize },
    #[error("custom type '{class}' is not supported")]
    CustomTypeUnsupported { class: String },
    #[error("expected 4 bytes (IPv4) or 16 bytes (IPv6) for an inet, got {got}")]
    InvalidInetLength { got: usize },
    #[error("time {nanoseconds} is not a time of day (0 to 86399999999999 nanoseconds)")]
    TimeOutOfRange { nanoseconds: i64 },
    #[error("duration {field} {value} does not fit in 32 bits")]
    DurationOutOfRange { field: &'static str, value: i64 },
    #[error(
        "duration months ({months}), days ({days}) and nanoseconds ({nanoseconds}) \
         must not have different signs"
    )]
    DurationMixedSigns { months: i64, days: i64, nanoseconds: i64 },
    #[error("a {expected} cannot hold the value {value}")]
    Mismatch { expected: String, value: String },
}

/// "an int", "a bigint", "a uuid": error messages read as sentences.
fn article(type_name: &str) -> &'static str {
    match type_name.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o') => "an",
        _ => "a",
    }
}

impl Value {
    /// Appends the value's section 6 encoding, without the outer `[bytes]` length.
    ///
    /// Elements of collections, tuples and UDTs carry v4 `[bytes]` lengths (4 bytes).
    /// An element longer than `i32::MAX` bytes cannot be framed by the protocol at
    /// all; its length saturates, which a frame size limit rejects long before.
    pub fn serialize(&self, out: &mut Vec<u8>) {
        match self {
            Value::Ascii(s) | Value::Text(s) => out.extend_from_slice(s.as_bytes()),
            Value::Bigint(v) | Value::Counter(v) | Value::Timestamp(v) | Value::Time(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Blob(b) => out.extend_from_slice(b),
            Value::Boolean(b) => out.push(u8::from(*b)),
            Value::Decimal { unscaled, scale } => {
                out.extend_from_slice(&scale.to_be_bytes());
                out.extend_from_slice(&unscaled.to_signed_bytes_be());
            }
            Value::Double(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Float(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Int(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Uuid(u) | Value::Timeuuid(u) => out.extend_from_slice(u.as_bytes()),
            Value::Varint(v) => out.extend_from_slice(&v.to_signed_bytes_be()),
            Value::Inet(IpAddr::V4(a)) => out.extend_from_slice(&a.octets()),
            Value::Inet(IpAddr::V6(a)) => out.extend_from_slice(&a.octets()),
            Value::Date(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Smallint(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Tinyint(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Duration { months, days, nanoseconds } => {
                write_vint(out, i64::from(*months));
                write_vint(out, i64::from(*days));
                write_vint(out, *nanoseconds);
            }
            Value::List(items) | Value::Set(items) => {
                write_count(out, items.len());
                for item in items {
                    write_element(out, Some(item));
                }
            }
            Value::Map(entries) => {
                write_count(out, entries.len());
                for (key, value) in entries {
                    write_element(out, Some(key));
                    write_element(out, Some(value));
                }
            }
            Value::Tuple(items) => {
                for item in items {
                    write_element(out, item.as_ref());
                }
            }
            Value::Udt(fields) => {
                for (_, field) in fields {
                    write_element(out, field.as_ref());
                }
            }
        }
    }

    /// The value's encoding as a fresh buffer; see [`Value::serialize`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.serialize(&mut out);
        out
    }

    /// Decodes the contents of a non-null `[bytes]` as a value of type `ty`.
    ///
    /// Never panics: every length is checked against the bytes actually present
    /// before anything is allocated, and nesting is limited to [`MAX_DEPTH`].
    pub fn deserialize(ty: &ColumnType, bytes: &[u8]) -> Result<Value, ValueError> {
        decode(ty, bytes, 0)
    }

    /// The CQL name of the value's type (`"int"`, `"text"`, `"list"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Ascii(_) => "ascii",
            Value::Bigint(_) => "bigint",
            Value::Blob(_) => "blob",
            Value::Boolean(_) => "boolean",
            Value::Counter(_) => "counter",
            Value::Decimal { .. } => "decimal",
            Value::Double(_) => "double",
            Value::Float(_) => "float",
            Value::Int(_) => "int",
            Value::Timestamp(_) => "timestamp",
            Value::Uuid(_) => "uuid",
            Value::Text(_) => "text",
            Value::Varint(_) => "varint",
            Value::Timeuuid(_) => "timeuuid",
            Value::Inet(_) => "inet",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Smallint(_) => "smallint",
            Value::Tinyint(_) => "tinyint",
            Value::Duration { .. } => "duration",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Tuple(_) => "tuple",
            Value::Udt(_) => "udt",
        }
    }

    /// Checks that the value can be stored in a column of type `ty`, element by
    /// element, so that a bound value of the wrong shape is rejected before it is
    /// written. `Text` fits `varchar`; everything else must match exactly.
    pub fn check_type(&self, ty: &ColumnType) -> Result<(), ValueError> {
        let fits = match (self, ty) {
            (_, ColumnType::Custom(class)) => return Err(ValueError::CustomTypeUnsupported { class: class.clone() }),
            (Value::Ascii(s), ColumnType::Ascii) => {
                check_ascii(s.as_bytes())?;
                true
            }
            (Value::List(items), ColumnType::List(element)) | (Value::Set(items), ColumnType::Set(element)) => {
                for item in items {
                    item.check_type(element)?;
                }
                true
            }
            (Value::Map(entries), ColumnType::Map(key_type, value_type)) => {
                for (key, value) in entries {
                    key.check_type(key_type)?;
                    value.check_type(value_type)?;
                }
                true
            }
            (Value::Tuple(items), ColumnType::Tuple(types)) if items.len() == types.len() => {
                for (item, item_type) in items.iter().zip(types) {
                    if let Some(item) = item {
                        item.check_type(item_type)?;
                    }
                }
                true
            }
            (Value::Udt(values), ColumnType::Udt { fields, .. })
                if values.len() <= fields.len() && values.iter().zip(fields).all(|((a, _), (b, _))| a == b) =>
            {
                for ((_, value), (_, field_type)) in values.iter().zip(fields) {
                    if let Some(value) = value {
                        value.check_type(field_type)?;
                    }
                }
                true
            }
            (Value::Time(nanoseconds), ColumnType::Time) => {
                check_time(*nanoseconds)?;
                true
            }
            (Value::Bigint(_), ColumnType::Bigint)
            | (Value::Blob(_), ColumnType::Blob)
            | (Value::Boolean(_), ColumnType::Boolean)
            | (Value::Counter(_), ColumnType::Counter)
            | (Value::Decimal { .. }, ColumnType::Decimal)
            | (Value::Double(_), ColumnType::Double)
            | (Value::Float(_), ColumnType::Float)
            | (Value::Int(_), ColumnType::Int)
            | (Value::Timestamp(_), ColumnType::Timestamp)
            | (Value::Uuid(_), ColumnType::Uuid)
            | (Value::Text(_), ColumnType::Varchar)
            | (Value::Varint(_), ColumnType::Varint)
            | (Value::Timeuuid(_), ColumnType::Timeuuid)
            | (Value::Inet(_), ColumnType::Inet)
            | (Value::Date(_), ColumnType::Date)
            | (Value::Smallint(_), ColumnType::Smallint)
            | (Value::Tinyint(_), ColumnType::Tinyint)
            | (Value::Duration { .. }, ColumnType::Duration) => true,
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(ValueError::Mismatch {
                expected: type_display(ty),
                value: self.short_literal(),
            })
        }
    }

    /// The literal, cut short so that an error message stays readable.
    fn short_literal(&self) -> String {
        const LIMIT: usize = 80;
        let literal = self.cql_literal();
        if literal.chars().count() <= LIMIT {
            literal
        } else {
            let mut short: String = literal.chars().take(LIMIT).collect();
            short.push_str("...");
            short
        }
    }
}

/// A type as CQL spells it, for messages: `list<int>`, `map<text, blob>`.
fn type_display(ty: &ColumnType) -> String {
    let simple = match ty {
        ColumnType::Custom(class) => return format!("'{class}'"),
        ColumnType::Ascii => "ascii",
        ColumnType::Bigint => "bigint",
        ColumnType::Blob => "blob",
        ColumnType::Boolean => "boolean",
        ColumnType::Counter => "counter",
        ColumnType::Decimal => "decimal",
        ColumnType::Double => "double",
        ColumnType::Float => "float",
        ColumnType::Int => "int",
        ColumnType::Timestamp => "timestamp",
        ColumnType::Uuid => "uuid",
        ColumnType::Varchar => "text",
        ColumnType::Varint => "varint",
        ColumnType::Timeuuid => "timeuuid",
        ColumnType::Inet => "inet",
        ColumnType::Date => "date",
        ColumnType::Time => "time",
        ColumnType::Smallint => "smallint",
        ColumnType::Tinyint => "tinyint",
        ColumnType::Duration => "duration",
        ColumnType::List(element) => return format!("list<{}>", type_display(element)),
        ColumnType::Set(element) => return format!("set<{}>", type_display(element)),
        ColumnType::Map(key, value) => return format!("map<{}, {}>", type_display(key), type_display(value)),
        ColumnType::Tuple(types) => {
            let inner: Vec<String> = types.iter().map(type_display).collect();
            return format!("tuple<{}>", inner.join(", "));
        }
        ColumnType::Udt { keyspace, name, .. } => return format!("{keyspace}.{name}"),
    };
    simple.to_owned()
}

fn decode(ty: &ColumnType, bytes: &[u8], depth: usize) -> Result<Value, ValueError> {
    Ok(match ty {
        ColumnType::Custom(class) => return Err(ValueError::CustomTypeUnsupported { class: class.clone() }),
        ColumnType::Ascii => {
            check_ascii(bytes)?;
            Value::Ascii(utf8("ascii", bytes)?)
        }
        ColumnType::Varchar => Value::Text(utf8("text", bytes)?),
        ColumnType::Blob => Value::Blob(bytes.to_vec()),
        ColumnType::Bigint => Value::Bigint(i64::from_be_bytes(fixed("bigint", bytes)?)),
        ColumnType::Counter => Value::Counter(i64::from_be_bytes(fixed("counter", bytes)?)),
        ColumnType::Timestamp => Value::Timestamp(i64::from_be_bytes(fixed("timestamp", bytes)?)),
        ColumnType::Boolean => {
            let [byte] = fixed("boolean", bytes)?;
            Value::Boolean(byte != 0)
        }
        ColumnType::Decimal => {
            let mut reader = Reader::new(bytes);
            let scale = reader.read_int("decimal scale")?;
            let unscaled = reader.rest();
            if unscaled.is_empty() {
                return Err(ValueError::Truncated {
                    what: "decimal unscaled value",
                    needed: 1,
                    available: 0,
                });
            }
            Value::Decimal {
                unscaled: BigInt::from_signed_bytes_be(unscaled),
                scale,
            }
        }
        ColumnType::Double => Value::Double(f64::from_be_bytes(fixed("double", bytes)?)),
        ColumnType::Float => Value::Float(f32::from_be_bytes(fixed("float", bytes)?)),
        ColumnType::Int => Value::Int(i32::from_be_bytes(fixed("int", bytes)?)),
        ColumnType::Uuid => Value::Uuid(Uuid::from_bytes(fixed("uuid", bytes)?)),
        ColumnType::Timeuuid => Value::Timeuuid(Uuid::from_bytes(fixed("timeuuid", bytes)?)),
        ColumnType::Varint => {
            if bytes.is_empty() {
                return Err(ValueError::Truncated {
                    what: "varint",
                    needed: 1,
                    available: 0,
                });
            }
            Value::Varint(BigInt::from_signed_bytes_be(bytes))
        }
        ColumnType::Inet => {
            if let Ok(octets) = <[u8; 4]>::try_from(bytes) {
                Value::Inet(IpAddr::from(octets))
            } else if let Ok(octets) = <[u8; 16]>::try_from(bytes) {
                Value::Inet(IpAddr::from(octets))
            } else {
                return Err(ValueError::InvalidInetLength { got: bytes.len() });
            }
        }
        ColumnType::Date => Value::Date(u32::from_be_bytes(fixed("date", bytes)?)),
        ColumnType::Time => {
            let nanoseconds = i64::from_be_bytes(fixed("time", bytes)?);
            check_time(nanoseconds)?;
            Value::Time(nanoseconds)
        }
        ColumnType::Smallint => Value::Smallint(i16::from_be_bytes(fixed("smallint", bytes)?)),
        ColumnType::Tinyint => Value::Tinyint(i8::from_be_bytes(fixed("tinyint", bytes)?)),
        ColumnType::Duration => decode_duration(bytes)?,
        ColumnType::List(element) => Value::List(decode_elements("list", element, bytes, enter(depth)?)?),
        ColumnType::Set(element) => Value::Set(decode_elements("set", element, bytes, enter(depth)?)?),
        ColumnType::Map(key_type, value_type) => {
            let depth = enter(depth)?;
            let mut reader = Reader::new(bytes);
            // Each entry takes at least two 4-byte lengths.
            let count = reader.read_count("map", 8)?;
            let mut entries = Vec::with_capacity(count);
            for _ in 0..count {
                let key = decode(key_type, reader.read_element("map")?, depth)?;
                let value = decode(value_type, reader.read_element("map")?, depth)?;
                entries.push((key, value));
            }
            reader.finish("map")?;
            Value::Map(entries)
        }
        ColumnType::Tuple(types) => {
            let depth = enter(depth)?;
            let mut reader = Reader::new(bytes);
            let mut items = Vec::with_capacity(types.len());
            for item_type in types {
                items.push(reader.read_optional_field("tuple", item_type, depth)?);
            }
            reader.finish("tuple")?;
            Value::Tuple(items)
        }
        ColumnType::Udt { fields, .. } => {
            let depth = enter(depth)?;
            let mut reader = Reader::new(bytes);
            let mut values = Vec::with_capacity(fields.len());
            for (name, field_type) in fields {
                values.push((name.clone(), reader.read_optional_field("udt", field_type, depth)?));
            }
            reader.finish("udt")?;
            Value::Udt(values)
        }
    })
}

fn enter(depth: usize) -> Result<usize, ValueError> {
    if depth >= MAX_DEPTH {
        Err(ValueError::TooDeep { limit: MAX_DEPTH })
    } else {
        Ok(depth + 1)
    }
}

fn decode_elements(type_name: &'static str, element: &ColumnType, bytes: &[u8], depth: usize) -> Result<Vec<Value>, ValueError> {
    let mut reader = Reader::new(bytes);
    let count = reader.read_count(type_name, 4)?;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        items.push(decode(element, reader.read_element(type_name)?, depth)?);
    }
    reader.finish(type_name)?;
    Ok(items)
}

fn decode_duration(bytes: &[u8]) -> Result<Value, ValueError> {
    let mut reader = Reader::new(bytes);
    let months = reader.read_vint("duration months")?;
    let days = reader.read_vint("duration days")?;
    let nanoseconds = reader.read_vint("duration nanoseconds")?;
    reader.finish("duration")?;
    let all_non_negative = months >= 0 && days >= 0 && nanoseconds >= 0;
    let all_non_positive = months <= 0 && days <= 0 && nanoseconds <= 0;
    if !all_non_negative && !all_non_positive {
        return Err(ValueError::DurationMixedSigns { months, days, nanoseconds });
    }
    let narrow = |field: &'static str, value: i64| i32::try_from(value).map_err(|_| ValueError::DurationOutOfRange { field, value });
    Ok(Value::Duration {
        months: narrow("months", months)?,
        days: narrow("days", days)?,
        nanoseconds,
    })
}

fn fixed<const N: usize>(type_name: &'static str, bytes: &[u8]) -> Result<[u8; N], ValueError> {
    <[u8; N]>::try_from(bytes).map_err(|_| ValueError::WrongSize {
        type_name,
        expected: N,
        got: bytes.len(),
    })
}

fn utf8(type_name: &'static str, bytes: &[u8]) -> Result<String, ValueError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(ValueError::InvalidUtf8 {
            type_name,
            valid_up_to: e.valid_up_to(),
        }),
    }
}

fn check_ascii(bytes: &[u8]) -> Result<(), ValueError> {
    match bytes.iter().enumerate().find(|(_, b)| !b.is_ascii()) {
        Some((index, &byte)) => Err(ValueError::NotAscii { index, byte }),
        None => Ok(()),
    }
}

fn check_time(nanoseconds: i64) -> Result<(), ValueError> {
    if (0..=MAX_TIME_NANOS).contains(&nanoseconds) {
        Ok(())
    } else {
        Err(ValueError::TimeOutOfRange { nanoseconds })
    }
}

fn write_count(out: &mut Vec<u8>, count: usize) {
    out.extend_from_slice(&i32::try_from(count).unwrap_or(i32::MAX).to_be_bytes());
}

/// Writes `[bytes]`: a 4-byte length then the value, or length -1 for a null. The
/// length is patched in afterwards so nested values are encoded in place.
fn write_element(out: &mut Vec<u8>, value: Option<&Value>) {
    let Some(value) = value else {
        out.extend_from_slice(&(-1_i32).to_be_bytes());
        return;
    };
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    value.serialize(out);
    let length = i32::try_from(out.len() - start - 4).unwrap_or(i32::MAX);
    if let Some(slot) = out.get_mut(start..start + 4) {
        slot.copy_from_slice(&length.to_be_bytes());
    }
}

/// A signed vint as Cassandra's `VIntCoding` writes it: zig-zag, then an unsigned
/// vint whose first byte's leading one bits count the extra bytes that follow.
fn write_vint(out: &mut Vec<u8>, value: i64) {
    let zigzag = ((value << 1) ^ (value >> 63)) as u64;
    write_unsigned_vint(out, zigzag);
}

fn write_unsigned_vint(out: &mut Vec<u8>, value: u64) {
    // Cassandra's computeUnsignedVIntSize: 7 payload bits in a 1-byte vint, 8 more
    // per extra byte, and 9 bytes for anything needing more than 56 bits.
    let magnitude = (value | 1).leading_zeros();
    let size = (639 - magnitude * 9) >> 6;
    let extra = size - 1;
    if extra == 0 {
        out.push(value as u8);
        return;
    }
    let high = if extra >= 8 { 0 } else { (value >> (8 * extra)) as u8 };
    let marker = (0xff00_u16 >> extra) as u8;
    out.push(high | marker);
    let bytes = value.to_be_bytes();
    if let Some(tail) = bytes.get(8 - extra as usize..) {
        out.extend_from_slice(tail);
    }
}

/// A cursor over the bytes of one value, for the composite types.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn rest(&self) -> &'a [u8] {
        self.rest
    }

    fn take(&mut self, needed: usize, what: &'static str) -> Result<&'a [u8], ValueError> {
        match self.rest.split_at_checked(needed) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err(ValueError::Truncated {
                what,
                needed,
                available: self.rest.len(),
            }),
        }
    }

    fn read_int(&mut self, what: &'static str) -> Result<i32, ValueError> {
        match self.rest.split_first_chunk::<4>() {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(i32::from_be_bytes(*head))
            }
            None => Err(ValueError::Truncated {
                what,
                needed: 4,
                available: self.rest.len(),
            }),
        }
    }

    /// An element count, refused when the remaining bytes could not hold that many
    /// elements of at least `min_element_size` bytes, so a forged count cannot make
    /// the caller reserve memory.
    fn read_count(&mut self, what: &'static str, min_element_size: usize) -> Result<usize, ValueError> {
        let count = self.read_int(what)?;
        let count = usize::try_from(count).map_err(|_| ValueError::NegativeLength { what, length: count })?;
        let needed = count.saturating_mul(min_element_size);
        if needed > self.rest.len() {
            return Err(ValueError::Truncated {
                what,
                needed,
                available: self.rest.len(),
            });
        }
        Ok(count)
    }

    /// `[bytes]`: `None` for a null (length -1).
    fn read_bytes(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, ValueError> {
        let length = self.read_int(what)?;
        if length == -1 {
            return Ok(None);
        }
        let length = usize::try_from(length).map_err(|_| ValueError::NegativeLength { what, length })?;
        self.take(length, what).map(Some)
    }

    /// A collection element, which may not be null.
    fn read_element(&mut self, type_name: &'static str) -> Result<&'a [u8], ValueError> {
        self.read_bytes(type_name)?.ok_or(ValueError::NullElement { type_name })
    }

    /// A tuple or UDT field: null when written as null, and also when the value
    /// ends early, as the spec allows a UDT value fewer fields than its type.
    fn read_optional_field(&mut self, type_name: &'static str, ty: &ColumnType, depth: usize) -> Result<Option<Value>, ValueError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        match self.read_bytes(type_name)? {
            Some(bytes) => decode(ty, bytes, depth).map(Some),
            None => Ok(None),
        }
    }

    fn read_vint(&mut self, what: &'static str) -> Result<i64, ValueError> {
        let [first] = *self.take(1, what)?.first_chunk::<1>().ok_or(ValueError::Truncated {
            what,
            needed: 1,
            available: 0,
        })?;
        let extra = first.leading_ones() as usize;
        let mut value = u64::from(first) & (0xff_u64 >> extra);
        for byte in self.take(extra, what)? {
            value = (value << 8) | u64::from(*byte);
        }
        Ok(((value >> 1) as i64) ^ -((value & 1) as i64))
    }

    fn finish(self, type_name: &'static str) -> Result<(), ValueError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ValueError::TrailingBytes {
                type_name,
                extra: self.rest.len(),
            })
        }
    }
}
