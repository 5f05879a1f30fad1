//! The phi-accrual failure detector, as Cassandra computes it: heartbeat arrivals are
//! modelled as an exponential distribution whose mean is that of the last
//! `window_size` inter-arrival intervals, and phi is `-log10` of the probability that a
//! heartbeat arrives later than now. This file owns the arithmetic and the arrival
//! windows; it does not decide what counts as a heartbeat (the gossiper reports one
//! whenever an endpoint's heartbeat advances) and it reads no clock.

use std::collections::{BTreeMap, VecDeque};

use crate::state::{Endpoint, Millis};

/// Cassandra's default conviction threshold.
pub const DEFAULT_PHI_CONVICT_THRESHOLD: f64 = 8.0;

/// Cassandra's default window of remembered intervals.
pub const DEFAULT_WINDOW_SIZE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureDetectorConfig {
    /// Phi above which an endpoint is convicted (considered down).
    pub phi_convict_threshold: f64,
    /// How many inter-arrival intervals the mean is taken over.
    pub window_size: usize,
    /// The interval assumed at the first heartbeat, before any real interval is known.
    /// Erring high delays conviction of a node that never speaks again, erring low makes
    /// nodes flap; Cassandra uses twice the gossip interval.
    pub initial_interval_ms: Millis,
    /// Intervals longer than this (a pause, a partition, a restart) are not recorded, so
    /// one long silence does not teach the detector to wait longer forever after.
    pub max_interval_ms: Millis,
}

impl FailureDetectorConfig {
    /// Cassandra's defaults for a given gossip interval.
    pub fn for_gossip_interval(interval_ms: Millis, phi_convict_threshold: f64) -> Self {
        Self {
            phi_convict_threshold,
            window_size: DEFAULT_WINDOW_SIZE,
            initial_interval_ms: interval_ms.saturating_mul(2),
            max_interval_ms: interval_ms.saturating_mul(2),
        }
    }
}

impl Default for FailureDetectorConfig {
    fn default() -> Self {
        Self::for_gossip_interval(1000, DEFAULT_PHI_CONVICT_THRESHOLD)
    }
}

/// The recent heartbeat arrival intervals of one endpoint.
#[derive(Debug, Clone)]
pub struct ArrivalWindow {
    intervals: VecDeque<Millis>,
    sum: u64,
    last_arrival: Option<Millis>,
}

impl ArrivalWindow {
    pub fn new() -> Self {
        Self {
            intervals: VecDeque::new(),
            sum: 0,
            last_arrival: None,
        }
    }

    /// Records a heartbeat arriving at `now`.
    pub fn report(&mut self, now: Millis, config: &FailureDetectorConfig) {
        match self.last_arrival {
            None => self.push(config.initial_interval_ms, config.window_size),
            Some(last) => {
                let interval = now.saturating_sub(last);
                if interval <= config.max_interval_ms {
                    self.push(interval, config.window_size);
                }
            }
        }
        self.last_arrival = Some(self.last_arrival.map_or(now, |last| last.max(now)));
    }

    fn push(&mut self, interval: Millis, window_size: usize) {
        if self.intervals.len() >= window_size.max(1) {
            if let Some(old) = self.intervals.pop_front() {
                self.sum -= old;
            }
        }
        self.intervals.push_back(interval);
        self.sum += interval;
    }

    /// The mean interval in milliseconds, never below 1 so phi stays finite.
    pub fn mean(&self) -> f64 {
        if self.intervals.is_empty() {
            return 1.0;
        }
        (self.sum as f64 / self.intervals.len() as f64).max(1.0)
    }

    pub fn last_arrival(&self) -> Option<Millis> {
        self.last_arrival
    }

    /// `-log10(P(no heartbeat for as long as it has been))` under an exponential
    /// distribution: `t / (mean * ln 10)`. Zero before the first heartbeat.
    pub fn phi(&self, now: Millis) -> f64 {
        let Some(last) = self.last_arrival else { return 0.0 };
        let silence = now.saturating_sub(last) as f64;
        silence / (self.mean() * std::f64::consts::LN_10)
    }
}

impl Default for ArrivalWindow {
    fn default() -> Self {
        Self::new()
    }
}

/// Arrival windows of every endpoint that has reported a heartbeat.
#[derive(Debug, Clone)]
pub struct FailureDetector {
    config: FailureDetectorConfig,
    windows: BTreeMap<Endpoint, ArrivalWindow>,
}

impl FailureDetector {
    pub fn new(config: FailureDetectorConfig) -> Self {
        Self {
            config,
            windows: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &FailureDetectorConfig {
        &self.config
    }

    /// Records a heartbeat of `endpoint` arriving at `now`.
    pub fn report(&mut self, endpoint: Endpoint, now: Millis) {
        self.windows.entry(endpoint).or_default().report(now, &self.config);
    }

    /// Phi of `endpoint` at `now`; `None` if it never reported.
    pub fn phi(&self, endpoint: Endpoint, now: Millis) -> Option<f64> {
        self.windows.get(&endpoint).map(|w| w.phi(now))
    }

    /// Whether `endpoint` is believed up at `now`: it has reported and its phi does not
    /// exceed the threshold.
    pub fn is_alive(&self, endpoint: Endpoint, now: Millis) -> bool {
        self.phi(endpoint, now).is_some_and(|phi| phi <= self.config.phi_convict_threshold)
    }

    /// Forgets the intervals of `endpoint`, for a restart or a removal.
    pub fn remove(&mut self, endpoint: Endpoint) {
        self.windows.remove(&endpoint);
    }

    pub fn window(&self, endpoint: Endpoint) -> Option<&ArrivalWindow> {
        self.windows.get(&endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> Endpoint {
        "127.0.0.2:9044".parse().unwrap()
    }

    fn detector_with_beats_every(interval: Millis, beats: u64) -> (FailureDetector, Millis) {
        let mut fd = FailureDetector::new(FailureDetectorConfig::default());
        let mut now = 10_000;
        for _ in 0..beats {
            fd.report(ep(), now);
            now += interval;
        }
        (fd, now - interval)
    }

    #[test]
    fn phi_is_zero_right_after_a_heartbeat_and_grows_with_silence() {
        let (fd, last) = detector_with_beats_every(1000, 50);
        let mut previous = -1.0;
        for silence in [0, 500, 1_000, 5_000, 10_000, 20_000] {
            let phi = fd.phi(ep(), last + silence).unwrap();
            assert!(phi > previous, "phi {phi} at silence {silence} did not grow past {previous}");
            previous = phi;
        }
        assert_eq!(fd.phi(ep(), last), Some(0.0));
    }

    #[test]
    fn phi_matches_the_exponential_formula() {
        let (fd, last) = detector_with_beats_every(1000, 1001);
        // The initial 2000 ms guess has left the 1000-interval window: the mean is exact.
        assert!((fd.window(ep()).unwrap().mean() - 1000.0).abs() < 1e-9);
        let phi = fd.phi(ep(), last + 2_000).unwrap();
        let expected = -(f64::exp(-2.0)).log10();
        assert!((phi - expected).abs() < 1e-9, "phi {phi} expected {expected}");
    }

    #[test]
    fn a_node_is_convicted_after_about_eight_phi_of_silence_and_not_before() {
        let (fd, last) = detector_with_beats_every(1000, 1001);
        // phi = 8 at t = 8 * ln(10) * mean = 18 421 ms.
        assert!(fd.is_alive(ep(), last + 18_000));
        assert!(!fd.is_alive(ep(), last + 18_500));
    }

    #[test]
    fn a_convicted_node_comes_back_when_heartbeats_resume() {
        let (mut fd, last) = detector_with_beats_every(1000, 100);
        let later = last + 60_000;
        assert!(!fd.is_alive(ep(), later));
        fd.report(ep(), later);
        assert!(fd.is_alive(ep(), later));
        assert!(fd.is_alive(ep(), later + 1_000));
        // The long silence was not recorded as an interval, so the mean did not grow.
        assert!(fd.window(ep()).unwrap().mean() < 1100.0);
    }

    #[test]
    fn an_endpoint_that_never_reported_is_not_alive() {
        let fd = FailureDetector::new(FailureDetectorConfig::default());
        assert_eq!(fd.phi(ep(), 5), None);
        assert!(!fd.is_alive(ep(), 5));
    }

    #[test]
    fn the_window_forgets_the_oldest_intervals() {
        let config = FailureDetectorConfig {
            window_size: 3,
            ..FailureDetectorConfig::default()
        };
        let mut window = ArrivalWindow::new();
        for t in [0, 100, 200, 300, 400] {
            window.report(t, &config);
        }
        assert!((window.mean() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_heartbeat_from_the_past_does_not_move_the_last_arrival_back() {
        let mut window = ArrivalWindow::new();
        let config = FailureDetectorConfig::default();
        window.report(5_000, &config);
        window.report(4_000, &config);
        assert_eq!(window.last_arrival(), Some(5_000));
    }
}
