//! The background thread that talks to the cluster: it owns a tokio runtime and the
//! driver session, takes [`Command`]s from the UI over one channel and answers with
//! [`Event`]s over another, polls live positions about once a second, and calls the
//! `notify` hook (the UI's `request_repaint`) whenever it has news. A lost cluster is
//! an event, never a panic: the worker keeps reconnecting with backoff. It holds no UI
//! state; the model folds its events.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tokio::sync::mpsc as async_mpsc;

use crate::form::NewFlight;
use crate::model::{Airport, Connection, DayRow, Flight, LivePosition, SimulatorClock, Status};
use crate::store::{self, Store, StoreError};

/// What the UI asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    LoadDay { airport: String, day: NaiveDate },
    LoadFlight { flight_id: String },
    CreateFlight(NewFlight),
    SetStatus { flight_id: String, status: Status },
    ReloadAirports,
}

impl Command {
    fn what(&self) -> &'static str {
        match self {
            Command::LoadDay { .. } => "loading the airport's day",
            Command::LoadFlight { .. } => "loading the flight",
            Command::CreateFlight(_) => "creating the flight",
            Command::SetStatus { .. } => "changing the status",
            Command::ReloadAirports => "loading airports",
        }
    }
}

/// What the worker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connection(Connection),
    Airports(Vec<Airport>),
    Day {
        airport: String,
        day: NaiveDate,
        rows: Vec<DayRow>,
    },
    Flight {
        flight_id: String,
        flight: Option<Box<Flight>>,
    },
    Positions(Vec<LivePosition>),
    /// The simulators' published clocks.
    Simulators(Vec<SimulatorClock>),
    FlightCreated {
        flight_id: String,
    },
    StatusChanged {
        flight_id: String,
        status: Status,
    },
    Failed {
        what: String,
        error: String,
    },
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `host:port` contact points.
    pub contact_points: Vec<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Credentials and TLS.
    pub security: store::Security,
    /// How often live positions are read.
    pub poll_interval: Duration,
    /// Longest wait between two reconnection attempts.
    pub max_backoff: Duration,
}

impl WorkerConfig {
    pub fn new(contact_points: Vec<String>) -> WorkerConfig {
        WorkerConfig {
            contact_points,
            connect_timeout: Duration::from_secs(3),
            security: store::Security::default(),
            request_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Delay before reconnection attempt `attempt` (1-based): 0.5 s doubling up to `max`.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let shift = attempt.saturating_sub(1).min(10);
    (Duration::from_millis(500) * (1u32 << shift)).min(max)
}

/// The UI's handle: dropping it closes the command channel, which ends the thread.
pub struct Worker {
    commands: async_mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn spawn(config: WorkerConfig, notify: impl Fn() + Send + 'static) -> std::io::Result<Worker> {
        let (command_tx, command_rx) = async_mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::channel();
        let thread = std::thread::Builder::new().name("flight-map-db".into()).spawn(move || {
            let outbox = Outbox {
                events: event_tx,
                notify: Box::new(notify),
            };
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(run(config, command_rx, &outbox)),
                Err(e) => outbox.send(Event::Connection(Connection::Lost {
                    reason: format!("cannot start the async runtime: {e}"),
                    attempts: 0,
                })),
            }
        })?;
        Ok(Worker {
            commands: command_tx,
            events: event_rx,
            thread: Some(thread),
        })
    }

    /// Queues a command; never blocks. False if the worker has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Every event that has arrived, without waiting.
    pub fn drain(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// The next event, waiting at most `timeout` (for tests and tools, not the UI).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Whether the thread is still running (never, for a [`Worker::detached`] handle).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// A handle with no thread behind it: whoever holds the [`WorkerEnd`] plays the
    /// worker, reading the commands the UI sends and answering with events. The UI code
    /// cannot tell it from the real one; UI tests drive the app this way.
    pub fn detached() -> (Worker, WorkerEnd) {
        let (command_tx, command_rx) = async_mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::channel();
        let worker = Worker {
            commands: command_tx,
            events: event_rx,
            thread: None,
        };
        let end = WorkerEnd {
            commands: command_rx,
            events: event_tx,
        };
        (worker, end)
    }
}

/// The far end of a [`Worker::detached`] handle.
pub struct WorkerEnd {
    commands: async_mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<Event>,
}

impl WorkerEnd {
    /// Every command the UI has sent since the last call, oldest first, without waiting.
    pub fn commands(&mut self) -> Vec<Command> {
        std::iter::from_fn(|| self.commands.try_recv().ok()).collect()
    }

    /// Hands the UI an event, as the worker thread would; false if the handle is gone.
    pub fn send(&self, event: Event) -> bool {
        self.events.send(event).is_ok()
    }
}

struct Outbox {
    events: mpsc::Sender<Event>,
    notify: Box<dyn Fn() + Send>,
}

impl Outbox {
    fn send(&self, event: Event) {
        // The UI may be gone while we shut down; nothing to tell then.
        if self.events.send(event).is_ok() {
            (self.notify)();
        }
    }

    fn failed(&self, what: &str, error: &StoreError) {
        self.send(Event::Failed {
            what: what.to_string(),
            error: error.to_string(),
        });
    }
}

async fn run(config: WorkerConfig, mut commands: async_mpsc::UnboundedReceiver<Command>, out: &Outbox) {
    let mut store: Option<Store> = None;
    let mut attempts: u32 = 0;
    let mut next_attempt = Instant::now();
    let mut poll = tokio::time::interval(config.poll_interval);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_poll_error: Option<String> = None;
    out.send(Event::Connection(Connection::Connecting {
        contact_points: config.contact_points.join(", "),
    }));
    loop {
        if store.is_none() && Instant::now() >= next_attempt {
            match store::connect(&config.contact_points, config.connect_timeout, &config.security).await {
                Ok(session) => {
                    let s = Store {
                        session,
                        timeout: config.request_timeout,
                    };
                    attempts = 0;
                    let (node, nodes) = s.describe();
                    tracing::info!(node = %node, nodes, "connected to the cluster");
                    out.send(Event::Connection(Connection::Connected { node, nodes }));
                    load_airports(&s, out).await;
                    store = Some(s);
                }
                Err(e) => {
                    attempts += 1;
                    next_attempt = Instant::now() + backoff(attempts, config.max_backoff);
                    tracing::warn!(attempts, error = %e, "cluster unreachable");
                    out.send(Event::Connection(Connection::Lost {
                        reason: e.to_string(),
                        attempts,
                    }));
                }
            }
        }
        let wait = next_attempt.saturating_duration_since(Instant::now());
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return };
                match &store {
                    Some(s) => {
                        if let Err(e) = execute(s, command.clone(), out).await {
                            out.failed(command.what(), &e);
                            if !s.probe().await {
                                store = lose(out, &e, &mut attempts, &mut next_attempt);
                            }
                        }
                    }
                    None => out.send(Event::Failed {
                        what: command.what().to_string(),
                        error: "not connected to the cluster".to_string(),
                    }),
                }
            }
            _ = poll.tick(), if store.is_some() => {
                let Some(s) = &store else { continue };
                match s.positions(aviation::statements::wall_now()).await {
                    Ok(positions) => {
                        last_poll_error = None;
                        out.send(Event::Positions(positions));
                        // A keyspace made before the simulators table has none: no clock.
                        if let Ok(clocks) = s.simulators().await {
                            out.send(Event::Simulators(clocks));
                        }
                    }
                    Err(e) => {
                        if !s.probe().await {
                            store = lose(out, &e, &mut attempts, &mut next_attempt);
                        } else if last_poll_error.as_deref() != Some(&e.to_string()) {
                            // A schema problem (no keyspace yet) repeats every second;
                            // say it once.
                            last_poll_error = Some(e.to_string());
                            out.failed("reading live positions", &e);
                        }
                    }
                }
            }
            _ = tokio::time::sleep(wait), if store.is_none() => {}
        }
    }
}

/// Drops the session after a failure the cluster does not answer at all.
fn lose(out: &Outbox, error: &StoreError, attempts: &mut u32, next_attempt: &mut Instant) -> Option<Store> {
    *attempts += 1;
    *next_attempt = Instant::now();
    tracing::warn!(error = %error, "lost the cluster");
    out.send(Event::Connection(Connection::Lost {
        reason: error.to_string(),
        attempts: *attempts,
    }));
    None
}

async fn load_airports(s: &Store, out: &Outbox) {
    match s.airports().await {
        Ok(airports) => out.send(Event::Airports(airports)),
        Err(e) => out.failed("loading airports", &e),
    }
}

async fn execute(s: &Store, command: Command, out: &Outbox) -> Result<(), StoreError> {
    match command {
        Command::LoadDay { airport, day } => {
            let rows = s.day(&airport, day).await?;
            out.send(Event::Day { airport, day, rows });
        }
        Command::LoadFlight { flight_id } => {
            let flight = s.flight(&flight_id).await?.map(Box::new);
            out.send(Event::Flight { flight_id, flight });
        }
        Command::CreateFlight(flight) => {
            s.create_flight(&flight).await?;
            out.send(Event::FlightCreated {
                flight_id: flight.flight_id,
            });
        }
        Command::SetStatus { flight_id, status } => {
            let flight = s.set_status(&flight_id, status).await?;
            out.send(Event::StatusChanged {
                flight_id: flight_id.clone(),
                status,
            });
            out.send(Event::Flight {
                flight_id,
                flight: Some(Box::new(flight)),
            });
        }
        Command::ReloadAirports => {
            let airports = s.airports().await?;
            out.send(Event::Airports(airports));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnection_backoff_doubles_from_half_a_second_up_to_the_limit() {
        let max = Duration::from_secs(5);
        assert_eq!(backoff(1, max), Duration::from_millis(500));
        assert_eq!(backoff(2, max), Duration::from_secs(1));
        assert_eq!(backoff(4, max), Duration::from_secs(4));
        assert_eq!(backoff(5, max), max);
        assert_eq!(backoff(1000, max), max);
    }

    #[test]
    fn a_detached_handle_passes_commands_out_and_events_in() {
        let (worker, mut end) = Worker::detached();
        assert!(worker.send(Command::ReloadAirports));
        assert!(worker.send(Command::LoadFlight { flight_id: "X-1".into() }));
        assert_eq!(
            end.commands(),
            vec![Command::ReloadAirports, Command::LoadFlight { flight_id: "X-1".into() }]
        );
        assert_eq!(end.commands(), Vec::new());
        let event = Event::FlightCreated { flight_id: "X-1".into() };
        assert!(end.send(event.clone()));
        assert_eq!(worker.drain(), vec![event]);
        assert!(!worker.is_running());
        drop(worker);
        assert!(!end.send(Event::Positions(Vec::new())));
    }

    #[test]
    fn a_worker_with_no_cluster_reports_a_lost_connection_and_keeps_running() {
        // Port 1 on loopback refuses at once: nothing listens there.
        let mut config = WorkerConfig::new(vec!["127.0.0.1:1".into()]);
        config.connect_timeout = Duration::from_millis(500);
        let worker = Worker::spawn(config, || {}).expect("spawn the worker");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut lost = None;
        while Instant::now() < deadline && lost.is_none() {
            if let Some(Event::Connection(Connection::Lost { attempts, .. })) = worker.recv_timeout(Duration::from_millis(200)) {
                lost = Some(attempts);
            }
        }
        assert_eq!(lost, Some(1), "no lost-connection event within 20 s");
        assert!(worker.send(Command::LoadFlight { flight_id: "X-1".into() }));
        let mut refused = false;
        while Instant::now() < deadline && !refused {
            if let Some(Event::Failed { error, .. }) = worker.recv_timeout(Duration::from_millis(200)) {
                assert!(error.contains("not connected"), "{error}");
                refused = true;
            }
        }
        assert!(refused, "a command while offline was not answered");
        assert!(worker.is_running());
    }
}
