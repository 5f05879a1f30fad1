//! The "new flight" form and the date and time arithmetic behind it: checking what the
//! user typed (missing fields, destination equal to origin, arrival before departure),
//! turning it into a [`NewFlight`] to write, and the UTC days and `HH:MM` times the
//! panels show. Pure: no I/O, no drawing.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};

use crate::model::{Airport, Millis};

const DAY_MS: i64 = 86_400_000;

pub use aviation::flight::{day_of, day_start, days_since_epoch, flight_id, NewFlight};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Number,
    Airline,
    Destination,
    Departure,
    Arrival,
}

/// What the user typed, and the problems found the last time it was checked.
#[derive(Debug, Clone, PartialEq)]
pub struct FlightForm {
    pub number: String,
    pub airline: String,
    pub destination: String,
    /// `HH:MM`, UTC, on the selected day.
    pub departure: String,
    /// `HH:MM`, UTC; `HH:MM+1` for the next day.
    pub arrival: String,
    pub aircraft: String,
    pub errors: BTreeMap<Field, String>,
}

impl Default for FlightForm {
    fn default() -> Self {
        FlightForm {
            number: String::new(),
            airline: String::new(),
            destination: String::new(),
            departure: "12:00".into(),
            arrival: "14:00".into(),
            aircraft: "A320".into(),
            errors: BTreeMap::new(),
        }
    }
}

impl FlightForm {
    pub fn error(&self, field: Field) -> Option<&str> {
        self.errors.get(&field).map(String::as_str)
    }

    pub fn clear_errors(&mut self) {
        self.errors.clear();
    }

    /// After a successful write: keep the times and aircraft for the next flight.
    pub fn reset_after_create(&mut self) {
        self.number.clear();
        self.destination.clear();
        self.errors.clear();
    }

    /// Checks the form for a flight from `origin` on `day`; on failure every problem is
    /// returned (and kept in `errors`), field by field, and nothing is to be written.
    pub fn validate(&mut self, origin: &str, day: NaiveDate, airports: &BTreeMap<String, Airport>) -> Option<NewFlight> {
        let (flight, errors) = check(self, origin, day, airports);
        self.errors = errors;
        flight
    }
}

fn check(
    form: &FlightForm,
    origin: &str,
    day: NaiveDate,
    airports: &BTreeMap<String, Airport>,
) -> (Option<NewFlight>, BTreeMap<Field, String>) {
    let mut errors = BTreeMap::new();
    let number = form.number.trim().to_ascii_uppercase();
    if number.is_empty() {
        errors.insert(Field::Number, "flight number is required".to_string());
    } else if number.len() > 10 || !number.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.insert(Field::Number, "letters and digits only, at most 10".to_string());
    }
    let airline = match form.airline.trim().to_ascii_uppercase() {
        a if a.is_empty() => number.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>(),
        a => a,
    };
    if airline.is_empty() {
        errors.insert(Field::Airline, "airline is required".to_string());
    }
    let destination = form.destination.trim().to_ascii_uppercase();
    if destination.is_empty() {
        errors.insert(Field::Destination, "destination is required".to_string());
    } else if destination == origin {
        errors.insert(Field::Destination, format!("destination cannot be the origin {origin}"));
    } else if !airports.contains_key(&destination) {
        errors.insert(Field::Destination, format!("unknown airport {destination}"));
    }
    let departure = parse_time_on(day, &form.departure);
    if departure.is_none() {
        errors.insert(Field::Departure, "departure must be HH:MM".to_string());
    }
    let arrival = parse_time_on(day, &form.arrival);
    match (departure, arrival) {
        (_, None) => {
            errors.insert(Field::Arrival, "arrival must be HH:MM or HH:MM+1".to_string());
        }
        (Some(d), Some(a)) if a <= d => {
            errors.insert(
                Field::Arrival,
                "arrival must be after departure (HH:MM+1 for the next day)".to_string(),
            );
        }
        _ => {}
    }
    if !errors.is_empty() {
        return (None, errors);
    }
    let (Some(departure), Some(arrival)) = (departure, arrival) else {
        return (None, errors);
    };
    let distance = match (airports.get(origin), airports.get(&destination)) {
        (Some(a), Some(b)) => crate::geo::distance_km((a.latitude, a.longitude), (b.latitude, b.longitude)),
        _ => 0.0,
    };
    let hours = (arrival - departure) as f64 / 3_600_000.0;
    let aircraft = match form.aircraft.trim() {
        "" => "A320".to_string(),
        a => a.to_ascii_uppercase(),
    };
    let flight = NewFlight {
        flight_id: flight_id(&number, departure),
        number,
        airline,
        origin: origin.to_string(),
        destination,
        scheduled_departure: departure,
        scheduled_arrival: arrival,
        aircraft,
        cruise_speed_kmh: (distance / hours).clamp(200.0, 950.0),
    };
    (Some(flight), errors)
}

/// `HH:MM` or `HH:MM+1` on `day` (UTC), in milliseconds since the epoch.
pub fn parse_time_on(day: NaiveDate, text: &str) -> Option<Millis> {
    let text = text.trim();
    let (time, next_day) = match text.strip_suffix("+1") {
        Some(t) => (t.trim(), true),
        None => (text, false),
    };
    let time = NaiveTime::parse_from_str(time, "%H:%M").ok()?;
    let start = day_start(day);
    Some(start + i64::from(time.num_seconds_from_midnight()) * 1000 + if next_day { DAY_MS } else { 0 })
}

/// `HH:MM` of `t` (UTC), with `+N` / `-N` days when it is not on `day`.
pub fn format_time(t: Millis, day: NaiveDate) -> String {
    let Some(at) = DateTime::from_timestamp_millis(t) else {
        return "?".to_string();
    };
    let hm = at.format("%H:%M").to_string();
    match (day_of(t) - day).num_days() {
        0 => hm,
        n => format!("{hm}{n:+}"),
    }
}

/// `YYYY-MM-DD HH:MM` UTC.
pub fn format_datetime(t: Millis) -> String {
    DateTime::from_timestamp_millis(t)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "?".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::builtin_airports;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn airports() -> BTreeMap<String, Airport> {
        builtin_airports().into_iter().map(|a| (a.iata.clone(), a)).collect()
    }

    fn filled() -> FlightForm {
        FlightForm {
            number: "ar1132".into(),
            airline: String::new(),
            destination: "mad".into(),
            departure: "22:30".into(),
            arrival: "12:05+1".into(),
            ..FlightForm::default()
        }
    }

    #[test]
    fn the_utc_day_of_a_timestamp_is_counted_from_the_epoch() {
        assert_eq!(days_since_epoch(day()), 20_779);
        assert_eq!(day_start(day()), 1_795_305_600_000);
        assert_eq!(day_of(1_795_305_600_000), day());
        assert_eq!(day_of(1_795_305_600_000 - 1), day().pred_opt().unwrap());
        assert_eq!(day_of(-1), NaiveDate::from_ymd_opt(1969, 12, 31).unwrap());
    }

    #[test]
    fn times_parse_on_the_given_day_and_plus_one_means_the_next_day() {
        assert_eq!(parse_time_on(day(), "00:00"), Some(day_start(day())));
        assert_eq!(parse_time_on(day(), " 10:30 "), Some(day_start(day()) + 37_800_000));
        assert_eq!(parse_time_on(day(), "01:00+1"), Some(day_start(day()) + DAY_MS + 3_600_000));
        assert_eq!(parse_time_on(day(), "25:00"), None);
        assert_eq!(parse_time_on(day(), "noon"), None);
        assert_eq!(parse_time_on(day(), ""), None);
    }

    #[test]
    fn times_print_with_a_day_offset_when_not_on_the_shown_day() {
        let t = day_start(day()) + 37_800_000;
        assert_eq!(format_time(t, day()), "10:30");
        assert_eq!(format_time(t + DAY_MS, day()), "10:30+1");
        assert_eq!(format_time(t - DAY_MS, day()), "10:30-1");
        assert_eq!(format_datetime(t), "2026-11-22 10:30");
    }

    #[test]
    fn a_complete_form_becomes_a_flight_named_after_its_departure_day() {
        let mut form = filled();
        let flight = form.validate("EZE", day(), &airports()).expect("a valid flight");
        assert!(form.errors.is_empty());
        assert_eq!(flight.flight_id, "AR1132-20261122");
        assert_eq!(flight.number, "AR1132");
        assert_eq!(flight.airline, "AR");
        assert_eq!(flight.destination, "MAD");
        assert_eq!(flight.scheduled_arrival - flight.scheduled_departure, 13 * 3_600_000 + 35 * 60_000);
        assert!(flight.cruise_speed_kmh > 700.0 && flight.cruise_speed_kmh < 950.0);
    }

    #[test]
    fn missing_fields_are_reported_field_by_field_and_nothing_is_produced() {
        let mut form = FlightForm {
            departure: String::new(),
            ..FlightForm::default()
        };
        assert_eq!(form.validate("EZE", day(), &airports()), None);
        assert!(form.error(Field::Number).is_some());
        assert!(form.error(Field::Airline).is_some());
        assert!(form.error(Field::Destination).is_some());
        assert!(form.error(Field::Departure).is_some());
    }

    #[test]
    fn a_destination_equal_to_the_origin_or_unknown_is_refused() {
        let mut form = FlightForm {
            destination: "EZE".into(),
            ..filled()
        };
        assert_eq!(form.validate("EZE", day(), &airports()), None);
        assert!(form.error(Field::Destination).is_some_and(|e| e.contains("origin")));
        form.destination = "ZZZ".into();
        assert_eq!(form.validate("EZE", day(), &airports()), None);
        assert!(form.error(Field::Destination).is_some_and(|e| e.contains("unknown")));
    }

    #[test]
    fn an_arrival_before_the_departure_is_refused() {
        let mut form = FlightForm {
            departure: "14:00".into(),
            arrival: "13:00".into(),
            ..filled()
        };
        assert_eq!(form.validate("EZE", day(), &airports()), None);
        assert!(form.error(Field::Arrival).is_some_and(|e| e.contains("after departure")));
        assert_eq!(form.errors.len(), 1);
    }
}
