//! The map's state on the UI thread: airports, the selected airport and day with its
//! flights, live planes and the tracks they have flown, the selected flight, and the
//! connection as the worker last reported it. It is plain data updated by
//! [`Model::apply`] from worker events; it does no I/O and draws nothing.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::form::FlightForm;
use crate::profile::Profiles;
use crate::worker::Event;

pub use aviation::airports::Airport;
pub use aviation::flight::{Direction, Flight, LivePosition, Millis};
pub use aviation::statements::SimulatorClock;
pub use aviation::status::Status;

/// The airports compiled into the shared `aviation` crate, busiest first: the map
/// shows these at once, before (or without) the cluster.
pub fn builtin_airports() -> Vec<Airport> {
    aviation::airports::Airports::builtin()
        .map(|a| a.in_file_order().cloned().collect())
        .unwrap_or_default()
}

/// A live position older than this (wall clock) is not drawn even if the cluster
/// still holds it: its simulator has stopped writing it.
pub const STALE_POSITION_MS: Millis = 15_000;

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
    /// Altitude, speed and fuel of each flight in the air, for the flight panel.
    pub profiles: Profiles,
    /// The simulators' published clocks, as last read.
    pub simulators: Vec<SimulatorClock>,
    pub selected_flight: Option<String>,
    pub flight: Option<Flight>,
    pub connection: Connection,
    pub form: FlightForm,
    pub notice: Option<Notice>,
    /// What the in-air list is filtered by (flight number or airport code).
    pub plane_search: String,
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
            profiles: Profiles::default(),
            simulators: Vec::new(),
            selected_flight: None,
            flight: None,
            connection: Connection::Connecting { contact_points },
            form: FlightForm::default(),
            notice: None,
            plane_search: String::new(),
        };
        let seed = builtin_airports();
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

    /// The planes in the air whose flight number, origin or destination contains
    /// `query` (any case; all of them for a blank query), by flight number.
    pub fn planes_matching(&self, query: &str) -> Vec<&LivePosition> {
        let query = query.trim().to_ascii_uppercase();
        let mut planes: Vec<&LivePosition> = self
            .live
            .iter()
            .filter(|p| {
                query.is_empty()
                    || [&p.number, &p.origin, &p.destination]
                        .iter()
                        .any(|field| field.to_ascii_uppercase().contains(&query))
            })
            .collect();
        planes.sort_by(|a, b| (&a.number, &a.flight_id).cmp(&(&b.number, &b.flight_id)));
        planes
    }

    pub fn live_position(&self, flight_id: &str) -> Option<&LivePosition> {
        self.live.iter().find(|p| p.flight_id == flight_id)
    }

    /// Whether a flight in the air has no fresh position: its simulator has not been
    /// heard from within the positions' TTL.
    pub fn signal_lost(&self, flight: &Flight) -> bool {
        Status::parse(&flight.status) == Some(Status::InFlight) && self.live_position(&flight.flight_id).is_none()
    }

    /// The fastest simulator's clock now (wall clock `wall`), if any simulator is
    /// publishing one.
    pub fn simulated_now(&self, wall: Millis) -> Option<(Millis, f64)> {
        self.simulators
            .iter()
            .max_by(|a, b| a.time_scale.total_cmp(&b.time_scale))
            .map(|c| (c.at(wall), c.time_scale))
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
                self.profiles.record(&positions);
                self.live = positions;
            }
            Event::Simulators(clocks) => self.simulators = clocks,
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
            ..LivePosition::default()
        }
    }

    #[test]
    fn the_map_starts_with_the_shared_airports_busiest_first() {
        let airports = builtin_airports();
        assert!(airports.len() > 300, "only {} airports", airports.len());
        let eze = airports.iter().find(|a| a.iata == "EZE").expect("EZE is in the CSV");
        assert!((eze.latitude - -34.8222).abs() < 1e-6);
        let model = Model::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), String::new());
        assert_eq!(model.airport_rank(&airports[0].iata), 0);
    }

    #[test]
    fn an_in_air_flight_without_a_fresh_position_has_lost_its_signal() {
        let mut model = Model::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), String::new());
        let flight = Flight {
            flight_id: "A".into(),
            status: "in flight".into(),
            ..Flight::default()
        };
        assert!(model.signal_lost(&flight));
        model.apply(Event::Positions(vec![position("A", 1.0, 1.0)]));
        assert!(!model.signal_lost(&flight));
        let landed = Flight {
            status: "landed".into(),
            ..flight.clone()
        };
        model.apply(Event::Positions(vec![]));
        assert!(!model.signal_lost(&landed));
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

    #[test]
    fn the_in_air_list_finds_planes_by_number_or_airport_in_any_case() {
        let mut model = Model::new(NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date"), "127.0.0.1".into());
        let plane = |number: &str, origin: &str, destination: &str| LivePosition {
            flight_id: format!("{number}-20261122"),
            number: number.into(),
            origin: origin.into(),
            destination: destination.into(),
            ..LivePosition::default()
        };
        model.live = vec![
            plane("IB6844", "MAD", "EZE"),
            plane("AR1132", "EZE", "MAD"),
            plane("BA117", "LHR", "JFK"),
        ];
        let numbers = |query: &str| -> Vec<String> { model.planes_matching(query).iter().map(|p| p.number.clone()).collect() };
        assert_eq!(numbers(""), ["AR1132", "BA117", "IB6844"]);
        assert_eq!(numbers("eze"), ["AR1132", "IB6844"]);
        assert_eq!(numbers(" ba1 "), ["BA117"]);
        assert_eq!(numbers("zzz"), Vec::<String>::new());
    }
}
