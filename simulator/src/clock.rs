//! Simulated time: wall-clock time sped up by a time-scale factor, which can be paused
//! and resumed. Times are milliseconds since the Unix epoch (the CQL `timestamp`
//! unit). The wall clock is injected as an `Instant` so the arithmetic is testable;
//! the clock owns no thread.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Milliseconds since the Unix epoch, in simulated time.
pub type SimTime = i64;

#[derive(Debug)]
pub struct SimClock {
    start_wall: Instant,
    start_sim: SimTime,
    scale: f64,
    pauses: Mutex<Pauses>,
}

#[derive(Debug, Default)]
struct Pauses {
    since: Option<Instant>,
    total: Duration,
}

impl SimClock {
    /// A clock that reads `start_sim` at `start_wall` and runs `scale` times faster
    /// than the wall clock.
    pub fn new(start_wall: Instant, start_sim: SimTime, scale: f64) -> SimClock {
        SimClock {
            start_wall,
            start_sim,
            scale,
            pauses: Mutex::new(Pauses::default()),
        }
    }

    /// A clock starting at the current wall-clock time.
    pub fn starting_now(scale: f64) -> SimClock {
        SimClock::new(Instant::now(), chrono::Utc::now().timestamp_millis(), scale)
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    pub fn now(&self) -> SimTime {
        self.at(Instant::now())
    }

    /// Simulated time at wall-clock instant `wall`.
    pub fn at(&self, wall: Instant) -> SimTime {
        let pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        let mut paused = pauses.total;
        if let Some(since) = pauses.since {
            paused += wall.saturating_duration_since(since);
        }
        let running = wall.saturating_duration_since(self.start_wall).saturating_sub(paused);
        self.start_sim + (running.as_secs_f64() * self.scale * 1000.0) as i64
    }

    pub fn is_paused(&self) -> bool {
        self.pauses.lock().unwrap_or_else(|e| e.into_inner()).since.is_some()
    }

    /// Stops simulated time at `wall`; returns false if it was already paused.
    pub fn pause_at(&self, wall: Instant) -> bool {
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        if pauses.since.is_some() {
            return false;
        }
        pauses.since = Some(wall);
        true
    }

    /// Lets simulated time run again from `wall`; returns false if it was running.
    pub fn resume_at(&self, wall: Instant) -> bool {
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        match pauses.since.take() {
            Some(since) => {
                pauses.total += wall.saturating_duration_since(since);
                true
            }
            None => false,
        }
    }

    pub fn pause(&self) -> bool {
        self.pause_at(Instant::now())
    }

    pub fn resume(&self) -> bool {
        self.resume_at(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_time_runs_scale_times_faster() {
        let t0 = Instant::now();
        let clock = SimClock::new(t0, 1_000_000, 60.0);
        assert_eq!(clock.at(t0), 1_000_000);
        assert_eq!(clock.at(t0 + Duration::from_secs(2)), 1_000_000 + 120_000);
    }

    #[test]
    fn a_paused_clock_stands_still_and_resumes_where_it_stopped() {
        let t0 = Instant::now();
        let clock = SimClock::new(t0, 0, 10.0);
        assert!(clock.pause_at(t0 + Duration::from_secs(1)));
        assert!(!clock.pause_at(t0 + Duration::from_secs(2)));
        assert_eq!(clock.at(t0 + Duration::from_secs(5)), 10_000);
        assert!(clock.is_paused());
        assert!(clock.resume_at(t0 + Duration::from_secs(6)));
        assert!(!clock.resume_at(t0 + Duration::from_secs(6)));
        assert_eq!(clock.at(t0 + Duration::from_secs(7)), 20_000);
    }
}
