//! The map's state on the UI thread: airports, the selected airport and day with its
//! flights, live planes and the tracks they have flown, the selected flight, and the
//! connection as the worker last reported it. It is plain data updated by
//! [`Model::apply`] from worker events; it does no I/O and draws nothing.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;

use crate::form::FlightForm;
use crate::worker::Event;

/// The airports CSV kept in the repository (shared with the simulator): the map shows
/// these at once, before (or without) the cluster, and their order ranks them for
/// declutter (busiest first).
pub const AIRPORTS_CSV: &str = include_str!("../../simulator/data/airports.csv");

/// Milliseconds since the Unix epoch, the CQL `timestamp` unit.
pub type Millis = i64;

#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// Parses the shared airports CSV (`iata,icao,name,city,country,latitude,longitude`),
/// skipping malformed lines rather than failing: it only seeds the map.
pub fn parse_airports_csv(text: &str) -> Vec<Airport> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [iata, _icao, name, city, country, lat, lon] = fields.as_slice() else {
                return None;
            };
            Some(Airport {
                iata: iata.to_string(),
                name: name.to_string(),
                city: city.to_string(),
                country: country.to_string(),
                latitude: lat.parse().ok()?,
                longitude: lon.parse().ok()?,
            })
        })
        .collect()
}

/// A flight's status, spelled as the `flights.status` column stores it (the simulator
/// obeys `delayed`, `on time` and `cancelled` written by anyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Scheduled,
    Boarding,
    OnTime,
    Delayed,
    InFlight,
    Landed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Scheduled,
        Status::Boarding,
        Status::OnTime,
        Status::Delayed,
        Status::InFlight,
        Status::Landed,
        Status::Cancelled,
    ];

    /// The statuses a person may set; the others are the simulator's to write.
    pub const SETTABLE: [Status; 3] = [Status::OnTime, Status::Delayed, Status::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Boarding => "boarding",
            Status::OnTime => "on time",
            Status::Delayed => "delayed",
            Status::InFlight => "in flight",
            Status::Landed => "landed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// Landed and cancelled flights are over: nothing changes them any more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Landed | Status::Cancelled)
    }

    /// The statuses the flight panel offers for a flight now in `self`.
    pub fn allowed_changes(self) -> Vec<Status> {
        if self.is_final() {
            return Vec::new();
        }
        Status::SETTABLE.into_iter().filter(|s| *s != self).collect()
    }

    /// Whether a person may move a flight from `self` to `to`.
    pub fn can_change_to(self, to: Status) -> bool {
        self.allowed_changes().contains(&to)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// One row of an airport's day (`flights_by_airport`).
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    pub direction: Direction,
    pub scheduled: Millis,
    pub flight_number: String,
    pub flight_id: String,
    pub other_airport: String,
    pub airline: String,
    pub status: String,
    pub actual: Option<Millis>,
}

/// One `flights` row.
#[derive(Debug, Clone, PartialEq)]
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
}

/// One `flight_positions` row: a plane in the air.
#[derive(Debug, Clone, PartialEq)]
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
}

/// What the worker last said about the cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting { contact_points: String },
    Connected { node: String, nodes: usize },
    Lost { reason: String, attempts: u32 },
}

/// Positions of each live flight as they arrived, so the map can draw the track flown
/// since the app started watching. Points closer than `min_step_deg` to the last are
/// not kept; each track holds at most `max_points` (the oldest go first).
#[derive(Debug, Clone)]
pub struct Tracks {
    tracks: HashMap<String, Vec<(f64, f64)>>,
    max_points: usize,
    min_step_deg: f64,
}

impl Default for Tracks {
    fn default() -> Self {
        Tracks::new(2000, 0.01)
    }
}

impl Tracks {
    pub fn new(max_points: usize, min_step_deg: f64) -> Tracks {
        Tracks {
            tracks: HashMap::new(),
            max_points: max_points.max(2),
            min_step_deg,
        }
    }

    /// Adds the latest positions; flights absent from `positions` have landed or been
    /// cancelled and their tracks are dropped.
    pub fn record(&mut self, positions: &[LivePosition]) {
        self.tracks.retain(|id, _| positions.iter().any(|p| &p.flight_id == id));
        for p in positions {
            let track = self.tracks.entry(p.flight_id.clone()).or_default();
            let point = (p.latitude, p.longitude);
            let moved = track
                .last()
                .is_none_or(|last| (last.0 - point.0).abs() >= self.min_step_deg || (last.1 - point.1).abs() >= self.min_step_deg);
            if moved {
                track.push(point);
                if track.len() > self.max_points {
                    let excess = track.len() - self.max_points;
                    track.drain(..excess);
                }
            }
        }
    }

    pub fn get(&self, flight_id: &str) -> &[(f64, f64)] {
        self.tracks.get(flight_id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }
}

/// A message for the status bar, with how serious it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// Everything the UI shows.
#[derive(Debug)]
pub struct Model {
    /// Airports by code; `rank` orders them for declutter (lower is busier).
    pub airports: BTreeMap<String, Airport>,
    pub rank: HashMap<String, usize>,
    pub selected_airport: Option<String>,
    pub day: NaiveDate,
    /// The rows of the selected airport and day, and which (airport, day) they are for.
    pub day_rows: Vec<DayRow>,
    pub day_rows_for: Option<(String, NaiveDate)>,
    pub live: Vec<LivePosition>,
    pub tracks: Tracks,
    pub selected_flight: Option<String>,
    pub flight: Option<Flight>,
    pub connection: Connection,
    pub form: FlightForm,
    pub notice: Option<Notice>,
}

impl Model {
    pub fn new(today: NaiveDate, contact_points: String) -> Model {
        let mut model = Model {
            airports: BTreeMap::new(),
            rank: HashMap::new(),
            selected_airport: None,
            day: today,
            day_rows: Vec::new(),
            day_rows_for: None,
            live: Vec::new(),
            tracks: Tracks::default(),
            selected_flight: None,
            flight: None,
            connection: Connection::Connecting { contact_points },
            form: FlightForm::default(),
            notice: None,
        };
        let seed = parse_airports_csv(AIRPORTS_CSV);
        for (i, a) in seed.iter().enumerate() {
            model.rank.insert(a.iata.clone(), i);
        }
        model.merge_airports(seed);
        model
    }

    pub fn merge_airports(&mut self, airports: Vec<Airport>) {
        for a in airports {
            let next = self.rank.len();
            self.rank.entry(a.iata.clone()).or_insert(next);
            self.airports.insert(a.iata.clone(), a);
        }
    }

    pub fn airport_rank(&self, iata: &str) -> usize {
        self.rank.get(iata).copied().unwrap_or(usize::MAX)
    }

    pub fn select_airport(&mut self, iata: Option<String>) {
        if self.selected_airport != iata {
            self.selected_airport = iata;
            self.day_rows.clear();
            self.day_rows_for = None;
            self.form.clear_errors();
        }
    }

    pub fn select_flight(&mut self, flight_id: Option<String>) {
        if self.selected_flight != flight_id {
            self.selected_flight = flight_id;
            self.flight = None;
        }
    }

    pub fn live_position(&self, flight_id: &str) -> Option<&LivePosition> {
        self.live.iter().find(|p| p.flight_id == flight_id)
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.connection, Connection::Connected { .. })
    }

    /// Folds one worker event into the state.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Connection(connection) => self.connection = connection,
            Event::Airports(airports) => self.merge_airports(airports),
            Event::Day { airport, day, rows } => {
                // A late answer for a day no longer selected is dropped.
                if self.selected_airport.as_deref() == Some(airport.as_str()) && self.day == day {
                    self.day_rows = rows;
                    self.day_rows_for = Some((airport, day));
                }
            }
            Event::Flight { flight_id, flight } => {
                if self.selected_flight.as_deref() == Some(flight_id.as_str()) {
                    self.flight = flight.map(|f| *f);
                }
            }
            Event::Positions(positions) => {
                self.tracks.record(&positions);
                self.live = positions;
            }
            Event::FlightCreated { flight_id } => {
                self.form.reset_after_create();
                self.notice = Some(Notice {
                    text: format!("created flight {flight_id}"),
                    is_error: false,
                });
            }
            Event::StatusChanged { flight_id, status } => {
                if let Some(f) = self.flight.as_mut().filter(|f| f.flight_id == flight_id) {
                    f.status = status.as_str().to_string();
                }
                for row in self.day_rows.iter_mut().filter(|r| r.flight_id == flight_id) {
                    row.status = status.as_str().to_string();
                }
                self.notice = Some(Notice {
                    text: format!("{flight_id} is now {status}"),
                    is_error: false,
                });
            }
            Event::Failed { what, error } => {
                self.notice = Some(Notice {
                    text: format!("{what}: {error}"),
                    is_error: true,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(id: &str, lat: f64, lon: f64) -> LivePosition {
        LivePosition {
            flight_id: id.into(),
            number: id.into(),
            origin: "EZE".into(),
            destination: "MAD".into(),
            latitude: lat,
            longitude: lon,
            altitude_m: 10_000.0,
            ground_speed_kmh: 850.0,
            heading_deg: 45.0,
            fuel_kg: 20_000.0,
            progress: 0.5,
        }
    }

    #[test]
    fn the_shared_airports_csv_parses_into_hundreds_of_airports_with_sane_coordinates() {
        let airports = parse_airports_csv(AIRPORTS_CSV);
        assert!(airports.len() > 300, "only {} airports", airports.len());
        let eze = airports.iter().find(|a| a.iata == "EZE").expect("EZE is in the CSV");
        assert!((eze.latitude - -34.8222).abs() < 1e-6);
        assert!(airports.iter().all(|a| a.latitude.abs() <= 90.0 && a.longitude.abs() <= 180.0));
    }

    #[test]
    fn a_track_grows_with_each_new_position_and_skips_repeats() {
        let mut tracks = Tracks::new(100, 0.01);
        tracks.record(&[position("A", 0.0, 0.0)]);
        tracks.record(&[position("A", 0.0, 0.0)]);
        tracks.record(&[position("A", 0.5, 0.5)]);
        tracks.record(&[position("A", 1.0, 1.0)]);
        assert_eq!(tracks.get("A"), &[(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]);
    }

    #[test]
    fn a_track_keeps_only_the_newest_points_when_full() {
        let mut tracks = Tracks::new(3, 0.01);
        for i in 0..5 {
            tracks.record(&[position("A", i as f64, 0.0)]);
        }
        assert_eq!(tracks.get("A"), &[(2.0, 0.0), (3.0, 0.0), (4.0, 0.0)]);
    }

    #[test]
    fn a_flight_that_leaves_the_live_set_loses_its_track() {
        let mut tracks = Tracks::default();
        tracks.record(&[position("A", 1.0, 1.0), position("B", 2.0, 2.0)]);
        assert_eq!(tracks.len(), 2);
        tracks.record(&[position("B", 2.5, 2.5)]);
        assert_eq!(tracks.len(), 1);
        assert!(tracks.get("A").is_empty());
        assert_eq!(tracks.get("B").len(), 2);
    }

    #[test]
    fn only_on_time_delayed_and_cancelled_can_be_set_and_never_on_a_finished_flight() {
        assert_eq!(
            Status::Scheduled.allowed_changes(),
            vec![Status::OnTime, Status::Delayed, Status::Cancelled]
        );
        assert_eq!(Status::Delayed.allowed_changes(), vec![Status::OnTime, Status::Cancelled]);
        assert!(Status::InFlight.can_change_to(Status::Delayed));
        assert!(!Status::InFlight.can_change_to(Status::Landed));
        assert!(!Status::Boarding.can_change_to(Status::Scheduled));
        assert!(Status::Landed.allowed_changes().is_empty());
        assert!(Status::Cancelled.allowed_changes().is_empty());
    }

    #[test]
    fn every_status_round_trips_through_its_stored_word() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("on time"), Some(Status::OnTime));
        assert_eq!(Status::parse("bogus"), None);
    }

    #[test]
    fn a_late_day_answer_for_another_airport_is_ignored() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut model = Model::new(day, "127.0.0.1:9042".into());
        model.select_airport(Some("EZE".into()));
        let row = DayRow {
            direction: Direction::Departure,
            scheduled: 0,
            flight_number: "AR1".into(),
            flight_id: "AR1-20261122".into(),
            other_airport: "MAD".into(),
            airline: "AR".into(),
            status: "scheduled".into(),
            actual: None,
        };
        model.apply(Event::Day {
            airport: "MAD".into(),
            day,
            rows: vec![row.clone()],
        });
        assert!(model.day_rows.is_empty());
        model.apply(Event::Day {
            airport: "EZE".into(),
            day,
            rows: vec![row],
        });
        assert_eq!(model.day_rows.len(), 1);
        assert_eq!(model.day_rows_for, Some(("EZE".to_string(), day)));
    }
}
