//! Geometry on the sphere and on the screen, as plain functions: great-circle distance
//! and sampling (for route lines), splitting lines where they cross the antimeridian,
//! graticule spacing for the drawn background, and grid declutter of labels. Points
//! are `(latitude, longitude)` in degrees; screen points are `(x, y)` pixels. It knows
//! nothing of egui or the map widget.

pub use aviation::geo::EARTH_RADIUS_KM;

pub type LatLon = (f64, f64);

fn to_vector((lat, lon): LatLon) -> [f64; 3] {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

fn from_vector([x, y, z]: [f64; 3]) -> LatLon {
    let lat = z.atan2((x * x + y * y).sqrt()).to_degrees();
    let lon = y.atan2(x).to_degrees();
    (lat, lon)
}

/// Central angle between two points, in radians (the shared haversine of `aviation::geo`).
pub fn central_angle(a: LatLon, b: LatLon) -> f64 {
    aviation::geo::central_angle(aviation::geo::LatLon::new(a.0, a.1), aviation::geo::LatLon::new(b.0, b.1))
}

pub fn distance_km(a: LatLon, b: LatLon) -> f64 {
    central_angle(a, b) * EARTH_RADIUS_KM
}

/// `segments + 1` points along the great circle from `a` to `b`, both ends included
/// (spherical linear interpolation). Antipodal or identical ends give the straight pair.
pub fn great_circle(a: LatLon, b: LatLon, segments: usize) -> Vec<LatLon> {
    let segments = segments.max(1);
    let omega = central_angle(a, b);
    if omega < 1e-9 || (std::f64::consts::PI - omega) < 1e-9 {
        return vec![a, b];
    }
    let (va, vb) = (to_vector(a), to_vector(b));
    let sin_omega = omega.sin();
    (0..=segments)
        .map(|i| {
            let t = i as f64 / segments as f64;
            let wa = ((1.0 - t) * omega).sin() / sin_omega;
            let wb = (t * omega).sin() / sin_omega;
            from_vector([wa * va[0] + wb * vb[0], wa * va[1] + wb * vb[1], wa * va[2] + wb * vb[2]])
        })
        .collect()
}

/// Segment count for a route: about one per 100 km, between 8 and 128.
pub fn segments_for(a: LatLon, b: LatLon) -> usize {
    ((distance_km(a, b) / 100.0) as usize).clamp(8, 128)
}

/// Splits a polyline into pieces that never jump across the antimeridian (a step of
/// more than 180° of longitude), so a Mercator map does not draw a line across the world.
pub fn split_at_antimeridian(points: &[LatLon]) -> Vec<Vec<LatLon>> {
    let mut pieces: Vec<Vec<LatLon>> = Vec::new();
    let mut current: Vec<LatLon> = Vec::new();
    for &p in points {
        if let Some(&last) = current.last() {
            if (p.1 - last.1).abs() > 180.0 {
                pieces.push(std::mem::take(&mut current));
            }
        }
        current.push(p);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces.retain(|piece| piece.len() >= 2);
    pieces
}

/// Degrees between graticule lines at a map zoom level: 30° for the whole world, down
/// to 1° when zoomed in on a region.
pub fn graticule_step(zoom: f64) -> f64 {
    match zoom {
        z if z < 2.5 => 30.0,
        z if z < 3.5 => 20.0,
        z if z < 5.0 => 10.0,
        z if z < 6.5 => 5.0,
        _ => 1.0,
    }
}

/// The multiples of `step` in `[min, max]`.
pub fn graticule_lines(min: f64, max: f64, step: f64) -> Vec<f64> {
    if step <= 0.0 || min > max {
        return Vec::new();
    }
    let first = (min / step).ceil() as i64;
    let last = (max / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A label that wants a place on the screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub x: f32,
    pub y: f32,
    /// Lower is more important (the busiest airport is 0).
    pub rank: usize,
    /// Always shown (the selected airport).
    pub pinned: bool,
}

/// Grid declutter: the screen is cut into `cell` × `cell` pixel cells and each cell
/// shows at most one label, the most important one; pinned labels are always kept
/// and take their cell. Returns the indices of the kept candidates, most important first.
pub fn declutter(candidates: &[Candidate], cell: f32) -> Vec<usize> {
    let cell = cell.max(1.0);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| (!candidates[i].pinned, candidates[i].rank, i));
    let mut taken = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for i in order {
        let c = candidates[i];
        let key = ((c.x / cell).floor() as i64, (c.y / cell).floor() as i64);
        if taken.insert(key) || c.pinned {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    const EZE: LatLon = (-34.8222, -58.5358);
    const MAD: LatLon = (40.4719, -3.5626);

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn the_distance_from_buenos_aires_to_madrid_is_about_ten_thousand_km() {
        let d = distance_km(EZE, MAD);
        assert!(close(d, 10_060.0, 60.0), "{d}");
        assert_eq!(distance_km(EZE, EZE), 0.0);
    }

    #[test]
    fn a_great_circle_starts_and_ends_at_its_airports_with_even_steps() {
        let points = great_circle(EZE, MAD, 20);
        assert_eq!(points.len(), 21);
        assert!(close(points[0].0, EZE.0, 1e-9) && close(points[0].1, EZE.1, 1e-9));
        assert!(close(points[20].0, MAD.0, 1e-9) && close(points[20].1, MAD.1, 1e-9));
        let total = distance_km(EZE, MAD);
        for pair in points.windows(2) {
            assert!(close(distance_km(pair[0], pair[1]), total / 20.0, 1.0));
        }
    }

    #[test]
    fn a_great_circle_between_far_northern_cities_bends_towards_the_pole() {
        // New York to Tokyo passes far north of both ends.
        let points = great_circle((40.64, -73.78), (35.55, 139.78), 64);
        let northmost = points.iter().map(|p| p.0).fold(f64::MIN, f64::max);
        assert!(northmost > 60.0, "{northmost}");
    }

    #[test]
    fn identical_ends_give_a_degenerate_pair_not_nan() {
        let points = great_circle(EZE, EZE, 10);
        assert_eq!(points, vec![EZE, EZE]);
    }

    #[test]
    fn a_route_across_the_pacific_is_split_at_the_antimeridian() {
        // Sydney to Los Angeles crosses 180°.
        let points = great_circle((-33.95, 151.18), (33.94, -118.41), 64);
        let pieces = split_at_antimeridian(&points);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces.iter().map(Vec::len).sum::<usize>(), points.len());
        for piece in &pieces {
            for pair in piece.windows(2) {
                assert!((pair[0].1 - pair[1].1).abs() < 180.0);
            }
        }
        assert_eq!(split_at_antimeridian(&great_circle(EZE, MAD, 8)).len(), 1);
    }

    #[test]
    fn graticule_lines_get_denser_as_the_map_zooms_in() {
        assert_eq!(graticule_step(1.0), 30.0);
        assert_eq!(graticule_step(3.0), 20.0);
        assert_eq!(graticule_step(4.0), 10.0);
        assert!(graticule_step(8.0) < graticule_step(4.0));
        assert_eq!(graticule_lines(-50.0, 50.0, 30.0), vec![-30.0, 0.0, 30.0]);
        assert_eq!(graticule_lines(-180.0, 180.0, 90.0), vec![-180.0, -90.0, 0.0, 90.0, 180.0]);
        assert!(graticule_lines(10.0, 0.0, 10.0).is_empty());
    }

    #[test]
    fn declutter_keeps_the_busiest_label_of_each_cell() {
        let c = |x, y, rank| Candidate { x, y, rank, pinned: false };
        let candidates = [c(5.0, 5.0, 7), c(10.0, 10.0, 2), c(60.0, 5.0, 9), c(15.0, 15.0, 1)];
        let kept = declutter(&candidates, 50.0);
        assert_eq!(kept, vec![3, 2]);
    }

    #[test]
    fn declutter_always_keeps_a_pinned_label_even_in_a_crowded_cell() {
        let candidates = [
            Candidate {
                x: 1.0,
                y: 1.0,
                rank: 0,
                pinned: false,
            },
            Candidate {
                x: 2.0,
                y: 2.0,
                rank: 50,
                pinned: true,
            },
        ];
        let kept = declutter(&candidates, 40.0);
        assert_eq!(kept, vec![1]);
        let kept_apart = declutter(&candidates, 1.0);
        assert_eq!(kept_apart, vec![1, 0]);
    }

    #[test]
    fn smaller_cells_keep_more_labels() {
        let candidates: Vec<Candidate> = (0..100)
            .map(|i| Candidate {
                x: (i % 10) as f32 * 10.0,
                y: (i / 10) as f32 * 10.0,
                rank: i,
                pinned: false,
            })
            .collect();
        assert_eq!(declutter(&candidates, 200.0).len(), 1);
        assert_eq!(declutter(&candidates, 50.0).len(), 4);
        assert_eq!(declutter(&candidates, 10.0).len(), 100);
    }
}
