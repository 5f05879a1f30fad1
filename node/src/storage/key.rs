//! Order-preserving key encodings (format version [`KEY_ENCODING_VERSION`], see
//! `docs/key-encoding.md`): CQL values of primary-key columns as byte strings whose
//! unsigned lexicographic order is Cassandra's order of the values, ascending or
//! descending per clustering column, and partition positions as bytes sorting by
//! (token, key bytes). Every encoding is prefix-free and decodes back to the value
//! (a decimal to a numerically equal one). This module owns the byte layout only;
//! what the engines do with the bytes, and computing tokens (`crate::token`), live
//! elsewhere.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use num_bigint::{BigInt, Sign};
use uuid::Uuid;

/// The version of the byte layout described in `docs/key-encoding.md`.
pub const KEY_ENCODING_VERSION: u8 = 1;

/// A decoded decimal whose exponent would need more than this many zeros appended
/// to its digits to fit an `i32` scale is refused rather than built.
const MAX_DECIMAL_PADDING: i128 = 1 << 16;

/// Why a value could not be encoded as a key, or key bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a column of type {ty} cannot be part of a primary key")]
    UnsupportedType { ty: String },
    #[error("a {expected} key component was given a {got} value")]
    TypeMismatch { expected: String, got: String },
    #[error("{given} clustering values for {columns} clustering columns")]
    TooManyValues { given: usize, columns: usize },
    #[error("key bytes end inside a {ty} component")]
    Truncated { ty: &'static str },
    #[error("malformed {ty} component: {reason}")]
    Malformed { ty: &'static str, reason: &'static str },
    #[error("{len} bytes left after the last key component")]
    TrailingBytes { len: usize },
}

/// Whether values of `ty` may be part of a primary key: everything but duration,
/// custom types, and collections, tuples or UDTs holding them.
pub fn check_key_type(ty: &ColumnType) -> Result<(), KeyError> {
    match ty {
        ColumnType::Duration | ColumnType::Custom(_) => Err(KeyError::UnsupportedType { ty: format!("{ty:?}") }),
        ColumnType::List(e) | ColumnType::Set(e) => check_key_type(e),
        ColumnType::Map(k, v) => check_key_type(k).and_then(|()| check_key_type(v)),
        ColumnType::Tuple(fields) => fields.iter().try_for_each(check_key_type),
        ColumnType::Udt { fields, .. } => fields.iter().try_for_each(|(_, t)| check_key_type(t)),
        _ => Ok(()),
    }
}

/// Appends the key encoding of `value` as a `ty` to `out`; a descending
/// component is the ascending encoding with every byte inverted. On error `out`
/// is left as it was.
pub fn encode_component(out: &mut Vec<u8>, ty: &ColumnType, value: &Value, descending: bool) -> Result<(), KeyError> {
    let start = out.len();
    match encode_value(out, ty, value) {
        Ok(()) => {
            if descending {
                invert(out.get_mut(start..).unwrap_or_default());
            }
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Reads one `ty` component from the front of `input` and advances past it. On
/// error `input` is left as it was.
pub fn decode_component(input: &mut &[u8], ty: &ColumnType, descending: bool) -> Result<Value, KeyError> {
    let mut reader = Reader {
        rest: input,
        mask: if descending { 0xFF } else { 0x00 },
    };
    let value = decode_value(&mut reader, ty)?;
    *input = reader.rest;
    Ok(value)
}

/// The clustering key of a row, or of a clustering prefix when fewer values than
/// columns are given: a prefix encodes as a prefix of every full key extending it,
/// so `c1 = x` is a prefix scan.
pub fn encode_clustering(types: &[(ColumnType, bool)], values: &[Value]) -> Result<Vec<u8>, KeyError> {
    if values.len() > types.len() {
        return Err(KeyError::TooManyValues {
            given: values.len(),
            columns: types.len(),
        });
    }
    let mut out = Vec::new();
    for ((ty, descending), value) in types.iter().zip(values) {
        encode_component(&mut out, ty, value, *descending)?;
    }
    Ok(out)
}

/// The values of a clustering key or prefix encoded by [`encode_clustering`].
pub fn decode_clustering(types: &[(ColumnType, bool)], bytes: &[u8]) -> Result<Vec<Value>, KeyError> {
    let mut input = bytes;
    let mut values = Vec::new();
    for (ty, descending) in types {
        // No encoding is empty, so running out of bytes between components marks
        // the end of a prefix.
        if input.is_empty() {
            break;
        }
        values.push(decode_component(&mut input, ty, *descending)?);
    }
    if input.is_empty() {
        Ok(values)
    } else {
        Err(KeyError::TrailingBytes { len: input.len() })
    }
}

/// A partition's place in the ring as bytes that sort by (token, key bytes): the
/// token with its sign bit flipped, big-endian, then the escaped key bytes.
pub fn encode_partition_position(token: i64, partition_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + partition_key.len() + 2);
    out.extend_from_slice(&flip_i64(token));
    write_escaped(&mut out, partition_key);
    out
}

/// Reads the (token, partition key bytes) of [`encode_partition_position`] from
/// the front of `input` and advances past it, so a clustering key may follow.
pub fn decode_partition_position(input: &mut &[u8]) -> Result<(i64, Vec<u8>), KeyError> {
    let mut reader = Reader { rest: input, mask: 0x00 };
    let token = unflip_i64(reader.array("token")?);
    let key = reader.escaped("partition key")?;
    *input = reader.rest;
    Ok((token, key))
}

fn encode_value(out: &mut Vec<u8>, ty: &ColumnType, value: &Value) -> Result<(), KeyError> {
    match (ty, value) {
        (ColumnType::Ascii | ColumnType::Varchar, Value::Ascii(s) | Value::Text(s)) => write_escaped(out, s.as_bytes()),
        (ColumnType::Blob, Value::Blob(b)) => write_escaped(out, b),
        (ColumnType::Inet, Value::Inet(IpAddr::V4(ip))) => write_escaped(out, &ip.octets()),
        (ColumnType::Inet, Value::Inet(IpAddr::V6(ip))) => write_escaped(out, &ip.octets()),
        (ColumnType::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (ColumnType::Tinyint, Value::Tinyint(v)) => out.push(*v as u8 ^ 0x80),
        (ColumnType::Smallint, Value::Smallint(v)) => out.extend_from_slice(&(*v as u16 ^ 0x8000).to_be_bytes()),
        (ColumnType::Int, Value::Int(v)) => out.extend_from_slice(&(*v as u32 ^ 0x8000_0000).to_be_bytes()),
        (ColumnType::Bigint, Value::Bigint(v))
        | (ColumnType::Counter, Value::Counter(v))
        | (ColumnType::Timestamp, Value::Timestamp(v))
        | (ColumnType::Time, Value::Time(v)) => out.extend_from_slice(&flip_i64(*v)),
        (ColumnType::Date, Value::Date(d)) => out.extend_from_slice(&d.to_be_bytes()),
        (ColumnType::Float, Value::Float(f)) => out.extend_from_slice(&float_key(*f).to_be_bytes()),
        (ColumnType::Double, Value::Double(f)) => out.extend_from_slice(&double_key(*f).to_be_bytes()),
        (ColumnType::Varint, Value::Varint(v)) => write_varint(out, v),
        (ColumnType::Decimal, Value::Decimal { unscaled, scale }) => write_decimal(out, unscaled, *scale),
        (ColumnType::Uuid, Value::Uuid(u)) => write_uuid(out, u),
        (ColumnType::Timeuuid, Value::Timeuuid(u)) => write_timeuuid(out, u),
        (ColumnType::List(elem), Value::List(items)) => {
            for item in items {
                out.push(0x01);
                encode_value(out, elem, item)?;
            }
            out.push(0x00);
        }
        (ColumnType::Set(elem), Value::Set(items)) => {
            // A set's order is its elements' order, which is their encodings'
            // order: sorting and deduplicating by bytes gives the canonical set.
            let mut encoded = Vec::with_capacity(items.len());
            for item in items {
                let mut bytes = Vec::new();
                encode_value(&mut bytes, elem, item)?;
                encoded.push(bytes);
            }
            encoded.sort_unstable();
            encoded.dedup();
            for bytes in encoded {
                out.push(0x01);
                out.extend_from_slice(&bytes);
            }
            out.push(0x00);
        }
        (ColumnType::Map(key_ty, value_ty), Value::Map(entries)) => {
            // Sorted by key encoding; a repeated key keeps its last value.
            let mut encoded = BTreeMap::new();
            for (k, v) in entries {
                let mut key_bytes = Vec::new();
                encode_value(&mut key_bytes, key_ty, k)?;
                let mut value_bytes = Vec::new();
                encode_value(&mut value_bytes, value_ty, v)?;
                encoded.insert(key_bytes, value_bytes);
            }
            for (k, v) in encoded {
                out.push(0x01);
                out.extend_from_slice(&k);
                out.extend_from_slice(&v);
            }
            out.push(0x00);
        }
        (ColumnType::Tuple(types), Value::Tuple(fields)) => write_fields(out, types.iter(), fields.iter().map(Option::as_ref), ty, value)?,
        (ColumnType::Udt { fields: types, .. }, Value::Udt(fields)) => {
            write_fields(out, types.iter().map(|(_, t)| t), fields.iter().map(|(_, v)| v.as_ref()), ty, value)?
        }
        (ColumnType::Duration | ColumnType::Custom(_), _) => return Err(KeyError::UnsupportedType { ty: format!("{ty:?}") }),
        _ => {
            return Err(KeyError::TypeMismatch {
                expected: format!("{ty:?}"),
                got: value.type_name().to_owned(),
            })
        }
    }
    Ok(())
}

/// Tuple and UDT fields in the type's order: 0x00 for a null (or missing
/// trailing) field, 0x01 and the field's encoding otherwise.
fn write_fields<'a>(
    out: &mut Vec<u8>,
    types: impl ExactSizeIterator<Item = &'a ColumnType>,
    fields: impl ExactSizeIterator<Item = Option<&'a Value>>,
    ty: &ColumnType,
    value: &Value,
) -> Result<(), KeyError> {
    if fields.len() > types.len() {
        return Err(KeyError::TypeMismatch {
            expected: format!("{ty:?}"),
            got: format!("{} with {} fields", value.type_name(), fields.len()),
        });
    }
    let mut fields = fields;
    for field_ty in types {
        match fields.next().flatten() {
            None => out.push(0x00),
            Some(field) => {
                out.push(0x01);
                encode_value(out, field_ty, field)?;
            }
        }
    }
    Ok(())
}

fn decode_value(r: &mut Reader<'_>, ty: &ColumnType) -> Result<Value, KeyError> {
    Ok(match ty {
        ColumnType::Ascii => Value::Ascii(r.string("ascii")?),
        ColumnType::Varchar => Value::Text(r.string("text")?),
        ColumnType::Blob => Value::Blob(r.escaped("blob")?),
        ColumnType::Inet => {
            let bytes = r.escaped("inet")?;
            if let Ok(v4) = <[u8; 4]>::try_from(bytes.as_slice()) {
                Value::Inet(IpAddr::V4(Ipv4Addr::from(v4)))
            } else if let Ok(v6) = <[u8; 16]>::try_from(bytes.as_slice()) {
                Value::Inet(IpAddr::V6(Ipv6Addr::from(v6)))
            } else {
                return Err(malformed("inet", "address is neither 4 nor 16 bytes"));
            }
        }
        ColumnType::Boolean => match r.byte("boolean")? {
            0 => Value::Boolean(false),
            1 => Value::Boolean(true),
            _ => return Err(malformed("boolean", "byte is neither 0 nor 1")),
        },
        ColumnType::Tinyint => Value::Tinyint(i8::from_be_bytes([r.byte("tinyint")? ^ 0x80])),
        ColumnType::Smallint => Value::Smallint((u16::from_be_bytes(r.array("smallint")?) ^ 0x8000) as i16),
        ColumnType::Int => Value::Int((u32::from_be_bytes(r.array("int")?) ^ 0x8000_0000) as i32),
        ColumnType::Bigint => Value::Bigint(unflip_i64(r.array("bigint")?)),
        ColumnType::Counter => Value::Counter(unflip_i64(r.array("counter")?)),
        ColumnType::Timestamp => Value::Timestamp(unflip_i64(r.array("timestamp")?)),
        ColumnType::Time => Value::Time(unflip_i64(r.array("time")?)),
        ColumnType::Date => Value::Date(u32::from_be_bytes(r.array("date")?)),
        ColumnType::Float => Value::Float(float_from_key(u32::from_be_bytes(r.array("float")?))),
        ColumnType::Double => Value::Double(double_from_key(u64::from_be_bytes(r.array("double")?))),
        ColumnType::Varint => Value::Varint(read_varint(r, "varint")?),
        ColumnType::Decimal => read_decimal(r)?,
        ColumnType::Uuid => Value::Uuid(read_uuid(r)?),
        ColumnType::Timeuuid => Value::Timeuuid(read_timeuuid(r)?),
        ColumnType::List(elem) => {
            let mut items = Vec::new();
            while r.more("list")? {
                items.push(decode_value(r, elem)?);
            }
            Value::List(items)
        }
        ColumnType::Set(elem) => {
            let mut items = Vec::new();
            while r.more("set")? {
                items.push(decode_value(r, elem)?);
            }
            Value::Set(items)
        }
        ColumnType::Map(key_ty, value_ty) => {
            let mut entries = Vec::new();
            while r.more("map")? {
                let k = decode_value(r, key_ty)?;
                let v = decode_value(r, value_ty)?;
                entries.push((k, v));
            }
            Value::Map(entries)
        }
        ColumnType::Tuple(types) => Value::Tuple(types.iter().map(|t| read_field(r, t, "tuple")).collect::<Result<_, _>>()?),
        ColumnType::Udt { fields, .. } => Value::Udt(
            fields
                .iter()
                .map(|(name, t)| Ok((name.clone(), read_field(r, t, "udt")?)))
                .collect::<Result<_, KeyError>>()?,
        ),
        ColumnType::Duration | ColumnType::Custom(_) => return Err(KeyError::UnsupportedType { ty: format!("{ty:?}") }),
    })
}

fn read_field(r: &mut Reader<'_>, ty: &ColumnType, what: &'static str) -> Result<Option<Value>, KeyError> {
    match r.byte(what)? {
        0x00 => Ok(None),
        0x01 => decode_value(r, ty).map(Some),
        _ => Err(malformed(what, "field marker is neither 0x00 nor 0x01")),
    }
}

/// Key bytes being decoded. Every byte read is XORed with `mask`: 0xFF inside a
/// descending component or a negative number's inverted part.
struct Reader<'a> {
    rest: &'a [u8],
    mask: u8,
}

impl Reader<'_> {
    fn byte(&mut self, ty: &'static str) -> Result<u8, KeyError> {
        let (&b, rest) = self.rest.split_first().ok_or(KeyError::Truncated { ty })?;
        self.rest = rest;
        Ok(b ^ self.mask)
    }

    fn array<const N: usize>(&mut self, ty: &'static str) -> Result<[u8; N], KeyError> {
        let (bytes, rest) = self.rest.split_first_chunk::<N>().ok_or(KeyError::Truncated { ty })?;
        self.rest = rest;
        Ok((*bytes).map(|b| b ^ self.mask))
    }

    fn bytes(&mut self, n: usize, ty: &'static str) -> Result<Vec<u8>, KeyError> {
        if n > self.rest.len() {
            return Err(KeyError::Truncated { ty });
        }
        let (bytes, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(bytes.iter().map(|b| b ^ self.mask).collect())
    }

    /// Bytes written by [`write_escaped`].
    fn escaped(&mut self, ty: &'static str) -> Result<Vec<u8>, KeyError> {
        let mut out = Vec::new();
        loop {
            match self.byte(ty)? {
                0x00 => match self.byte(ty)? {
                    0xFF => out.push(0x00),
                    0x01 => return Ok(out),
                    _ => return Err(malformed(ty, "0x00 not followed by 0xFF or 0x01")),
                },
                b => out.push(b),
            }
        }
    }

    fn string(&mut self, ty: &'static str) -> Result<String, KeyError> {
        String::from_utf8(self.escaped(ty)?).map_err(|_| malformed(ty, "not UTF-8"))
    }

    /// Whether another collection element follows (0x01) or the collection ends.
    fn more(&mut self, ty: &'static str) -> Result<bool, KeyError> {
        match self.byte(ty)? {
            0x00 => Ok(false),
            0x01 => Ok(true),
            _ => Err(malformed(ty, "element marker is neither 0x00 nor 0x01")),
        }
    }

    /// Reads with the mask inverted: the part of a negative number that was
    /// written inverted.
    fn inverted<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, KeyError>) -> Result<T, KeyError> {
        self.mask ^= 0xFF;
        let result = f(self);
        self.mask ^= 0xFF;
        result
    }
}

fn malformed(ty: &'static str, reason: &'static str) -> KeyError {
    KeyError::Malformed { ty, reason }
}

fn invert(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

/// Bytes in unsigned order, shorter prefix first: 0x00 becomes 0x00 0xFF and the
/// end is 0x00 0x01, which sorts below any continuation.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0x00 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

fn flip_i64(v: i64) -> [u8; 8] {
    (v as u64 ^ (1 << 63)).to_be_bytes()
}

fn unflip_i64(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// Java's `Float.compare` order as an unsigned integer: every NaN is one NaN,
/// above +infinity; -0.0 sorts below 0.0.
fn float_key(f: f32) -> u32 {
    let bits = if f.is_nan() { 0x7FC0_0000 } else { f.to_bits() };
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    }
}

fn float_from_key(key: u32) -> f32 {
    f32::from_bits(if key & 0x8000_0000 != 0 { key & 0x7FFF_FFFF } else { !key })
}

fn double_key(f: f64) -> u64 {
    let bits = if f.is_nan() { 0x7FF8_0000_0000_0000 } else { f.to_bits() };
    if bits & (1 << 63) != 0 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn double_from_key(key: u64) -> f64 {
    f64::from_bits(if key & (1 << 63) != 0 { key & !(1 << 63) } else { !key })
}

/// A length that sorts numerically: below 0x80 one byte; otherwise 0x80 + n and
/// the length in n big-endian bytes (n minimal, 1 to 8).
fn write_length(out: &mut Vec<u8>, len: u64) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = (len.leading_zeros() / 8) as usize;
        out.push(0x80 + (8 - skip) as u8);
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

fn read_length(r: &mut Reader<'_>, ty: &'static str) -> Result<u64, KeyError> {
    let first = r.byte(ty)?;
    if first < 0x80 {
        return Ok(u64::from(first));
    }
    let n = usize::from(first - 0x80);
    if !(1..=8).contains(&n) {
        return Err(malformed(ty, "length prefix out of range"));
    }
    let bytes = r.bytes(n, ty)?;
    let len = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if len < 0x80 || bytes.first() == Some(&0) {
        return Err(malformed(ty, "length not in its shortest form"));
    }
    Ok(len)
}

/// Zero is 0x01; a positive number 0x02, its magnitude's length and the
/// magnitude big-endian; a negative one 0x00 and the same, inverted, so a larger
/// magnitude sorts lower.
fn write_varint(out: &mut Vec<u8>, v: &BigInt) {
    let (sign, magnitude) = v.to_bytes_be();
    match sign {
        Sign::NoSign => out.push(0x01),
        Sign::Plus | Sign::Minus => {
            out.push(if sign == Sign::Plus { 0x02 } else { 0x00 });
            let start = out.len();
            write_length(out, magnitude.len() as u64);
            out.extend_from_slice(&magnitude);
            if sign == Sign::Minus {
                invert(out.get_mut(start..).unwrap_or_default());
            }
        }
    }
}

fn read_varint(r: &mut Reader<'_>, ty: &'static str) -> Result<BigInt, KeyError> {
    let magnitude = |r: &mut Reader<'_>| {
        let len = read_length(r, ty)?;
        let len = usize::try_from(len).map_err(|_| KeyError::Truncated { ty })?;
        let bytes = r.bytes(len, ty)?;
        match bytes.first() {
            Some(&b) if b != 0 => Ok(bytes),
            _ => Err(malformed(ty, "magnitude not in its shortest form")),
        }
    };
    match r.byte(ty)? {
        0x01 => Ok(BigInt::from(0)),
        0x02 => Ok(BigInt::from_bytes_be(Sign::Plus, &magnitude(r)?)),
        0x00 => Ok(BigInt::from_bytes_be(Sign::Minus, &r.inverted(magnitude)?)),
        _ => Err(malformed(ty, "sign byte is not 0x00, 0x01 or 0x02")),
    }
}

/// Zero is 0x01. Otherwise the value is 0.d1d2...dn x 10^e with d1 and dn
/// non-zero: 0x02 (positive) or 0x00 (negative), then e as a varint, then the
/// digits two per byte as 1 + 10*a + b (an odd last digit paired with 0), then
/// 0x00; all after the sign byte inverted when negative.
fn write_decimal(out: &mut Vec<u8>, unscaled: &BigInt, scale: i32) {
    let sign = unscaled.sign();
    if sign == Sign::NoSign {
        out.push(0x01);
        return;
    }
    let all_digits = unscaled.magnitude().to_string();
    let digits = all_digits.trim_end_matches('0').as_bytes();
    let stripped = all_digits.len() - digits.len();
    let exponent = digits.len() as i128 - (i128::from(scale) - stripped as i128);
    out.push(if sign == Sign::Plus { 0x02 } else { 0x00 });
    let start = out.len();
    write_varint(out, &BigInt::from(exponent));
    for pair in digits.chunks(2) {
        let a = pair.first().map_or(0, |d| d - b'0');
        let b = pair.get(1).map_or(0, |d| d - b'0');
        out.push(1 + 10 * a + b);
    }
    out.push(0x00);
    if sign == Sign::Minus {
        invert(out.get_mut(start..).unwrap_or_default());
    }
}

fn read_decimal(r: &mut Reader<'_>) -> Result<Value, KeyError> {
    const TY: &str = "decimal";
    let body = |r: &mut Reader<'_>| -> Result<(i64, Vec<u8>), KeyError> {
        let exponent = i64::try_from(&read_varint(r, TY)?).map_err(|_| malformed(TY, "exponent beyond i64"))?;
        let mut digits = Vec::new();
        loop {
            match r.byte(TY)? {
                0 => break,
                pair @ 1..=100 => {
                    digits.push(b'0' + (pair - 1) / 10);
                    digits.push(b'0' + (pair - 1) % 10);
                }
                _ => return Err(malformed(TY, "digit pair above 100")),
            }
        }
        if digits.last() == Some(&b'0') {
            digits.pop();
        }
        match (digits.first(), digits.last()) {
            (Some(&first), Some(&last)) if first != b'0' && last != b'0' => Ok((exponent, digits)),
            _ => Err(malformed(TY, "digits not normalised")),
        }
    };
    let (sign, (exponent, digits)): (Sign, (i64, Vec<u8>)) = match r.byte(TY)? {
        0x01 => {
            return Ok(Value::Decimal {
                unscaled: BigInt::from(0),
                scale: 0,
            })
        }
        0x02 => (Sign::Plus, body(r)?),
        0x00 => (Sign::Minus, r.inverted(body)?),
        _ => return Err(malformed(TY, "sign byte is not 0x00, 0x01 or 0x02")),
    };
    let mut unscaled = BigInt::parse_bytes(&digits, 10).ok_or_else(|| malformed(TY, "digits not decimal"))?;
    if sign == Sign::Minus {
        unscaled = -unscaled;
    }
    let scale = digits.len() as i128 - i128::from(exponent);
    if scale > i128::from(i32::MAX) {
        return Err(malformed(TY, "scale beyond i32"));
    }
    let padding = i128::from(i32::MIN) - scale;
    if padding > MAX_DECIMAL_PADDING {
        return Err(malformed(TY, "exponent beyond i32 scale"));
    }
    if padding > 0 {
        // The value had trailing zeros stripped past what an i32 scale can hold:
        // put enough of them back.
        unscaled *= BigInt::from(10).pow(padding as u32);
    }
    Ok(Value::Decimal {
        unscaled,
        scale: i32::try_from(scale.max(i128::from(i32::MIN))).unwrap_or(i32::MIN),
    })
}

/// The 60-bit timestamp of a version-1 UUID's most significant half, below its
/// version nibble (Cassandra's `reorderTimestampBytes`).
fn reorder_timestamp(msb: u64) -> u64 {
    (msb << 48) | ((msb << 16) & 0xFFFF_0000_0000) | (msb >> 32)
}

fn unreorder_timestamp(hi: u64) -> u64 {
    ((hi & 0xFFFF_FFFF) << 32) | (((hi >> 32) & 0xFFFF) << 16) | (hi >> 48)
}

/// UUIDType: the version nibble, then for version 1 the timestamp and otherwise
/// the other 60 bits of the most significant half in order, then the least
/// significant half; 16 bytes.
fn write_uuid(out: &mut Vec<u8>, u: &Uuid) {
    let (msb, lsb) = u.as_u64_pair();
    let version = (msb >> 12) & 0xF;
    let hi = if version == 1 {
        reorder_timestamp(msb)
    } else {
        (version << 60) | ((msb >> 16) << 12) | (msb & 0xFFF)
    };
    out.extend_from_slice(&hi.to_be_bytes());
    out.extend_from_slice(&lsb.to_be_bytes());
}

fn read_uuid(r: &mut Reader<'_>) -> Result<Uuid, KeyError> {
    let hi = u64::from_be_bytes(r.array("uuid")?);
    let lsb = u64::from_be_bytes(r.array("uuid")?);
    let version = hi >> 60;
    let msb = if version == 1 {
        unreorder_timestamp(hi)
    } else {
        (((hi >> 12) & 0xFFFF_FFFF_FFFF) << 16) | (version << 12) | (hi & 0xFFF)
    };
    Ok(Uuid::from_u64_pair(msb, lsb))
}

/// TimeUUIDType: the reordered timestamp half, then the other half's bytes
/// compared as signed bytes (Cassandra keeps this for compatibility), hence each
/// XORed with 0x80; 16 bytes.
fn write_timeuuid(out: &mut Vec<u8>, u: &Uuid) {
    let (msb, lsb) = u.as_u64_pair();
    out.extend_from_slice(&reorder_timestamp(msb).to_be_bytes());
    out.extend_from_slice(&(lsb ^ 0x8080_8080_8080_8080).to_be_bytes());
}

fn read_timeuuid(r: &mut Reader<'_>) -> Result<Uuid, KeyError> {
    let hi = u64::from_be_bytes(r.array("timeuuid")?);
    let lsb = u64::from_be_bytes(r.array("timeuuid")?);
    Ok(Uuid::from_u64_pair(unreorder_timestamp(hi), lsb ^ 0x8080_8080_8080_8080))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::*;

    fn enc(ty: &ColumnType, value: &Value, descending: bool) -> Vec<u8> {
        let mut out = Vec::new();
        encode_component(&mut out, ty, value, descending).unwrap();
        out
    }

    fn dec(ty: &ColumnType, bytes: &[u8], descending: bool) -> Value {
        let mut input = bytes;
        let value = decode_component(&mut input, ty, descending).unwrap();
        assert_eq!(input, &[] as &[u8], "decoding left bytes");
        value
    }

    fn dec_asc(ty: &ColumnType, bytes: &[u8]) -> Value {
        dec(ty, bytes, false)
    }

    fn big(v: i64) -> BigInt {
        BigInt::from(v)
    }

    fn decimal(unscaled: i64, scale: i32) -> Value {
        Value::Decimal {
            unscaled: big(unscaled),
            scale,
        }
    }

    fn uuid(s: &str) -> Uuid {
        Uuid::parse_str(s).unwrap()
    }

    /// Asserts the golden bytes, and that they decode back to `value`.
    fn golden(ty: ColumnType, value: Value, bytes: &[u8]) {
        assert_eq!(enc(&ty, &value, false), bytes, "{value:?} as {ty:?}");
        assert_eq!(dec_asc(&ty, bytes), value);
        let inverted: Vec<u8> = bytes.iter().map(|b| !b).collect();
        assert_eq!(enc(&ty, &value, true), inverted, "descending {value:?}");
        assert_eq!(dec(&ty, &inverted, true), value);
    }

    #[test]
    fn integers_flip_the_sign_bit_and_are_big_endian() {
        golden(ColumnType::Tinyint, Value::Tinyint(-1), &[0x7F]);
        golden(ColumnType::Smallint, Value::Smallint(1), &[0x80, 0x01]);
        golden(ColumnType::Int, Value::Int(1), &[0x80, 0, 0, 1]);
        golden(ColumnType::Int, Value::Int(-1), &[0x7F, 0xFF, 0xFF, 0xFF]);
        golden(ColumnType::Bigint, Value::Bigint(i64::MIN), &[0; 8]);
        golden(ColumnType::Counter, Value::Counter(0), &[0x80, 0, 0, 0, 0, 0, 0, 0]);
        golden(
            ColumnType::Timestamp,
            Value::Timestamp(-2),
            &[0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE],
        );
        golden(ColumnType::Time, Value::Time(256), &[0x80, 0, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn descending_int_is_the_inverted_ascending_bytes() {
        assert_eq!(enc(&ColumnType::Int, &Value::Int(1), true), vec![0x7F, 0xFF, 0xFF, 0xFE]);
    }

    #[test]
    fn date_is_unsigned_big_endian_and_boolean_one_byte() {
        golden(ColumnType::Date, Value::Date(1 << 31), &[0x80, 0, 0, 0]);
        golden(ColumnType::Boolean, Value::Boolean(false), &[0]);
        golden(ColumnType::Boolean, Value::Boolean(true), &[1]);
    }

    #[test]
    fn strings_and_blobs_escape_zero_bytes_and_end_with_zero_one() {
        golden(ColumnType::Varchar, Value::Text(String::new()), &[0, 1]);
        golden(ColumnType::Varchar, Value::Text("a\0b".into()), &[b'a', 0, 0xFF, b'b', 0, 1]);
        golden(ColumnType::Ascii, Value::Ascii("hi".into()), &[b'h', b'i', 0, 1]);
        golden(ColumnType::Blob, Value::Blob(vec![0xFF, 0, 0]), &[0xFF, 0, 0xFF, 0, 0xFF, 0, 1]);
    }

    #[test]
    fn inet_is_its_escaped_octets_so_ipv4_sorts_before_an_ipv6_it_prefixes() {
        let v4 = Value::Inet("1.2.3.4".parse().unwrap());
        golden(ColumnType::Inet, v4.clone(), &[1, 2, 3, 4, 0, 1]);
        let v6 = Value::Inet("102:304::".parse().unwrap());
        let mut v6_bytes = vec![1, 2, 3, 4];
        v6_bytes.extend([0, 0xFF].repeat(12));
        v6_bytes.extend([0, 1]);
        golden(ColumnType::Inet, v6.clone(), &v6_bytes);
        assert!(enc(&ColumnType::Inet, &v4, false) < enc(&ColumnType::Inet, &v6, false));
    }

    #[test]
    fn floats_use_the_total_order_with_nan_last() {
        golden(ColumnType::Float, Value::Float(1.0), &[0xBF, 0x80, 0, 0]);
        golden(ColumnType::Float, Value::Float(-1.0), &[0x40, 0x7F, 0xFF, 0xFF]);
        golden(ColumnType::Double, Value::Double(0.0), &[0x80, 0, 0, 0, 0, 0, 0, 0]);
        golden(
            ColumnType::Double,
            Value::Double(-0.0),
            &[0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        );
        assert_eq!(enc(&ColumnType::Float, &Value::Float(f32::NAN), false), vec![0xFF, 0xC0, 0, 0]);
        assert_eq!(enc(&ColumnType::Float, &Value::Float(-f32::NAN), false), vec![0xFF, 0xC0, 0, 0]);
        assert!(enc(&ColumnType::Double, &Value::Double(f64::INFINITY), false) < enc(&ColumnType::Double, &Value::Double(f64::NAN), false));
    }

    #[test]
    fn varints_are_sign_length_and_magnitude() {
        golden(ColumnType::Varint, Value::Varint(big(0)), &[0x01]);
        golden(ColumnType::Varint, Value::Varint(big(1)), &[0x02, 1, 1]);
        golden(ColumnType::Varint, Value::Varint(big(256)), &[0x02, 2, 1, 0]);
        golden(ColumnType::Varint, Value::Varint(big(-1)), &[0x00, 0xFE, 0xFE]);
        let long = BigInt::from_bytes_be(Sign::Plus, &[1; 200]);
        let mut bytes = vec![0x02, 0x81, 200];
        bytes.extend([1; 200]);
        golden(ColumnType::Varint, Value::Varint(long), &bytes);
    }

    #[test]
    fn decimals_are_sign_exponent_and_digit_pairs() {
        golden(ColumnType::Decimal, decimal(0, 0), &[0x01]);
        golden(ColumnType::Decimal, decimal(15, 1), &[0x02, 0x02, 1, 1, 16, 0]);
        golden(ColumnType::Decimal, decimal(-15, 1), &[0x00, 0xFD, 0xFE, 0xFE, 0xEF, 0xFF]);
        golden(ColumnType::Decimal, decimal(1, 3), &[0x02, 0x00, 0xFE, 0xFD, 11, 0]);
        golden(ColumnType::Decimal, decimal(15, -1), &[0x02, 0x02, 1, 3, 16, 0]);
    }

    #[test]
    fn decimals_equal_in_value_encode_the_same() {
        let ty = ColumnType::Decimal;
        assert_eq!(enc(&ty, &decimal(15, 1), false), enc(&ty, &decimal(1500, 3), false));
        assert_eq!(enc(&ty, &decimal(0, 5), false), enc(&ty, &decimal(0, -2), false));
    }

    #[test]
    fn decimal_with_an_extreme_scale_decodes_to_an_equal_value() {
        let ty = ColumnType::Decimal;
        let value = decimal(1000, i32::MIN + 1);
        let decoded = dec_asc(&ty, &enc(&ty, &value, false));
        assert_eq!(
            decoded,
            Value::Decimal {
                unscaled: big(100),
                scale: i32::MIN
            }
        );
    }

    #[test]
    fn uuids_put_the_version_first_and_a_version_1_timestamp_next() {
        let v4 = uuid("00112233-4455-4677-8899-aabbccddeeff");
        golden(
            ColumnType::Uuid,
            Value::Uuid(v4),
            &[
                0x40, 0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
            ],
        );
        let v1 = uuid("00112233-4455-1677-8899-aabbccddeeff");
        golden(
            ColumnType::Uuid,
            Value::Uuid(v1),
            &[
                0x16, 0x77, 0x44, 0x55, 0x00, 0x11, 0x22, 0x33, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
            ],
        );
    }

    #[test]
    fn timeuuids_put_the_timestamp_first_and_compare_the_rest_as_signed_bytes() {
        let v1 = uuid("00112233-4455-1677-8899-aabbccddeeff");
        golden(
            ColumnType::Timeuuid,
            Value::Timeuuid(v1),
            &[
                0x16, 0x77, 0x44, 0x55, 0x00, 0x11, 0x22, 0x33, 0x08, 0x19, 0x2A, 0x3B, 0x4C, 0x5D, 0x6E, 0x7F,
            ],
        );
    }

    #[test]
    fn frozen_collections_mark_each_element_and_end_with_zero() {
        let list = ColumnType::List(Box::new(ColumnType::Int));
        golden(
            list,
            Value::List(vec![Value::Int(1), Value::Int(2)]),
            &[1, 0x80, 0, 0, 1, 1, 0x80, 0, 0, 2, 0],
        );
        let map = ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::Varchar));
        golden(
            map,
            Value::Map(vec![(Value::Int(1), Value::Text("a".into()))]),
            &[1, 0x80, 0, 0, 1, b'a', 0, 1, 0],
        );
        golden(ColumnType::Set(Box::new(ColumnType::Int)), Value::Set(vec![]), &[0]);
    }

    #[test]
    fn set_and_map_encodings_are_sorted_and_deduplicated() {
        let set = ColumnType::Set(Box::new(ColumnType::Int));
        let unsorted = Value::Set(vec![Value::Int(2), Value::Int(1), Value::Int(2)]);
        assert_eq!(
            enc(&set, &unsorted, false),
            enc(&set, &Value::Set(vec![Value::Int(1), Value::Int(2)]), false)
        );
        let map = ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::Int));
        let repeated = Value::Map(vec![
            (Value::Int(2), Value::Int(0)),
            (Value::Int(1), Value::Int(0)),
            (Value::Int(2), Value::Int(9)),
        ]);
        assert_eq!(
            dec_asc(&map, &enc(&map, &repeated, false)),
            Value::Map(vec![(Value::Int(1), Value::Int(0)), (Value::Int(2), Value::Int(9))])
        );
    }

    #[test]
    fn tuples_and_udts_mark_null_and_present_fields() {
        let tuple = ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar]);
        golden(tuple.clone(), Value::Tuple(vec![Some(Value::Int(1)), None]), &[1, 0x80, 0, 0, 1, 0]);
        // A missing trailing field is a null, as Cassandra compares them.
        assert_eq!(
            enc(&tuple, &Value::Tuple(vec![Some(Value::Int(1))]), false),
            vec![1, 0x80, 0, 0, 1, 0]
        );
        let udt = ColumnType::Udt {
            keyspace: "ks".into(),
            name: "t".into(),
            fields: vec![("a".into(), ColumnType::Boolean), ("b".into(), ColumnType::Boolean)],
        };
        golden(
            udt,
            Value::Udt(vec![("a".into(), None), ("b".into(), Some(Value::Boolean(true)))]),
            &[0, 1, 1],
        );
    }

    #[test]
    fn duration_and_custom_types_cannot_be_keys() {
        let err = KeyError::UnsupportedType { ty: "Duration".into() };
        assert_eq!(check_key_type(&ColumnType::Duration), Err(err.clone()));
        let nested = ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Duration]);
        assert_eq!(check_key_type(&nested), Err(err.clone()));
        assert_eq!(check_key_type(&ColumnType::List(Box::new(ColumnType::Int))), Ok(()));
        let mut out = vec![7];
        let duration = Value::Duration {
            months: 1,
            days: 2,
            nanoseconds: 3,
        };
        assert_eq!(encode_component(&mut out, &ColumnType::Duration, &duration, false), Err(err));
        assert_eq!(out, vec![7]);
    }

    #[test]
    fn a_value_of_the_wrong_variant_is_an_error_and_writes_nothing() {
        let mut out = Vec::new();
        let ty = ColumnType::List(Box::new(ColumnType::Int));
        let value = Value::List(vec![Value::Int(1), Value::Text("x".into())]);
        assert_eq!(
            encode_component(&mut out, &ty, &value, true),
            Err(KeyError::TypeMismatch {
                expected: "Int".into(),
                got: "text".into()
            })
        );
        assert_eq!(out, Vec::<u8>::new());
    }

    #[test]
    fn clustering_prefix_decodes_to_the_prefix_values() {
        let types = vec![(ColumnType::Int, false), (ColumnType::Varchar, true)];
        let full = encode_clustering(&types, &[Value::Int(3), Value::Text("x".into())]).unwrap();
        let prefix = encode_clustering(&types, &[Value::Int(3)]).unwrap();
        assert!(full.starts_with(&prefix));
        assert_eq!(decode_clustering(&types, &prefix).unwrap(), vec![Value::Int(3)]);
        assert_eq!(decode_clustering(&types, &[]).unwrap(), Vec::<Value>::new());
        assert_eq!(
            encode_clustering(&types[..1], &[Value::Int(1), Value::Int(2)]),
            Err(KeyError::TooManyValues { given: 2, columns: 1 })
        );
        let mut extra = full.clone();
        extra.push(9);
        assert_eq!(decode_clustering(&types, &extra), Err(KeyError::TrailingBytes { len: 1 }));
    }

    #[test]
    fn partition_position_is_flipped_token_and_escaped_key() {
        let bytes = encode_partition_position(0, &[0x00, 0x61]);
        assert_eq!(bytes, vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xFF, 0x61, 0x00, 0x01]);
        let mut with_clustering = bytes.clone();
        with_clustering.push(0x42);
        let mut input = with_clustering.as_slice();
        assert_eq!(decode_partition_position(&mut input).unwrap(), (0, vec![0x00, 0x61]));
        assert_eq!(input, &[0x42]);
    }

    // ---- The reference: Cassandra's comparators, written directly on values. ----

    fn java_float_cmp(a: f64, b: f64, a_neg_zero: bool, b_neg_zero: bool) -> Ordering {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if a < b => Ordering::Less,
            _ if a > b => Ordering::Greater,
            // Equal numerically: Java puts -0.0 below 0.0.
            _ => b_neg_zero.cmp(&a_neg_zero),
        }
    }

    fn neg_zero(f: f64) -> bool {
        f == 0.0 && f.is_sign_negative()
    }

    /// `unscaled * 10^-scale` compared exactly (the tests keep scales small).
    fn decimal_cmp(u1: &BigInt, s1: i32, u2: &BigInt, s2: i32) -> Ordering {
        let s = s1.max(s2);
        let a = u1 * BigInt::from(10).pow((s - s1) as u32);
        let b = u2 * BigInt::from(10).pow((s - s2) as u32);
        a.cmp(&b)
    }

    /// Cassandra's `reorderTimestampBytes`, written out again.
    fn reorder(msb: u64) -> i64 {
        let time_low = msb >> 32;
        let time_mid = (msb >> 16) & 0xFFFF;
        let time_hi_and_version = msb & 0xFFFF;
        ((time_hi_and_version << 48) | (time_mid << 32) | time_low) as i64
    }

    fn uuid_cmp(a: &Uuid, b: &Uuid) -> Ordering {
        let (m1, l1) = a.as_u64_pair();
        let (m2, l2) = b.as_u64_pair();
        let (v1, v2) = ((m1 >> 12) & 0xF, (m2 >> 12) & 0xF);
        v1.cmp(&v2)
            .then_with(|| if v1 == 1 { reorder(m1).cmp(&reorder(m2)) } else { m1.cmp(&m2) })
            .then(l1.cmp(&l2))
    }

    fn timeuuid_cmp(a: &Uuid, b: &Uuid) -> Ordering {
        let (m1, _) = a.as_u64_pair();
        let (m2, _) = b.as_u64_pair();
        let signed = |u: &Uuid| -> Vec<i8> { u.as_bytes()[8..].iter().map(|&b| b as i8).collect() };
        reorder(m1).cmp(&reorder(m2)).then_with(|| signed(a).cmp(&signed(b)))
    }

    fn inet_octets(v: &Value) -> Vec<u8> {
        match v {
            Value::Inet(IpAddr::V4(ip)) => ip.octets().to_vec(),
            Value::Inet(IpAddr::V6(ip)) => ip.octets().to_vec(),
            _ => panic!("not an inet: {v:?}"),
        }
    }

    fn fields_cmp(types: &[ColumnType], a: &[Option<&Value>], b: &[Option<&Value>]) -> Ordering {
        for (i, ty) in types.iter().enumerate() {
            let x = a.get(i).copied().flatten();
            let y = b.get(i).copied().flatten();
            let c = match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => cassandra_cmp(ty, x, y),
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }

    fn seq_cmp<T>(a: &[T], b: &[T], mut cmp: impl FnMut(&T, &T) -> Ordering) -> Ordering {
        for (x, y) in a.iter().zip(b) {
            let c = cmp(x, y);
            if c != Ordering::Equal {
                return c;
            }
        }
        a.len().cmp(&b.len())
    }

    /// Cassandra's order of two values of `ty` (its `AbstractType.compare`).
    fn cassandra_cmp(ty: &ColumnType, a: &Value, b: &Value) -> Ordering {
        use Value as V;
        match (ty, a, b) {
            (_, V::Ascii(x) | V::Text(x), V::Ascii(y) | V::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            (_, V::Blob(x), V::Blob(y)) => x.cmp(y),
            (_, V::Inet(_), V::Inet(_)) => inet_octets(a).cmp(&inet_octets(b)),
            (_, V::Boolean(x), V::Boolean(y)) => x.cmp(y),
            (_, V::Tinyint(x), V::Tinyint(y)) => x.cmp(y),
            (_, V::Smallint(x), V::Smallint(y)) => x.cmp(y),
            (_, V::Int(x), V::Int(y)) => x.cmp(y),
            (_, V::Bigint(x), V::Bigint(y))
            | (_, V::Counter(x), V::Counter(y))
            | (_, V::Timestamp(x), V::Timestamp(y))
            | (_, V::Time(x), V::Time(y)) => x.cmp(y),
            (_, V::Date(x), V::Date(y)) => x.cmp(y),
            (_, V::Float(x), V::Float(y)) => java_float_cmp(f64::from(*x), f64::from(*y), neg_zero(f64::from(*x)), neg_zero(f64::from(*y))),
            (_, V::Double(x), V::Double(y)) => java_float_cmp(*x, *y, neg_zero(*x), neg_zero(*y)),
            (_, V::Varint(x), V::Varint(y)) => x.cmp(y),
            (_, V::Decimal { unscaled: u1, scale: s1 }, V::Decimal { unscaled: u2, scale: s2 }) => decimal_cmp(u1, *s1, u2, *s2),
            (_, V::Uuid(x), V::Uuid(y)) => uuid_cmp(x, y),
            (_, V::Timeuuid(x), V::Timeuuid(y)) => timeuuid_cmp(x, y),
            (ColumnType::List(e) | ColumnType::Set(e), V::List(x) | V::Set(x), V::List(y) | V::Set(y)) => {
                seq_cmp(x, y, |p, q| cassandra_cmp(e, p, q))
            }
            (ColumnType::Map(kt, vt), V::Map(x), V::Map(y)) => seq_cmp(x, y, |(k1, v1), (k2, v2)| {
                cassandra_cmp(kt, k1, k2).then_with(|| cassandra_cmp(vt, v1, v2))
            }),
            (ColumnType::Tuple(types), V::Tuple(x), V::Tuple(y)) => {
                let x: Vec<_> = x.iter().map(Option::as_ref).collect();
                let y: Vec<_> = y.iter().map(Option::as_ref).collect();
                fields_cmp(types, &x, &y)
            }
            (ColumnType::Udt { fields, .. }, V::Udt(x), V::Udt(y)) => {
                let types: Vec<_> = fields.iter().map(|(_, t)| t.clone()).collect();
                let x: Vec<_> = x.iter().map(|(_, v)| v.as_ref()).collect();
                let y: Vec<_> = y.iter().map(|(_, v)| v.as_ref()).collect();
                fields_cmp(&types, &x, &y)
            }
            _ => panic!("cannot compare {a:?} and {b:?} as {ty:?}"),
        }
    }

    // ---- Strategies: key types and values with many ties and shared prefixes. ----

    fn leaf_type() -> impl Strategy<Value = ColumnType> {
        use ColumnType as T;
        prop_oneof![
            Just(T::Ascii),
            Just(T::Bigint),
            Just(T::Blob),
            Just(T::Boolean),
            Just(T::Counter),
            Just(T::Decimal),
            Just(T::Double),
            Just(T::Float),
            Just(T::Int),
            Just(T::Timestamp),
            Just(T::Uuid),
            Just(T::Varchar),
            Just(T::Varint),
            Just(T::Timeuuid),
            Just(T::Inet),
            Just(T::Date),
            Just(T::Time),
            Just(T::Smallint),
            Just(T::Tinyint),
        ]
    }

    fn key_type() -> impl Strategy<Value = ColumnType> {
        leaf_type().prop_recursive(2, 12, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|t| ColumnType::List(Box::new(t))),
                inner.clone().prop_map(|t| ColumnType::Set(Box::new(t))),
                (inner.clone(), inner.clone()).prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v))),
                proptest::collection::vec(inner.clone(), 1..4).prop_map(ColumnType::Tuple),
                proptest::collection::vec(inner, 1..3).prop_map(|types| ColumnType::Udt {
                    keyspace: "ks".into(),
                    name: "u".into(),
                    fields: types.into_iter().enumerate().map(|(i, t)| (format!("f{i}"), t)).collect(),
                }),
            ]
        })
    }

    fn small_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(0xFF), any::<u8>()], 0..5)
    }

    fn small_i64() -> impl Strategy<Value = i64> {
        prop_oneof![-3i64..3, Just(i64::MIN), Just(i64::MAX), any::<i64>()]
    }

    fn big_int() -> impl Strategy<Value = BigInt> {
        prop_oneof![
            (-300i64..300).prop_map(BigInt::from),
            any::<i64>().prop_map(BigInt::from),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(|b| BigInt::from_signed_bytes_be(&b)),
        ]
    }

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MIN_POSITIVE),
            (-3i32..3).prop_map(f64::from),
            any::<f64>(),
        ]
    }

    fn uuid_value(version: impl Strategy<Value = u64>) -> impl Strategy<Value = Uuid> {
        let half = || prop_oneof![Just(0u64), Just(0x8000_0000_0000_0000), Just(0x7F7F_7F7F_7F7F_7F7F), any::<u64>()];
        (version, half(), half()).prop_map(|(version, msb, lsb)| Uuid::from_u64_pair((msb & !0xF000) | (version << 12), lsb))
    }

    fn value_of(ty: &ColumnType) -> BoxedStrategy<Value> {
        use ColumnType as T;
        match ty {
            T::Ascii => "[ab\\x00]{0,4}".prop_map(Value::Ascii).boxed(),
            T::Varchar => "[ab\\x00é\\u{10000}]{0,4}".prop_map(Value::Text).boxed(),
            T::Blob => small_bytes().prop_map(Value::Blob).boxed(),
            T::Inet => prop_oneof![
                proptest::array::uniform4(prop_oneof![Just(0u8), Just(1), any::<u8>()]).prop_map(|o| Value::Inet(IpAddr::V4(o.into()))),
                proptest::array::uniform16(prop_oneof![Just(0u8), Just(1), any::<u8>()]).prop_map(|o| Value::Inet(IpAddr::V6(o.into()))),
            ]
            .boxed(),
            T::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
            T::Tinyint => any::<i8>().prop_map(Value::Tinyint).boxed(),
            T::Smallint => prop_oneof![-2i16..2, any::<i16>()].prop_map(Value::Smallint).boxed(),
            T::Int => prop_oneof![-2i32..2, any::<i32>()].prop_map(Value::Int).boxed(),
            T::Bigint => small_i64().prop_map(Value::Bigint).boxed(),
            T::Counter => small_i64().prop_map(Value::Counter).boxed(),
            T::Timestamp => small_i64().prop_map(Value::Timestamp).boxed(),
            T::Time => (0i64..86_400_000_000_000).prop_map(Value::Time).boxed(),
            T::Date => prop_oneof![(1u32 << 31) - 2..(1 << 31) + 2, any::<u32>()]
                .prop_map(Value::Date)
                .boxed(),
            T::Float => float().prop_map(|f| Value::Float(f as f32)).boxed(),
            T::Double => float().prop_map(Value::Double).boxed(),
            T::Varint => big_int().prop_map(Value::Varint).boxed(),
            T::Decimal => (big_int(), -8i32..8)
                .prop_map(|(unscaled, scale)| Value::Decimal { unscaled, scale })
                .boxed(),
            T::Uuid => uuid_value(prop_oneof![Just(1u64), Just(4), 0u64..16]).prop_map(Value::Uuid).boxed(),
            T::Timeuuid => uuid_value(Just(1)).prop_map(Value::Timeuuid).boxed(),
            T::List(e) => proptest::collection::vec(value_of(e), 0..4).prop_map(Value::List).boxed(),
            T::Set(e) => {
                let e2 = (**e).clone();
                proptest::collection::vec(value_of(e), 0..4)
                    .prop_map(move |mut items| {
                        items.sort_by(|a, b| cassandra_cmp(&e2, a, b));
                        items.dedup_by(|a, b| cassandra_cmp(&e2, a, b) == Ordering::Equal);
                        Value::Set(items)
                    })
                    .boxed()
            }
            T::Map(k, v) => {
                let k2 = (**k).clone();
                proptest::collection::vec((value_of(k), value_of(v)), 0..4)
                    .prop_map(move |mut entries| {
                        entries.sort_by(|a, b| cassandra_cmp(&k2, &a.0, &b.0));
                        entries.dedup_by(|a, b| cassandra_cmp(&k2, &a.0, &b.0) == Ordering::Equal);
                        Value::Map(entries)
                    })
                    .boxed()
            }
            T::Tuple(types) => types
                .iter()
                .map(|t| proptest::option::of(value_of(t)))
                .collect::<Vec<_>>()
                .prop_map(Value::Tuple)
                .boxed(),
            T::Udt { fields, .. } => {
                let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
                fields
                    .iter()
                    .map(|(_, t)| proptest::option::of(value_of(t)))
                    .collect::<Vec<_>>()
                    .prop_map(move |values| Value::Udt(names.iter().cloned().zip(values).collect()))
                    .boxed()
            }
            T::Duration | T::Custom(_) => unreachable!("not a key type"),
        }
    }

    /// A type and two values of it, the second often sharing a prefix with the
    /// first (equal, or equal in a leading part).
    fn type_and_two_values() -> impl Strategy<Value = (ColumnType, Value, Value)> {
        key_type().prop_flat_map(|ty| {
            let a = value_of(&ty);
            let b = value_of(&ty);
            (Just(ty), a, b, any::<bool>()).prop_map(|(ty, a, b, same)| {
                let b = if same { a.clone() } else { b };
                (ty, a, b)
            })
        })
    }

    fn expected_order(ty: &ColumnType, a: &Value, b: &Value, descending: bool) -> Ordering {
        let c = cassandra_cmp(ty, a, b);
        if descending {
            c.reverse()
        } else {
            c
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn every_key_value_decodes_to_an_equal_value(
            (ty, a, _b) in type_and_two_values(),
            descending in any::<bool>(),
        ) {
            let bytes = enc(&ty, &a, descending);
            let decoded = dec(&ty, &bytes, descending);
            prop_assert_eq!(cassandra_cmp(&ty, &a, &decoded), Ordering::Equal, "{:?} -> {:?}", a, decoded);
            // Decoding is canonical: the decoded value encodes to the same bytes.
            prop_assert_eq!(enc(&ty, &decoded, descending), bytes);
        }

        #[test]
        fn byte_order_of_encodings_is_cassandras_order(
            (ty, a, b) in type_and_two_values(),
            descending in any::<bool>(),
        ) {
            let (x, y) = (enc(&ty, &a, descending), enc(&ty, &b, descending));
            prop_assert_eq!(x.cmp(&y), expected_order(&ty, &a, &b, descending), "{:?} vs {:?}", a, b);
        }

        #[test]
        fn clustering_keys_sort_column_by_column(
            (t1, a1, b1) in type_and_two_values(),
            (t2, a2, b2) in type_and_two_values(),
            (d1, d2) in any::<(bool, bool)>(),
        ) {
            let types = vec![(t1.clone(), d1), (t2.clone(), d2)];
            let a = vec![a1.clone(), a2.clone()];
            let b = vec![b1.clone(), b2.clone()];
            let (x, y) = (encode_clustering(&types, &a).unwrap(), encode_clustering(&types, &b).unwrap());
            let expected = expected_order(&t1, &a1, &b1, d1).then_with(|| expected_order(&t2, &a2, &b2, d2));
            prop_assert_eq!(x.cmp(&y), expected);
            let decoded = decode_clustering(&types, &x).unwrap();
            prop_assert_eq!(decoded.len(), 2);
            prop_assert_eq!(cassandra_cmp(&t1, &decoded[0], &a1), Ordering::Equal);
            prop_assert_eq!(cassandra_cmp(&t2, &decoded[1], &a2), Ordering::Equal);
        }

        #[test]
        fn a_clustering_prefix_is_a_prefix_of_the_full_key(
            (t1, a1, _b1) in type_and_two_values(),
            (t2, a2, _b2) in type_and_two_values(),
            (d1, d2) in any::<(bool, bool)>(),
        ) {
            let types = vec![(t1, d1), (t2, d2)];
            let full = encode_clustering(&types, &[a1.clone(), a2]).unwrap();
            let prefix = encode_clustering(&types, &[a1]).unwrap();
            prop_assert!(full.starts_with(&prefix));
            prop_assert!(full.len() > prefix.len());
            prop_assert_eq!(decode_clustering(&types, &prefix).unwrap().len(), 1);
        }

        #[test]
        fn partition_positions_sort_by_token_then_key_bytes(
            (t1, k1) in (small_i64(), small_bytes()),
            (t2, k2) in (small_i64(), small_bytes()),
        ) {
            let (x, y) = (encode_partition_position(t1, &k1), encode_partition_position(t2, &k2));
            prop_assert_eq!(x.cmp(&y), (t1, &k1).cmp(&(t2, &k2)));
            let mut input = x.as_slice();
            prop_assert_eq!(decode_partition_position(&mut input).unwrap(), (t1, k1));
            prop_assert!(input.is_empty());
        }

        #[test]
        fn decoding_random_bytes_never_panics(
            ty in key_type(),
            descending in any::<bool>(),
            bytes in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(2), Just(0xFF), any::<u8>()], 0..48),
        ) {
            let mut input = bytes.as_slice();
            if let Ok(value) = decode_component(&mut input, &ty, descending) {
                // Whatever decodes must encode again without error.
                let mut out = Vec::new();
                prop_assert_eq!(encode_component(&mut out, &ty, &value, descending), Ok(()));
            }
            let _ = decode_clustering(&[(ty, descending)], &bytes);
            let mut input = bytes.as_slice();
            let _ = decode_partition_position(&mut input);
        }
    }
}
