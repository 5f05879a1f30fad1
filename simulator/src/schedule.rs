//! Turning what a user types into a flight plan: flight number, airports, departure
//! time, cruise speed, airline and aircraft are checked here, before anything is
//! written, and a bad one becomes a clear `ScheduleError`. Also turns a `flights` row
//! read from the cluster back into a plan to fly, makes random flights between known
//! airports, and parses durations (`90s`, `10m`, `1h30m`). Pure: time is passed in,
//! and it is real UTC time (the one clock the schedule is written in).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use rand::seq::SliceRandom;
use rand::Rng;
use std::time::Duration;

use aviation::flight::{Flight, NewFlight};

use crate::airports::{Airport, Airports};
use crate::clock::SimTime;
use crate::flight::{aircraft, Aircraft, FlightModel, ModelError, AIRCRAFT, MAX_CRUISE_SPEED_KMH, MIN_CRUISE_SPEED_KMH};
use crate::geo::distance_km;

/// A flight as the user asked for it, still unchecked text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlightRequest {
    pub number: String,
    pub origin: String,
    pub destination: String,
    pub departure: String,
    pub cruise_speed_kmh: String,
    pub airline: Option<String>,
    pub aircraft: Option<String>,
}

/// A checked flight, ready to be written and flown.
#[derive(Debug, Clone)]
pub struct FlightPlan {
    /// `<number>-<YYYYMMDD>` of the scheduled departure (UTC): a flight number flies
    /// at most once a day.
    pub flight_id: String,
    pub number: String,
    pub airline: String,
    pub origin: Airport,
    pub destination: Airport,
    pub scheduled_departure: SimTime,
    pub scheduled_arrival: SimTime,
    pub aircraft: &'static Aircraft,
    pub model: FlightModel,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("flight number `{number}` is malformed: expected a two-character airline code and 1-4 digits, like AR1132")]
    BadFlightNumber { number: String },
    #[error("airline code `{airline}` is malformed: expected two or three letters or digits, like AR or ARG")]
    BadAirline { airline: String },
    #[error("unknown airport `{code}` (use an IATA code from aviation/data/airports.csv, like EZE)")]
    UnknownAirport { code: String },
    #[error("origin and destination are both {code}")]
    SameAirport { code: String },
    #[error("departure `{text}` is malformed: use `now`, `+30m`, `HH:MM` (UTC, today) or `YYYY-MM-DDTHH:MM` (UTC)")]
    BadDeparture { text: String },
    #[error("departure {departure} is in the past (it is now {now})")]
    DepartureInPast { departure: String, now: String },
    #[error("cruise speed `{text}` is not a number of km/h")]
    BadSpeed { text: String },
    #[error("cruise speed {speed_kmh} km/h is absurd: it must be between {MIN_CRUISE_SPEED_KMH} and {MAX_CRUISE_SPEED_KMH} km/h")]
    SpeedOutOfRange { speed_kmh: f64 },
    #[error("unknown aircraft `{code}` (known: {known})")]
    UnknownAircraft { code: String, known: String },
    #[error("flight {flight_id} already exists")]
    Duplicate { flight_id: String },
    #[error("the route {origin}-{destination} is {distance_km:.0} km long, too short to fly")]
    TooShort {
        origin: String,
        destination: String,
        distance_km: f64,
    },
}

/// Checks a request against the airports and the simulated time `now`.
pub fn plan(request: &FlightRequest, airports: &Airports, now: SimTime) -> Result<FlightPlan, ScheduleError> {
    let number = request.number.trim().to_ascii_uppercase();
    if !is_flight_number(&number) {
        return Err(ScheduleError::BadFlightNumber { number });
    }
    let airline = match &request.airline {
        Some(a) => {
            let a = a.trim().to_ascii_uppercase();
            if !(2..=3).contains(&a.len()) || !a.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ScheduleError::BadAirline { airline: a });
            }
            a
        }
        None => number[..2].to_string(),
    };
    let airport = |code: &str| {
        airports.get(code).cloned().ok_or_else(|| ScheduleError::UnknownAirport {
            code: code.trim().to_string(),
        })
    };
    let origin = airport(&request.origin)?;
    let destination = airport(&request.destination)?;
    if origin.iata == destination.iata {
        return Err(ScheduleError::SameAirport { code: origin.iata });
    }
    let departure = parse_departure(&request.departure, now)?;
    let aircraft = match &request.aircraft {
        Some(code) => aircraft(code.trim()).ok_or_else(|| ScheduleError::UnknownAircraft {
            code: code.trim().to_string(),
            known: AIRCRAFT.iter().map(|a| a.code).collect::<Vec<_>>().join(", "),
        })?,
        None => default_aircraft(distance_km(origin.location(), destination.location())),
    };
    // No speed given: the aircraft's usual cruise speed.
    let text = request.cruise_speed_kmh.trim();
    let speed: f64 = if text.is_empty() {
        aircraft.cruise_speed_kmh
    } else {
        text.parse().map_err(|_| ScheduleError::BadSpeed { text: text.to_string() })?
    };
    build(number, airline, origin, destination, departure, speed, aircraft)
}

fn build(
    number: String,
    airline: String,
    origin: Airport,
    destination: Airport,
    departure: SimTime,
    speed: f64,
    aircraft: &'static Aircraft,
) -> Result<FlightPlan, ScheduleError> {
    let model = FlightModel::new(origin.location(), destination.location(), speed, aircraft.cruise_burn_kg_h).map_err(|e| match e {
        ModelError::SpeedOutOfRange { speed_kmh, .. } => ScheduleError::SpeedOutOfRange { speed_kmh },
        ModelError::SamePlace => ScheduleError::TooShort {
            origin: origin.iata.clone(),
            destination: destination.iata.clone(),
            distance_km: distance_km(origin.location(), destination.location()),
        },
    })?;
    let scheduled_arrival = departure + (model.duration_s() * 1000.0).round() as i64;
    Ok(FlightPlan {
        flight_id: flight_id(&number, departure),
        number,
        airline,
        origin,
        destination,
        scheduled_departure: departure,
        scheduled_arrival,
        aircraft,
        model,
    })
}

pub use aviation::flight::flight_id;

impl FlightPlan {
    /// The rows scheduling this flight writes.
    pub fn to_new_flight(&self) -> NewFlight {
        NewFlight {
            flight_id: self.flight_id.clone(),
            number: self.number.clone(),
            airline: self.airline.clone(),
            origin: self.origin.iata.clone(),
            destination: self.destination.iata.clone(),
            scheduled_departure: self.scheduled_departure,
            scheduled_arrival: self.scheduled_arrival,
            aircraft: self.aircraft.code.to_string(),
            cruise_speed_kmh: self.model.cruise_speed_kmh(),
        }
    }

    /// The plan of a flight scheduled by any client, from its `flights` row. Its
    /// scheduled times stay as written (the airport rows are keyed by them) even where
    /// the model would fly it in another time; a missing or unknown aircraft or speed
    /// falls back to the route's usual airliner.
    pub fn from_flight(flight: &Flight, airports: &Airports) -> Result<FlightPlan, ScheduleError> {
        let airport = |code: &str| {
            airports
                .get(code)
                .cloned()
                .ok_or_else(|| ScheduleError::UnknownAirport { code: code.to_string() })
        };
        let origin = airport(&flight.origin)?;
        let destination = airport(&flight.destination)?;
        let departure = flight.scheduled_departure.ok_or_else(|| ScheduleError::BadDeparture {
            text: format!("{} has no scheduled departure", flight.flight_id),
        })?;
        let distance = distance_km(origin.location(), destination.location());
        let aircraft = aircraft(&flight.aircraft).unwrap_or_else(|| default_aircraft(distance));
        let speed = flight
            .cruise_speed_kmh
            .filter(|s| (MIN_CRUISE_SPEED_KMH..=MAX_CRUISE_SPEED_KMH).contains(s))
            .unwrap_or(aircraft.cruise_speed_kmh);
        let mut plan = build(
            flight.number.clone(),
            flight.airline.clone(),
            origin,
            destination,
            departure,
            speed,
            aircraft,
        )?;
        plan.flight_id = flight.flight_id.clone();
        if let Some(arrival) = flight.scheduled_arrival {
            plan.scheduled_arrival = arrival;
        }
        Ok(plan)
    }
}

/// Two letters or digits (not both digits), 1-4 digits, and an optional letter suffix.
pub fn is_flight_number(number: &str) -> bool {
    let bytes = number.as_bytes();
    if bytes.len() < 3 || bytes.len() > 7 {
        return false;
    }
    let (designator, rest) = bytes.split_at(2);
    if !designator.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) || designator.iter().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let rest = match rest.last() {
        Some(b) if b.is_ascii_uppercase() => &rest[..rest.len() - 1],
        _ => rest,
    };
    (1..=4).contains(&rest.len()) && rest.iter().all(|b| b.is_ascii_digit())
}

/// The smallest airliner in the list that flies this far.
fn default_aircraft(distance: f64) -> &'static Aircraft {
    AIRCRAFT
        .iter()
        .filter(|a| a.code != "AT76" || distance < 800.0)
        .find(|a| a.range_km >= distance)
        .unwrap_or(&AIRCRAFT[AIRCRAFT.len() - 1])
}

/// Parses `now`, `+<duration>`, `HH:MM` (UTC, on the simulated day of `now`) or
/// `YYYY-MM-DDTHH:MM[:SS][Z]` (UTC). A time before `now` (by more than a minute) is
/// refused.
pub fn parse_departure(text: &str, now: SimTime) -> Result<SimTime, ScheduleError> {
    let t = text.trim();
    let bad = || ScheduleError::BadDeparture { text: t.to_string() };
    let at = if t.eq_ignore_ascii_case("now") {
        now
    } else if let Some(offset) = t.strip_prefix('+') {
        let d = parse_duration(offset).ok_or_else(bad)?;
        now + d.as_millis() as i64
    } else if let Ok(time) = NaiveTime::parse_from_str(t, "%H:%M") {
        let day: NaiveDate = utc(now).date_naive();
        Utc.from_utc_datetime(&day.and_time(time)).timestamp_millis()
    } else {
        let trimmed = t.trim_end_matches('Z');
        let parsed = NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M"))
            .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%d %H:%M"))
            .map_err(|_| bad())?;
        Utc.from_utc_datetime(&parsed).timestamp_millis()
    };
    if at < now - 60_000 {
        return Err(ScheduleError::DepartureInPast {
            departure: format_time(at),
            now: format_time(now),
        });
    }
    Ok(at)
}

/// Parses `500ms`, `90s`, `10m`, `2h`, `1h30m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(secs) = t.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    total.is_finite().then(|| Duration::from_secs_f64(total))
}

/// Airline designators used for random flights (real ones).
const RANDOM_AIRLINES: &[&str] = &[
    "AR", "LA", "G3", "AD", "IB", "UX", "AA", "DL", "UA", "WN", "AC", "AM", "AV", "CM", "BA", "AF", "KL", "LH", "LX", "OS", "AZ", "TP",
    "SK", "AY", "TK", "EK", "QR", "EY", "SV", "ET", "KQ", "SA", "SQ", "CX", "NH", "JL", "KE", "OZ", "CA", "MU", "CZ", "QF", "NZ", "AI",
    "TG", "MH",
];

/// Longest random route: the longest range in the aircraft list.
const MAX_RANDOM_ROUTE_KM: f64 = 15_000.0;

/// A random flight between two known airports 150 to 15,000 km apart, departing within
/// `spread_ms` of `now`, with a flight id for which `taken` is false.
/// How soon the first random flights of a batch depart, ms.
pub const FIRST_RANDOM_DEPARTURES_MS: i64 = 10_000;

/// The window within which the `i`-th of `n` random flights departs: a quarter
/// of a batch (at least one) within the first seconds, so that planes are in the
/// air as soon as a simulator starts, and the rest anywhere within `spread_ms`.
pub fn random_spread_ms(i: usize, n: usize, spread_ms: i64) -> i64 {
    if i < (n / 4).max(1) {
        spread_ms.min(FIRST_RANDOM_DEPARTURES_MS)
    } else {
        spread_ms
    }
}

pub fn random_plan<R: Rng>(
    rng: &mut R,
    airports: &Airports,
    now: SimTime,
    spread_ms: i64,
    taken: &dyn Fn(&str) -> bool,
) -> Option<FlightPlan> {
    let all: Vec<&Airport> = airports.iter().collect();
    if all.len() < 2 {
        return None;
    }
    for _ in 0..1000 {
        let (origin, destination) = (*all.choose(rng)?, *all.choose(rng)?);
        let distance = distance_km(origin.location(), destination.location());
        if origin.iata == destination.iata || !(150.0..=MAX_RANDOM_ROUTE_KM).contains(&distance) {
            continue;
        }
        let airline = *RANDOM_AIRLINES.choose(rng)?;
        let number = format!("{airline}{}", rng.gen_range(100..10_000));
        let departure = now + rng.gen_range(0..=spread_ms.max(0));
        if taken(&flight_id(&number, departure)) {
            continue;
        }
        let candidates: Vec<&'static Aircraft> = AIRCRAFT
            .iter()
            .filter(|a| a.range_km >= distance && (a.code != "AT76" || distance < 800.0))
            .collect();
        let aircraft = candidates.choose(rng).copied().unwrap_or(&AIRCRAFT[AIRCRAFT.len() - 1]);
        let speed = aircraft.cruise_speed_kmh * rng.gen_range(0.97..1.03);
        if let Ok(plan) = build(
            number,
            airline.to_string(),
            origin.clone(),
            destination.clone(),
            departure,
            speed,
            aircraft,
        ) {
            return Some(plan);
        }
    }
    None
}

pub fn utc(t: SimTime) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).single().unwrap_or_default()
}

/// `2026-11-22 14:30 UTC`.
pub fn format_time(t: SimTime) -> String {
    utc(t).format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    // 2026-11-22 08:00:00 UTC
    const NOW: SimTime = 1_795_334_400_000;

    fn request(number: &str, origin: &str, destination: &str, departure: &str, speed: &str) -> FlightRequest {
        FlightRequest {
            number: number.into(),
            origin: origin.into(),
            destination: destination.into(),
            departure: departure.into(),
            cruise_speed_kmh: speed.into(),
            airline: None,
            aircraft: None,
        }
    }

    fn airports() -> Airports {
        Airports::builtin().unwrap()
    }

    #[test]
    fn a_good_request_becomes_a_plan() {
        assert_eq!(format_time(NOW), "2026-11-22 08:00 UTC");
        let plan = plan(&request("ar1132", "eze", "MAD", "+30m", "850"), &airports(), NOW).unwrap();
        assert_eq!(plan.flight_id, "AR1132-20261122");
        assert_eq!(plan.airline, "AR");
        assert_eq!(plan.origin.iata, "EZE");
        assert_eq!(plan.scheduled_departure, NOW + 30 * 60_000);
        let hours = (plan.scheduled_arrival - plan.scheduled_departure) as f64 / 3_600_000.0;
        assert!((11.5..13.0).contains(&hours), "{hours}");
        assert_eq!(plan.aircraft.code, "B788");
    }

    #[test]
    fn bad_input_gets_a_specific_error() {
        let a = airports();
        let check = |r: FlightRequest, want: fn(&ScheduleError) -> bool| {
            let err = plan(&r, &a, NOW).expect_err("must be refused");
            assert!(want(&err), "unexpected error: {err}");
        };
        check(request("1132", "EZE", "MAD", "now", "850"), |e| {
            matches!(e, ScheduleError::BadFlightNumber { .. })
        });
        check(
            request("AR1132", "XXX", "MAD", "now", "850"),
            |e| matches!(e, ScheduleError::UnknownAirport { code } if code == "XXX"),
        );
        check(request("AR1132", "EZE", "eze", "now", "850"), |e| {
            matches!(e, ScheduleError::SameAirport { .. })
        });
        check(request("AR1132", "EZE", "MAD", "25:99", "850"), |e| {
            matches!(e, ScheduleError::BadDeparture { .. })
        });
        check(request("AR1132", "EZE", "MAD", "07:00", "850"), |e| {
            matches!(e, ScheduleError::DepartureInPast { .. })
        });
        check(request("AR1132", "EZE", "MAD", "now", "fast"), |e| {
            matches!(e, ScheduleError::BadSpeed { .. })
        });
        check(request("AR1132", "EZE", "MAD", "now", "-850"), |e| {
            matches!(e, ScheduleError::SpeedOutOfRange { .. })
        });
        check(request("AR1132", "EZE", "MAD", "now", "50000"), |e| {
            matches!(e, ScheduleError::SpeedOutOfRange { .. })
        });
        let mut r = request("AR1132", "EZE", "MAD", "now", "850");
        r.aircraft = Some("Concorde".into());
        check(r, |e| matches!(e, ScheduleError::UnknownAircraft { .. }));
    }

    #[test]
    fn departures_parse_in_every_documented_form() {
        assert_eq!(parse_departure("now", NOW), Ok(NOW));
        assert_eq!(parse_departure("+1h30m", NOW), Ok(NOW + 90 * 60_000));
        assert_eq!(parse_departure("14:30", NOW), Ok(NOW + 390 * 60_000));
        assert_eq!(parse_departure("2026-11-23T08:00", NOW), Ok(NOW + 86_400_000));
        assert_eq!(parse_departure("2026-11-23T08:00:00Z", NOW), Ok(NOW + 86_400_000));
        assert!(parse_departure("+soon", NOW).is_err());
        assert!(parse_departure("", NOW).is_err());
    }

    #[test]
    fn flight_numbers_follow_the_airline_code_and_digits_shape() {
        for good in ["AR1132", "G31234", "LA8", "U2123", "AA100A"] {
            assert!(is_flight_number(good), "{good}");
        }
        for bad in ["", "AR", "1234", "AR12345", "A-123", "ar1132", "AR12X4"] {
            assert!(!is_flight_number(bad), "{bad}");
        }
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10 parsecs"), None);
        assert_eq!(parse_duration("-5"), None);
        assert_eq!(parse_duration("m"), None);
    }

    #[test]
    fn random_flights_are_valid_and_unique() {
        let a = airports();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut ids = std::collections::HashSet::new();
        for _ in 0..200 {
            let plan = random_plan(&mut rng, &a, NOW, 20 * 60_000, &|id| ids.contains(id)).expect("a random flight");
            assert_ne!(plan.origin.iata, plan.destination.iata);
            assert!(plan.model.distance_km() >= 150.0);
            assert!(
                plan.aircraft.range_km >= plan.model.distance_km(),
                "{} on {} km",
                plan.aircraft.code,
                plan.model.distance_km()
            );
            assert!((NOW..=NOW + 20 * 60_000).contains(&plan.scheduled_departure));
            assert!(is_flight_number(&plan.number), "{}", plan.number);
            assert!(ids.insert(plan.flight_id.clone()), "{} twice", plan.flight_id);
        }
    }

    #[test]
    fn a_quarter_of_random_flights_and_at_least_one_depart_within_seconds() {
        let spread = 180_000;
        let windows: Vec<i64> = (0..8).map(|i| random_spread_ms(i, 8, spread)).collect();
        assert_eq!(windows, [10_000, 10_000, spread, spread, spread, spread, spread, spread]);
        assert_eq!(random_spread_ms(0, 1, spread), 10_000);
        assert_eq!(random_spread_ms(1, 3, spread), spread);
        // A spread shorter than the first window is kept.
        assert_eq!(random_spread_ms(0, 5, 3_000), 3_000);
    }
}
