//! A flight as the `aviation` keyspace holds it: the schedule a client creates
//! ([`NewFlight`]), the `flights` row as read back ([`Flight`]), the live position
//! row ([`LivePosition`]), which side of a flight a `flights_by_airport` row is
//! ([`Direction`]), the flight id and the UTC days and CQL dates the tables are keyed
//! by. Plain data and arithmetic: no I/O.

use chrono::{DateTime, NaiveDate};
use scylla::value::CqlDate;

/// Milliseconds since the Unix epoch (UTC), the CQL `timestamp` unit. Every time in
/// the schedule tables is real UTC time.
pub type Millis = i64;

pub const DAY_MS: Millis = 86_400_000;

/// Which side of a flight a `flights_by_airport` row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Departure,
    Arrival,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Departure => "departure",
            Direction::Arrival => "arrival",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "departure" => Some(Direction::Departure),
            "arrival" => Some(Direction::Arrival),
            _ => None,
        }
    }
}

/// A flight to schedule: its `flights` row, its two `flights_by_airport` rows and its
/// `departures` row follow from it (`statements::schedule_flight`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewFlight {
    pub flight_id: String,
    pub number: String,
    pub airline: String,
    pub origin: String,
    pub destination: String,
    pub scheduled_departure: Millis,
    pub scheduled_arrival: Millis,
    pub aircraft: String,
    pub cruise_speed_kmh: f64,
}

impl NewFlight {
    /// (direction, airport, other airport, scheduled time) of both airport rows.
    pub fn sides(&self) -> [(Direction, &str, &str, Millis); 2] {
        [
            (Direction::Departure, &self.origin, &self.destination, self.scheduled_departure),
            (Direction::Arrival, &self.destination, &self.origin, self.scheduled_arrival),
        ]
    }
}

/// One `flights` row as read back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flight {
    pub flight_id: String,
    pub number: String,
    pub airline: String,
    pub origin: String,
    pub destination: String,
    pub scheduled_departure: Option<Millis>,
    pub scheduled_arrival: Option<Millis>,
    pub actual_departure: Option<Millis>,
    pub actual_arrival: Option<Millis>,
    pub aircraft: String,
    pub status: String,
    pub cruise_speed_kmh: Option<f64>,
    /// The simulator flying it, once one has claimed it.
    pub claimed_by: Option<String>,
    /// Until when that claim holds unless renewed.
    pub lease_until: Option<Millis>,
}

impl Flight {
    /// (direction, airport, scheduled time) of both airport rows, when the row has
    /// its scheduled times.
    pub fn sides(&self) -> Vec<(Direction, &str, Millis)> {
        let mut out = Vec::with_capacity(2);
        if let Some(at) = self.scheduled_departure {
            out.push((Direction::Departure, self.origin.as_str(), at));
        }
        if let Some(at) = self.scheduled_arrival {
            out.push((Direction::Arrival, self.destination.as_str(), at));
        }
        out
    }
}

/// One `flight_positions` row: a plane in the air, as its simulator last wrote it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LivePosition {
    pub flight_id: String,
    pub number: String,
    pub origin: String,
    pub destination: String,
    pub latitude: f64,
    pub longitude: f64,
    pub altitude_m: f64,
    pub ground_speed_kmh: f64,
    pub heading_deg: f64,
    pub fuel_kg: f64,
    pub progress: f64,
    /// Wall-clock time of the write.
    pub updated_at: Option<Millis>,
    /// The flight's simulated instant (it runs `--time-scale` times faster than the
    /// wall clock from the take-off).
    pub sim_time: Option<Millis>,
}

/// `AR1132-20261122`: the number and the UTC date of the scheduled departure.
pub fn flight_id(number: &str, departure: Millis) -> String {
    format!("{number}-{}", day_of(departure).format("%Y%m%d"))
}

pub fn days_since_epoch(day: NaiveDate) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (day - epoch).num_days()
}

/// Midnight UTC at the start of `day`.
pub fn day_start(day: NaiveDate) -> Millis {
    days_since_epoch(day) * DAY_MS
}

/// The UTC day holding `t`.
pub fn day_of(t: Millis) -> NaiveDate {
    DateTime::from_timestamp_millis(t.div_euclid(DAY_MS) * DAY_MS)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

/// The CQL `date` of a day: days since the epoch, offset by 2^31.
pub fn cql_date(day: NaiveDate) -> CqlDate {
    CqlDate((days_since_epoch(day) + (1i64 << 31)) as u32)
}

/// The CQL `date` of the UTC day holding `t`.
pub fn cql_date_of(t: Millis) -> CqlDate {
    CqlDate((t.div_euclid(DAY_MS) + (1i64 << 31)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_the_epoch_offset_by_two_to_the_31() {
        assert_eq!(cql_date_of(0), CqlDate(1 << 31));
        assert_eq!(cql_date_of(DAY_MS - 1), CqlDate(1 << 31));
        assert_eq!(cql_date_of(-1), CqlDate((1u32 << 31) - 1));
        // 2026-11-22 is day 20779.
        assert_eq!(cql_date_of(1_795_334_400_000), CqlDate((1 << 31) + 20_779));
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(cql_date(day), CqlDate((1 << 31) + 20_779));
        assert_eq!(cql_date(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()), CqlDate((1 << 31) - 1));
        assert_eq!(day_of(1_795_334_400_000 + 3_600_000), day);
        assert_eq!(day_start(day), 1_795_305_600_000);
    }

    #[test]
    fn a_flight_id_is_the_number_and_the_utc_day_of_departure() {
        assert_eq!(flight_id("AR1132", 1_795_305_600_000 + DAY_MS - 1), "AR1132-20261122");
    }
}
