//! Drawing the map: the offline background (ocean, the Mercator world, Natural
//! Earth's land and its coasts and borders from `land.rs`, a graticule),
//! a tile source read from a local `{z}/{x}/{y}.png` directory, and the overlays drawn
//! through walkers' projector: route lines, tracks flown, airports with decluttered
//! codes, and planes rotated by heading with their flight numbers. It also turns a
//! click into what was clicked. It reads the model and never changes it.

use std::collections::HashMap;
use std::path::PathBuf;

use eframe::egui::{self, Align2, Color32, FontId, Painter, Pos2, Rect, Shape, Stroke, Vec2};
use walkers::sources::Attribution;
use walkers::{lat_lon, Position, Projector, Tile, TileId, TilePiece, Tiles};

use crate::geo::{self, Candidate, LatLon};
use crate::land::{self, Land};
use crate::model::{LivePosition, Model};

/// The Mercator projection's latitude limit.
const MAX_LAT: f64 = 85.0511;

pub const SPACE: Color32 = Color32::from_rgb(18, 22, 30);
pub const OCEAN: Color32 = Color32::from_rgb(28, 52, 82);
pub const LAND: Color32 = Color32::from_rgb(58, 74, 62);
const COAST: Color32 = Color32::from_rgb(120, 140, 120);
const GRID: Color32 = Color32::from_rgba_unmultiplied_const(120, 150, 190, 60);
const GRID_LABEL: Color32 = Color32::from_rgb(130, 160, 200);
const AIRPORT: Color32 = Color32::from_rgb(240, 200, 90);
const AIRPORT_SELECTED: Color32 = Color32::from_rgb(255, 120, 60);
const PLANE: Color32 = Color32::from_rgb(255, 220, 40);
const PLANE_SELECTED: Color32 = Color32::from_rgb(255, 90, 90);
const ROUTE: Color32 = Color32::from_rgba_unmultiplied_const(200, 200, 200, 110);
const ROUTE_SELECTED: Color32 = Color32::from_rgb(255, 255, 255);
const TRACK: Color32 = Color32::from_rgb(80, 220, 140);

fn pos(projector: &Projector, (lat, lon): LatLon) -> Pos2 {
    projector.project(lat_lon(lat.clamp(-MAX_LAT, MAX_LAT), lon)).to_pos2()
}

/// The drawn background: space around the world, ocean inside it, the land with
/// its coasts and borders, and lines of latitude and longitude every 30° to 1°
/// depending on zoom, labelled at the edges.
pub fn draw_background(painter: &Painter, projector: &Projector) {
    let rect = projector.clip_rect();
    painter.rect_filled(rect, 0.0, SPACE);
    let world = Rect::from_two_pos(pos(projector, (MAX_LAT, -180.0)), pos(projector, (-MAX_LAT, 180.0)));
    painter.rect_filled(world.intersect(rect), 0.0, OCEAN);

    let top_left = projector.unproject(rect.left_top().to_vec2());
    let bottom_right = projector.unproject(rect.right_bottom().to_vec2());
    let view = (bottom_right.y(), top_left.x(), top_left.y(), bottom_right.x());
    draw_land(painter, projector, land::builtin(), view);
    let (lon_min, lon_max) = (top_left.x().max(-180.0), bottom_right.x().min(180.0));
    let (lat_min, lat_max) = (bottom_right.y().max(-80.0), top_left.y().min(80.0));
    let step = geo::graticule_step(projector.zoom());
    let font = FontId::proportional(10.0);
    let stroke = Stroke::new(1.0, GRID);
    let (world_top, world_bottom) = (world.top().max(rect.top()), world.bottom().min(rect.bottom()));
    let (world_left, world_right) = (world.left().max(rect.left()), world.right().min(rect.right()));
    for lon in geo::graticule_lines(lon_min, lon_max, step) {
        let x = pos(projector, (0.0, lon)).x;
        painter.line_segment([Pos2::new(x, world_top), Pos2::new(x, world_bottom)], stroke);
        painter.text(
            Pos2::new(x + 2.0, world_bottom - 2.0),
            Align2::LEFT_BOTTOM,
            degrees(lon, 'E', 'W'),
            font.clone(),
            GRID_LABEL,
        );
    }
    for lat in geo::graticule_lines(lat_min, lat_max, step) {
        let y = pos(projector, (lat, 0.0)).y;
        let stroke = if lat == 0.0 { Stroke::new(1.5, GRID) } else { stroke };
        painter.line_segment([Pos2::new(world_left, y), Pos2::new(world_right, y)], stroke);
        painter.text(
            Pos2::new(world_left + 2.0, y - 1.0),
            Align2::LEFT_BOTTOM,
            degrees(lat, 'N', 'S'),
            font.clone(),
            GRID_LABEL,
        );
    }
}

/// Fills each outer ring in view with its triangles, then outlines every ring:
/// the outlines are the coasts and the borders between countries.
fn draw_land(painter: &Painter, projector: &Projector, land: &Land, (south, west, north, east): (f64, f64, f64, f64)) {
    let in_view = |r: &&land::Ring| r.bounds.0 <= north && r.bounds.2 >= south && r.bounds.1 <= east && r.bounds.3 >= west;
    let mut mesh = egui::Mesh::default();
    let mut outlines = Vec::new();
    for ring in land.rings.iter().filter(in_view) {
        let points: Vec<Pos2> = ring.points.iter().map(|p| pos(projector, *p)).collect();
        if !ring.hole {
            let base = mesh.vertices.len() as u32;
            for p in &points {
                mesh.colored_vertex(*p, LAND);
            }
            for [a, b, c] in &ring.triangles {
                mesh.add_triangle(base + a, base + b, base + c);
            }
        }
        outlines.push(Shape::closed_line(points, Stroke::new(0.8, COAST)));
    }
    painter.add(Shape::mesh(mesh));
    painter.extend(outlines);
}

fn degrees(value: f64, positive: char, negative: char) -> String {
    match value {
        v if v > 0.0 => format!("{v:.0}°{positive}"),
        v if v < 0.0 => format!("{:.0}°{negative}", -v),
        _ => "0°".to_string(),
    }
}

/// What a click on the map hit.
#[derive(Debug, Clone, PartialEq)]
pub enum Hit {
    Plane(String),
    Airport(String),
    Nothing,
}

/// The nearest plane within 14 px of `click`, else the nearest airport within 10 px.
pub fn hit_test(model: &Model, projector: &Projector, click: Pos2) -> Hit {
    let nearest = |points: &mut dyn Iterator<Item = (String, Pos2)>, radius: f32| {
        points
            .map(|(id, p)| (p.distance(click), id))
            .filter(|(d, _)| *d <= radius)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| id)
    };
    let mut planes = model
        .live
        .iter()
        .map(|p| (p.flight_id.clone(), pos(projector, (p.latitude, p.longitude))));
    if let Some(id) = nearest(&mut planes, 14.0) {
        return Hit::Plane(id);
    }
    let mut airports = model
        .airports
        .values()
        .map(|a| (a.iata.clone(), pos(projector, (a.latitude, a.longitude))));
    match nearest(&mut airports, 10.0) {
        Some(iata) => Hit::Airport(iata),
        None => Hit::Nothing,
    }
}

/// Routes, tracks, airports and planes over the map.
pub fn draw_overlays(painter: &Painter, projector: &Projector, model: &Model) {
    for plane in &model.live {
        let selected = model.selected_flight.as_deref() == Some(plane.flight_id.as_str());
        draw_route(painter, projector, model, plane, selected);
        let track: Vec<LatLon> = model.tracks.get(&plane.flight_id).to_vec();
        let width = if selected { 2.5 } else { 1.5 };
        draw_polyline(painter, projector, &track, Stroke::new(width, TRACK));
    }
    draw_airports(painter, projector, model);
    for plane in &model.live {
        let selected = model.selected_flight.as_deref() == Some(plane.flight_id.as_str());
        draw_plane(painter, projector, plane, selected);
    }
}

fn draw_route(painter: &Painter, projector: &Projector, model: &Model, plane: &LivePosition, selected: bool) {
    let (Some(from), Some(to)) = (model.airports.get(&plane.origin), model.airports.get(&plane.destination)) else {
        return;
    };
    let (a, b) = ((from.latitude, from.longitude), (to.latitude, to.longitude));
    let points = geo::great_circle(a, b, geo::segments_for(a, b));
    let stroke = if selected {
        Stroke::new(1.5, ROUTE_SELECTED)
    } else {
        Stroke::new(1.0, ROUTE)
    };
    draw_polyline(painter, projector, &points, stroke);
}

fn draw_polyline(painter: &Painter, projector: &Projector, points: &[LatLon], stroke: Stroke) {
    for piece in geo::split_at_antimeridian(points) {
        let screen: Vec<Pos2> = piece.iter().map(|p| pos(projector, *p)).collect();
        painter.add(Shape::line(screen, stroke));
    }
}

fn draw_airports(painter: &Painter, projector: &Projector, model: &Model) {
    let rect = projector.clip_rect().expand(20.0);
    let mut visible = Vec::new();
    let mut candidates = Vec::new();
    for a in model.airports.values() {
        let p = pos(projector, (a.latitude, a.longitude));
        if !rect.contains(p) {
            continue;
        }
        let selected = model.selected_airport.as_deref() == Some(a.iata.as_str());
        candidates.push(Candidate {
            x: p.x,
            y: p.y,
            rank: model.airport_rank(&a.iata),
            pinned: selected,
        });
        visible.push((a, p, selected));
    }
    for (_, p, selected) in &visible {
        if !selected {
            painter.circle_filled(*p, 2.0, AIRPORT.gamma_multiply(0.6));
        }
    }
    // Cells shrink as the map zooms in, so more codes appear.
    let cell = if projector.zoom() < 3.0 { 56.0 } else { 40.0 };
    let font = FontId::monospace(11.0);
    for i in geo::declutter(&candidates, cell) {
        let (a, p, selected) = visible[i];
        let color = if selected { AIRPORT_SELECTED } else { AIRPORT };
        painter.circle_filled(p, if selected { 5.0 } else { 3.0 }, color);
        if selected {
            painter.circle_stroke(p, 9.0, Stroke::new(2.0, AIRPORT_SELECTED));
        }
        let label_at = p + Vec2::new(5.0, -4.0);
        painter.text(
            label_at + Vec2::splat(1.0),
            Align2::LEFT_BOTTOM,
            &a.iata,
            font.clone(),
            Color32::BLACK,
        );
        painter.text(label_at, Align2::LEFT_BOTTOM, &a.iata, font.clone(), color);
    }
}

/// A plane outline pointing up (north), unit length: fuselage, wings, tail, each convex.
const FUSELAGE: [(f32, f32); 4] = [(0.0, -1.0), (0.12, -0.6), (0.0, 0.9), (-0.12, -0.6)];
const WINGS: [(f32, f32); 3] = [(0.0, -0.35), (0.95, 0.25), (-0.95, 0.25)];
const TAIL: [(f32, f32); 3] = [(0.0, 0.55), (0.4, 0.95), (-0.4, 0.95)];

/// Rotates an icon point clockwise by `heading_deg` (0 = north, 90 = east) on a screen
/// whose y axis points down.
pub fn rotate(point: (f32, f32), heading_deg: f64) -> Vec2 {
    let h = heading_deg.to_radians() as f32;
    let (s, c) = h.sin_cos();
    Vec2::new(point.0 * c - point.1 * s, point.0 * s + point.1 * c)
}

fn draw_plane(painter: &Painter, projector: &Projector, plane: &LivePosition, selected: bool) {
    let center = pos(projector, (plane.latitude, plane.longitude));
    if !projector.clip_rect().expand(30.0).contains(center) {
        return;
    }
    let size = if selected { 13.0 } else { 10.0 };
    let color = if selected { PLANE_SELECTED } else { PLANE };
    for part in [&FUSELAGE[..], &WINGS[..], &TAIL[..]] {
        let points: Vec<Pos2> = part.iter().map(|p| center + rotate(*p, plane.heading_deg) * size).collect();
        painter.add(Shape::convex_polygon(points, color, Stroke::new(0.6, Color32::BLACK)));
    }
    let label_at = center + Vec2::new(size + 2.0, size * 0.2);
    let font = FontId::proportional(11.0);
    painter.text(
        label_at + Vec2::splat(1.0),
        Align2::LEFT_TOP,
        &plane.number,
        font.clone(),
        Color32::BLACK,
    );
    painter.text(label_at, Align2::LEFT_TOP, &plane.number, font, Color32::WHITE);
}

/// Tiles read from a local directory laid out as `{z}/{x}/{y}.png` (what tile
/// downloaders and `mbutil` produce). A missing tile is drawn from the nearest
/// zoomed-out ancestor present.
pub struct LocalTiles {
    dir: PathBuf,
    ctx: egui::Context,
    cache: HashMap<TileId, Option<Tile>>,
    max_zoom: u8,
}

impl LocalTiles {
    pub fn new(dir: PathBuf, ctx: egui::Context) -> LocalTiles {
        let max_zoom = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u8>().ok())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        LocalTiles {
            dir,
            ctx,
            cache: HashMap::new(),
            max_zoom,
        }
    }

    fn load(&mut self, id: TileId) -> Option<Tile> {
        if let Some(tile) = self.cache.get(&id) {
            return tile.clone();
        }
        let path = self
            .dir
            .join(id.zoom.to_string())
            .join(id.x.to_string())
            .join(format!("{}.png", id.y));
        let tile = std::fs::read(&path)
            .ok()
            .and_then(|bytes| Tile::new(&bytes, &walkers::Style, id.zoom, 256, &self.ctx).ok());
        self.cache.insert(id, tile.clone());
        tile
    }
}

/// The ancestor of `id` at `zoom` and the part of it that covers `id`.
pub fn ancestor(id: TileId, zoom: u8) -> (TileId, Rect) {
    let levels = id.zoom.saturating_sub(zoom);
    let scale = 1u32 << levels;
    let parent = TileId {
        x: id.x / scale,
        y: id.y / scale,
        zoom: id.zoom - levels,
    };
    let z = 1.0 / scale as f32;
    let min = Pos2::new((id.x % scale) as f32 * z, (id.y % scale) as f32 * z);
    (parent, Rect::from_min_size(min, Vec2::splat(z)))
}

impl Tiles for LocalTiles {
    fn at(&mut self, id: TileId) -> Option<TilePiece> {
        let mut zoom = id.zoom.min(self.max_zoom);
        loop {
            let (parent, uv) = ancestor(id, zoom);
            if let Some(tile) = self.load(parent) {
                return Some(TilePiece::new(tile, uv));
            }
            zoom = zoom.checked_sub(1)?;
        }
    }

    fn attribution(&self) -> Attribution {
        Attribution {
            text: "local tiles",
            url: "",
            logo_light: None,
            logo_dark: None,
        }
    }

    fn tile_size(&self) -> u32 {
        256
    }
}

/// Where the map starts: the whole Atlantic, with South America and Europe in view.
pub fn initial_center() -> Position {
    lat_lon(10.0, -30.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plane_heading_east_points_right_and_one_heading_south_points_down() {
        let nose = (0.0, -1.0);
        let east = rotate(nose, 90.0);
        assert!((east.x - 1.0).abs() < 1e-5 && east.y.abs() < 1e-5, "{east:?}");
        let south = rotate(nose, 180.0);
        assert!(south.x.abs() < 1e-5 && (south.y - 1.0).abs() < 1e-5, "{south:?}");
        let north = rotate(nose, 0.0);
        assert_eq!(north, Vec2::new(0.0, -1.0));
    }

    #[test]
    fn a_missing_tile_is_cut_from_the_right_quarter_of_its_parent() {
        let id = TileId { x: 5, y: 2, zoom: 3 };
        let (parent, uv) = ancestor(id, 2);
        assert_eq!(parent, TileId { x: 2, y: 1, zoom: 2 });
        assert_eq!(uv, Rect::from_min_size(Pos2::new(0.5, 0.0), Vec2::splat(0.5)));
        let (same, whole) = ancestor(id, 3);
        assert_eq!(same, id);
        assert_eq!(whole, Rect::from_min_size(Pos2::ZERO, Vec2::splat(1.0)));
    }

    #[test]
    fn graticule_labels_name_the_hemisphere() {
        assert_eq!(degrees(30.0, 'N', 'S'), "30°N");
        assert_eq!(degrees(-60.0, 'E', 'W'), "60°W");
        assert_eq!(degrees(0.0, 'N', 'S'), "0°");
    }
}
