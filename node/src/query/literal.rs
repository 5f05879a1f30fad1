//! Turning terms into values of a known type: CQL literals (`'2024-01-02'` as a
//! timestamp, `3` as a varint), bound values, and the functions allowed in
//! terms (`now()`, `toTimestamp(now())`, `uuid()`, ...). Pure apart from the clock.

use std::net::IpAddr;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use cql_protocol::cql::ast::Term;
use cql_protocol::request::BoundValue;
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use num_bigint::BigInt;
use uuid::Uuid;

use super::functions::{BlobConversion, Current};
use super::term_text::term_text;
use crate::error::QueryError;

/// A term's value: a value, a null, or "unset" (a bound value the client left out).
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluated {
    Value(Value),
    Null,
    Unset,
}

impl Evaluated {
    pub fn into_value(self) -> Option<Value> {
        match self {
            Evaluated::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// The values bound to a statement's markers, in marker order.
#[derive(Debug, Clone, Default)]
pub struct Binds {
    pub values: Vec<BoundValue>,
}

/// Evaluates `term` as a value of type `ty`. `what` names the receiver in errors.
pub fn evaluate(term: &Term, ty: &ColumnType, binds: &Binds, what: &str) -> Result<Evaluated, QueryError> {
    let mismatch = || {
        QueryError::invalid(format!(
            "Invalid {} constant ({}) for \"{what}\" of type {}",
            term_kind(term),
            // Cassandra prints a string constant's text without its quotes.
            match term {
                Term::String(text) => text.clone(),
                other => other.to_string(),
            },
            type_name(ty)
        ))
    };
    let value = match (term, ty) {
        (Term::Null, _) => return Ok(Evaluated::Null),
        (Term::Bind { index, .. }, _) => {
            return match binds.values.get(*index) {
                None => Err(QueryError::invalid(format!(
                    "There were {} markers(?) in CQL but {} bound variables",
                    index + 1,
                    binds.values.len()
                ))),
                Some(BoundValue::Null) => Ok(Evaluated::Null),
                Some(BoundValue::Unset) => Ok(Evaluated::Unset),
                // Sets and maps as Cassandra orders them, whatever order the client sent.
                Some(BoundValue::Bytes(bytes)) => Value::deserialize(ty, bytes)
                    .map(|v| Evaluated::Value(v.normalized()))
                    .map_err(|e| QueryError::invalid(format!("Invalid value for \"{what}\" of type {}: {e}", type_name(ty)))),
            };
        }
        (Term::Cast(_, inner), _) => return evaluate(inner, ty, binds, what),
        (Term::FunctionCall { name, args }, _) => return call_function(name, args, ty, binds, what),
        (Term::Integer(s), t) => integer(s, t).ok_or_else(|| match t {
            // Of the right kind but out of the type's range: Cassandra's
            // Int32Type / LongType words.
            ColumnType::Int => QueryError::invalid(format!("Unable to make int from '{s}'")),
            ColumnType::Bigint | ColumnType::Counter => QueryError::invalid(format!("Unable to make long from '{s}'")),
            _ => mismatch(),
        })?,
        (Term::Float(s), t) => float(s, t).ok_or_else(mismatch)?,
        (Term::Boolean(b), ColumnType::Boolean) => Value::Boolean(*b),
        (Term::String(s), t) => string(s, t).map_err(|refusal| match refusal {
            Refusal::Detail(detail) => {
                QueryError::invalid(format!("Invalid value '{s}' for \"{what}\" of type {}: {detail}", type_name(ty)))
            }
            Refusal::Message(message) => QueryError::invalid(message),
            Refusal::Kind => mismatch(),
        })?,
        (Term::Uuid(u), ColumnType::Uuid) => Value::Uuid(*u),
        (Term::Uuid(u), ColumnType::Timeuuid) if u.get_version_num() == 1 => Value::Timeuuid(*u),
        (Term::Blob(b), ColumnType::Blob) => Value::Blob(b.clone()),
        (Term::Duration(d), ColumnType::Duration) => parse_duration(d).map_err(QueryError::invalid)?,
        (Term::List(items), ColumnType::List(inner)) => Value::List(elements(items, inner, binds, what)?),
        (Term::List(items), ColumnType::Set(inner)) | (Term::Set(items), ColumnType::Set(inner)) => {
            Value::Set(elements(items, inner, binds, what)?).normalized()
        }
        (Term::Set(_), ColumnType::List(_)) => {
            return Err(QueryError::invalid(format!(
                "Invalid set literal for {what} of type {}",
                type_name(ty)
            )))
        }
        (Term::Map(pairs), ColumnType::Map(kt, vt)) => {
            let mut out = Vec::with_capacity(pairs.len());
            for (k, v) in pairs {
                for (part, term, part_type) in [("key", k, kt), ("value", v, vt)] {
                    if wrong_kind(term, part_type) {
                        return Err(QueryError::invalid(format!(
                            "Invalid map literal for {what}: {part} {} is not of type {}",
                            term_text(term),
                            type_name(part_type)
                        )));
                    }
                }
                let k = required(evaluate(k, kt, binds, what)?, what)?;
                let v = required(evaluate(v, vt, binds, what)?, what)?;
                out.push((k, v));
            }
            Value::Map(out).normalized()
        }
        // `{}` is an empty map literal; it is also the empty set.
        (Term::Map(pairs), ColumnType::Set(_)) if pairs.is_empty() => Value::Set(Vec::new()),
        (Term::Tuple(items), ColumnType::Tuple(types)) => {
            if items.len() > types.len() {
                return Err(QueryError::invalid(format!(
                    "Invalid tuple literal for {what}: too many elements. Type {} expects {} but got {}",
                    type_name(ty),
                    types.len(),
                    items.len()
                )));
            }
            let mut out = Vec::with_capacity(types.len());
            for (i, t) in types.iter().enumerate() {
                out.push(match items.get(i) {
                    Some(term) => evaluate(term, t, binds, what)?.into_value(),
                    None => None,
                });
            }
            Value::Tuple(out)
        }
        (Term::UserType(fields), ColumnType::Udt { fields: types, name, .. }) => {
            for (f, _) in fields {
                if !types.iter().any(|(n, _)| n == f) {
                    return Err(QueryError::invalid(format!(
                        "Unknown field '{f}' in value of user defined type {name}"
                    )));
                }
            }
            let mut out = Vec::with_capacity(types.len());
            for (fname, fty) in types {
                let v = match fields.iter().find(|(f, _)| f == fname) {
                    Some((_, term)) => evaluate(term, fty, binds, what)?.into_value(),
                    None => None,
                };
                out.push((fname.clone(), v));
            }
            Value::Udt(out)
        }
        (Term::Map(pairs), ColumnType::Udt { .. }) if pairs.is_empty() => return evaluate(&Term::UserType(Vec::new()), ty, binds, what),
        _ => return Err(mismatch()),
    };
    Ok(Evaluated::Value(value))
}

fn required(e: Evaluated, what: &str) -> Result<Value, QueryError> {
    e.into_value()
        .ok_or_else(|| QueryError::invalid(format!("null is not supported inside collections (\"{what}\")")))
}

fn elements(items: &[Term], ty: &ColumnType, binds: &Binds, what: &str) -> Result<Vec<Value>, QueryError> {
    items.iter().map(|t| required(evaluate(t, ty, binds, what)?, what)).collect()
}

fn term_kind(term: &Term) -> &'static str {
    match term {
        // Cassandra's constant kinds (Constants.Type), as its messages name them.
        Term::Integer(_) => "INTEGER",
        Term::Float(_) => "FLOAT",
        Term::String(_) => "STRING",
        Term::Boolean(_) => "BOOLEAN",
        Term::Uuid(_) => "UUID",
        Term::Blob(_) => "HEX",
        Term::Duration(_) => "DURATION",
        Term::List(_) => "list",
        Term::Set(_) => "set",
        Term::Map(_) | Term::UserType(_) => "map",
        Term::Tuple(_) => "tuple",
        _ => "",
    }
}

/// Cassandra's name of a type, as in error messages and `system_schema.columns.type`.
pub fn type_name(ty: &ColumnType) -> String {
    match ty {
        ColumnType::Custom(c) => format!("'{c}'"),
        ColumnType::Ascii => "ascii".into(),
        ColumnType::Bigint => "bigint".into(),
        ColumnType::Blob => "blob".into(),
        ColumnType::Boolean => "boolean".into(),
        ColumnType::Counter => "counter".into(),
        ColumnType::Decimal => "decimal".into(),
        ColumnType::Double => "double".into(),
        ColumnType::Float => "float".into(),
        ColumnType::Int => "int".into(),
        ColumnType::Timestamp => "timestamp".into(),
        ColumnType::Uuid => "uuid".into(),
        ColumnType::Varchar => "text".into(),
        ColumnType::Varint => "varint".into(),
        ColumnType::Timeuuid => "timeuuid".into(),
        ColumnType::Inet => "inet".into(),
        ColumnType::Date => "date".into(),
        ColumnType::Time => "time".into(),
        ColumnType::Smallint => "smallint".into(),
        ColumnType::Tinyint => "tinyint".into(),
        ColumnType::Duration => "duration".into(),
        ColumnType::List(t) => format!("list<{}>", type_name(t)),
        ColumnType::Set(t) => format!("set<{}>", type_name(t)),
        ColumnType::Map(k, v) => format!("map<{}, {}>", type_name(k), type_name(v)),
        ColumnType::Udt { name, .. } => name.clone(),
        ColumnType::Tuple(ts) => format!("tuple<{}>", ts.iter().map(type_name).collect::<Vec<_>>().join(", ")),
    }
}

fn integer(s: &str, ty: &ColumnType) -> Option<Value> {
    Some(match ty {
        ColumnType::Int => Value::Int(s.parse().ok()?),
        ColumnType::Bigint => Value::Bigint(s.parse().ok()?),
        ColumnType::Counter => Value::Counter(s.parse().ok()?),
        ColumnType::Smallint => Value::Smallint(s.parse().ok()?),
        ColumnType::Tinyint => Value::Tinyint(s.parse().ok()?),
        ColumnType::Varint => Value::Varint(BigInt::from_str(s).ok()?),
        ColumnType::Timestamp => Value::Timestamp(s.parse().ok()?),
        ColumnType::Date => Value::Date(s.parse().ok()?),
        ColumnType::Time => Value::Time(s.parse().ok()?),
        ColumnType::Decimal => Value::Decimal {
            unscaled: BigInt::from_str(s).ok()?,
            scale: 0,
        },
        ColumnType::Double => Value::Double(s.parse().ok()?),
        ColumnType::Float => Value::Float(s.parse().ok()?),
        _ => return None,
    })
}

fn float(s: &str, ty: &ColumnType) -> Option<Value> {
    Some(match ty {
        ColumnType::Double => Value::Double(s.parse().ok()?),
        ColumnType::Float => Value::Float(s.parse().ok()?),
        ColumnType::Decimal => parse_decimal(s)?,
        _ => return None,
    })
}

/// `-12.345e2` as an unscaled integer and a scale.
pub fn parse_decimal(s: &str) -> Option<Value> {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (s.get(..i)?, s.get(i + 1..)?.parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (mantissa.get(..i)?, mantissa.get(i + 1..)?),
        None => (mantissa, ""),
    };
    let digits = format!("{int_part}{frac_part}");
    let unscaled = BigInt::from_str(&digits).ok()?;
    let scale = i32::try_from(frac_part.len()).ok()?.checked_sub(exponent)?;
    Some(Value::Decimal { unscaled, scale })
}

/// Why a string literal is not a value of its type.
enum Refusal {
    /// A reason, said after the value and the column it was meant for.
    Detail(String),
    /// Cassandra's own words for it, said as they are.
    Message(String),
    /// A string is no constant of this type at all ("Invalid STRING constant").
    Kind,
}

impl From<&str> for Refusal {
    fn from(detail: &str) -> Refusal {
        Refusal::Detail(detail.to_string())
    }
}

fn string(s: &str, ty: &ColumnType) -> Result<Value, Refusal> {
    Ok(match ty {
        ColumnType::Varchar => Value::Text(s.to_string()),
        ColumnType::Ascii if s.is_ascii() => Value::Ascii(s.to_string()),
        ColumnType::Ascii => return Err("not an ASCII string".into()),
        ColumnType::Timestamp => Value::Timestamp(timestamp_literal(s).map_err(Refusal::Message)?),
        ColumnType::Date => Value::Date(parse_date(s).map_err(Refusal::Message)?),
        ColumnType::Time => Value::Time(
            parse_time(s).ok_or_else(|| Refusal::Message(format!("(TimeType) Unable to coerce '{s}' to a formatted time (long)")))?,
        ),
        ColumnType::Inet => Value::Inet(IpAddr::from_str(s).map_err(|_| "Unable to make an inet address from it")?),
        ColumnType::Uuid => Value::Uuid(Uuid::parse_str(s).map_err(|_| "Unable to make a UUID from it")?),
        ColumnType::Timeuuid => Value::Timeuuid(Uuid::parse_str(s).map_err(|_| "Unable to make a UUID from it")?),
        ColumnType::Duration => parse_duration(s).map_err(|_| "Unable to convert it to a duration")?,
        ColumnType::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Boolean(true),
            "false" => Value::Boolean(false),
            _ => return Err("expected true or false".into()),
        },
        _ => return Err(Refusal::Kind),
    })
}

/// Whether a plain constant can never be a value of `ty`, as Cassandra's
/// testAssignment decides by the constant's kind alone.
fn wrong_kind(term: &Term, ty: &ColumnType) -> bool {
    use ColumnType as T;
    let numeric = matches!(
        ty,
        T::Int | T::Bigint | T::Smallint | T::Tinyint | T::Varint | T::Counter | T::Decimal | T::Double | T::Float
    );
    match term {
        Term::Integer(_) => !(numeric || matches!(ty, T::Timestamp | T::Date | T::Time)),
        Term::Float(_) => !matches!(ty, T::Decimal | T::Double | T::Float),
        Term::String(_) => numeric || matches!(ty, T::Blob | T::List(_) | T::Set(_) | T::Map(..) | T::Tuple(_)),
        Term::Boolean(_) => !matches!(ty, T::Boolean),
        _ => false,
    }
}

/// Whether a literal is Cassandra's "raw" form of a date or timestamp: an
/// optional minus and digits.
fn is_raw_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A timestamp literal as Cassandra's `TimestampSerializer` reads it: `now`,
/// milliseconds since the epoch, or a date and time; refused in its words
/// (those of 4.0 and later, which read dates with `java.time`).
pub(super) fn timestamp_literal(s: &str) -> Result<i64, String> {
    if s.eq_ignore_ascii_case("now") {
        return Ok(chrono::Utc::now().timestamp_millis());
    }
    if is_raw_number(s) {
        return s.parse().map_err(|_| format!("Unable to make long (for date) from: '{s}'"));
    }
    parse_timestamp(s).ok_or_else(|| format!("Unable to parse a date/time from '{s}'"))
}

/// Milliseconds since the epoch from Cassandra's accepted timestamp formats.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let (body, offset_secs) = split_zone(s);
    let body = body.replacen('T', " ", 1);
    const FORMATS: [&str; 4] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"];
    for f in FORMATS {
        let parsed = if f == "%Y-%m-%d" {
            NaiveDate::parse_from_str(&body, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0))
        } else {
            NaiveDateTime::parse_from_str(&body, f).ok()
        };
        if let Some(dt) = parsed {
            return Some(dt.and_utc().timestamp_millis() - offset_secs * 1000);
        }
    }
    None
}

/// Splits a trailing `Z`, `+hh:mm`, `+hhmm` or `-hh` zone off a timestamp.
fn split_zone(s: &str) -> (String, i64) {
    if let Some(b) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return (b.trim().to_string(), 0);
    }
    let date_len = 10.min(s.len());
    if let Some(pos) = s.get(date_len..).and_then(|rest| rest.rfind(['+', '-'])) {
        let pos = pos + date_len;
        let (body, zone) = s.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone.chars().filter(|c| c.is_ascii_digit()).collect();
        let (h, m) = match digits.len() {
            2 => (digits.parse::<i64>().unwrap_or(0), 0),
            4 => (
                digits.get(..2).and_then(|d| d.parse().ok()).unwrap_or(0),
                digits.get(2..).and_then(|d| d.parse().ok()).unwrap_or(0),
            ),
            _ => return (s.to_string(), 0),
        };
        return (body.trim().to_string(), sign * (h * 3600 + m * 60));
    }
    (s.to_string(), 0)
}

/// Days since the epoch, offset by 2^31 as the protocol encodes dates, as
/// Cassandra's `SimpleDateSerializer` reads a literal: a string of digits is that
/// raw value itself (the epoch is 2^31); otherwise an ISO date (`yyyy-mm-dd`,
/// more year digits after a sign) between -5877641-06-23 and +5881580-07-11.
/// Refused in Cassandra's words.
pub fn parse_date(s: &str) -> Result<u32, String> {
    if is_raw_number(s) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|raw| u32::try_from(raw).ok())
            .ok_or_else(|| format!("Unable to make unsigned int (for date) from: '{s}'"));
    }
    let days = iso_days(s).ok_or_else(|| format!("Unable to coerce '{s}' to a formatted date (long)"))?;
    if days < i64::from(i32::MIN) {
        return Err(format!("Input date {s} is less than min supported date -5877641-06-23T00:00Z"));
    }
    if days > i64::from(i32::MAX) {
        return Err(format!("Input date {s} is greater than max supported date +5881580-07-11T00:00Z"));
    }
    u32::try_from(days + (1i64 << 31)).map_err(|_| format!("Unable to coerce '{s}' to a formatted date (long)"))
}

/// Days since 1970-01-01 of a strict ISO date: four year digits, or more (up
/// to nine) after a `+` or `-`; a month and a day of two digits that exist in
/// the proleptic Gregorian calendar.
fn iso_days(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (Some(1), s.get(1..)?),
        b'-' => (Some(-1), s.get(1..)?),
        _ => (None, s),
    };
    let mut parts = rest.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, n: std::ops::RangeInclusive<usize>| n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    let year_digits = match sign {
        None => 4..=4,
        Some(1) => 5..=9,
        Some(_) => 4..=9,
    };
    if parts.next().is_some() || !digits(year, year_digits) || !digits(month, 2..=2) || !digits(day, 2..=2) {
        return None;
    }
    let year = sign.unwrap_or(1) * year.parse::<i64>().ok()?;
    let (month, day) = (month.parse::<i64>().ok()?, day.parse::<i64>().ok()?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), in i64 throughout.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// Nanoseconds since midnight, from `hh:mm:ss[.fffffffff]` (Cassandra's
/// `TimeSerializer` wants the seconds too).
pub fn parse_time(s: &str) -> Option<i64> {
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
        .ok()?;
    Some(i64::from(t.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(t.nanosecond()))
}

/// A duration as Cassandra's `Duration.from` reads it: `1y2mo3w4d5h6m7s8ms9us10ns`
/// (units in that order, each once, any case) or ISO 8601 (`P1Y2M3DT4H5M6S`,
/// `P2W`), with a leading `-` for a negative one; refused in its words.
pub fn parse_duration(s: &str) -> Result<Value, String> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let unreadable = || format!("Unable to convert '{s}' to a duration");
    let units = match body.to_ascii_uppercase().strip_prefix('P') {
        Some(iso) => iso_duration(iso),
        None => unit_duration(&body.to_ascii_lowercase()),
    }
    .ok_or_else(unreadable)?;
    let mut builder = DurationBuilder::default();
    for (unit, n) in units {
        builder.add(unit, n)?;
    }
    let sign = if negative { -1 } else { 1 };
    Ok(Value::Duration {
        months: i32::try_from(builder.months * sign).map_err(|_| unreadable())?,
        days: i32::try_from(builder.days * sign).map_err(|_| unreadable())?,
        nanoseconds: builder.nanos * sign,
    })
}

/// The units of a duration, in the order they must come, with their names
/// in Cassandra's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DurationUnit {
    Years,
    Months,
    Weeks,
    Days,
    Hours,
    Minutes,
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl DurationUnit {
    fn name(self) -> &'static str {
        match self {
            DurationUnit::Years => "years",
            DurationUnit::Months => "months",
            DurationUnit::Weeks => "weeks",
            DurationUnit::Days => "days",
            DurationUnit::Hours => "hours",
            DurationUnit::Minutes => "minutes",
            DurationUnit::Seconds => "seconds",
            DurationUnit::Milliseconds => "milliseconds",
            DurationUnit::Microseconds => "microseconds",
            DurationUnit::Nanoseconds => "nanoseconds",
        }
    }
}

/// Cassandra's `Duration.Builder`: units in order, each once, and totals
/// that fit (months and days in an int, nanoseconds in a long).
#[derive(Default)]
struct DurationBuilder {
    last: Option<DurationUnit>,
    months: i64,
    days: i64,
    nanos: i64,
}

impl DurationBuilder {
    fn add(&mut self, unit: DurationUnit, n: i64) -> Result<(), String> {
        use DurationUnit as U;
        match self.last {
            Some(last) if last == unit => return Err(format!("Invalid duration. The {} are specified multiple times", unit.name())),
            Some(last) if last > unit => return Err(format!("Invalid duration. The {} should be after {}", last.name(), unit.name())),
            _ => self.last = Some(unit),
        }
        let too_many = |total: &str, max: i64| format!("Invalid duration. The total number of {total} must be less or equal to {max}");
        let int_max = i64::from(i32::MAX);
        let (total, per_unit, name, max) = match unit {
            U::Years => (&mut self.months, 12, "months", int_max),
            U::Months => (&mut self.months, 1, "months", int_max),
            U::Weeks => (&mut self.days, 7, "days", int_max),
            U::Days => (&mut self.days, 1, "days", int_max),
            U::Hours => (&mut self.nanos, 3_600_000_000_000, "nanoseconds", i64::MAX),
            U::Minutes => (&mut self.nanos, 60_000_000_000, "nanoseconds", i64::MAX),
            U::Seconds => (&mut self.nanos, 1_000_000_000, "nanoseconds", i64::MAX),
            U::Milliseconds => (&mut self.nanos, 1_000_000, "nanoseconds", i64::MAX),
            U::Microseconds => (&mut self.nanos, 1_000, "nanoseconds", i64::MAX),
            U::Nanoseconds => (&mut self.nanos, 1, "nanoseconds", i64::MAX),
        };
        if n > (max - *total) / per_unit {
            return Err(too_many(name, max));
        }
        *total += n * per_unit;
        Ok(())
    }
}

/// `1y2mo...` as (unit, count) pairs in the order written; `None` when it
/// is not of that shape.
fn unit_duration(s: &str) -> Option<Vec<(DurationUnit, i64)>> {
    use DurationUnit as U;
    let mut units = Vec::new();
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let n: i64 = rest.get(..digits_end)?.parse().ok()?;
        rest = rest.get(digits_end..)?;
        let unit_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = rest.get(..unit_end)?;
        rest = rest.get(unit_end..)?;
        units.push((
            match unit {
                "y" => U::Years,
                "mo" => U::Months,
                "w" => U::Weeks,
                "d" => U::Days,
                "h" => U::Hours,
                "m" => U::Minutes,
                "s" => U::Seconds,
                "ms" => U::Milliseconds,
                "us" | "µs" => U::Microseconds,
                "ns" => U::Nanoseconds,
                _ => return None,
            },
            n,
        ));
    }
    Some(units)
}

/// ISO 8601 after its `P`, as Cassandra's patterns take it: `nYnMnD` then
/// `TnHnMnS` (each part optional, in that order), or `nW` alone.
fn iso_duration(s: &str) -> Option<Vec<(DurationUnit, i64)>> {
    use DurationUnit as U;
    if let Some(weeks) = s.strip_suffix('W') {
        return Some(vec![(U::Weeks, number(weeks)?)]);
    }
    let (date, time) = match s.split_once('T') {
        Some((_, "")) => return None,
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut units = iso_parts(date, &[('Y', U::Years), ('M', U::Months), ('D', U::Days)])?;
    if let Some(time) = time {
        units.extend(iso_parts(time, &[('H', U::Hours), ('M', U::Minutes), ('S', U::Seconds)])?);
    }
    (!units.is_empty()).then_some(units)
}

/// Numbers each followed by one of `designators`, in their order, each at
/// most once.
fn iso_parts(mut s: &str, designators: &[(char, DurationUnit)]) -> Option<Vec<(DurationUnit, i64)>> {
    let mut parts = Vec::new();
    let mut allowed = designators.iter();
    while !s.is_empty() {
        let end = s.find(|c: char| !c.is_ascii_digit())?;
        let designator = s.get(end..)?.chars().next()?;
        let (_, unit) = allowed.by_ref().find(|(d, _)| *d == designator)?;
        parts.push((*unit, number(s.get(..end)?)?));
        s = s.get(end + designator.len_utf8()..)?;
    }
    Some(parts)
}

fn number(digits: &str) -> Option<i64> {
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

pub(super) fn new_timeuuid() -> Uuid {
    let node: [u8; 6] = rand::random();
    Uuid::now_v1(&node)
}

/// Milliseconds since the epoch encoded in a version 1 uuid.
pub fn timeuuid_millis(u: &Uuid) -> Option<i64> {
    let ts = u.get_timestamp()?;
    let (secs, nanos) = ts.to_unix();
    Some(i64::try_from(secs).ok()? * 1000 + i64::from(nanos / 1_000_000))
}

fn call_function(name: &str, args: &[Term], ty: &ColumnType, binds: &Binds, what: &str) -> Result<Evaluated, QueryError> {
    let arg = |i: usize, t: &ColumnType| -> Result<Option<Value>, QueryError> {
        match args.get(i) {
            Some(term) => Ok(evaluate(term, t, binds, what)?.into_value()),
            None => Err(QueryError::invalid(format!(
                "Invalid number of arguments in call to function {name}"
            ))),
        }
    };
    if let Some(f) = Current::of(name).filter(|f| f.ty() == *ty) {
        return Ok(Evaluated::Value(f.value()));
    }
    if let Some(conversion) = BlobConversion::of(name).filter(|c| c.types().1 == *ty) {
        return Ok(match arg(0, &conversion.types().0)? {
            Some(v) => Evaluated::Value(conversion.apply(v)?),
            None => Evaluated::Null,
        });
    }
    if name == "fromjson" {
        return match arg(0, &ColumnType::Varchar)? {
            Some(Value::Text(text) | Value::Ascii(text)) => super::from_json::from_json_function(&text, ty, what),
            _ => Ok(Evaluated::Null),
        };
    }
    let value = match (name, ty) {
        ("totimestamp", ColumnType::Timestamp) => match arg(0, &ColumnType::Timeuuid) {
            Ok(Some(Value::Timeuuid(u))) => Value::Timestamp(timeuuid_millis(&u).unwrap_or(0)),
            _ => match arg(0, &ColumnType::Date)? {
                Some(Value::Date(d)) => Value::Timestamp((i64::from(d) - (1i64 << 31)) * 86_400_000),
                _ => return Ok(Evaluated::Null),
            },
        },
        ("tounixtimestamp", ColumnType::Bigint) => match arg(0, &ColumnType::Timeuuid)? {
            Some(Value::Timeuuid(u)) => Value::Bigint(timeuuid_millis(&u).unwrap_or(0)),
            _ => return Ok(Evaluated::Null),
        },
        ("todate", ColumnType::Date) => match arg(0, &ColumnType::Timeuuid) {
            Ok(Some(Value::Timeuuid(u))) => Value::Date(date_from_millis(timeuuid_millis(&u).unwrap_or(0))),
            _ => match arg(0, &ColumnType::Timestamp)? {
                Some(Value::Timestamp(ms)) => Value::Date(date_from_millis(ms)),
                _ => return Ok(Evaluated::Null),
            },
        },
        ("mintimeuuid" | "maxtimeuuid", ColumnType::Timeuuid) => match arg(0, &ColumnType::Timestamp)? {
            Some(Value::Timestamp(ms)) => Value::Timeuuid(bound_timeuuid(ms, name == "maxtimeuuid")),
            _ => return Ok(Evaluated::Null),
        },
        _ => {
            return Err(QueryError::invalid(format!(
                "Unknown function {name} or it cannot produce a {} for \"{what}\"",
                type_name(ty)
            )))
        }
    };
    Ok(Evaluated::Value(value))
}

pub(super) fn date_from_millis(ms: i64) -> u32 {
    u32::try_from(ms.div_euclid(86_400_000) + (1i64 << 31)).unwrap_or(0)
}

/// The smallest or largest version 1 uuid at a millisecond.
fn bound_timeuuid(ms: i64, max: bool) -> Uuid {
    let ticks = (ms as u64).wrapping_mul(10_000).wrapping_add(0x01B2_1DD2_1381_4000) + if max { 9_999 } else { 0 };
    let time_low = (ticks & 0xFFFF_FFFF) as u32;
    let time_mid = ((ticks >> 32) & 0xFFFF) as u16;
    let time_hi = (((ticks >> 48) & 0x0FFF) as u16) | 0x1000;
    let tail: [u8; 8] = if max {
        [0xBF, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F]
    } else {
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]
    };
    Uuid::from_fields(time_low, time_mid, time_hi, &tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_cassandra_formats() {
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01 00:00:01"), Some(1000));
        assert_eq!(parse_timestamp("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_timestamp("1970-01-01 01:00:00+0100"), Some(0));
        assert_eq!(parse_timestamp("2024-02-30"), None);
    }

    #[test]
    fn dates_and_times_use_the_protocol_encoding() {
        assert_eq!(parse_date("1970-01-02"), Ok((1u32 << 31) + 1));
        assert_eq!(parse_date("123"), Ok(123), "digits are the raw value, as in Cassandra");
        assert_eq!(parse_date("2147483648"), parse_date("1970-01-01"));
        assert_eq!(parse_date("4294967295"), Ok(u32::MAX));
        let raw = |s: &str| Err(format!("Unable to make unsigned int (for date) from: '{s}'"));
        assert_eq!(parse_date("4294967296"), raw("4294967296"), "out of range");
        assert_eq!(parse_date("-5"), raw("-5"));
        assert_eq!(parse_time("00:00:01.000000002"), Some(1_000_000_002));
        assert_eq!(parse_time("12:30"), None);
    }

    #[test]
    fn dates_cover_cassandras_range_and_are_refused_in_its_words() {
        let days = |s: &str| parse_date(s).map(|d| i64::from(d) - (1i64 << 31));
        assert_eq!(days("-5877641-06-23"), Ok(i64::from(i32::MIN)), "the first date");
        assert_eq!(days("+5881580-07-11"), Ok(i64::from(i32::MAX)), "the last date");
        assert_eq!(days("2000-03-01"), Ok(11_017));
        assert_eq!(days("1969-12-31"), Ok(-1));
        assert_eq!(days("2024-02-29"), Ok(19_782));
        assert_eq!(days("-0001-01-01"), Ok(-719_893));
        assert_eq!(
            parse_date("-5877641-06-22"),
            Err("Input date -5877641-06-22 is less than min supported date -5877641-06-23T00:00Z".into())
        );
        assert_eq!(
            parse_date("+5881580-07-12"),
            Err("Input date +5881580-07-12 is greater than max supported date +5881580-07-11T00:00Z".into())
        );
        for bad in [
            "abc",
            "2023-02-29",
            "2020-13-01",
            "20-01-01",
            "5881580-07-11",
            "+2020-01-01",
            "2020-1-01",
            "2020-01-01x",
            "",
        ] {
            assert_eq!(
                parse_date(bad),
                Err(format!("Unable to coerce '{bad}' to a formatted date (long)")),
                "{bad}"
            );
        }
    }

    #[test]
    fn timestamps_are_refused_in_cassandras_words() {
        assert_eq!(timestamp_literal("1500"), Ok(1500));
        assert!(timestamp_literal("now").is_ok_and(|ms| ms > 1_700_000_000_000));
        assert_eq!(
            timestamp_literal("99999999999999999999"),
            Err("Unable to make long (for date) from: '99999999999999999999'".into())
        );
        assert_eq!(timestamp_literal("abc"), Err("Unable to parse a date/time from 'abc'".into()));
    }

    #[test]
    fn durations_parse_in_both_notations() {
        let d = |m, d, n| {
            Ok(Value::Duration {
                months: m,
                days: d,
                nanoseconds: n,
            })
        };
        assert_eq!(parse_duration("1y2mo3d4h"), d(14, 3, 4 * 3_600_000_000_000));
        assert_eq!(parse_duration("1Y2MO3D4H5µs"), d(14, 3, 4 * 3_600_000_000_000 + 5_000));
        assert_eq!(parse_duration("P1DT2H"), d(0, 1, 2 * 3_600_000_000_000));
        assert_eq!(parse_duration("P1Y2M3DT4H5M6S"), d(14, 3, 14_706_000_000_000));
        assert_eq!(parse_duration("P2W"), d(0, 14, 0));
        assert_eq!(parse_duration("-2w"), d(0, -14, 0));
        let refused = |text: &str| parse_duration(text).unwrap_err();
        assert_eq!(refused("3x"), "Unable to convert '3x' to a duration");
        assert_eq!(refused("P1D1Y"), "Unable to convert 'P1D1Y' to a duration");
        assert_eq!(refused("P1W2D"), "Unable to convert 'P1W2D' to a duration");
        assert_eq!(refused("PT"), "Unable to convert 'PT' to a duration");
        assert_eq!(refused("1h1h"), "Invalid duration. The hours are specified multiple times");
        assert_eq!(refused("1h1d"), "Invalid duration. The hours should be after days");
        assert_eq!(
            refused("178956971y"),
            "Invalid duration. The total number of months must be less or equal to 2147483647"
        );
        assert_eq!(
            refused("2562048h"),
            "Invalid duration. The total number of nanoseconds must be less or equal to 9223372036854775807"
        );
        assert!(parse_duration("2147483647mo").is_ok());
    }

    #[test]
    fn decimals_keep_their_scale() {
        assert_eq!(
            parse_decimal("-1.50"),
            Some(Value::Decimal {
                unscaled: BigInt::from(-150),
                scale: 2
            })
        );
        assert_eq!(
            parse_decimal("2e3"),
            Some(Value::Decimal {
                unscaled: BigInt::from(2),
                scale: -3
            })
        );
    }

    #[test]
    fn a_string_literal_for_an_int_column_is_an_invalid_request() {
        let err = evaluate(&Term::String("x".into()), &ColumnType::Int, &Binds::default(), "v").unwrap_err();
        assert!(matches!(err, QueryError::Invalid { .. }), "{err:?}");
    }
}
