//! The order Cassandra sorts values of one type in, for clustering columns and
//! `ORDER BY`: each type's `AbstractType.compare`, reproduced over decoded values.
//! Values of different types are not meant to meet; they still get a fixed order
//! (by type) so that `compare` is total.

use std::cmp::Ordering;

use num_bigint::{BigInt, Sign};
use uuid::Uuid;

use super::Value;

impl Value {
    /// The value with every set's elements and every map's keys in Cassandra's
    /// order, once each, at every depth: what a client sent in its own order
    /// (a bound set `[3, 1, 2]`) is stored, compared and matched as Cassandra
    /// would (`{1, 2, 3}`). Of repeated elements or keys, the first stays.
    pub fn normalized(self) -> Value {
        match self {
            Value::List(items) => Value::List(items.into_iter().map(Value::normalized).collect()),
            Value::Set(items) => {
                let mut items: Vec<Value> = items.into_iter().map(Value::normalized).collect();
                items.sort_by(|a, b| a.compare(b));
                items.dedup_by(|a, b| a.compare(b).is_eq());
                Value::Set(items)
            }
            Value::Map(pairs) => {
                let mut pairs: Vec<(Value, Value)> = pairs.into_iter().map(|(k, v)| (k.normalized(), v.normalized())).collect();
                pairs.sort_by(|a, b| a.0.compare(&b.0));
                pairs.dedup_by(|a, b| a.0.compare(&b.0).is_eq());
                Value::Map(pairs)
            }
            Value::Tuple(items) => Value::Tuple(items.into_iter().map(|i| i.map(Value::normalized)).collect()),
            Value::Udt(fields) => Value::Udt(fields.into_iter().map(|(n, v)| (n, v.map(Value::normalized))).collect()),
            other => other,
        }
    }

    /// Cassandra's comparison for two values of the same type: numbers
    /// numerically (floats with NaN above everything and -0 below 0, as Java's
    /// `Double.compare`), text and blobs bytewise, uuids as `UUIDType` and
    /// `TimeUUIDType` do, collections element by element, tuples and UDTs field
    /// by field with null first.
    pub fn compare(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Ascii(a) | Value::Text(a), Value::Ascii(b) | Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Bigint(a), Value::Bigint(b))
            | (Value::Counter(a), Value::Counter(b))
            | (Value::Timestamp(a), Value::Timestamp(b))
            | (Value::Time(a), Value::Time(b)) => a.cmp(b),
            (Value::Blob(a), Value::Blob(b)) => a.cmp(b),
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (
                Value::Decimal {
                    unscaled: a,
                    scale: scale_a,
                },
                Value::Decimal {
                    unscaled: b,
                    scale: scale_b,
                },
            ) => compare_decimal(a, *scale_a, b, *scale_b),
            (Value::Double(a), Value::Double(b)) => compare_float(*a, *b),
            (Value::Float(a), Value::Float(b)) => compare_float(f64::from(*a), f64::from(*b)),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Uuid(a), Value::Uuid(b)) => compare_uuid(a, b),
            (Value::Timeuuid(a), Value::Timeuuid(b)) => compare_timeuuid(a, b),
            (Value::Varint(a), Value::Varint(b)) => a.cmp(b),
            (Value::Inet(a), Value::Inet(b)) => inet_octets(a).cmp(&inet_octets(b)),
            (Value::Date(a), Value::Date(b)) => a.cmp(b),
            (Value::Smallint(a), Value::Smallint(b)) => a.cmp(b),
            (Value::Tinyint(a), Value::Tinyint(b)) => a.cmp(b),
            (
                Value::Duration {
                    months: ma,
                    days: da,
                    nanoseconds: na,
                },
                Value::Duration {
                    months: mb,
                    days: db,
                    nanoseconds: nb,
                },
            ) => (ma, da, na).cmp(&(mb, db, nb)),
            (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) => compare_sequences(a.iter(), b.iter(), Value::compare),
            (Value::Map(a), Value::Map(b)) => {
                compare_sequences(a.iter(), b.iter(), |x, y| x.0.compare(&y.0).then_with(|| x.1.compare(&y.1)))
            }
            (Value::Tuple(a), Value::Tuple(b)) => compare_sequences(a.iter(), b.iter(), |x, y| compare_optional(x.as_ref(), y.as_ref())),
            (Value::Udt(a), Value::Udt(b)) => compare_sequences(a.iter(), b.iter(), |x, y| compare_optional(x.1.as_ref(), y.1.as_ref())),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    /// The position of the value's type, only to order values of different types.
    fn rank(&self) -> u8 {
        match self {
            Value::Ascii(_) => 0,
            Value::Bigint(_) => 1,
            Value::Blob(_) => 2,
            Value::Boolean(_) => 3,
            Value::Counter(_) => 4,
            Value::Decimal { .. } => 5,
            Value::Double(_) => 6,
            Value::Float(_) => 7,
            Value::Int(_) => 8,
            Value::Timestamp(_) => 9,
            Value::Uuid(_) => 10,
            Value::Text(_) => 11,
            Value::Varint(_) => 12,
            Value::Timeuuid(_) => 13,
            Value::Inet(_) => 14,
            Value::Date(_) => 15,
            Value::Time(_) => 16,
            Value::Smallint(_) => 17,
            Value::Tinyint(_) => 18,
            Value::Duration { .. } => 19,
            Value::List(_) => 20,
            Value::Set(_) => 21,
            Value::Map(_) => 22,
            Value::Tuple(_) => 23,
            Value::Udt(_) => 24,
        }
    }
}

/// Lexicographic: the first differing element decides, then the shorter is first.
fn compare_sequences<'a, T: 'a>(
    a: impl Iterator<Item = &'a T>,
    b: impl Iterator<Item = &'a T>,
    mut compare: impl FnMut(&T, &T) -> Ordering,
) -> Ordering {
    let mut a = a;
    let mut b = b;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match compare(x, y) {
                Ordering::Equal => {}
                decided => return decided,
            },
        }
    }
}

fn compare_optional(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => a.compare(b),
    }
}

/// Java's `Double.compare`: all NaNs equal and above +Infinity, -0.0 below 0.0.
fn compare_float(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

/// Compares `a * 10^-scale_a` with `b * 10^-scale_b` exactly. Rescaling both to a
/// common scale directly could need 10^(2^32); comparing signs and then decimal
/// exponents first leaves only equal-exponent pairs, whose scales differ by at
/// most their difference in digit count.
fn compare_decimal(a: &BigInt, scale_a: i32, b: &BigInt, scale_b: i32) -> Ordering {
    let sign = a.sign();
    if sign != b.sign() {
        return sign.cmp(&b.sign());
    }
    if sign == Sign::NoSign {
        return Ordering::Equal;
    }
    // `|x| * 10^-scale` lies in [10^(e-1), 10^e) for e = digits - scale.
    let exponent = |x: &BigInt, scale: i32| x.magnitude().to_string().len() as i64 - i64::from(scale);
    let magnitude_order = exponent(a, scale_a).cmp(&exponent(b, scale_b));
    if magnitude_order != Ordering::Equal {
        return if sign == Sign::Plus {
            magnitude_order
        } else {
            magnitude_order.reverse()
        };
    }
    let difference = i64::from(scale_a) - i64::from(scale_b);
    let power = BigInt::from(10).pow(u32::try_from(difference.unsigned_abs()).unwrap_or(u32::MAX));
    if difference >= 0 {
        a.cmp(&(b * power))
    } else {
        (a * power).cmp(b)
    }
}

/// `TimeUUIDType.reorderTimestampBytes`: the 60-bit timestamp, high bits first,
/// under the version nibble.
fn timestamp_first(msb: u64) -> u64 {
    (msb << 48) | ((msb << 16) & 0xFFFF_0000_0000) | (msb >> 32)
}

/// `UUIDType`: by version; then time-based uuids by timestamp and others by
/// their high 64 bits unsigned; then the low 64 bits unsigned.
fn compare_uuid(a: &Uuid, b: &Uuid) -> Ordering {
    let (msb_a, lsb_a) = a.as_u64_pair();
    let (msb_b, lsb_b) = b.as_u64_pair();
    let version_a = (msb_a >> 12) & 0xf;
    let version_b = (msb_b >> 12) & 0xf;
    version_a
        .cmp(&version_b)
        .then_with(|| {
            if version_a == 1 {
                (timestamp_first(msb_a) as i64).cmp(&(timestamp_first(msb_b) as i64))
            } else {
                msb_a.cmp(&msb_b)
            }
        })
        .then_with(|| lsb_a.cmp(&lsb_b))
}

/// `TimeUUIDType`: by timestamp, then the low 64 bits compared as signed bytes
/// (a historical accident Cassandra keeps for compatibility).
fn compare_timeuuid(a: &Uuid, b: &Uuid) -> Ordering {
    let (msb_a, lsb_a) = a.as_u64_pair();
    let (msb_b, lsb_b) = b.as_u64_pair();
    let signed_bytes = |lsb: u64| (lsb ^ 0x0080_8080_8080_8080) as i64;
    (timestamp_first(msb_a) as i64)
        .cmp(&(timestamp_first(msb_b) as i64))
        .then_with(|| signed_bytes(lsb_a).cmp(&signed_bytes(lsb_b)))
}

fn inet_octets(addr: &std::net::IpAddr) -> Vec<u8> {
    match addr {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    }
}
