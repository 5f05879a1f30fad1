//! A flight's profile as the map has watched it: altitude, ground speed and fuel
//! against its progress along the route (0..1), one point per new position, for the
//! flight panel's small plots. Pure state fed by the live positions; it draws
//! nothing (`panels.rs` does) and reads nothing from the cluster.

use std::collections::HashMap;

use crate::model::LivePosition;

/// One sample of a flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfilePoint {
    pub progress: f64,
    pub altitude_m: f64,
    pub ground_speed_kmh: f64,
    pub fuel_kg: f64,
}

/// The profile of each flight in the air; each holds at most `max_points` (the
/// oldest go first), and a flight's profile is dropped with its last position.
#[derive(Debug, Clone)]
pub struct Profiles {
    profiles: HashMap<String, Vec<ProfilePoint>>,
    max_points: usize,
}

impl Default for Profiles {
    fn default() -> Self {
        Profiles::new(2000)
    }
}

impl Profiles {
    pub fn new(max_points: usize) -> Profiles {
        Profiles {
            profiles: HashMap::new(),
            max_points: max_points.max(2),
        }
    }

    /// Adds the latest positions: a point only when the flight's progress or figures
    /// changed (the same row read again adds nothing; a holding plane burns fuel in
    /// place).
    pub fn record(&mut self, positions: &[LivePosition]) {
        self.profiles.retain(|id, _| positions.iter().any(|p| &p.flight_id == id));
        for p in positions {
            let point = ProfilePoint {
                progress: p.progress,
                altitude_m: p.altitude_m,
                ground_speed_kmh: p.ground_speed_kmh,
                fuel_kg: p.fuel_kg,
            };
            let profile = self.profiles.entry(p.flight_id.clone()).or_default();
            if profile.last() != Some(&point) {
                profile.push(point);
                if profile.len() > self.max_points {
                    let excess = profile.len() - self.max_points;
                    profile.drain(..excess);
                }
            }
        }
    }

    pub fn get(&self, flight_id: &str) -> &[ProfilePoint] {
        self.profiles.get(flight_id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `(progress in %, value)` pairs of one figure, ready for a plot line.
    pub fn series(&self, flight_id: &str, figure: impl Fn(&ProfilePoint) -> f64) -> Vec<[f64; 2]> {
        self.get(flight_id).iter().map(|p| [p.progress * 100.0, figure(p)]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(id: &str, progress: f64, altitude_m: f64, fuel_kg: f64) -> LivePosition {
        LivePosition {
            flight_id: id.into(),
            progress,
            altitude_m,
            fuel_kg,
            ground_speed_kmh: 800.0,
            ..LivePosition::default()
        }
    }

    #[test]
    fn a_profile_grows_with_new_positions_and_goes_with_the_flight() {
        let mut profiles = Profiles::new(3);
        profiles.record(&[at("A", 0.1, 3000.0, 9000.0), at("B", 0.5, 11000.0, 5000.0)]);
        profiles.record(&[at("A", 0.1, 3000.0, 9000.0), at("B", 0.5, 11000.0, 4990.0)]);
        profiles.record(&[at("A", 0.2, 8000.0, 8800.0)]);
        assert_eq!(profiles.get("A").len(), 2, "the same row read twice is one point");
        assert!(profiles.get("B").is_empty(), "a landed flight's profile is dropped");
        assert_eq!(profiles.series("A", |p| p.altitude_m), vec![[10.0, 3000.0], [20.0, 8000.0]]);
        for progress in [0.3, 0.4, 0.5] {
            profiles.record(&[at("A", progress, 11000.0, 8000.0)]);
        }
        let kept: Vec<f64> = profiles.get("A").iter().map(|p| p.progress).collect();
        assert_eq!(kept, [0.3, 0.4, 0.5], "at most three points, the newest");
    }
}
