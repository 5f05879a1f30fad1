//! Great-circle geometry on a spherical Earth (radius 6371 km): distance, initial
//! bearing and the point a given fraction of the way along the route. Pure functions
//! over degrees; it knows nothing of flights or airports.

/// Mean Earth radius used by every function here, in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// A point on the sphere, in degrees (latitude north positive, longitude east positive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub fn new(lat: f64, lon: f64) -> LatLon {
        LatLon { lat, lon }
    }
}

/// Great-circle distance in kilometres (haversine, stable for short distances).
pub fn distance_km(a: LatLon, b: LatLon) -> f64 {
    EARTH_RADIUS_KM * central_angle(a, b)
}

/// Angle between two points seen from the Earth's centre, in radians.
pub fn central_angle(a: LatLon, b: LatLon) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (b.lon - a.lon).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * h.sqrt().min(1.0).asin()
}

/// Initial bearing (forward azimuth) from `a` towards `b`, degrees clockwise from true
/// north in `[0, 360)`.
pub fn initial_bearing_deg(a: LatLon, b: LatLon) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlambda = (b.lon - a.lon).to_radians();
    let y = dlambda.sin() * phi2.cos();
    let x = phi1.cos() * phi2.sin() - phi1.sin() * phi2.cos() * dlambda.cos();
    normalize_deg(y.atan2(x).to_degrees())
}

/// The point `fraction` (0 = `a`, 1 = `b`) of the way along the great circle from `a`
/// to `b`. Fractions outside `[0, 1]` are clamped.
pub fn intermediate_point(a: LatLon, b: LatLon, fraction: f64) -> LatLon {
    let f = fraction.clamp(0.0, 1.0);
    let delta = central_angle(a, b);
    if delta < 1e-12 {
        return a;
    }
    let (phi1, lambda1) = (a.lat.to_radians(), a.lon.to_radians());
    let (phi2, lambda2) = (b.lat.to_radians(), b.lon.to_radians());
    let wa = ((1.0 - f) * delta).sin() / delta.sin();
    let wb = (f * delta).sin() / delta.sin();
    let x = wa * phi1.cos() * lambda1.cos() + wb * phi2.cos() * lambda2.cos();
    let y = wa * phi1.cos() * lambda1.sin() + wb * phi2.cos() * lambda2.sin();
    let z = wa * phi1.sin() + wb * phi2.sin();
    let lat = z.atan2((x * x + y * y).sqrt()).to_degrees();
    let lon = normalize_lon(y.atan2(x).to_degrees());
    LatLon { lat, lon }
}

fn normalize_deg(d: f64) -> f64 {
    let r = d.rem_euclid(360.0);
    if r >= 360.0 {
        0.0
    } else {
        r
    }
}

fn normalize_lon(lon: f64) -> f64 {
    let l = (lon + 180.0).rem_euclid(360.0) - 180.0;
    if l == -180.0 {
        180.0
    } else {
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EZE: LatLon = LatLon {
        lat: -34.8222,
        lon: -58.5358,
    };
    const MAD: LatLon = LatLon {
        lat: 40.4719,
        lon: -3.5626,
    };
    const JFK: LatLon = LatLon {
        lat: 40.6413,
        lon: -73.7781,
    };
    const LHR: LatLon = LatLon {
        lat: 51.4700,
        lon: -0.4543,
    };
    const SYD: LatLon = LatLon {
        lat: -33.9461,
        lon: 151.1772,
    };
    const LAX: LatLon = LatLon {
        lat: 33.9425,
        lon: -118.4081,
    };

    fn assert_close(got: f64, want: f64, tolerance: f64) {
        assert!((got - want).abs() <= tolerance, "got {got}, want {want} ± {tolerance}");
    }

    #[test]
    fn ezeiza_to_madrid_is_about_10050_km() {
        assert_close(distance_km(EZE, MAD), 10_050.0, 100.0);
    }

    #[test]
    fn jfk_to_heathrow_is_about_5540_km() {
        assert_close(distance_km(JFK, LHR), 5_540.0, 55.0);
    }

    #[test]
    fn sydney_to_los_angeles_is_about_12050_km() {
        assert_close(distance_km(SYD, LAX), 12_050.0, 120.0);
    }

    #[test]
    fn distance_is_symmetric_and_zero_to_itself() {
        assert_close(distance_km(EZE, MAD), distance_km(MAD, EZE), 1e-9);
        assert_close(distance_km(LHR, LHR), 0.0, 1e-9);
    }

    #[test]
    fn jfk_to_heathrow_starts_heading_northeast() {
        // The published initial great-circle course JFK -> LHR is about 51 degrees.
        assert_close(initial_bearing_deg(JFK, LHR), 51.4, 1.0);
    }

    #[test]
    fn los_angeles_to_new_york_matches_the_aviation_formulary_example() {
        // Ed Williams' Aviation Formulary: LAX (33°57'N 118°24'W) to JFK (40°38'N
        // 73°47'W) is 2144 nm (3971 km) with an initial true course of 66 degrees.
        let lax = LatLon::new(33.0 + 57.0 / 60.0, -(118.0 + 24.0 / 60.0));
        let jfk = LatLon::new(40.0 + 38.0 / 60.0, -(73.0 + 47.0 / 60.0));
        assert_close(distance_km(lax, jfk), 3971.0, 10.0);
        assert_close(initial_bearing_deg(lax, jfk), 66.0, 0.5);
    }

    #[test]
    fn bearings_along_meridians_and_equator_are_cardinal() {
        let o = LatLon::new(0.0, 0.0);
        assert_close(initial_bearing_deg(o, LatLon::new(10.0, 0.0)), 0.0, 1e-9);
        assert_close(initial_bearing_deg(o, LatLon::new(0.0, 10.0)), 90.0, 1e-9);
        assert_close(initial_bearing_deg(o, LatLon::new(-10.0, 0.0)), 180.0, 1e-9);
        assert_close(initial_bearing_deg(o, LatLon::new(0.0, -10.0)), 270.0, 1e-9);
    }

    #[test]
    fn intermediate_point_ends_are_the_endpoints() {
        let start = intermediate_point(EZE, MAD, 0.0);
        let end = intermediate_point(EZE, MAD, 1.0);
        assert_close(start.lat, EZE.lat, 1e-9);
        assert_close(start.lon, EZE.lon, 1e-9);
        assert_close(end.lat, MAD.lat, 1e-9);
        assert_close(end.lon, MAD.lon, 1e-9);
    }

    #[test]
    fn intermediate_point_splits_the_distance_by_the_fraction() {
        let total = distance_km(JFK, LHR);
        for f in [0.1, 0.25, 0.5, 0.9] {
            let p = intermediate_point(JFK, LHR, f);
            assert_close(distance_km(JFK, p), f * total, 0.01);
            assert_close(distance_km(p, LHR), (1.0 - f) * total, 0.01);
        }
    }

    #[test]
    fn great_circle_from_new_york_to_london_bulges_north() {
        // The midpoint of the great circle lies well north of both ends (~52.4N).
        let mid = intermediate_point(JFK, LHR, 0.5);
        assert!(mid.lat > 51.5, "midpoint latitude {}", mid.lat);
    }

    #[test]
    fn routes_across_the_antimeridian_keep_longitudes_in_range() {
        let p = intermediate_point(SYD, LAX, 0.5);
        assert!((-180.0..=180.0).contains(&p.lon), "{p:?}");
        assert!(p.lon > 150.0 || p.lon < -118.0, "midpoint {p:?} should be over the Pacific");
    }
}
