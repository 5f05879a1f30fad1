//! The simulator at run time: a registry of flights, a `threadpool::ThreadPool` of
//! `max_flights` workers with one job per flight, the simulated clock, and counters of
//! position updates and errors. The console and the `run` command drive it.
//!
//! Threads and async: each flight is a blocking loop on a pool thread (ticks are
//! `thread::sleep`), and the driver is async, so every pool thread holds a `Handle`
//! to one shared multi-threaded tokio runtime and calls `Handle::block_on` for each
//! statement. That keeps a flight's logic a straight sequential loop (read status,
//! obey it, write position, sleep) with no channel or second queue between a flight
//! and its writes; the driver's own connection tasks run on the runtime's threads,
//! and the runtime multiplexes all flights' requests over its connections. A
//! flight waiting for its write blocks only its own pool thread. Flights beyond the
//! pool's size wait in the pool's queue, and the registry shows them as queued.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use threadpool::ThreadPool;
use tokio::runtime::Handle;

use crate::airports::Airports;
use crate::clock::{SimClock, SimTime};
use crate::schedule::{self, FlightPlan, FlightRequest, ScheduleError};
use crate::status::Status;
use crate::store::{with_retries, Direction, Store, StoreError, WRITE_ATTEMPTS};

/// How long before departure a flight starts boarding, simulated ms.
const BOARDING_MS: i64 = 30 * 60_000;

/// Where a flight is in the simulator (not in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for a pool thread.
    Queued,
    /// On a pool thread, on the ground before departure (or held there, delayed).
    Ground,
    /// In the air.
    Airborne,
    /// In the air, holding because its status says delayed.
    Holding,
    Landed,
    Cancelled,
    /// Stopped by quit or the end of a run before it finished.
    Stopped,
}

impl Stage {
    pub fn is_finished(self) -> bool {
        matches!(self, Stage::Landed | Stage::Cancelled | Stage::Stopped)
    }
}

/// What the console lists about a flight.
#[derive(Debug, Clone)]
pub struct FlightView {
    pub stage: Stage,
    /// The status last read from (or written to) the database.
    pub status: Status,
    pub progress: f64,
    pub altitude_m: f64,
    pub ground_speed_kmh: f64,
}

/// One flight: its plan and its live view.
pub struct FlightEntry {
    pub plan: FlightPlan,
    view: Mutex<FlightView>,
}

impl FlightEntry {
    pub fn view(&self) -> FlightView {
        self.view.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut FlightView)) {
        f(&mut self.view.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Counters shared by every flight.
#[derive(Debug, Default)]
pub struct Stats {
    pub position_updates: AtomicU64,
    pub status_writes: AtomicU64,
    pub errors: AtomicU64,
}

/// Totals for the one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub queued: usize,
    pub on_ground: usize,
    pub airborne: usize,
    pub landed: usize,
    pub cancelled: usize,
    pub stopped: usize,
    pub position_updates: u64,
    pub errors: u64,
}

impl Summary {
    pub fn unfinished(&self) -> usize {
        self.queued + self.on_ground + self.airborne
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no flight `{key}` (give its id, like AR1132-20261122, or a number flying once)")]
    UnknownFlight { key: String },
    #[error("`{key}` matches several flights: {ids}")]
    AmbiguousFlight { key: String, ids: String },
    #[error("flight {flight_id} is already {status}; its status can no longer change")]
    Finished { flight_id: String, status: Status },
    #[error("the simulator lands flights itself; `landed` cannot be set by hand")]
    CannotLand,
    #[error("no random flight could be made from the airports")]
    NoRandomFlight,
}

/// Settings of one simulator.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_flights: usize,
    pub tick: Duration,
    pub time_scale: f64,
}

pub struct Simulator {
    handle: Handle,
    store: Arc<Store>,
    airports: Airports,
    pool: ThreadPool,
    flights: Mutex<BTreeMap<String, Arc<FlightEntry>>>,
    clock: Arc<SimClock>,
    tick: Duration,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

impl Simulator {
    pub fn new(handle: Handle, store: Arc<Store>, airports: Airports, settings: &Settings) -> Simulator {
        Simulator {
            handle,
            store,
            airports,
            pool: ThreadPool::with_name("flight".into(), settings.max_flights.max(1)),
            flights: Mutex::new(BTreeMap::new()),
            clock: Arc::new(SimClock::starting_now(settings.time_scale)),
            tick: settings.tick,
            stats: Arc::new(Stats::default()),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    pub fn airports(&self) -> &Airports {
        &self.airports
    }

    /// Checks a typed flight, writes its schedule (QUORUM) and queues it. Nothing is
    /// written when the request is refused.
    pub fn add(&self, request: &FlightRequest) -> Result<Arc<FlightEntry>, SimError> {
        let plan = schedule::plan(request, &self.airports, self.clock.now())?;
        if self.flights().contains_key(&plan.flight_id) {
            return Err(ScheduleError::Duplicate { flight_id: plan.flight_id }.into());
        }
        self.launch(plan)
    }

    /// Adds `n` random flights; returns how many were added before any error.
    pub fn add_random(&self, n: usize) -> Result<Vec<Arc<FlightEntry>>, SimError> {
        let mut rng = rand::thread_rng();
        let mut added = Vec::with_capacity(n);
        for _ in 0..n {
            let plan = {
                let flights = self.flights();
                schedule::random_plan(&mut rng, &self.airports, self.clock.now(), &|id| flights.contains_key(id))
            }
            .ok_or(SimError::NoRandomFlight)?;
            added.push(self.launch(plan)?);
        }
        Ok(added)
    }

    fn launch(&self, plan: FlightPlan) -> Result<Arc<FlightEntry>, SimError> {
        let store = self.store.clone();
        self.handle
            .block_on(with_retries(WRITE_ATTEMPTS, || store.insert_flight(&plan, Status::Scheduled)))
            .inspect_err(|_| {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
            })?;
        let entry = Arc::new(FlightEntry {
            plan,
            view: Mutex::new(FlightView {
                stage: Stage::Queued,
                status: Status::Scheduled,
                progress: 0.0,
                altitude_m: 0.0,
                ground_speed_kmh: 0.0,
            }),
        });
        self.flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(entry.plan.flight_id.clone(), entry.clone());
        let job = FlightJob {
            entry: entry.clone(),
            handle: self.handle.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            tick: self.tick,
            stats: self.stats.clone(),
            stop: self.stop.clone(),
        };
        self.pool.execute(move || job.fly());
        Ok(entry)
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<FlightEntry>>> {
        self.flights.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every flight, by id.
    pub fn list(&self) -> Vec<Arc<FlightEntry>> {
        self.flights().values().cloned().collect()
    }

    /// Finds a flight by id (`AR1132-20261122`) or by a number flying only once.
    pub fn find(&self, key: &str) -> Result<Arc<FlightEntry>, SimError> {
        let key_upper = key.trim().to_ascii_uppercase();
        let flights = self.flights();
        if let Some(entry) = flights.get(&key_upper) {
            return Ok(entry.clone());
        }
        let matches: Vec<&Arc<FlightEntry>> = flights.values().filter(|e| e.plan.number == key_upper).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(SimError::UnknownFlight {
                key: key.trim().to_string(),
            }),
            many => Err(SimError::AmbiguousFlight {
                key: key.trim().to_string(),
                ids: many.iter().map(|e| e.plan.flight_id.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Writes a new status (QUORUM), as the map would; the flight obeys it on its next
    /// tick.
    pub fn set_status(&self, key: &str, status: Status) -> Result<Arc<FlightEntry>, SimError> {
        if status == Status::Landed {
            return Err(SimError::CannotLand);
        }
        let entry = self.find(key)?;
        let view = entry.view();
        if view.status.is_final() || view.stage.is_finished() {
            return Err(SimError::Finished {
                flight_id: entry.plan.flight_id.clone(),
                status: view.status,
            });
        }
        let store = self.store.clone();
        self.handle
            .block_on(with_retries(WRITE_ATTEMPTS, || store.record_status(&entry.plan, status, None)))
            .inspect_err(|_| {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
            })?;
        self.stats.status_writes.fetch_add(1, Ordering::Relaxed);
        entry.update(|v| v.status = status);
        Ok(entry)
    }

    pub fn pause(&self) -> bool {
        self.clock.pause()
    }

    pub fn resume(&self) -> bool {
        self.clock.resume()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            position_updates: self.stats.position_updates.load(Ordering::Relaxed),
            errors: self.stats.errors.load(Ordering::Relaxed),
            ..Summary::default()
        };
        for entry in self.flights().values() {
            match entry.view().stage {
                Stage::Queued => s.queued += 1,
                Stage::Ground => s.on_ground += 1,
                Stage::Airborne | Stage::Holding => s.airborne += 1,
                Stage::Landed => s.landed += 1,
                Stage::Cancelled => s.cancelled += 1,
                Stage::Stopped => s.stopped += 1,
            }
        }
        s
    }

    /// Tells every flight to stop at its next tick and waits for the pool to drain.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.pool.join();
    }
}

/// One flight's loop, run on a pool thread.
struct FlightJob {
    entry: Arc<FlightEntry>,
    handle: Handle,
    store: Arc<Store>,
    clock: Arc<SimClock>,
    tick: Duration,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

/// What a flight knows between ticks.
struct Progress {
    departed_at: Option<SimTime>,
    held_ms: i64,
    last_tick: SimTime,
    status: Status,
    has_position: bool,
}

impl FlightJob {
    fn fly(self) {
        self.entry.update(|v| v.stage = Stage::Ground);
        let mut p = Progress {
            departed_at: None,
            held_ms: 0,
            last_tick: self.clock.now(),
            status: Status::Scheduled,
            has_position: false,
        };
        loop {
            let started = Instant::now();
            if self.stop.load(Ordering::SeqCst) {
                self.entry.update(|v| v.stage = Stage::Stopped);
                return;
            }
            if !self.clock.is_paused() && self.tick_once(&mut p) {
                return;
            }
            std::thread::sleep(self.tick.saturating_sub(started.elapsed()));
        }
    }

    /// One tick; true when the flight is over.
    fn tick_once(&self, p: &mut Progress) -> bool {
        let plan = &self.entry.plan;
        let now = self.clock.now();
        let elapsed_since_last = (now - p.last_tick).max(0);
        p.last_tick = now;
        // A failed read, a missing row or an unknown word: keep flying on what we knew.
        if let Some(Some(status)) = self.call(|store| async move { store.read_status(&plan.flight_id).await }) {
            p.status = status;
        }
        self.entry.update(|v| v.status = p.status);
        match p.status {
            Status::Cancelled | Status::Landed => {
                // Cancelled (or landed) by someone else: stop and leave the map.
                if p.has_position
                    && self
                        .call(|store| async move { store.delete_position(&plan.flight_id).await })
                        .is_some()
                {
                    p.has_position = false;
                }
                let stage = if p.status == Status::Cancelled {
                    Stage::Cancelled
                } else {
                    Stage::Landed
                };
                self.entry.update(|v| v.stage = stage);
                return true;
            }
            Status::Delayed => {
                if p.departed_at.is_some() {
                    // Holding: time passes, the plane does not advance, fuel burns.
                    p.held_ms += elapsed_since_last;
                    self.entry.update(|v| v.stage = Stage::Holding);
                    self.write_position(now, p);
                }
                return false;
            }
            _ => {}
        }
        let departed_at = match p.departed_at {
            Some(at) => at,
            None => {
                if now < plan.scheduled_departure {
                    if now >= plan.scheduled_departure - BOARDING_MS && matches!(p.status, Status::Scheduled | Status::OnTime) {
                        self.write_status(Status::Boarding, None, p);
                    }
                    return false;
                }
                if !self.write_status(Status::InFlight, Some((Direction::Departure, now)), p) {
                    return false; // try to take off again next tick
                }
                p.departed_at = Some(now);
                self.entry.update(|v| v.stage = Stage::Airborne);
                now
            }
        };
        self.entry.update(|v| v.stage = Stage::Airborne);
        let flying_s = (now - departed_at - p.held_ms) as f64 / 1000.0;
        if flying_s >= plan.model.duration_s() {
            let arrival = departed_at + p.held_ms + (plan.model.duration_s() * 1000.0).round() as i64;
            if !self.write_status(Status::Landed, Some((Direction::Arrival, arrival)), p) {
                return false; // land on a later tick rather than lose the landing
            }
            if p.has_position
                && self
                    .call(|store| async move { store.delete_position(&plan.flight_id).await })
                    .is_some()
            {
                p.has_position = false;
            }
            let state = plan.model.state_at(plan.model.duration_s(), p.held_ms as f64 / 1000.0);
            self.entry.update(|v| {
                v.stage = Stage::Landed;
                v.progress = 1.0;
                v.altitude_m = state.altitude_m;
                v.ground_speed_kmh = state.ground_speed_kmh;
            });
            return true;
        }
        self.write_position(now, p);
        false
    }

    fn write_position(&self, now: SimTime, p: &mut Progress) {
        let plan = &self.entry.plan;
        let Some(departed_at) = p.departed_at else { return };
        let flying_s = (now - departed_at - p.held_ms) as f64 / 1000.0;
        let state = plan.model.state_at(flying_s, p.held_ms as f64 / 1000.0);
        self.entry.update(|v| {
            v.progress = state.progress;
            v.altitude_m = state.altitude_m;
            v.ground_speed_kmh = state.ground_speed_kmh;
        });
        if self.call(|store| async move { store.write_position(plan, &state).await }).is_some() {
            p.has_position = true;
            self.stats.position_updates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes a status the simulator itself decides (boarding, in flight, landed);
    /// false if it could not be written.
    fn write_status(&self, status: Status, actual: Option<(Direction, SimTime)>, p: &mut Progress) -> bool {
        let plan = &self.entry.plan;
        let written = self
            .call(|store| async move { store.record_status(plan, status, actual).await })
            .is_some();
        if written {
            p.status = status;
            self.stats.status_writes.fetch_add(1, Ordering::Relaxed);
            self.entry.update(|v| v.status = status);
        }
        written
    }

    /// Runs one store call with retries on the shared runtime; a call that still
    /// fails is counted as an error and gives `None`.
    fn call<'a, T, F, Fut>(&'a self, op: F) -> Option<T>
    where
        F: Fn(&'a Store) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>> + 'a,
    {
        let store: &'a Store = &self.store;
        match self.handle.block_on(with_retries(WRITE_ATTEMPTS, || op(store))) {
            Ok(v) => Some(v),
            Err(e) => {
                let n = self.stats.errors.fetch_add(1, Ordering::Relaxed) + 1;
                // Report the first few in full; the summary line counts the rest.
                if n <= 5 {
                    eprintln!("flight {}: {e}", self.entry.plan.flight_id);
                }
                None
            }
        }
    }
}
