//! The flight model: where a plane is, how high and fast it flies, which way it heads
//! and how much fuel it has, at a given time after take-off. Pure arithmetic over a
//! route and an aircraft; it owns no clock, no thread and no database.
//!
//! The profile is three phases in time: a climb in which ground speed grows linearly
//! from take-off speed to cruise speed and altitude grows linearly to the cruise level,
//! a cruise at constant speed and level, and a descent that mirrors the climb down to
//! landing speed. A route too short for a full climb and descent shrinks both phases in
//! the same proportion (and the peak altitude with them), so it never cruises.

use crate::geo::{distance_km, initial_bearing_deg, intermediate_point, LatLon};

/// Ground speed at lift-off, km/h.
pub const TAKEOFF_SPEED_KMH: f64 = 280.0;
/// Ground speed at touch-down, km/h.
pub const LANDING_SPEED_KMH: f64 = 260.0;
/// Slowest cruise speed the model accepts, km/h (a slow turboprop).
pub const MIN_CRUISE_SPEED_KMH: f64 = 300.0;
/// Fastest cruise speed the model accepts, km/h (just above any airliner's).
pub const MAX_CRUISE_SPEED_KMH: f64 = 1_100.0;
/// Cruise level of a route long enough to reach it, metres (about FL360).
pub const CRUISE_ALTITUDE_M: f64 = 11_000.0;
/// Duration of a full climb, seconds.
const CLIMB_S: f64 = 20.0 * 60.0;
/// Duration of a full descent, seconds.
const DESCENT_S: f64 = 25.0 * 60.0;
/// Fuel flow in the climb and the descent relative to the cruise flow.
const CLIMB_BURN_FACTOR: f64 = 1.6;
const DESCENT_BURN_FACTOR: f64 = 0.35;
/// Fuel flow while holding (a delayed flight circling), relative to cruise.
const HOLDING_BURN_FACTOR: f64 = 0.8;
/// Fuel on board at take-off beyond the trip: 5 % contingency plus 45 minutes of cruise.
const CONTINGENCY: f64 = 0.05;
const RESERVE_H: f64 = 0.75;

/// An aircraft type: its usual cruise speed and its fuel flow at cruise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aircraft {
    pub code: &'static str,
    pub cruise_speed_kmh: f64,
    pub cruise_burn_kg_h: f64,
    /// Longest route it flies in the random mix, km.
    pub range_km: f64,
}

/// Common airliners, short-haul first; the figures are typical published values.
pub const AIRCRAFT: &[Aircraft] = &[
    Aircraft {
        code: "AT76",
        cruise_speed_kmh: 510.0,
        cruise_burn_kg_h: 700.0,
        range_km: 1_500.0,
    },
    Aircraft {
        code: "E190",
        cruise_speed_kmh: 820.0,
        cruise_burn_kg_h: 1_900.0,
        range_km: 4_000.0,
    },
    Aircraft {
        code: "A320",
        cruise_speed_kmh: 830.0,
        cruise_burn_kg_h: 2_500.0,
        range_km: 6_000.0,
    },
    Aircraft {
        code: "B738",
        cruise_speed_kmh: 840.0,
        cruise_burn_kg_h: 2_550.0,
        range_km: 5_500.0,
    },
    Aircraft {
        code: "A321",
        cruise_speed_kmh: 830.0,
        cruise_burn_kg_h: 2_800.0,
        range_km: 7_000.0,
    },
    Aircraft {
        code: "B788",
        cruise_speed_kmh: 900.0,
        cruise_burn_kg_h: 5_000.0,
        range_km: 13_500.0,
    },
    Aircraft {
        code: "A359",
        cruise_speed_kmh: 900.0,
        cruise_burn_kg_h: 5_800.0,
        range_km: 15_000.0,
    },
    Aircraft {
        code: "B77W",
        cruise_speed_kmh: 905.0,
        cruise_burn_kg_h: 7_500.0,
        range_km: 13_600.0,
    },
    Aircraft {
        code: "A388",
        cruise_speed_kmh: 900.0,
        cruise_burn_kg_h: 11_000.0,
        range_km: 15_000.0,
    },
];

/// The aircraft type with this ICAO code (case-insensitive).
pub fn aircraft(code: &str) -> Option<&'static Aircraft> {
    AIRCRAFT.iter().find(|a| a.code.eq_ignore_ascii_case(code))
}

/// Why a flight cannot be modelled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("cruise speed {speed_kmh} km/h is outside {min}..={max} km/h")]
    SpeedOutOfRange { speed_kmh: f64, min: f64, max: f64 },
    #[error("origin and destination are the same place")]
    SamePlace,
}

/// The phase of flight at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Climb,
    Cruise,
    Descent,
    Landed,
}

/// Everything the live position row holds, at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlightState {
    pub phase: Phase,
    pub position: LatLon,
    pub altitude_m: f64,
    pub ground_speed_kmh: f64,
    pub heading_deg: f64,
    pub fuel_kg: f64,
    pub distance_flown_km: f64,
    /// Share of the route flown, 0.0 to 1.0.
    pub progress: f64,
}

/// A planned flight: route, speeds and fuel, with its phase timings worked out.
#[derive(Debug, Clone, PartialEq)]
pub struct FlightModel {
    origin: LatLon,
    destination: LatLon,
    distance_km: f64,
    cruise_speed_kmh: f64,
    cruise_burn_kg_h: f64,
    climb_s: f64,
    cruise_s: f64,
    descent_s: f64,
    peak_altitude_m: f64,
    initial_fuel_kg: f64,
}

impl FlightModel {
    pub fn new(origin: LatLon, destination: LatLon, cruise_speed_kmh: f64, cruise_burn_kg_h: f64) -> Result<FlightModel, ModelError> {
        if !(MIN_CRUISE_SPEED_KMH..=MAX_CRUISE_SPEED_KMH).contains(&cruise_speed_kmh) {
            return Err(ModelError::SpeedOutOfRange {
                speed_kmh: cruise_speed_kmh,
                min: MIN_CRUISE_SPEED_KMH,
                max: MAX_CRUISE_SPEED_KMH,
            });
        }
        let distance = distance_km(origin, destination);
        if distance < 1.0 {
            return Err(ModelError::SamePlace);
        }
        let vc = cruise_speed_kmh / 3600.0; // km per second
        let (v0, vl) = (TAKEOFF_SPEED_KMH / 3600.0, LANDING_SPEED_KMH / 3600.0);
        let climb_km = (v0 + vc) / 2.0 * CLIMB_S;
        let descent_km = (vc + vl) / 2.0 * DESCENT_S;
        let (climb_s, descent_s, cruise_s, peak) = if distance >= climb_km + descent_km {
            (CLIMB_S, DESCENT_S, (distance - climb_km - descent_km) / vc, CRUISE_ALTITUDE_M)
        } else {
            let k = distance / (climb_km + descent_km);
            (CLIMB_S * k, DESCENT_S * k, 0.0, CRUISE_ALTITUDE_M * k)
        };
        let mut model = FlightModel {
            origin,
            destination,
            distance_km: distance,
            cruise_speed_kmh,
            cruise_burn_kg_h: cruise_burn_kg_h.max(0.0),
            climb_s,
            cruise_s,
            descent_s,
            peak_altitude_m: peak,
            initial_fuel_kg: 0.0,
        };
        let trip = model.burned_kg(model.duration_s());
        model.initial_fuel_kg = trip * (1.0 + CONTINGENCY) + RESERVE_H * model.cruise_burn_kg_h;
        Ok(model)
    }

    /// Great-circle length of the route, km.
    pub fn distance_km(&self) -> f64 {
        self.distance_km
    }

    pub fn cruise_speed_kmh(&self) -> f64 {
        self.cruise_speed_kmh
    }

    /// Time from take-off to touch-down, seconds.
    pub fn duration_s(&self) -> f64 {
        self.climb_s + self.cruise_s + self.descent_s
    }

    /// Fuel on board at take-off, kg.
    pub fn initial_fuel_kg(&self) -> f64 {
        self.initial_fuel_kg
    }

    /// The state `elapsed_s` seconds of flying after take-off, after `held_s` seconds
    /// spent holding (which burn fuel without moving the flight along its route).
    pub fn state_at(&self, elapsed_s: f64, held_s: f64) -> FlightState {
        let t = elapsed_s.clamp(0.0, self.duration_s());
        let (phase, flown, speed, altitude) = self.profile(t);
        let flown = flown.min(self.distance_km);
        let progress = if elapsed_s >= self.duration_s() {
            1.0
        } else {
            flown / self.distance_km
        };
        let position = if progress >= 1.0 {
            self.destination
        } else {
            intermediate_point(self.origin, self.destination, progress)
        };
        let heading = if progress >= 1.0 {
            // The course on arrival: the reverse of the initial course back to origin.
            (initial_bearing_deg(self.destination, self.origin) + 180.0).rem_euclid(360.0)
        } else {
            initial_bearing_deg(position, self.destination)
        };
        let holding_kg = held_s.max(0.0) / 3600.0 * self.cruise_burn_kg_h * HOLDING_BURN_FACTOR;
        let fuel = (self.initial_fuel_kg - self.burned_kg(t) - holding_kg).max(0.0);
        FlightState {
            phase,
            position,
            altitude_m: altitude.max(0.0),
            ground_speed_kmh: speed,
            heading_deg: heading,
            fuel_kg: fuel,
            distance_flown_km: flown,
            progress,
        }
    }

    /// Phase, distance flown (km), ground speed (km/h) and altitude (m) at `t` seconds.
    fn profile(&self, t: f64) -> (Phase, f64, f64, f64) {
        let vc = self.cruise_speed_kmh / 3600.0;
        let (v0, vl) = (TAKEOFF_SPEED_KMH / 3600.0, LANDING_SPEED_KMH / 3600.0);
        let climb_km = (v0 + vc) / 2.0 * self.climb_s;
        if t >= self.duration_s() {
            return (Phase::Landed, self.distance_km, 0.0, 0.0);
        }
        if t < self.climb_s {
            let a = (vc - v0) / self.climb_s;
            let flown = v0 * t + a * t * t / 2.0;
            return (Phase::Climb, flown, (v0 + a * t) * 3600.0, self.peak_altitude_m * t / self.climb_s);
        }
        let cruise_end = self.climb_s + self.cruise_s;
        if t < cruise_end {
            let flown = climb_km + vc * (t - self.climb_s);
            return (Phase::Cruise, flown, self.cruise_speed_kmh, self.peak_altitude_m);
        }
        let td = t - cruise_end;
        let a = (vc - vl) / self.descent_s;
        let flown = climb_km + vc * self.cruise_s + vc * td - a * td * td / 2.0;
        let altitude = self.peak_altitude_m * (1.0 - td / self.descent_s);
        (Phase::Descent, flown, (vc - a * td) * 3600.0, altitude)
    }

    /// Fuel burned from take-off to `t` seconds, kg.
    fn burned_kg(&self, t: f64) -> f64 {
        let per_s = self.cruise_burn_kg_h / 3600.0;
        let climb = t.min(self.climb_s);
        let cruise = (t - self.climb_s).clamp(0.0, self.cruise_s);
        let descent = (t - self.climb_s - self.cruise_s).clamp(0.0, self.descent_s);
        per_s * (climb * CLIMB_BURN_FACTOR + cruise + descent * DESCENT_BURN_FACTOR)
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
    const AEP: LatLon = LatLon {
        lat: -34.5592,
        lon: -58.4156,
    };
    const MVD: LatLon = LatLon {
        lat: -34.8384,
        lon: -56.0308,
    };

    fn eze_mad() -> FlightModel {
        FlightModel::new(EZE, MAD, 850.0, 7_500.0).expect("a valid flight")
    }

    #[test]
    fn arrival_time_follows_from_distance_and_cruise_speed() {
        let m = eze_mad();
        let climb_km = (280.0 + 850.0) / 2.0 * (20.0 / 60.0);
        let descent_km = (850.0 + 260.0) / 2.0 * (25.0 / 60.0);
        let cruise_h = (m.distance_km() - climb_km - descent_km) / 850.0;
        let want_s = (20.0 + 25.0) * 60.0 + cruise_h * 3600.0;
        assert!((m.duration_s() - want_s).abs() < 1e-6, "{} vs {want_s}", m.duration_s());
        // About twelve hours, as the real flight takes.
        assert!((11.5 * 3600.0..13.0 * 3600.0).contains(&m.duration_s()), "{}", m.duration_s());
    }

    #[test]
    fn a_faster_aircraft_arrives_sooner() {
        let slow = FlightModel::new(EZE, MAD, 700.0, 5_000.0).unwrap();
        let fast = FlightModel::new(EZE, MAD, 950.0, 5_000.0).unwrap();
        assert!(fast.duration_s() < slow.duration_s());
    }

    #[test]
    fn the_flight_starts_at_origin_and_ends_at_destination() {
        let m = eze_mad();
        let start = m.state_at(0.0, 0.0);
        assert!((start.position.lat - EZE.lat).abs() < 1e-9 && (start.position.lon - EZE.lon).abs() < 1e-9);
        assert_eq!(start.altitude_m, 0.0);
        assert_eq!(start.ground_speed_kmh, TAKEOFF_SPEED_KMH);
        let end = m.state_at(m.duration_s(), 0.0);
        assert_eq!(end.phase, Phase::Landed);
        assert_eq!(end.position, MAD);
        assert_eq!(end.progress, 1.0);
        assert_eq!(end.altitude_m, 0.0);
    }

    #[test]
    fn position_is_interpolated_along_the_great_circle() {
        let m = eze_mad();
        let t = m.duration_s() / 2.0;
        let s = m.state_at(t, 0.0);
        let want = intermediate_point(EZE, MAD, s.progress);
        assert!((s.position.lat - want.lat).abs() < 1e-9 && (s.position.lon - want.lon).abs() < 1e-9);
        assert!((distance_km(EZE, s.position) - s.distance_flown_km).abs() < 0.01);
        // Cruise is symmetric in time, so half the time is roughly half the way.
        assert!((0.45..0.55).contains(&s.progress), "{}", s.progress);
    }

    #[test]
    fn progress_and_distance_to_go_are_monotonic() {
        let m = eze_mad();
        let mut last_progress = -1.0;
        let mut last_to_go = f64::INFINITY;
        let steps = 500;
        for i in 0..=steps {
            let s = m.state_at(m.duration_s() * i as f64 / steps as f64, 0.0);
            let to_go = distance_km(s.position, MAD);
            assert!(s.progress > last_progress, "step {i}: {} after {last_progress}", s.progress);
            assert!(to_go <= last_to_go + 1e-6, "step {i}: {to_go} km to go after {last_to_go}");
            last_progress = s.progress;
            last_to_go = to_go;
        }
    }

    #[test]
    fn altitude_climbs_cruises_and_descends() {
        let m = eze_mad();
        let climbing = m.state_at(10.0 * 60.0, 0.0);
        let cruising = m.state_at(m.duration_s() / 2.0, 0.0);
        let descending = m.state_at(m.duration_s() - 10.0 * 60.0, 0.0);
        assert_eq!(climbing.phase, Phase::Climb);
        assert_eq!(cruising.phase, Phase::Cruise);
        assert_eq!(descending.phase, Phase::Descent);
        assert!((5_000.0..6_000.0).contains(&climbing.altitude_m), "{}", climbing.altitude_m);
        assert_eq!(cruising.altitude_m, CRUISE_ALTITUDE_M);
        assert_eq!(cruising.ground_speed_kmh, 850.0);
        assert!(descending.altitude_m < CRUISE_ALTITUDE_M && descending.altitude_m > 0.0);
        for i in 0..=1000 {
            let s = m.state_at(m.duration_s() * i as f64 / 1000.0, 0.0);
            assert!((0.0..=CRUISE_ALTITUDE_M).contains(&s.altitude_m), "{s:?}");
            assert!(s.ground_speed_kmh <= 850.0 + 1e-9, "{s:?}");
        }
    }

    #[test]
    fn a_short_hop_never_reaches_cruise_level() {
        let m = FlightModel::new(AEP, MVD, 830.0, 2_500.0).unwrap();
        let peak = (0..=200)
            .map(|i| m.state_at(m.duration_s() * i as f64 / 200.0, 0.0).altitude_m)
            .fold(0.0, f64::max);
        assert!(peak < CRUISE_ALTITUDE_M && peak > 1_000.0, "peak {peak}");
        assert!(m.duration_s() < 45.0 * 60.0, "{}", m.duration_s());
        let landed = m.state_at(m.duration_s(), 0.0);
        assert!((landed.position.lat - MVD.lat).abs() < 1e-9);
    }

    #[test]
    fn fuel_decreases_and_is_never_negative() {
        let m = eze_mad();
        let mut last = f64::INFINITY;
        for i in 0..=100 {
            let s = m.state_at(m.duration_s() * i as f64 / 100.0, 0.0);
            assert!(s.fuel_kg <= last && s.fuel_kg >= 0.0, "{s:?}");
            last = s.fuel_kg;
        }
        // The reserve is still in the tanks on arrival.
        assert!(last > 0.5 * 7_500.0, "{last}");
        // Holding for days empties the tanks but never below zero.
        assert_eq!(m.state_at(m.duration_s(), 1_000_000.0).fuel_kg, 0.0);
        assert_eq!(m.state_at(f64::MAX, f64::MAX).fuel_kg, 0.0);
    }

    #[test]
    fn heading_points_toward_the_destination() {
        let m = eze_mad();
        let s = m.state_at(3600.0, 0.0);
        assert!((s.heading_deg - initial_bearing_deg(s.position, MAD)).abs() < 1e-9);
        assert!((0.0..360.0).contains(&s.heading_deg));
    }

    #[test]
    fn absurd_speeds_and_same_place_routes_are_rejected() {
        assert!(matches!(
            FlightModel::new(EZE, MAD, -5.0, 1.0),
            Err(ModelError::SpeedOutOfRange { .. })
        ));
        assert!(matches!(
            FlightModel::new(EZE, MAD, 5_000.0, 1.0),
            Err(ModelError::SpeedOutOfRange { .. })
        ));
        assert_eq!(FlightModel::new(EZE, EZE, 800.0, 1.0), Err(ModelError::SamePlace));
        assert!(FlightModel::new(EZE, MAD, f64::NAN, 1.0).is_err());
    }

    #[test]
    fn aircraft_codes_are_found_case_insensitively() {
        assert_eq!(aircraft("a320").map(|a| a.code), Some("A320"));
        assert_eq!(aircraft("XXXX"), None);
    }
}
