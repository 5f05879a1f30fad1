//! The side panels and bars around the map: the airport-and-day panel (date picker,
//! departures and arrivals, the new-flight form), the searchable list of the planes in
//! the air, the flight panel (details, live figures, status buttons), the lost-connection banner and the status bar. They edit
//! the form and date in the model and return [`Action`]s; the app turns those into
//! worker commands.

use chrono::{Datelike, NaiveDate};
use eframe::egui::{self, Color32, RichText, Ui};

use crate::form::{format_datetime, format_time, Field, NewFlight};
use crate::geo::distance_km;
use crate::model::{Connection, DayRow, Direction, Flight, LivePosition, Model, Status};
use crate::profile::ProfilePoint;

/// What the user asked for in a panel.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    LoadDay,
    SelectFlight(String),
    CreateFlight(NewFlight),
    SetStatus { flight_id: String, status: Status },
    CloseAirport,
    CloseFlight,
}

const ERROR: Color32 = Color32::from_rgb(255, 110, 110);

/// The red banner shown while the cluster is unreachable.
pub fn connection_banner(ui: &mut Ui, connection: &Connection) {
    let Connection::Lost { reason, attempts } = connection else {
        return;
    };
    egui::Frame::new()
        .fill(Color32::from_rgb(150, 30, 30))
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(format!("Cluster unreachable — reconnecting (attempt {attempts}). {reason}"))
                    .color(Color32::WHITE)
                    .strong(),
            );
        });
}

/// One line: which node, whether the cluster answers, how many planes, the tile mode,
/// and the last notice.
pub fn status_bar(ui: &mut Ui, model: &Model, tiles: &str) {
    ui.horizontal(|ui| {
        let (dot, text) = match &model.connection {
            Connection::Connecting { contact_points } => (Color32::YELLOW, format!("connecting to {contact_points}…")),
            Connection::Connected { node, nodes } => (
                Color32::GREEN,
                format!("connected to {node} ({nodes} node{})", if *nodes == 1 { "" } else { "s" }),
            ),
            Connection::Lost { .. } => (ERROR, "cluster unreachable".to_string()),
        };
        // A drawn dot: the default fonts have no bullet glyph.
        let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
        ui.painter().circle_filled(rect.center(), 5.0, dot);
        ui.label(text);
        ui.separator();
        ui.label(format!("{} planes in the air", model.live.len()));
        ui.separator();
        // Only with a simulator publishing: the UI tests' snapshots have no clock.
        if let Some((sim_now, scale)) = model.simulated_now(chrono::Utc::now().timestamp_millis()) {
            ui.label(
                RichText::new(format!(
                    "{} simulator{} flying {scale:.0}× (sim clock {} UTC)",
                    model.simulators.len(),
                    if model.simulators.len() == 1 { "" } else { "s" },
                    format_datetime(sim_now)
                ))
                .weak(),
            );
            ui.separator();
        }
        ui.label(format!("map: {tiles}"));
        if let Some(notice) = &model.notice {
            ui.separator();
            let color = if notice.is_error { ERROR } else { ui.visuals().text_color() };
            ui.label(RichText::new(&notice.text).color(color));
        }
    });
}

/// The selected airport's day: date picker, departures, arrivals, and the form.
pub fn airport_panel(ui: &mut Ui, model: &mut Model) -> Vec<Action> {
    let mut actions = Vec::new();
    let Some(iata) = model.selected_airport.clone() else {
        ui.heading("Flight map");
        ui.label("Click an airport to see its flights; click a plane to follow it.");
        return actions;
    };
    ui.horizontal(|ui| {
        let title = match model.airports.get(&iata) {
            Some(a) => format!("{iata} · {}", a.city),
            None => iata.clone(),
        };
        ui.heading(title);
        if ui.small_button("close").clicked() {
            actions.push(Action::CloseAirport);
        }
    });
    if let Some(a) = model.airports.get(&iata) {
        ui.label(RichText::new(format!("{}, {}", a.name, a.country)).weak());
    }
    ui.horizontal(|ui| {
        ui.label("Day (UTC):");
        let mut date = to_jiff(model.day);
        ui.add(egui_extras::DatePickerButton::new(&mut date).id_salt("day").show_icon(false));
        if let Some(day) = from_jiff(date).filter(|d| *d != model.day) {
            model.day = day;
            model.day_rows.clear();
            model.day_rows_for = None;
            actions.push(Action::LoadDay);
        }
        if ui.button("reload").clicked() {
            actions.push(Action::LoadDay);
        }
    });
    let loaded = model.day_rows_for.as_ref().is_some_and(|(a, d)| *a == iata && *d == model.day);
    egui::ScrollArea::vertical()
        .id_salt("day-rows")
        .max_height(ui.available_height() * 0.45)
        .show(ui, |ui| {
            for direction in [Direction::Departure, Direction::Arrival] {
                let rows: Vec<&DayRow> = model.day_rows.iter().filter(|r| r.direction == direction).collect();
                let title = match direction {
                    Direction::Departure => "Departures",
                    Direction::Arrival => "Arrivals",
                };
                ui.label(RichText::new(format!("{title} ({})", rows.len())).strong());
                if !loaded {
                    ui.label(RichText::new("loading…").weak());
                    continue;
                }
                if let Some(id) = day_table(ui, direction, &rows, model.day, model.selected_flight.as_deref()) {
                    actions.push(Action::SelectFlight(id));
                }
            }
        });
    ui.separator();
    if let Some(flight) = new_flight_form(ui, model, &iata) {
        actions.push(Action::CreateFlight(flight));
    }
    actions
}

/// The planes in the air, filtered by a search box; a click selects the flight.
pub fn in_air_panel(ui: &mut Ui, model: &mut Model) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.heading(format!("In the air ({})", model.live.len()));
    ui.horizontal(|ui| {
        ui.label("search");
        ui.add(egui::TextEdit::singleline(&mut model.plane_search).hint_text("flight or airport"));
    });
    let planes = model.planes_matching(&model.plane_search);
    if planes.is_empty() && !model.live.is_empty() {
        ui.label(RichText::new("no plane matches").weak());
    }
    for plane in planes.iter().take(50) {
        let selected = model.selected_flight.as_deref() == Some(plane.flight_id.as_str());
        let text = format!(
            "{}  {}-{}  {:.0}%",
            plane.number,
            plane.origin,
            plane.destination,
            plane.progress * 100.0
        );
        if ui.selectable_label(selected, text).clicked() {
            actions.push(Action::SelectFlight(plane.flight_id.clone()));
        }
    }
    if planes.len() > 50 {
        ui.label(RichText::new(format!("and {} more: narrow the search", planes.len() - 50)).weak());
    }
    actions
}

fn day_table(ui: &mut Ui, direction: Direction, rows: &[&DayRow], day: NaiveDate, selected: Option<&str>) -> Option<String> {
    let mut clicked = None;
    let other = match direction {
        Direction::Departure => "to",
        Direction::Arrival => "from",
    };
    egui::Grid::new(("day", direction.as_str()))
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            for header in ["flight", other, "sched", "actual", "status"] {
                ui.label(RichText::new(header).weak());
            }
            ui.end_row();
            for row in rows {
                let is_selected = selected == Some(row.flight_id.as_str());
                if ui.selectable_label(is_selected, &row.flight_number).clicked() {
                    clicked = Some(row.flight_id.clone());
                }
                ui.label(&row.other_airport);
                ui.label(format_time(row.scheduled, day));
                ui.label(row.actual.map(|t| format_time(t, day)).unwrap_or_else(|| "—".into()));
                ui.label(status_text(&row.status));
                ui.end_row();
            }
        });
    clicked
}

fn status_text(status: &str) -> RichText {
    let color = match Status::parse(status) {
        Some(Status::Delayed) => Color32::from_rgb(255, 190, 60),
        Some(Status::Cancelled) => ERROR,
        Some(Status::InFlight) => Color32::from_rgb(120, 200, 255),
        Some(Status::Landed) => Color32::from_rgb(140, 220, 140),
        _ => Color32::GRAY,
    };
    RichText::new(status).color(color)
}

fn new_flight_form(ui: &mut Ui, model: &mut Model, origin: &str) -> Option<NewFlight> {
    let mut submit = false;
    ui.label(RichText::new(format!("New flight from {origin} on {}", model.day)).strong());
    let form = &mut model.form;
    egui::Grid::new("new-flight").num_columns(2).show(ui, |ui| {
        // An edited field loses its old complaint; the next submit checks it again.
        let mut edited = Vec::new();
        let mut field = |ui: &mut Ui, label: &str, value: &mut String, hint: &str, key: Option<Field>| {
            // Labelled for screen readers (and the UI tests, which find fields by name).
            let label_id = ui.label(label).id;
            ui.vertical(|ui| {
                let response = ui
                    .add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(140.0))
                    .labelled_by(label_id);
                if let Some(key) = key {
                    if response.changed() {
                        edited.push(key);
                    } else if let Some(error) = form.errors.get(&key) {
                        ui.label(RichText::new(error).color(ERROR).small());
                    }
                }
            });
            ui.end_row();
        };
        field(ui, "Number", &mut form.number, "AR1132", Some(Field::Number));
        field(ui, "Airline", &mut form.airline, "from the number", Some(Field::Airline));
        field(ui, "To", &mut form.destination, "MAD", Some(Field::Destination));
        field(ui, "Departs", &mut form.departure, "HH:MM UTC", Some(Field::Departure));
        field(ui, "Arrives", &mut form.arrival, "HH:MM or HH:MM+1", Some(Field::Arrival));
        field(ui, "Aircraft", &mut form.aircraft, "A320", None);
        for key in edited {
            form.errors.remove(&key);
        }
    });
    if ui.button("Create flight").clicked() {
        submit = true;
    }
    if !submit {
        return None;
    }
    let day = model.day;
    let airports = &model.airports;
    model.form.validate(origin, day, airports)
}

/// The selected flight: schedule, live figures, status buttons.
pub fn flight_panel(ui: &mut Ui, model: &Model) -> Vec<Action> {
    let mut actions = Vec::new();
    let Some(flight_id) = model.selected_flight.clone() else {
        return actions;
    };
    let live = model.live_position(&flight_id);
    ui.horizontal(|ui| {
        let number = model
            .flight
            .as_ref()
            .map(|f| f.number.clone())
            .or_else(|| live.map(|p| p.number.clone()))
            .unwrap_or_else(|| flight_id.clone());
        ui.heading(format!("Flight {number}"));
        if ui.small_button("close").clicked() {
            actions.push(Action::CloseFlight);
        }
    });
    let Some(flight) = &model.flight else {
        ui.label(RichText::new("loading…").weak());
        return actions;
    };
    egui::Grid::new("flight").num_columns(2).striped(true).show(ui, |ui| {
        let mut row = |label: &str, value: String| {
            ui.label(RichText::new(label).weak());
            ui.label(value);
            ui.end_row();
        };
        row("airline", flight.airline.clone());
        row("route", format!("{} to {}", flight.origin, flight.destination));
        row("aircraft", flight.aircraft.clone());
        row("departure", times(flight.scheduled_departure, flight.actual_departure));
        row("arrival", times(flight.scheduled_arrival, flight.actual_arrival));
        if model.signal_lost(flight) {
            row("position", "signal lost: no fresh position from its simulator".to_string());
        }
        if let Some(by) = &flight.claimed_by {
            row("flown by", by.clone());
        }
        if let Some(p) = live {
            if let Some(t) = p.sim_time {
                row("simulated time", format_datetime(t));
            }
            row("altitude", format!("{:.0} m", p.altitude_m));
            row("ground speed", format!("{:.0} km/h", p.ground_speed_kmh));
            row("heading", format!("{:.0}°", p.heading_deg));
            row("fuel", format!("{:.0} kg", p.fuel_kg));
        }
        if let Some((flown, remaining)) = distances(model, flight, live) {
            row("flown", format!("{flown:.0} km"));
            row("remaining", format!("{remaining:.0} km"));
        }
        ui.label(RichText::new("status").weak());
        ui.label(status_text(&flight.status).strong());
        ui.end_row();
    });
    let status = Status::parse(&flight.status);
    let choices = status.map(Status::allowed_changes).unwrap_or_else(|| Status::SETTABLE.to_vec());
    if !choices.is_empty() {
        ui.horizontal(|ui| {
            ui.label("Set status:");
            for s in choices {
                if ui.button(s.as_str()).clicked() {
                    actions.push(Action::SetStatus {
                        flight_id: flight.flight_id.clone(),
                        status: s,
                    });
                }
            }
        });
    }
    profile_plots(ui, model, &flight.flight_id);
    actions
}

/// Altitude, ground speed and fuel against progress, as watched since the map
/// started (nothing for a flight not in the air).
fn profile_plots(ui: &mut Ui, model: &Model, flight_id: &str) {
    use egui_plot::{Line, Plot, PlotPoints};
    if model.profiles.get(flight_id).len() < 2 {
        return;
    }
    type Figure = fn(&ProfilePoint) -> f64;
    let figures: [(&str, Figure); 3] = [
        ("altitude (m)", |p| p.altitude_m),
        ("ground speed (km/h)", |p| p.ground_speed_kmh),
        ("fuel (kg)", |p| p.fuel_kg),
    ];
    for (name, figure) in figures {
        ui.label(RichText::new(format!("{name} by progress (%)")).weak());
        Plot::new(format!("profile-{name}"))
            .height(70.0)
            .include_x(0.0)
            .include_x(100.0)
            .include_y(0.0)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new(name, PlotPoints::from(model.profiles.series(flight_id, figure))));
            });
    }
}

fn times(scheduled: Option<i64>, actual: Option<i64>) -> String {
    let scheduled = scheduled.map(format_datetime).unwrap_or_else(|| "—".into());
    match actual {
        Some(a) => format!("{scheduled} (actual {})", format_datetime(a)),
        None => scheduled,
    }
}

/// (flown, remaining) km: from the live position when in the air, else from the
/// status (all or nothing).
fn distances(model: &Model, flight: &Flight, live: Option<&LivePosition>) -> Option<(f64, f64)> {
    let a = model.airports.get(&flight.origin)?;
    let b = model.airports.get(&flight.destination)?;
    let (from, to) = ((a.latitude, a.longitude), (b.latitude, b.longitude));
    if let Some(p) = live {
        let here = (p.latitude, p.longitude);
        return Some((distance_km(from, here), distance_km(here, to)));
    }
    let total = distance_km(from, to);
    match Status::parse(&flight.status) {
        Some(Status::Landed) => Some((total, 0.0)),
        // A cancelled flight has nothing left to fly.
        Some(Status::Cancelled) => None,
        _ => Some((0.0, total)),
    }
}

fn to_jiff(day: NaiveDate) -> jiff::civil::Date {
    jiff::civil::Date::new(day.year() as i16, day.month() as i8, day.day() as i8).unwrap_or_default()
}

fn from_jiff(date: jiff::civil::Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(date.year().into(), date.month() as u32, date.day() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_survives_the_trip_through_the_date_picker_type() {
        for day in [
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
            NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
        ] {
            assert_eq!(from_jiff(to_jiff(day)), Some(day));
        }
    }
}
