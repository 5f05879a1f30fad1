//! The simulator at run time, a dispatcher of the cluster's schedule: a thread that
//! watches the flights due soon (`aviation.departures`, by day, at QUORUM), claims
//! each with a lightweight transaction naming this simulator (see `dispatch.rs`),
//! and flies the flights it holds, each as a job on a `threadpool::ThreadPool` of
//! `max_flights` workers; it renews their leases, publishes its clock, and counts
//! position updates and errors. The console and the `run` command drive it.
//!
//! One clock: departures happen at their real scheduled UTC time and every time
//! written to the schedule tables is real UTC time. `time_scale` speeds the motion of
//! a flight once airborne: each wall-clock tick moves it `time_scale` ticks along its
//! route. The flight's own simulated instant goes with its position (`sim_time`), and
//! the simulator's clock into `aviation.simulators`, so the map can show both.
//!
//! Threads and async: each flight is a blocking loop on a pool thread (ticks are
//! `thread::sleep`), and the driver is async, so every pool thread holds a `Handle`
//! to one shared multi-threaded tokio runtime and calls `Handle::block_on` for each
//! statement. That keeps a flight's logic a straight sequential loop (read status,
//! obey it, write position, sleep).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use threadpool::ThreadPool;
use tokio::runtime::Handle;

use aviation::flight::{Flight, Millis};
use aviation::statements::{wall_now, Scheduled, SimulatorClock};

use crate::airports::Airports;
use crate::clock::{SimClock, SimTime};
use crate::dispatch::{decide, Decision};
use crate::schedule::{self, FlightPlan, FlightRequest, ScheduleError};
use crate::status::Status;
use crate::store::{with_retries, Direction, Store, StoreError, WRITE_ATTEMPTS};

/// How long before departure a flight starts boarding (and is claimed), ms.
pub const BOARDING_MS: i64 = 30 * 60_000;
/// How far back the dispatcher looks on the schedule: flights that departed up to a
/// day ago may still be in the air under a lapsed claim.
const LOOKBACK_MS: i64 = 24 * 3_600_000;

/// Where a flight is in this simulator (not in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Claimed, waiting for a pool thread.
    Queued,
    /// On a pool thread, on the ground before departure (or held there, delayed).
    Ground,
    /// In the air.
    Airborne,
    /// In the air, holding because its status says delayed.
    Holding,
    Landed,
    Cancelled,
    /// Stopped by quit or the end of a run before it finished (its claim released),
    /// or taken by another simulator after this one missed its lease.
    Stopped,
}

impl Stage {
    pub fn is_finished(self) -> bool {
        matches!(self, Stage::Landed | Stage::Cancelled | Stage::Stopped)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Ground => "ground",
            Stage::Airborne => "airborne",
            Stage::Holding => "holding",
            Stage::Landed => "landed",
            Stage::Cancelled => "cancelled",
            Stage::Stopped => "stopped",
        }
    }
}

/// What the console lists about a flight this simulator flies.
#[derive(Debug, Clone)]
pub struct FlightView {
    pub stage: Stage,
    /// The status last read from (or written to) the database.
    pub status: Status,
    pub progress: f64,
    pub altitude_m: f64,
    pub ground_speed_kmh: f64,
}

/// One flight held by this simulator: its plan and its live view.
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
    pub claims: AtomicU64,
    pub takeovers: AtomicU64,
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
    pub claims: u64,
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
    Finished { flight_id: String, status: String },
    #[error("the simulator lands flights itself; `{status}` cannot be set by hand")]
    NotSettable { status: Status },
    #[error("flight {flight_id} already exists with another schedule ({origin}-{destination})")]
    FlightExists {
        flight_id: String,
        origin: String,
        destination: String,
    },
    #[error("no random flight could be made from the airports")]
    NoRandomFlight,
}

impl From<aviation::statements::StatementError> for SimError {
    fn from(e: aviation::statements::StatementError) -> SimError {
        SimError::Store(StoreError::Statement(e))
    }
}

/// Settings of one simulator.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_flights: usize,
    pub tick: Duration,
    pub time_scale: f64,
    /// How long a claim holds without renewal; a third of it between renewals.
    pub lease: Duration,
    /// How often the schedule is read.
    pub poll: Duration,
}

impl Settings {
    pub fn new(max_flights: usize, tick: Duration, time_scale: f64) -> Settings {
        Settings {
            max_flights,
            tick,
            time_scale,
            lease: Duration::from_secs(15),
            poll: Duration::from_secs(1),
        }
    }

    /// TTL of a live position: five ticks, at least three seconds.
    pub fn position_ttl_s(&self) -> i32 {
        (self.tick.as_secs_f64() * 5.0).ceil().max(3.0) as i32
    }
}

/// A name for this simulator in claims: host, process and a random part.
pub fn simulator_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() { "sim".to_string() } else { host };
    format!("{host}-{}-{:04x}", std::process::id(), rand::random::<u16>())
}

/// What the dispatcher thread shares with the simulator.
struct Shared {
    id: String,
    handle: Handle,
    store: Arc<Store>,
    airports: Airports,
    pool: Mutex<ThreadPool>,
    flights: Mutex<BTreeMap<String, Arc<FlightEntry>>>,
    clock: Arc<SimClock>,
    settings: Settings,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

pub struct Simulator {
    shared: Arc<Shared>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
}

impl Simulator {
    pub fn new(handle: Handle, store: Arc<Store>, airports: Airports, settings: &Settings) -> Simulator {
        Simulator::named(simulator_id(), handle, store, airports, settings)
    }

    pub fn named(id: String, handle: Handle, store: Arc<Store>, airports: Airports, settings: &Settings) -> Simulator {
        Simulator {
            shared: Arc::new(Shared {
                id,
                handle,
                store,
                airports,
                pool: Mutex::new(ThreadPool::with_name("flight".into(), settings.max_flights.max(1))),
                flights: Mutex::new(BTreeMap::new()),
                clock: Arc::new(SimClock::starting_now(settings.time_scale)),
                settings: settings.clone(),
                stats: Arc::new(Stats::default()),
                stop: Arc::new(AtomicBool::new(false)),
            }),
            dispatcher: Mutex::new(None),
        }
    }

    pub fn id(&self) -> &str {
        &self.shared.id
    }

    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    pub fn airports(&self) -> &Airports {
        &self.shared.airports
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Starts the dispatcher thread: from now on the simulator claims and flies the
    /// cluster's schedule.
    pub fn start(&self) -> std::io::Result<()> {
        let mut slot = self.dispatcher.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let shared = self.shared.clone();
            *slot = Some(
                std::thread::Builder::new()
                    .name("dispatcher".into())
                    .spawn(move || dispatch(&shared))?,
            );
        }
        Ok(())
    }

    /// Checks a typed flight and schedules it with the shared statements (QUORUM);
    /// a dispatcher (this one or another) flies it at its departure time. Nothing is
    /// written when the request is refused.
    pub fn schedule(&self, request: &FlightRequest) -> Result<(FlightPlan, Scheduled), SimError> {
        let plan = schedule::plan(request, &self.shared.airports, wall_now())?;
        let outcome = self.schedule_plan(&plan)?;
        Ok((plan, outcome))
    }

    fn schedule_plan(&self, plan: &FlightPlan) -> Result<Scheduled, SimError> {
        let store = self.shared.store.clone();
        let new = plan.to_new_flight();
        let outcome = self
            .shared
            .handle
            .block_on(with_retries(WRITE_ATTEMPTS, || async {
                Ok(store.shared().schedule_flight(&new).await?)
            }))
            .inspect_err(|_| {
                self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
            })?;
        if let Scheduled::Conflict(existing) = &outcome {
            return Err(SimError::FlightExists {
                flight_id: plan.flight_id.clone(),
                origin: existing.origin.clone(),
                destination: existing.destination.clone(),
            });
        }
        Ok(outcome)
    }

    /// Schedules `n` random flights departing within `spread` from now, the first
    /// of them within seconds (see `schedule::random_spread_ms`).
    pub fn schedule_random(&self, n: usize, spread: Duration) -> Result<Vec<FlightPlan>, SimError> {
        let mut rng = rand::thread_rng();
        let mut added: Vec<FlightPlan> = Vec::with_capacity(n);
        for i in 0..n {
            let taken = |id: &str| added.iter().any(|p| p.flight_id == id);
            let spread_ms = schedule::random_spread_ms(i, n, spread.as_millis() as i64);
            let plan =
                schedule::random_plan(&mut rng, &self.shared.airports, wall_now(), spread_ms, &taken).ok_or(SimError::NoRandomFlight)?;
            match self.schedule_plan(&plan) {
                Ok(_) => added.push(plan),
                // Another flight of that number today: draw again next time.
                Err(SimError::FlightExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(added)
    }

    /// Which of `ids` this simulator still flies (claimed and not yet finished here).
    pub fn still_flying(&self, ids: &[String]) -> Vec<String> {
        let flights = self.shared.flights();
        ids.iter()
            .filter(|id| flights.get(*id).is_some_and(|e| !e.view().stage.is_finished()))
            .cloned()
            .collect()
    }

    /// The flights this simulator holds or has flown, by id.
    pub fn held(&self) -> Vec<Arc<FlightEntry>> {
        self.shared.flights().values().cloned().collect()
    }

    /// Every flight in the database (at most `limit`), as the console lists them.
    pub fn all_flights(&self, limit: usize) -> Result<Vec<Flight>, SimError> {
        let store = self.shared.store.clone();
        let flights = self
            .shared
            .handle
            .block_on(async move { store.shared().all_flights(limit).await })?;
        Ok(flights)
    }

    /// Finds a flight in the database by id (`AR1132-20261122`) or by a number
    /// scheduled only once.
    pub fn find(&self, key: &str) -> Result<Flight, SimError> {
        let key_upper = key.trim().to_ascii_uppercase();
        let store = self.shared.store.clone();
        let id = key_upper.clone();
        if let Some(f) = self.shared.handle.block_on(async move { store.shared().flight(&id).await })? {
            return Ok(f);
        }
        let matches: Vec<Flight> = self.all_flights(10_000)?.into_iter().filter(|f| f.number == key_upper).collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(SimError::UnknownFlight {
                key: key.trim().to_string(),
            }),
            many => Err(SimError::AmbiguousFlight {
                key: key.trim().to_string(),
                ids: many.iter().map(|f| f.flight_id.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Writes a new status (QUORUM) with the shared statements, as the map does; the
    /// simulator flying it (this one or another) obeys it on its next tick.
    pub fn set_status(&self, key: &str, status: Status) -> Result<Flight, SimError> {
        if !Status::SETTABLE.contains(&status) {
            return Err(SimError::NotSettable { status });
        }
        let mut flight = self.find(key)?;
        if Status::parse(&flight.status).is_some_and(Status::is_final) {
            return Err(SimError::Finished {
                flight_id: flight.flight_id.clone(),
                status: flight.status.clone(),
            });
        }
        let store = self.shared.store.clone();
        let f = flight.clone();
        self.shared
            .handle
            .block_on(with_retries(WRITE_ATTEMPTS, || async {
                Ok(store.shared().set_status(&f, status).await?)
            }))
            .inspect_err(|_| {
                self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
            })?;
        self.shared.stats.status_writes.fetch_add(1, Ordering::Relaxed);
        flight.status = status.as_str().to_string();
        Ok(flight)
    }

    pub fn pause(&self) -> bool {
        self.shared.clock.pause()
    }

    pub fn resume(&self) -> bool {
        self.shared.clock.resume()
    }

    pub fn summary(&self) -> Summary {
        let stats = &self.shared.stats;
        let mut s = Summary {
            position_updates: stats.position_updates.load(Ordering::Relaxed),
            claims: stats.claims.load(Ordering::Relaxed),
            errors: stats.errors.load(Ordering::Relaxed),
            ..Summary::default()
        };
        for entry in self.shared.flights().values() {
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

    /// Stops dispatching, tells every flight to stop at its next tick, waits for them,
    /// and releases the claims of the flights left unfinished so that another
    /// simulator takes them over at once.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.dispatcher.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
        self.shared.pool.lock().unwrap_or_else(|e| e.into_inner()).join();
        for entry in self.held() {
            if entry.view().stage == Stage::Stopped {
                let store = self.shared.store.clone();
                let id = self.shared.id.clone();
                let flight_id = entry.plan.flight_id.clone();
                let released = self
                    .shared
                    .handle
                    .block_on(async move { store.shared().release(&flight_id, &id).await });
                if let Err(e) = released {
                    eprintln!("flight {}: {e}", entry.plan.flight_id);
                }
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

impl Shared {
    fn flights(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<FlightEntry>>> {
        self.flights.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count_error(&self, flight_id: &str, e: &dyn std::fmt::Display) {
        let n = self.stats.errors.fetch_add(1, Ordering::Relaxed) + 1;
        // Report the first few in full; the summary line counts the rest.
        if n <= 5 {
            eprintln!("flight {flight_id}: {e}");
        }
    }

    fn publish_clock(&self) {
        let flying = self.flights().values().filter(|e| !e.view().stage.is_finished()).count();
        let clock = SimulatorClock {
            simulator: self.id.clone(),
            time_scale: self.settings.time_scale,
            sim_now: self.clock.now(),
            flying: flying as i32,
            updated_at: wall_now(),
        };
        let ttl = (self.settings.poll.as_secs_f64() * 5.0).ceil().max(5.0) as i32;
        let store = self.store.clone();
        if let Err(e) = self.handle.block_on(async move { store.shared().publish_clock(&clock, ttl).await }) {
            self.count_error("(clock)", &e);
        }
    }

    /// One pass over the schedule: claims what is due and free, up to the pool's
    /// size, and takes over lapsed claims.
    fn dispatch_once(self: &Arc<Self>, skip: &mut HashMap<String, Millis>) {
        let now = wall_now();
        let store = self.store.clone();
        let due = match self
            .handle
            .block_on(async move { store.shared().due(now - LOOKBACK_MS, now + BOARDING_MS).await })
        {
            Ok(due) => due,
            Err(e) => {
                self.count_error("(schedule)", &e);
                return;
            }
        };
        for (_, flight_id) in due {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            if self.flights().contains_key(&flight_id) || skip.get(&flight_id).is_some_and(|until| *until >= now) {
                continue;
            }
            let active = self.flights().values().filter(|e| !e.view().stage.is_finished()).count();
            if active >= self.settings.max_flights {
                return;
            }
            let store = self.store.clone();
            let id = flight_id.clone();
            let flight = match self.handle.block_on(async move { store.shared().flight(&id).await }) {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) => {
                    self.count_error(&flight_id, &e);
                    continue;
                }
            };
            let lease_until = wall_now() + self.settings.lease.as_millis() as i64;
            let store = self.store.clone();
            let me = self.id.clone();
            let won = match decide(&flight, &self.id, now) {
                Decision::Over => {
                    skip.insert(flight_id, Millis::MAX);
                    continue;
                }
                Decision::Held { until } => {
                    skip.insert(flight_id, until);
                    continue;
                }
                Decision::Claim { expected } => {
                    let id = flight_id.clone();
                    self.handle
                        .block_on(async move { store.shared().claim(&id, expected, &me, lease_until).await })
                        .map(|lost| lost.is_none())
                }
                Decision::TakeOver { owner, lapsed } => {
                    let id = flight_id.clone();
                    let won = self
                        .handle
                        .block_on(async move { store.shared().take_over(&id, &owner, lapsed, &me, lease_until).await });
                    if matches!(won, Ok(true)) {
                        self.stats.takeovers.fetch_add(1, Ordering::Relaxed);
                    }
                    won
                }
            };
            match won {
                Ok(true) => {
                    self.stats.claims.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = self.launch(&flight, lease_until) {
                        self.count_error(&flight_id, &e);
                    }
                }
                // Someone else was quicker: look at it again next pass.
                Ok(false) => {}
                Err(e) => self.count_error(&flight_id, &e),
            }
        }
    }

    fn launch(self: &Arc<Self>, flight: &Flight, lease_until: Millis) -> Result<(), ScheduleError> {
        let plan = FlightPlan::from_flight(flight, &self.airports)?;
        let status = Status::parse(&flight.status).unwrap_or(Status::Scheduled);
        let entry = Arc::new(FlightEntry {
            plan,
            view: Mutex::new(FlightView {
                stage: Stage::Queued,
                status,
                progress: 0.0,
                altitude_m: 0.0,
                ground_speed_kmh: 0.0,
            }),
        });
        self.flights().insert(entry.plan.flight_id.clone(), entry.clone());
        let job = FlightJob {
            entry,
            shared: self.clone(),
            departed_at: flight.actual_departure,
            lease_until,
        };
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).execute(move || job.fly());
        Ok(())
    }
}

/// The dispatcher thread: reads the schedule every `poll` until told to stop.
fn dispatch(shared: &Arc<Shared>) {
    let mut skip: HashMap<String, Millis> = HashMap::new();
    while !shared.stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        shared.dispatch_once(&mut skip);
        shared.publish_clock();
        let deadline = started + shared.settings.poll;
        while Instant::now() < deadline && !shared.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50).min(shared.settings.poll));
        }
    }
}

/// One flight's loop, run on a pool thread.
struct FlightJob {
    entry: Arc<FlightEntry>,
    shared: Arc<Shared>,
    /// Set when a flight already in the air is taken over.
    departed_at: Option<Millis>,
    lease_until: Millis,
}

/// What a flight knows between ticks.
struct Progress {
    departed_at: Option<Millis>,
    /// Simulated milliseconds flown along the route since take-off.
    flown_ms: f64,
    /// Simulated milliseconds spent holding.
    held_ms: f64,
    last_tick: Millis,
    status: Status,
    has_position: bool,
    lease_until: Millis,
}

impl FlightJob {
    fn fly(self) {
        self.entry.update(|v| v.stage = Stage::Ground);
        let now = wall_now();
        let scale = self.shared.settings.time_scale;
        let duration_ms = self.entry.plan.model.duration_s() * 1000.0;
        let mut p = Progress {
            departed_at: self.departed_at,
            // Taken over in the air: it has flown since its take-off at this
            // simulator's pace (its last simulator's may have differed).
            flown_ms: self
                .departed_at
                .map(|at| ((now - at).max(0) as f64 * scale).min(duration_ms))
                .unwrap_or(0.0),
            held_ms: 0.0,
            last_tick: now,
            status: self.entry.view().status,
            has_position: false,
            lease_until: self.lease_until,
        };
        if p.departed_at.is_some() {
            self.entry.update(|v| v.stage = Stage::Airborne);
        }
        let tick = self.shared.settings.tick;
        loop {
            let started = Instant::now();
            if self.shared.stop.load(Ordering::SeqCst) {
                // Told to stop between ticks: a status another client set since the
                // last tick (cancelled, say) is still obeyed and reported, not lost.
                let stage = self.stage_on_stop(&mut p);
                self.entry.update(|v| v.stage = stage);
                return;
            }
            if self.shared.clock.is_paused() {
                p.last_tick = wall_now();
            } else if self.tick_once(&mut p) {
                return;
            }
            std::thread::sleep(tick.saturating_sub(started.elapsed()));
        }
    }

    /// One tick; true when the flight is over for this simulator.
    fn tick_once(&self, p: &mut Progress) -> bool {
        let plan = &self.entry.plan;
        let settings = &self.shared.settings;
        let now = wall_now();
        let elapsed_sim_ms = (now - p.last_tick).max(0) as f64 * settings.time_scale;
        p.last_tick = now;
        if !self.renew_lease(now, p) {
            // Another simulator holds it now (this one missed its lease): stop.
            self.entry.update(|v| v.stage = Stage::Stopped);
            return true;
        }
        // A failed read, a missing row or an unknown word: keep flying on what we knew.
        if let Some(Some(status)) = self.call(|store| async move { store.read_status(&plan.flight_id).await }) {
            p.status = status;
        }
        self.entry.update(|v| v.status = p.status);
        match p.status {
            Status::Cancelled | Status::Landed => {
                let stage = self.end_by_another_client(p);
                self.entry.update(|v| v.stage = stage);
                return true;
            }
            Status::Delayed => {
                if p.departed_at.is_some() {
                    // Holding: time passes, the plane does not advance, fuel burns.
                    p.held_ms += elapsed_sim_ms;
                    self.entry.update(|v| v.stage = Stage::Holding);
                    self.write_position(p);
                }
                return false;
            }
            _ => {}
        }
        if p.departed_at.is_none() {
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
        } else {
            p.flown_ms += elapsed_sim_ms;
        }
        self.entry.update(|v| v.stage = Stage::Airborne);
        let duration_ms = plan.model.duration_s() * 1000.0;
        if p.flown_ms >= duration_ms {
            if !self.write_status(Status::Landed, Some((Direction::Arrival, now)), p) {
                return false; // land on a later tick rather than lose the landing
            }
            if p.has_position
                && self
                    .call(|store| async move { store.delete_position(&plan.flight_id).await })
                    .is_some()
            {
                p.has_position = false;
            }
            let state = plan.model.state_at(plan.model.duration_s(), p.held_ms / 1000.0);
            self.entry.update(|v| {
                v.stage = Stage::Landed;
                v.progress = 1.0;
                v.altitude_m = state.altitude_m;
                v.ground_speed_kmh = state.ground_speed_kmh;
            });
            return true;
        }
        self.write_position(p);
        false
    }

    /// Cancelled (or landed) by someone else: the flight leaves the map and ends
    /// with the stage its status says.
    fn end_by_another_client(&self, p: &mut Progress) -> Stage {
        let plan = &self.entry.plan;
        if p.has_position
            && self
                .call(|store| async move { store.delete_position(&plan.flight_id).await })
                .is_some()
        {
            p.has_position = false;
        }
        if p.status == Status::Cancelled {
            Stage::Cancelled
        } else {
            Stage::Landed
        }
    }

    /// The stage of a flight told to stop: one last read of its status, so that a
    /// flight another client finished since the last tick ends as that, and only a
    /// flight still going is `Stopped` (its claim is then released).
    fn stage_on_stop(&self, p: &mut Progress) -> Stage {
        let plan = &self.entry.plan;
        if let Some(Some(status)) = self.call(|store| async move { store.read_status(&plan.flight_id).await }) {
            p.status = status;
            self.entry.update(|v| v.status = status);
        }
        match p.status {
            Status::Cancelled | Status::Landed => self.end_by_another_client(p),
            _ => Stage::Stopped,
        }
    }

    /// Renews the claim when a third of the lease is left; false when it is lost.
    fn renew_lease(&self, now: Millis, p: &mut Progress) -> bool {
        let lease_ms = self.shared.settings.lease.as_millis() as i64;
        if p.lease_until - now > lease_ms * 2 / 3 {
            return true;
        }
        let until = now + lease_ms;
        let id = self.shared.id.clone();
        let flight_id = self.entry.plan.flight_id.clone();
        let store = self.shared.store.clone();
        match self
            .shared
            .handle
            .block_on(async move { store.shared().renew(&flight_id, &id, until).await })
        {
            Ok(true) => {
                p.lease_until = until;
                true
            }
            Ok(false) => false,
            // Unknown: keep flying and try again next tick; the lease still runs.
            Err(e) => {
                self.shared.count_error(&self.entry.plan.flight_id, &e);
                true
            }
        }
    }

    fn write_position(&self, p: &mut Progress) {
        let plan = &self.entry.plan;
        let Some(departed_at) = p.departed_at else { return };
        let state = plan.model.state_at(p.flown_ms / 1000.0, p.held_ms / 1000.0);
        self.entry.update(|v| {
            v.progress = state.progress;
            v.altitude_m = state.altitude_m;
            v.ground_speed_kmh = state.ground_speed_kmh;
        });
        let sim_time: SimTime = departed_at + (p.flown_ms + p.held_ms) as i64;
        let ttl = self.shared.settings.position_ttl_s();
        if self
            .call(|store| async move { store.write_position(plan, &state, sim_time, ttl).await })
            .is_some()
        {
            p.has_position = true;
            self.shared.stats.position_updates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes a status the simulator itself decides (boarding, in flight, landed);
    /// false if it could not be written.
    fn write_status(&self, status: Status, actual: Option<(Direction, SimTime)>, p: &mut Progress) -> bool {
        let plan = &self.entry.plan;
        let from = p.status;
        // Not applied: someone changed the status since this tick read it; the next
        // tick reads it and obeys.
        let written = self
            .call(|store| async move { store.record_status(plan, from, status, actual).await })
            .unwrap_or(false);
        if written {
            p.status = status;
            self.shared.stats.status_writes.fetch_add(1, Ordering::Relaxed);
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
        let store: &'a Store = &self.shared.store;
        match self.shared.handle.block_on(with_retries(WRITE_ATTEMPTS, || op(store))) {
            Ok(v) => Some(v),
            Err(e) => {
                self.shared.count_error(&self.entry.plan.flight_id, &e);
                None
            }
        }
    }
}
