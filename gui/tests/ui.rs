//! The flight map's real UI driven headlessly with `egui_kittest`: the app is built over
//! a detached worker handle ([`Worker::detached`]), so the test plays the worker — it
//! reads the commands the UI sends and feeds back the events the worker would. Widgets
//! are found through the AccessKit tree, as a screen reader would find them. The last
//! test renders the window on the CPU (wgpu over Mesa's lavapipe, installed by
//! `scripts/setup-gui-test.sh`) and compares it with the committed baseline in
//! `tests/snapshots/`; `UPDATE_SNAPSHOTS=1 cargo test -p gui --test ui` rewrites it.

use chrono::NaiveDate;
use eframe::egui::{self, accesskit::Role, Key, Modifiers, Rect};
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::wgpu::WgpuTestRenderer;
use egui_kittest::{Harness, SnapshotOptions};

use gui::app::{FlightMapApp, TileChoice};
use gui::form::{parse_time_on, NewFlight};
use gui::geo::great_circle;
use gui::model::{Connection, DayRow, Direction, Flight, LivePosition, Model, Status};
use gui::worker::{Command, Event, Worker, WorkerEnd};

const NODE: &str = "127.0.0.1:9042";
const WINDOW: (f32, f32) = (1280.0, 800.0);
/// Set (to anything) where the snapshot must be rendered rather than skipped when no
/// wgpu adapter exists: `scripts/test.sh` sets it after installing lavapipe.
const REQUIRE_RENDER: &str = "RUSTICA_REQUIRE_RENDER";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).expect("a valid date")
}

/// `HH:MM` (or `HH:MM+1`) on the test day, in milliseconds.
fn at(time: &str) -> i64 {
    parse_time_on(day(), time).expect("a valid time")
}

/// The app over a detached worker, in a headless harness the size of the real window.
struct Rig {
    harness: Harness<'static, FlightMapApp>,
    worker: WorkerEnd,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_renderer(None)
    }

    fn with_renderer(renderer: Option<WgpuTestRenderer>) -> Rig {
        let (worker, end) = Worker::detached();
        // With `TileChoice::None` the context is not kept; the harness has its own.
        let app = FlightMapApp::with_worker(
            &egui::Context::default(),
            Model::new(day(), NODE.to_string()),
            Some(worker),
            TileChoice::None,
        );
        let mut builder = Harness::builder().with_size(WINDOW);
        if let Some(renderer) = renderer {
            builder = builder.renderer(renderer);
        }
        let harness = builder.build_ui_state(|ui, app: &mut FlightMapApp| app.show(ui), app);
        Rig { harness, worker: end }
    }

    /// Hands the UI an event as the worker thread would, and lets it settle.
    fn event(&mut self, event: Event) {
        assert!(self.worker.send(event), "the app dropped its worker handle");
        self.harness.run();
    }

    fn connect(&mut self) {
        self.event(Event::Connection(Connection::Connected {
            node: NODE.to_string(),
            nodes: 1,
        }));
    }

    /// Selects an airport, answers the day request the app sends with `rows`, and
    /// returns that request.
    fn open_airport(&mut self, iata: &str, rows: Vec<DayRow>) -> Vec<Command> {
        self.harness.state_mut().model_mut().select_airport(Some(iata.to_string()));
        self.harness.run();
        let sent = self.worker.commands();
        self.event(Event::Day {
            airport: iata.to_string(),
            day: day(),
            rows,
        });
        sent
    }

    fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.run();
    }

    fn click_button(&mut self, label: &str) {
        self.harness.get_by_role_and_label(Role::Button, label).click();
        self.harness.run();
    }

    /// Replaces the text of the form field labelled `label`, as a user would: click,
    /// select all, type.
    fn type_into(&mut self, label: &str, text: &str) {
        self.harness.get_by_role_and_label(Role::TextInput, label).click();
        self.harness.run();
        self.harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
        self.harness.run();
        self.harness.get_by_role_and_label(Role::TextInput, label).type_text(text);
        self.harness.run();
    }

    fn rect_of(&self, role: Role, label: &str) -> Rect {
        self.harness.get_by_role_and_label(role, label).rect()
    }

    /// The texts on the same line as `first` and to its right, left to right: a row of
    /// a table as the user reads it.
    fn row(&self, first: &str) -> Vec<String> {
        self.row_at(self.harness.get_by_label(first).rect())
    }

    /// [`Rig::row`] for a `first` that appears more than once: the first one below
    /// `heading`.
    fn row_under(&self, heading: &str, first: &str) -> Vec<String> {
        let top = self.harness.get_by_label(heading).rect().max.y;
        let anchor = self
            .harness
            .get_all_by_label(first)
            .map(|n| n.rect())
            .filter(|r| r.min.y >= top)
            .min_by(|a, b| a.min.y.total_cmp(&b.min.y))
            .unwrap_or_else(|| panic!("no {first:?} under {heading:?}"));
        self.row_at(anchor)
    }

    fn row_at(&self, anchor: Rect) -> Vec<String> {
        let mut cells: Vec<(f32, String)> = self
            .harness
            .query_all_by(|_| true)
            .filter_map(|n| {
                // A plain label's text is its value; a button's is its label.
                let node = n.accesskit_node();
                let label = if node.role() == Role::Label { node.value() } else { node.label() }?;
                node.bounding_box()?;
                let rect = n.rect();
                let same_line = (rect.center().y - anchor.center().y).abs() < anchor.height() / 2.0;
                let cell_sized = rect.height() < anchor.height() * 2.0;
                (same_line && cell_sized && rect.min.x >= anchor.min.x).then_some((rect.min.x, label))
            })
            .collect();
        cells.sort_by(|a, b| a.0.total_cmp(&b.0));
        cells.into_iter().map(|(_, label)| label).collect()
    }
}

fn day_row(direction: Direction, number: &str, other: &str, scheduled: &str, actual: Option<&str>, status: &str) -> DayRow {
    DayRow {
        direction,
        scheduled: at(scheduled),
        flight_number: number.to_string(),
        flight_id: format!("{number}-20261122"),
        other_airport: other.to_string(),
        airline: number.chars().take(2).collect(),
        status: status.to_string(),
        actual: actual.map(at),
    }
}

/// A day at EZE as the worker reads it from `flights_by_airport`.
fn seeded_day() -> Vec<DayRow> {
    vec![
        day_row(Direction::Departure, "AR1132", "MAD", "22:30", None, "scheduled"),
        day_row(Direction::Departure, "LA8012", "GRU", "09:15", Some("09:50"), "in flight"),
        day_row(Direction::Arrival, "IB6845", "MAD", "06:10", Some("06:25"), "landed"),
    ]
}

fn flight_ar1132(status: &str) -> Flight {
    Flight {
        flight_id: "AR1132-20261122".into(),
        number: "AR1132".into(),
        airline: "AR".into(),
        origin: "EZE".into(),
        destination: "MAD".into(),
        scheduled_departure: Some(at("22:30")),
        scheduled_arrival: Some(at("12:05+1")),
        actual_departure: None,
        actual_arrival: None,
        aircraft: "A332".into(),
        status: status.into(),
        ..Flight::default()
    }
}

fn create_commands(commands: &[Command]) -> Vec<&NewFlight> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::CreateFlight(f) => Some(f),
            _ => None,
        })
        .collect()
}

#[test]
fn the_airport_panel_lists_the_flights_of_a_seeded_day() {
    let mut rig = Rig::new();
    rig.connect();
    rig.harness.state_mut().model_mut().select_airport(Some("EZE".into()));
    rig.harness.run();
    assert_eq!(rig.harness.query_all_by_label("loading…").count(), 2, "both lists wait for the day");
    assert_eq!(
        rig.worker.commands(),
        vec![Command::LoadDay {
            airport: "EZE".into(),
            day: day()
        }]
    );

    rig.event(Event::Day {
        airport: "EZE".into(),
        day: day(),
        rows: seeded_day(),
    });

    assert!(rig.harness.query_by_label("loading…").is_none());
    rig.harness.get_by_label("Departures (2)");
    rig.harness.get_by_label("Arrivals (1)");
    assert_eq!(rig.row("AR1132"), ["AR1132", "MAD", "22:30", "—", "scheduled"]);
    assert_eq!(rig.row("LA8012"), ["LA8012", "GRU", "09:15", "09:50", "in flight"]);
    assert_eq!(rig.row("IB6845"), ["IB6845", "MAD", "06:10", "06:25", "landed"]);
    // Departures are listed above arrivals.
    let departures = rig.harness.get_by_label("Departures (2)").rect();
    let arrivals = rig.harness.get_by_label("Arrivals (1)").rect();
    let la8012 = rig.harness.get_by_label("LA8012").rect();
    let ib6845 = rig.harness.get_by_label("IB6845").rect();
    assert!(departures.max.y < la8012.min.y && la8012.max.y < arrivals.min.y && arrivals.max.y < ib6845.min.y);
}

#[test]
fn a_day_answer_for_another_airport_does_not_reach_the_panel() {
    let mut rig = Rig::new();
    rig.connect();
    rig.open_airport("GRU", Vec::new());
    rig.event(Event::Day {
        airport: "EZE".into(),
        day: day(),
        rows: seeded_day(),
    });
    rig.harness.get_by_label("Departures (0)");
    assert!(rig.harness.query_by_label("AR1132").is_none());
}

#[test]
fn bad_flight_input_is_shown_next_to_its_field_and_sends_nothing() {
    let mut rig = Rig::new();
    rig.connect();
    rig.open_airport("EZE", Vec::new());

    // Missing fields: number (and with it the airline) and destination.
    rig.click_button("Create flight");
    let number_error = rig.rect_of(Role::Label, "flight number is required");
    let number_field = rig.rect_of(Role::TextInput, "Number");
    assert!(
        (number_error.min.x - number_field.min.x).abs() < 4.0 && (0.0..12.0).contains(&(number_error.min.y - number_field.max.y)),
        "the error {number_error:?} is not under its field {number_field:?}"
    );
    rig.harness.get_by_label("airline is required");
    rig.harness.get_by_label("destination is required");
    assert_eq!(create_commands(&rig.worker.commands()), Vec::<&NewFlight>::new());

    // The destination is the origin.
    rig.type_into("Number", "AR1132");
    rig.type_into("To", "EZE");
    rig.click_button("Create flight");
    let to_error = rig.rect_of(Role::Label, "destination cannot be the origin EZE");
    let to_field = rig.rect_of(Role::TextInput, "To");
    assert!(
        (to_error.min.x - to_field.min.x).abs() < 4.0 && (0.0..12.0).contains(&(to_error.min.y - to_field.max.y)),
        "the error {to_error:?} is not under its field {to_field:?}"
    );
    assert!(rig.harness.query_by_label("flight number is required").is_none());
    assert_eq!(create_commands(&rig.worker.commands()), Vec::<&NewFlight>::new());

    // The arrival is before the departure.
    rig.type_into("To", "MAD");
    rig.type_into("Departs", "14:00");
    rig.type_into("Arrives", "13:00");
    rig.click_button("Create flight");
    let arrival_error = rig.rect_of(Role::Label, "arrival must be after departure (HH:MM+1 for the next day)");
    let arrival_field = rig.rect_of(Role::TextInput, "Arrives");
    assert!(
        (arrival_error.min.x - arrival_field.min.x).abs() < 4.0 && (0.0..12.0).contains(&(arrival_error.min.y - arrival_field.max.y)),
        "the error {arrival_error:?} is not under its field {arrival_field:?}"
    );
    assert!(rig.harness.query_by_label_contains("destination").is_none());
    assert_eq!(create_commands(&rig.worker.commands()), Vec::<&NewFlight>::new());
    assert_eq!(rig.harness.state().model().form.errors.len(), 1);

    // Fixed, the same form sends exactly one write.
    rig.type_into("Arrives", "13:00+1");
    rig.click_button("Create flight");
    assert!(rig.harness.query_by_label_contains("arrival must").is_none());
    let sent = rig.worker.commands();
    let created = create_commands(&sent);
    assert_eq!(created.len(), 1, "{sent:?}");
    let flight = created[0];
    assert_eq!(flight.flight_id, "AR1132-20261122");
    assert_eq!((flight.origin.as_str(), flight.destination.as_str()), ("EZE", "MAD"));
    assert_eq!(flight.airline, "AR");
    assert_eq!(flight.scheduled_departure, at("14:00"));
    assert_eq!(flight.scheduled_arrival, at("13:00+1"));
}

#[test]
fn a_status_button_sends_the_change_for_the_selected_flight() {
    let mut rig = Rig::new();
    rig.connect();
    rig.open_airport("EZE", seeded_day());

    // Clicking a flight in the list opens it.
    rig.click("AR1132");
    assert!(
        rig.worker.commands().contains(&Command::LoadFlight {
            flight_id: "AR1132-20261122".into()
        }),
        "selecting a flight did not load it"
    );
    rig.event(Event::Flight {
        flight_id: "AR1132-20261122".into(),
        flight: Some(Box::new(flight_ar1132("scheduled"))),
    });
    rig.harness.get_by_label("Flight AR1132");
    assert_eq!(rig.row("route"), ["route", "EZE to MAD"]);
    for choice in ["on time", "delayed", "cancelled"] {
        rig.harness.get_by_role_and_label(Role::Button, choice);
    }

    rig.click_button("delayed");
    let status_changes: Vec<Command> = rig
        .worker
        .commands()
        .into_iter()
        .filter(|c| matches!(c, Command::SetStatus { .. }))
        .collect();
    assert_eq!(
        status_changes,
        vec![Command::SetStatus {
            flight_id: "AR1132-20261122".into(),
            status: Status::Delayed
        }]
    );

    // The worker's answer updates the panel and the day's list; "delayed" is no longer
    // offered.
    rig.event(Event::StatusChanged {
        flight_id: "AR1132-20261122".into(),
        status: Status::Delayed,
    });
    assert_eq!(rig.row("AR1132"), ["AR1132", "MAD", "22:30", "—", "delayed"]);
    assert_eq!(rig.row_under("Flight AR1132", "status"), ["status", "delayed"]);
    assert!(rig.harness.query_by_role_and_label(Role::Button, "delayed").is_none());
    rig.harness.get_by_role_and_label(Role::Button, "on time");
    rig.harness.get_by_role_and_label(Role::Button, "cancelled");
}

/// A plane `progress` of the way along the great circle from `from` to `to`, heading
/// along it, and the track flown so far (sampled as the worker's polls would be).
fn plane(model: &Model, number: &str, from: &str, to: &str, progress: f64) -> (LivePosition, Vec<(f64, f64)>) {
    let a = &model.airports[from];
    let b = &model.airports[to];
    let path = great_circle((a.latitude, a.longitude), (b.latitude, b.longitude), 100);
    let here = (progress * 100.0).round() as usize;
    let (lat, lon) = path[here];
    let (next_lat, next_lon) = path[here + 1];
    // The direction on the Mercator map, clockwise from north.
    let mercator = |lat: f64| lat.to_radians().tan().asinh();
    let heading = (next_lon - lon).to_radians().atan2(mercator(next_lat) - mercator(lat));
    let position = LivePosition {
        flight_id: format!("{number}-20261122"),
        number: number.to_string(),
        origin: from.to_string(),
        destination: to.to_string(),
        latitude: lat,
        longitude: lon,
        altitude_m: 11_000.0,
        ground_speed_kmh: 880.0,
        heading_deg: heading.to_degrees().rem_euclid(360.0),
        fuel_kg: 42_000.0,
        progress,
        ..LivePosition::default()
    };
    let track = path[..=here].iter().step_by(5).copied().collect();
    (position, track)
}

/// The renderer, or `None` (with the reason on stderr) when this machine has no wgpu
/// adapter; with `RUSTICA_REQUIRE_RENDER` set, no adapter is a failure.
fn renderer() -> Option<WgpuTestRenderer> {
    match std::panic::catch_unwind(WgpuTestRenderer::new) {
        Ok(renderer) => Some(renderer),
        Err(_) if std::env::var_os(REQUIRE_RENDER).is_none() => {
            eprintln!(
                "SKIPPED the map snapshot: no wgpu adapter (install Mesa's lavapipe with scripts/setup-gui-test.sh; \
                 {REQUIRE_RENDER}=1 makes this a failure)"
            );
            None
        }
        Err(_) => panic!("no wgpu adapter, and {REQUIRE_RENDER} is set: run scripts/setup-gui-test.sh"),
    }
}

#[test]
fn the_rendered_map_with_airports_and_planes_matches_the_baseline() {
    let Some(renderer) = renderer() else { return };
    let mut rig = Rig::with_renderer(Some(renderer));
    rig.harness.set_render_cursor(false);
    rig.connect();

    let model = rig.harness.state().model();
    let flights = [
        plane(model, "AR1132", "EZE", "MAD", 0.55),
        plane(model, "LA8012", "GRU", "LIS", 0.3),
        plane(model, "BA117", "LHR", "JFK", 0.7),
        plane(model, "AV11", "BOG", "MAD", 0.4),
        plane(model, "DL110", "ATL", "GRU", 0.8),
    ];
    // The positions of each plane's track arrive one poll at a time, then where it is now.
    let longest = flights.iter().map(|(_, track)| track.len()).max().unwrap_or(0);
    for i in 0..longest {
        let polls = flights
            .iter()
            .map(|(p, track)| {
                let (latitude, longitude) = track[i.min(track.len() - 1)];
                // Climbing, speeding up and burning fuel on the way to where it is now.
                let along = (i + 1) as f64 / (longest + 1) as f64;
                LivePosition {
                    latitude,
                    longitude,
                    progress: p.progress * along,
                    altitude_m: (p.altitude_m * along * 3.0).min(p.altitude_m),
                    ground_speed_kmh: (p.ground_speed_kmh * along * 2.0).clamp(250.0, p.ground_speed_kmh),
                    fuel_kg: p.fuel_kg + 8_000.0 * (1.0 - along),
                    ..p.clone()
                }
            })
            .collect();
        assert!(rig.worker.send(Event::Positions(polls)));
    }
    rig.event(Event::Positions(flights.iter().map(|(p, _)| p.clone()).collect()));
    assert_eq!(rig.harness.state().model().live.len(), 5);
    assert!(rig.harness.state().model().tracks.get("AR1132-20261122").len() > 5);
    // One plane selected: its route is highlighted and its panel shows.
    rig.harness.state_mut().model_mut().select_flight(Some("AR1132-20261122".into()));
    rig.harness.run();
    rig.event(Event::Flight {
        flight_id: "AR1132-20261122".into(),
        flight: Some(Box::new(flight_ar1132("in flight"))),
    });
    rig.harness.get_by_label("5 planes in the air");
    // Its altitude, speed and fuel as watched, plotted in its panel.
    assert!(rig.harness.state().model().profiles.get("AR1132-20261122").len() > 5);
    rig.harness.get_by_label("fuel (kg) by progress (%)");

    let image = rig.harness.render().expect("render the window");
    let pixels = |(r, g, b): (u8, u8, u8)| {
        image
            .pixels()
            .filter(|p| p.0[0].abs_diff(r) <= 3 && p.0[1].abs_diff(g) <= 3 && p.0[2].abs_diff(b) <= 3)
            .count()
    };
    let total = (image.width() * image.height()) as usize;
    assert!(pixels((28, 52, 82)) > total / 4, "the drawn ocean does not fill the map");
    assert!(pixels((255, 220, 40)) > 4 * 30, "the planes are not drawn");
    assert!(pixels((80, 220, 140)) > 50, "the tracks are not drawn");
    assert!(pixels((240, 200, 90)) > 100, "the airports are not drawn");

    // Lavapipe is deterministic on one machine; the tolerance only absorbs a different
    // Mesa build's rounding of anti-aliased edges, far below a moved plane or label.
    rig.harness.snapshot_options(
        "map_with_airports_and_planes",
        &SnapshotOptions::new().threshold(1.0).max_failed_pixels(40),
    );
}
