//! Values printed as CQL literals, the way cqlsh prints them and CQL accepts them
//! back: quoted strings, `0x` blobs, bare uuids, quoted timestamps and dates,
//! collection brackets. Date and time arithmetic is done here with integers (the
//! civil-from-days algorithm), so the protocol crate needs no calendar library.

use std::fmt::Write as _;

use num_bigint::{BigInt, Sign};

use super::{Value, MAX_TIME_NANOS};

const MILLIS_PER_DAY: i64 = 86_400_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// `date` values count days from 2^31, which is the Unix epoch.
const DATE_EPOCH: i64 = 1 << 31;

impl Value {
    /// The value as a CQL literal: `'it''s'`, `0xcafe`, `[1, 2]`, `{'a': 1}`,
    /// `(1, null)`, `{a: 1, b: 'x'}`, `'2024-01-02 03:04:05.678000+0000'`, `1mo2d3h`.
    ///
    /// Dates and timestamps outside years 1 to 9999 print as their raw number,
    /// which CQL accepts for those types and cqlsh prints too.
    pub fn cql_literal(&self) -> String {
        let mut out = String::new();
        self.write_literal(&mut out);
        out
    }

    fn write_literal(&self, out: &mut String) {
        match self {
            Value::Ascii(s) | Value::Text(s) => write_quoted(out, s),
            Value::Bigint(v) | Value::Counter(v) => push_display(out, v),
            Value::Blob(bytes) => {
                out.push_str("0x");
                for byte in bytes {
                    let _ = write!(out, "{byte:02x}");
                }
            }
            Value::Boolean(b) => push_display(out, b),
            Value::Decimal { unscaled, scale } => write_decimal(out, unscaled, *scale),
            Value::Double(v) => write_float(out, *v),
            Value::Float(v) => write_float(out, f64::from(*v)),
            Value::Int(v) => push_display(out, v),
            Value::Timestamp(millis) => write_timestamp(out, *millis),
            Value::Uuid(u) | Value::Timeuuid(u) => push_display(out, u.hyphenated()),
            Value::Varint(v) => push_display(out, v),
            Value::Inet(addr) => {
                let _ = write!(out, "'{addr}'");
            }
            Value::Date(days) => write_date(out, *days),
            Value::Time(nanos) => write_time(out, *nanos),
            Value::Smallint(v) => push_display(out, v),
            Value::Tinyint(v) => push_display(out, v),
            Value::Duration { months, days, nanoseconds } => write_duration(out, *months, *days, *nanoseconds),
            Value::List(items) => write_sequence(out, '[', ']', items.iter()),
            Value::Set(items) => write_sequence(out, '{', '}', items.iter()),
            Value::Map(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    key.write_literal(out);
                    out.push_str(": ");
                    value.write_literal(out);
                }
                out.push('}');
            }
            Value::Tuple(items) => {
                out.push('(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_optional(out, item.as_ref());
                }
                out.push(')');
            }
            Value::Udt(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_identifier(out, name);
                    out.push_str(": ");
                    write_optional(out, value.as_ref());
                }
                out.push('}');
            }
        }
    }
}

fn push_display(out: &mut String, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}");
}

fn write_optional(out: &mut String, value: Option<&Value>) {
    match value {
        Some(value) => value.write_literal(out),
        None => out.push_str("null"),
    }
}

fn write_sequence<'a>(out: &mut String, open: char, close: char, items: impl Iterator<Item = &'a Value>) {
    out.push(open);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write_literal(out);
    }
    out.push(close);
}

fn write_quoted(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
}

/// Field names print bare when CQL would read them back unchanged (lower-case
/// identifiers), and double-quoted otherwise.
fn write_identifier(out: &mut String, name: &str) {
    let mut chars = name.chars();
    let bare =
        chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare {
        out.push_str(name);
        return;
    }
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        // Debug prints the shortest digits that read back to the same float, and
        // switches to an exponent for very large or small magnitudes.
        let _ = write!(out, "{v:?}");
    }
}

/// Java's `BigDecimal.toString`, which is what Cassandra and cqlsh print: plain
/// notation unless the scale is negative or the number is tiny, then scientific.
/// Scientific notation also keeps a huge scale from printing millions of zeros.
fn write_decimal(out: &mut String, unscaled: &BigInt, scale: i32) {
    if unscaled.sign() == Sign::Minus {
        out.push('-');
    }
    let digits = unscaled.magnitude().to_string();
    let length = digits.len() as i64;
    let scale = i64::from(scale);
    let adjusted = length - 1 - scale;
    if scale >= 0 && adjusted >= -6 {
        if scale == 0 {
            out.push_str(&digits);
        } else if let Some((whole, fraction)) = digits.split_at_checked((length - scale) as usize).filter(|_| length > scale) {
            out.push_str(whole);
            out.push('.');
            out.push_str(fraction);
        } else {
            out.push_str("0.");
            for _ in 0..scale - length {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        let (first, rest) = digits.split_at_checked(1).unwrap_or((&digits, ""));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "E{}{adjusted}", if adjusted >= 0 { "+" } else { "" });
    }
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian (year, month, day) for
/// a count of days since 1970-01-01, exact over the whole `i64` day range we use.
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

fn write_timestamp(out: &mut String, millis: i64) {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let of_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(1..=9999).contains(&year) {
        push_display(out, millis);
        return;
    }
    let seconds = of_day / 1_000;
    let _ = write!(
        out,
        "'{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}000+0000'",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60,
        of_day % 1_000
    );
}

fn write_date(out: &mut String, days: u32) {
    let (year, month, day) = civil_from_days(i64::from(days) - DATE_EPOCH);
    if (1..=9999).contains(&year) {
        let _ = write!(out, "'{year:04}-{month:02}-{day:02}'");
    } else {
        let _ = write!(out, "'{days}'");
    }
}

fn write_time(out: &mut String, nanos: i64) {
    if !(0..=MAX_TIME_NANOS).contains(&nanos) {
        push_display(out, nanos);
        return;
    }
    let seconds = nanos / NANOS_PER_SECOND;
    let _ = write!(
        out,
        "'{:02}:{:02}:{:02}.{:09}'",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60,
        nanos % NANOS_PER_SECOND
    );
}

/// Cassandra's `Duration.toString`: `1y2mo3d4h5m6s7ms8us9ns`, units that are zero
/// left out, one leading `-` for a negative duration. Zero prints as `0s`, where
/// Cassandra would print nothing at all, which is no literal.
fn write_duration(out: &mut String, months: i32, days: i32, nanoseconds: i64) {
    if months == 0 && days == 0 && nanoseconds == 0 {
        out.push_str("0s");
        return;
    }
    if months < 0 || days < 0 || nanoseconds < 0 {
        out.push('-');
    }
    let months = u64::from(months.unsigned_abs());
    write_unit(out, months / 12, "y");
    write_unit(out, months % 12, "mo");
    write_unit(out, u64::from(days.unsigned_abs()), "d");
    let mut rest = nanoseconds.unsigned_abs();
    for (size, unit) in [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ] {
        write_unit(out, rest / size, unit);
        rest %= size;
    }
}

fn write_unit(out: &mut String, count: u64, unit: &str) {
    if count > 0 {
        let _ = write!(out, "{count}{unit}");
    }
}
