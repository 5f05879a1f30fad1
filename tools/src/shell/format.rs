//! Turns one CQL value into the text cqlsh would show for it.
//!
//! The rules follow cqlshlib's `formatting.py` with its default settings: text is
//! unquoted at top level and quoted inside collections, floats get 5 significant
//! digits after the point and doubles 12, timestamps are shown in UTC with
//! microseconds. This module owns no layout (see `table.rs`) and no I/O.
use chrono::DateTime;
use num_bigint::{BigInt, Sign};
use scylla::value::{CqlDecimal, CqlDuration, CqlValue};

/// cqlsh's `float_precision` default.
const FLOAT_PRECISION: i32 = 5;
/// cqlsh's `double_precision` default.
const DOUBLE_PRECISION: i32 = 12;

/// The text of a possibly-null cell at the top level of a result.
pub fn format_cell(value: Option<&CqlValue>) -> String {
    match value {
        None => "null".to_string(),
        Some(v) => format_value(v, false),
    }
}

/// The text of a value. `quote` is true inside collections, tuples and UDTs, where
/// cqlsh wraps text, inet and timestamp values in single quotes.
pub fn format_value(value: &CqlValue, quote: bool) -> String {
    match value {
        CqlValue::Ascii(s) | CqlValue::Text(s) => format_text(s, quote),
        CqlValue::Boolean(b) => if *b { "True" } else { "False" }.to_string(),
        CqlValue::Blob(bytes) => format_blob(bytes),
        CqlValue::Counter(c) => c.0.to_string(),
        CqlValue::Decimal(d) => format_decimal(d),
        CqlValue::Date(d) => format_date(d.0),
        CqlValue::Double(d) => format_floating(*d, DOUBLE_PRECISION),
        CqlValue::Duration(d) => format_duration(d),
        CqlValue::Empty => String::new(),
        CqlValue::Float(f) => format_floating(f64::from(*f), FLOAT_PRECISION),
        CqlValue::Int(i) => i.to_string(),
        CqlValue::BigInt(i) => i.to_string(),
        CqlValue::SmallInt(i) => i.to_string(),
        CqlValue::TinyInt(i) => i.to_string(),
        CqlValue::Varint(v) => BigInt::from_signed_bytes_be(v.as_signed_bytes_be_slice()).to_string(),
        CqlValue::Timestamp(t) => maybe_quote(format_timestamp(t.0), quote),
        CqlValue::Time(t) => format_time(t.0),
        CqlValue::Inet(addr) => maybe_quote(addr.to_string(), quote),
        CqlValue::Uuid(u) => u.to_string(),
        CqlValue::Timeuuid(u) => u.to_string(),
        CqlValue::List(items) | CqlValue::Vector(items) => {
            format!("[{}]", join_values(items.iter()))
        }
        CqlValue::Set(items) => format!("{{{}}}", join_values(items.iter())),
        CqlValue::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", format_value(k, true), format_value(v, true)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        CqlValue::Tuple(items) => {
            let inner: Vec<String> = items.iter().map(|v| format_nested(v.as_ref())).collect();
            format!("({})", inner.join(", "))
        }
        CqlValue::UserDefinedType { fields, .. } => {
            let inner: Vec<String> = fields
                .iter()
                .map(|(name, v)| format!("{}: {}", format_text(name, false), format_nested(v.as_ref())))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        // `CqlValue` is non-exhaustive; a kind added by a newer driver is still shown.
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

fn join_values<'a>(items: impl Iterator<Item = &'a CqlValue>) -> String {
    items.map(|v| format_value(v, true)).collect::<Vec<_>>().join(", ")
}

fn format_nested(value: Option<&CqlValue>) -> String {
    match value {
        None => "null".to_string(),
        Some(v) => format_value(v, true),
    }
}

fn maybe_quote(text: String, quote: bool) -> String {
    if quote {
        format!("'{text}'")
    } else {
        text
    }
}

/// Backslashes are doubled and control characters shown the way Python's `repr`
/// shows them, so a value never breaks the table's lines.
pub fn format_text(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if quote {
        out.push('\'');
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' if quote => out.push_str("''"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    if quote {
        out.push('\'');
    }
    out
}

pub fn format_blob(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("0x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// cqlsh's `format_floating_point_type`: `precision` counts digits after the decimal
/// point, so it is widened by the digits before it, then printed with `%.*g`.
pub fn format_floating(value: f64, precision: i32) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let mut precision = precision;
    if value.abs() > f64::EPSILON {
        // Python's int() truncates toward zero.
        let exponent = value.abs().log10().trunc() as i32;
        if (-4..precision).contains(&exponent) {
            precision += exponent + 1;
        }
    }
    format_g(value, precision.max(1) as usize)
}

/// C's `%.*g`: `precision` significant digits, scientific notation when the exponent
/// is below -4 or not below the precision, trailing zeros removed.
pub fn format_g(value: f64, precision: usize) -> String {
    let p = precision.max(1);
    let scientific = format!("{:.*e}", p - 1, value);
    let Some((mantissa, exp)) = scientific.split_once('e') else {
        return scientific;
    };
    let exp: i64 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i64 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", strip_fraction_zeros(mantissa), sign, exp.abs())
    } else {
        let decimals = (p as i64 - 1 - exp).max(0) as usize;
        strip_fraction_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Python's `str(Decimal)`: plain notation unless the exponent is positive or the
/// number is very small, then `1.5E+3` style.
pub fn format_decimal(d: &CqlDecimal) -> String {
    let (bytes, scale) = d.as_signed_be_bytes_slice_and_exponent();
    python_decimal_str(&BigInt::from_signed_bytes_be(bytes), scale)
}

fn python_decimal_str(unscaled: &BigInt, scale: i32) -> String {
    let sign = if unscaled.sign() == Sign::Minus { "-" } else { "" };
    let digits = unscaled.magnitude().to_string();
    let len = digits.len() as i64;
    let exp = -i64::from(scale);
    let leftdigits = exp + len;
    let dotplace = if exp <= 0 && leftdigits > -6 { leftdigits } else { 1 };
    let body = if dotplace <= 0 {
        format!("0.{}{}", "0".repeat((-dotplace) as usize), digits)
    } else if dotplace >= len {
        format!("{}{}", digits, "0".repeat((dotplace - len) as usize))
    } else {
        let (int_part, frac_part) = digits.split_at(dotplace as usize);
        format!("{int_part}.{frac_part}")
    };
    let suffix = if leftdigits == dotplace {
        String::new()
    } else {
        format!("E{:+}", leftdigits - dotplace)
    };
    format!("{sign}{body}{suffix}")
}

/// `2024-01-02 03:04:05.678000+0000`; outside the years Python can show (1..=9999)
/// cqlsh falls back to the raw milliseconds.
pub fn format_timestamp(millis: i64) -> String {
    match DateTime::from_timestamp_millis(millis) {
        Some(t) if (1..=9999).contains(&chrono::Datelike::year(&t)) => t.format("%Y-%m-%d %H:%M:%S%.6f+0000").to_string(),
        _ => millis.to_string(),
    }
}

/// A `date` is days since -5877641-06-23 with the epoch at 2^31; outside the years
/// Python can show, cqlsh prints days since the epoch.
pub fn format_date(raw: u32) -> String {
    let days = i64::from(raw) - (1i64 << 31);
    let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::try_days(days)?));
    match date {
        Some(d) if (1..=9999).contains(&chrono::Datelike::year(&d)) => d.format("%Y-%m-%d").to_string(),
        _ => days.to_string(),
    }
}

/// Nanoseconds since midnight as `HH:MM:SS.nnnnnnnnn`.
pub fn format_time(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    format!("{:02}:{:02}:{:02}.{:09}", secs / 3600, (secs / 60) % 60, secs % 60, frac)
}

/// cqlsh's `duration_as_str`: `1y2mo3d4h5m6s7ms8us9ns`, units with a zero count
/// left out, one leading `-` for a negative duration.
pub fn format_duration(d: &CqlDuration) -> String {
    const NANOS_PER_MICRO: i128 = 1_000;
    const NANOS_PER_MILLI: i128 = 1_000 * NANOS_PER_MICRO;
    const NANOS_PER_SECOND: i128 = 1_000 * NANOS_PER_MILLI;
    const NANOS_PER_MINUTE: i128 = 60 * NANOS_PER_SECOND;
    const NANOS_PER_HOUR: i128 = 60 * NANOS_PER_MINUTE;

    fn append(out: &mut String, dividend: i128, divisor: i128, unit: &str) -> i128 {
        if dividend == 0 || dividend < divisor {
            return dividend;
        }
        out.push_str(&(dividend / divisor).to_string());
        out.push_str(unit);
        dividend % divisor
    }

    let mut out = String::new();
    if d.months < 0 || d.days < 0 || d.nanoseconds < 0 {
        out.push('-');
    }
    let months = i128::from(d.months).abs();
    let remainder = append(&mut out, months, 12, "y");
    append(&mut out, remainder, 1, "mo");
    append(&mut out, i128::from(d.days).abs(), 1, "d");
    if d.nanoseconds != 0 {
        let mut rest = i128::from(d.nanoseconds).abs();
        rest = append(&mut out, rest, NANOS_PER_HOUR, "h");
        rest = append(&mut out, rest, NANOS_PER_MINUTE, "m");
        rest = append(&mut out, rest, NANOS_PER_SECOND, "s");
        rest = append(&mut out, rest, NANOS_PER_MILLI, "ms");
        rest = append(&mut out, rest, NANOS_PER_MICRO, "us");
        append(&mut out, rest, 1, "ns");
    }
    out
}

/// Columns a string occupies on a terminal: wide East Asian characters count two,
/// combining marks none (a small stand-in for Python's `wcwidth`).
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let cp = c as u32;
    let zero = matches!(cp, 0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F);
    let wide = matches!(
        cp,
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD
    );
    if zero {
        0
    } else if wide {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scylla::value::{Counter, CqlDate, CqlTime, CqlTimestamp, CqlTimeuuid, CqlVarint};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn top(v: CqlValue) -> String {
        format_cell(Some(&v))
    }

    fn text(s: &str) -> CqlValue {
        CqlValue::Text(s.to_string())
    }

    #[test]
    fn null_is_shown_as_null() {
        assert_eq!(format_cell(None), "null");
    }

    #[test]
    fn text_is_unquoted_at_top_level() {
        assert_eq!(top(text("it's")), "it's");
        assert_eq!(top(CqlValue::Ascii("abc".into())), "abc");
    }

    #[test]
    fn text_inside_collections_is_quoted_with_doubled_quotes() {
        assert_eq!(top(CqlValue::List(vec![text("a"), text("it's")])), "['a', 'it''s']");
    }

    #[test]
    fn control_characters_and_backslashes_are_escaped() {
        assert_eq!(top(text("a\nb\tc\\d\u{1}")), "a\\nb\\tc\\\\d\\x01");
    }

    #[test]
    fn booleans_are_python_style() {
        assert_eq!(top(CqlValue::Boolean(true)), "True");
        assert_eq!(top(CqlValue::Boolean(false)), "False");
    }

    #[test]
    fn integers_of_every_width() {
        assert_eq!(top(CqlValue::TinyInt(-8)), "-8");
        assert_eq!(top(CqlValue::SmallInt(300)), "300");
        assert_eq!(top(CqlValue::Int(-70000)), "-70000");
        assert_eq!(top(CqlValue::BigInt(i64::MAX)), "9223372036854775807");
        assert_eq!(top(CqlValue::Counter(Counter(42))), "42");
    }

    #[test]
    fn varint_is_a_plain_big_integer() {
        let v = CqlVarint::from_signed_bytes_be(vec![0xff, 0x00]);
        assert_eq!(top(CqlValue::Varint(v)), "-256");
        let big = BigInt::parse_bytes(b"123456789012345678901234567890", 10).unwrap();
        let v = CqlVarint::from_signed_bytes_be(big.to_signed_bytes_be());
        assert_eq!(top(CqlValue::Varint(v)), "123456789012345678901234567890");
    }

    #[test]
    fn decimal_follows_python_str() {
        let dec = |unscaled: i64, scale: i32| {
            let bytes = BigInt::from(unscaled).to_signed_bytes_be();
            top(CqlValue::Decimal(CqlDecimal::from_signed_be_bytes_and_exponent(bytes, scale)))
        };
        assert_eq!(dec(12345, 2), "123.45");
        assert_eq!(dec(-5, 1), "-0.5");
        assert_eq!(dec(0, 2), "0.00");
        assert_eq!(dec(7, 0), "7");
        assert_eq!(dec(15, -2), "1.5E+3");
        assert_eq!(dec(1, 8), "1E-8");
        assert_eq!(dec(1, 6), "0.000001");
    }

    #[test]
    fn doubles_show_twelve_digits_after_the_point() {
        assert_eq!(top(CqlValue::Double(1.5)), "1.5");
        assert_eq!(top(CqlValue::Double(0.1 + 0.2)), "0.3");
        assert_eq!(top(CqlValue::Double(0.0)), "0");
        assert_eq!(top(CqlValue::Double(-2.0)), "-2");
        assert_eq!(top(CqlValue::Double(1e20)), "1e+20");
        assert_eq!(top(CqlValue::Double(0.00001)), "1e-05");
        assert_eq!(top(CqlValue::Double(std::f64::consts::PI)), "3.14159265359");
    }

    #[test]
    fn floats_show_five_digits_after_the_point() {
        assert_eq!(top(CqlValue::Float(1.23456)), "1.23456");
        assert_eq!(top(CqlValue::Float(0.1)), "0.1");
        assert_eq!(top(CqlValue::Float(2.5)), "2.5");
        assert_eq!(top(CqlValue::Float(1e10)), "1e+10");
    }

    #[test]
    fn special_floats_are_spelled_out() {
        assert_eq!(top(CqlValue::Double(f64::NAN)), "NaN");
        assert_eq!(top(CqlValue::Double(f64::INFINITY)), "Infinity");
        assert_eq!(top(CqlValue::Float(f32::NEG_INFINITY)), "-Infinity");
    }

    #[test]
    fn percent_g_matches_c() {
        assert_eq!(format_g(123456789.0, 6), "1.23457e+08");
        assert_eq!(format_g(0.0001234, 3), "0.000123");
        assert_eq!(format_g(100.0, 3), "100");
        assert_eq!(format_g(1e-300, 4), "1e-300");
    }

    #[test]
    fn blobs_are_hex_with_prefix() {
        assert_eq!(top(CqlValue::Blob(vec![0xde, 0xad, 0x01])), "0xdead01");
        assert_eq!(top(CqlValue::Blob(vec![])), "0x");
    }

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.678Z").unwrap();
        let v = CqlValue::Timestamp(CqlTimestamp(t.timestamp_millis()));
        assert_eq!(top(v.clone()), "2024-01-02 03:04:05.678000+0000");
        assert_eq!(top(CqlValue::List(vec![v])), "['2024-01-02 03:04:05.678000+0000']");
    }

    #[test]
    fn timestamps_beyond_year_9999_fall_back_to_millis() {
        let millis = 253_402_300_800_000; // 10000-01-01
        assert_eq!(top(CqlValue::Timestamp(CqlTimestamp(millis))), "253402300800000");
    }

    #[test]
    fn dates_and_times() {
        let epoch = 1u32 << 31;
        assert_eq!(top(CqlValue::Date(CqlDate(epoch))), "1970-01-01");
        assert_eq!(top(CqlValue::Date(CqlDate(epoch + 19_724))), "2024-01-02");
        assert_eq!(top(CqlValue::Date(CqlDate(0))), "-2147483648");
        let nanos = ((3 * 3600 + 4 * 60 + 5) * 1_000_000_000) + 678_000_000;
        assert_eq!(top(CqlValue::Time(CqlTime(nanos))), "03:04:05.678000000");
    }

    #[test]
    fn uuids_are_lowercase_hyphenated() {
        let u = uuid::Uuid::parse_str("550E8400-E29B-41D4-A716-446655440000").unwrap();
        assert_eq!(top(CqlValue::Uuid(u)), "550e8400-e29b-41d4-a716-446655440000");
        let t = uuid::Uuid::parse_str("d2177dd0-eaa2-11de-a572-001b779c76e3").unwrap();
        assert_eq!(
            top(CqlValue::Timeuuid(CqlTimeuuid::from(t))),
            "d2177dd0-eaa2-11de-a572-001b779c76e3"
        );
    }

    #[test]
    fn inet_is_quoted_only_inside_collections() {
        let v4 = CqlValue::Inet(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(top(v4.clone()), "127.0.0.1");
        assert_eq!(top(CqlValue::Set(vec![v4])), "{'127.0.0.1'}");
        assert_eq!(top(CqlValue::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST))), "::1");
    }

    #[test]
    fn durations_use_cassandra_units() {
        let d = |months, days, nanoseconds| top(CqlValue::Duration(CqlDuration { months, days, nanoseconds }));
        assert_eq!(d(1, 2, 3 * 3_600_000_000_000), "1mo2d3h");
        assert_eq!(d(14, 0, 0), "1y2mo");
        assert_eq!(d(0, 0, 90_061_001_001_001), "25h1m1s1ms1us1ns");
        assert_eq!(d(0, -3, 0), "-3d");
        assert_eq!(d(0, 0, 0), "");
    }

    #[test]
    fn collections_nest() {
        assert_eq!(top(CqlValue::Set(vec![CqlValue::Int(1), CqlValue::Int(2)])), "{1, 2}");
        assert_eq!(top(CqlValue::List(vec![])), "[]");
        let map = CqlValue::Map(vec![(text("k"), CqlValue::Int(1)), (text("j"), CqlValue::Int(2))]);
        assert_eq!(top(map), "{'k': 1, 'j': 2}");
        let nested = CqlValue::Map(vec![(CqlValue::Int(1), CqlValue::List(vec![text("a"), text("b")]))]);
        assert_eq!(top(nested), "{1: ['a', 'b']}");
        let vector = CqlValue::Vector(vec![CqlValue::Float(1.0), CqlValue::Float(2.5)]);
        assert_eq!(top(vector), "[1, 2.5]");
    }

    #[test]
    fn tuples_show_null_elements() {
        let t = CqlValue::Tuple(vec![Some(CqlValue::Int(1)), Some(text("a")), None]);
        assert_eq!(top(t), "(1, 'a', null)");
    }

    #[test]
    fn udts_show_bare_field_names() {
        let udt = CqlValue::UserDefinedType {
            keyspace: "ks".into(),
            name: "address".into(),
            fields: vec![
                ("a".into(), Some(CqlValue::Int(1))),
                ("b".into(), Some(text("x"))),
                ("c".into(), None),
            ],
        };
        assert_eq!(top(udt), "{a: 1, b: 'x', c: null}");
    }

    #[test]
    fn empty_values_are_blank() {
        assert_eq!(top(CqlValue::Empty), "");
    }

    #[test]
    fn display_width_counts_wide_characters_twice() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("日本"), 4);
        assert_eq!(display_width("e\u{301}"), 1);
    }
}
