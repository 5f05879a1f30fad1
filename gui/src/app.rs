//! The eframe application: owns the model, the map widget's memory, the tile source
//! and the worker handle. Each frame it folds the worker's events into the model,
//! asks for periodic refreshes, lays out the panels around the map, and turns the
//! panels' actions and map clicks into worker commands. It never waits on the network.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eframe::egui::{self, Align2, Color32, FontId};
use walkers::{HttpOptions, HttpTiles, Map, MapMemory, MercatorProjection, Projector, Tiles};

use crate::map::{self, Hit, LocalTiles};
use crate::model::Model;
use crate::panels::{self, Action};
use crate::worker::{Command, Event, Worker, WorkerConfig};

/// How the map gets its background.
pub enum TileMode {
    /// `--no-tiles`, or no tile server answered: the drawn background only.
    Drawn,
    /// Waiting for the quick check of the tile server.
    Probing(mpsc::Receiver<bool>),
    Local(LocalTiles),
    Online(Box<HttpTiles>),
}

impl TileMode {
    fn describe(&self) -> &'static str {
        match self {
            TileMode::Drawn => "offline (drawn background)",
            TileMode::Probing(_) => "checking the tile server…",
            TileMode::Local(_) => "local tiles",
            TileMode::Online(_) => "OpenStreetMap",
        }
    }
}

#[derive(Debug, Clone)]
pub enum TileChoice {
    None,
    Local(PathBuf),
    Online,
}

const OSM_HOST: &str = "tile.openstreetmap.org:443";
const DAY_REFRESH: Duration = Duration::from_secs(5);
const FLIGHT_REFRESH: Duration = Duration::from_secs(1);

/// Checks on its own thread whether the tile server can be reached at all, so an
/// offline machine falls back to the drawn map instead of waiting on every tile.
fn probe_tile_server(ctx: egui::Context) -> mpsc::Receiver<bool> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("tile-probe".into()).spawn(move || {
        use std::net::{TcpStream, ToSocketAddrs};
        let online = OSM_HOST
            .to_socket_addrs()
            .map(|mut addrs| addrs.any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(1500)).is_ok()))
            .unwrap_or(false);
        let _ = tx.send(online);
        ctx.request_repaint();
    });
    if spawned.is_err() {
        tracing::warn!("cannot start the tile probe; using the drawn map");
    }
    rx
}

fn tile_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("flight-map").join("tiles"))
}

pub struct FlightMapApp {
    model: Model,
    worker: Option<Worker>,
    memory: MapMemory,
    tiles: TileMode,
    last_day_request: Option<Instant>,
    last_flight_request: Option<Instant>,
}

impl FlightMapApp {
    /// The app as the binary runs it: today's date and a real worker thread.
    pub fn new(ctx: &egui::Context, config: WorkerConfig, tiles: TileChoice) -> FlightMapApp {
        let today = chrono::Utc::now().date_naive();
        let model = Model::new(today, config.contact_points.join(", "));
        let repaint = ctx.clone();
        let worker = match Worker::spawn(config, move || repaint.request_repaint()) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the database thread");
                None
            }
        };
        FlightMapApp::with_worker(ctx, model, worker, tiles)
    }

    /// The app over a given model and worker handle (`None`: the thread could not
    /// start). UI tests pass a [`Worker::detached`] handle and play the worker.
    pub fn with_worker(ctx: &egui::Context, model: Model, worker: Option<Worker>, tiles: TileChoice) -> FlightMapApp {
        let tiles = match tiles {
            TileChoice::None => TileMode::Drawn,
            TileChoice::Local(dir) => TileMode::Local(LocalTiles::new(dir, ctx.clone())),
            TileChoice::Online => TileMode::Probing(probe_tile_server(ctx.clone())),
        };
        let mut memory = MapMemory::default();
        let _ = memory.set_zoom(2.6);
        FlightMapApp {
            model,
            worker,
            memory,
            tiles,
            last_day_request: None,
            last_flight_request: None,
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    fn send(&mut self, command: Command) {
        let sent = self.worker.as_ref().is_some_and(|w| w.send(command));
        if !sent {
            self.model.notice = Some(crate::model::Notice {
                text: "the database thread has stopped".into(),
                is_error: true,
            });
        }
    }

    fn request_day(&mut self) {
        if let Some(airport) = self.model.selected_airport.clone() {
            let day = self.model.day;
            self.send(Command::LoadDay { airport, day });
            self.last_day_request = Some(Instant::now());
        }
    }

    fn request_flight(&mut self) {
        if let Some(flight_id) = self.model.selected_flight.clone() {
            self.send(Command::LoadFlight { flight_id });
            self.last_flight_request = Some(Instant::now());
        }
    }

    fn receive(&mut self) {
        let events = self.worker.as_ref().map(Worker::drain).unwrap_or_default();
        for event in events {
            let follow_up = matches!(
                &event,
                Event::Connection(crate::model::Connection::Connected { .. }) | Event::FlightCreated { .. }
            );
            self.model.apply(event);
            if follow_up {
                self.request_day();
                self.request_flight();
            }
        }
    }

    fn refresh(&mut self) {
        if !self.model.is_connected() {
            return;
        }
        let due = |last: Option<Instant>, every: Duration| last.is_none_or(|t| t.elapsed() >= every);
        if due(self.last_day_request, DAY_REFRESH) {
            self.request_day();
        }
        if due(self.last_flight_request, FLIGHT_REFRESH) {
            self.request_flight();
        }
    }

    fn handle(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::LoadDay => self.request_day(),
                Action::SelectFlight(id) => {
                    self.model.select_flight(Some(id));
                    self.request_flight();
                }
                Action::CreateFlight(flight) => self.send(Command::CreateFlight(flight)),
                Action::SetStatus { flight_id, status } => self.send(Command::SetStatus { flight_id, status }),
                Action::CloseAirport => self.model.select_airport(None),
                Action::CloseFlight => self.model.select_flight(None),
            }
        }
    }

    fn update_tiles(&mut self, ctx: &egui::Context) {
        let TileMode::Probing(rx) = &self.tiles else { return };
        match rx.try_recv() {
            Ok(true) => {
                let options = HttpOptions {
                    cache: tile_cache_dir(),
                    ..HttpOptions::default()
                };
                let tiles = HttpTiles::with_options(walkers::sources::OpenStreetMap, options, ctx.clone());
                self.tiles = TileMode::Online(Box::new(tiles));
            }
            Ok(false) | Err(mpsc::TryRecvError::Disconnected) => {
                tracing::info!("tile server unreachable; drawing the offline map");
                self.tiles = TileMode::Drawn;
            }
            Err(mpsc::TryRecvError::Empty) => {}
        }
    }

    fn map(&mut self, ui: &mut egui::Ui) {
        let rect = ui.available_rect_before_wrap();
        let center = map::initial_center();
        let background = Projector::new(rect, &MercatorProjection, &self.memory, center);
        map::draw_background(&ui.painter_at(rect), &background);
        let tiles: Option<&mut dyn Tiles> = match &mut self.tiles {
            TileMode::Local(t) => Some(t),
            TileMode::Online(t) => Some(t.as_mut()),
            TileMode::Drawn | TileMode::Probing(_) => None,
        };
        let attribution = tiles.as_ref().map(|t| t.attribution().text);
        let model = &self.model;
        let hit = Map::new(tiles, &mut self.memory, center)
            .zoom_with_ctrl(false)
            .show(ui, |ui, response, projector, _| {
                let painter = ui.painter_at(projector.clip_rect());
                map::draw_overlays(&painter, projector, model);
                if let Some(text) = attribution {
                    let corner = projector.clip_rect().right_bottom() - egui::vec2(4.0, 2.0);
                    painter.text(
                        corner,
                        Align2::RIGHT_BOTTOM,
                        format!("© {text}"),
                        FontId::proportional(10.0),
                        Color32::WHITE,
                    );
                }
                match response.interact_pointer_pos() {
                    Some(click) if response.clicked() => map::hit_test(model, projector, click),
                    _ => Hit::Nothing,
                }
            })
            .inner;
        match hit {
            Hit::Plane(id) => {
                self.model.select_flight(Some(id));
                self.request_flight();
            }
            Hit::Airport(iata) => {
                self.model.select_airport(Some(iata));
                self.request_day();
            }
            Hit::Nothing => {}
        }
    }
}

impl eframe::App for FlightMapApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

impl FlightMapApp {
    /// One frame of the whole window; [`eframe::App::ui`] is only this, so tests can
    /// run it without an eframe window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.receive();
        self.refresh();
        self.update_tiles(&ctx);
        // Periodic refreshes need a frame even when no event arrives (cluster down).
        ctx.request_repaint_after(Duration::from_secs(1));

        if matches!(self.model.connection, crate::model::Connection::Lost { .. }) {
            egui::Panel::top("banner")
                .show_separator_line(false)
                .frame(egui::Frame::NONE)
                .show(ui, |ui| panels::connection_banner(ui, &self.model.connection));
        }
        let tiles = self.tiles.describe();
        egui::Panel::bottom("status").show(ui, |ui| panels::status_bar(ui, &self.model, tiles));
        let mut actions = Vec::new();
        egui::Panel::right("side").default_size(400.0).resizable(true).show(ui, |ui| {
            egui::ScrollArea::vertical().id_salt("side-scroll").show(ui, |ui| {
                actions.extend(panels::airport_panel(ui, &mut self.model));
                ui.separator();
                actions.extend(panels::in_air_panel(ui, &mut self.model));
                if self.model.selected_flight.is_some() {
                    ui.separator();
                    actions.extend(panels::flight_panel(ui, &self.model));
                }
            });
        });
        self.handle(actions);
        egui::CentralPanel::no_frame().show(ui, |ui| self.map(ui));
    }
}
