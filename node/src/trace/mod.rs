//! Query tracing as Cassandra does it: a request the client asked to trace
//! (the frame's TRACING flag), or one picked by the node's trace probability,
//! records what the coordinator and each replica did into
//! `system_traces.sessions` and `system_traces.events`, written with a TTL
//! (`TRACE_TTL_SECONDS`).
//!
//! A request's trace is a `TraceState` that the code doing the work reaches
//! without plumbing: the coordinator's async request runs inside `within` (a
//! task-local), a replica's synchronous verb inside `within_sync` (a
//! thread-local), and `event` records into whichever is set. With neither set
//! an `event` call is two failed look-ups: no allocation, no formatting. The
//! internode request carries the session id (`Verb::Traced`), so a replica
//! records its own events under the coordinator's session. This module owns
//! the states and the node's `Tracing` handle; the rows are `rows`'s and the
//! writes `writer`'s.

pub mod rows;
pub mod writer;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use uuid::Uuid;

/// How long trace rows live: Cassandra's `trace_type_query_ttl`, one day.
pub const TRACE_TTL_SECONDS: i32 = 24 * 60 * 60;

/// At most this many events per state: a runaway loop cannot grow a trace
/// without bound (the rest are dropped, as a slow trace queue drops them).
pub const MAX_EVENTS_PER_STATE: usize = 1024;

/// The `thread` of a coordinator's events.
pub const COORDINATOR_STAGE: &str = "Native-Transport-Requests";

/// One thing a node did for a traced request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// A timeuuid of the moment it was recorded (`event_id`).
    pub id: Uuid,
    pub activity: String,
    /// Microseconds since this node began its part of the trace.
    pub elapsed_micros: i32,
    /// The stage that did it, named as `rustica tpstats` names its pools
    /// (`Native-Transport-Requests`, `MutationStage`, `ReadStage`, ...): the
    /// node's tasks run on tokio's workers, whose thread names say nothing.
    pub thread: String,
}

/// One node's part of one trace session: the coordinator's, or a replica's.
#[derive(Debug)]
pub struct TraceState {
    pub session: Uuid,
    /// This node (the events' `source`).
    pub source: IpAddr,
    /// The events' `thread`.
    stage: &'static str,
    started: Instant,
    events: Mutex<Vec<Event>>,
}

impl TraceState {
    pub fn new(session: Uuid, source: IpAddr, stage: &'static str) -> TraceState {
        TraceState {
            session,
            source,
            stage,
            started: Instant::now(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// Records one event now.
    pub fn record(&self, activity: String) {
        let elapsed_micros = i32::try_from(self.started.elapsed().as_micros()).unwrap_or(i32::MAX);
        let thread = self.stage.to_string();
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.len() < MAX_EVENTS_PER_STATE {
            events.push(Event {
                id: timeuuid(),
                activity,
                elapsed_micros,
                thread,
            });
        }
    }

    /// The events recorded so far, leaving none behind.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Microseconds since this state began.
    pub fn elapsed_micros(&self) -> i32 {
        i32::try_from(self.started.elapsed().as_micros()).unwrap_or(i32::MAX)
    }
}

/// A timeuuid of now (event and session ids). Its node field is random per
/// call: ids only need to be unique and ordered by time.
pub fn timeuuid() -> Uuid {
    let node: [u8; 6] = rand::random();
    Uuid::now_v1(&node)
}

tokio::task_local! {
    static TASK_TRACE: Arc<TraceState>;
}

thread_local! {
    static THREAD_TRACE: RefCell<Option<Arc<TraceState>>> = const { RefCell::new(None) };
}

/// Runs `future` with `state` as its trace: `event` calls inside record into it.
pub async fn within<F: Future>(state: Arc<TraceState>, future: F) -> F::Output {
    TASK_TRACE.scope(state, future).await
}

/// Spawns `future` as a task that keeps the current trace, if any (a traced
/// request's sends to its replicas stay in its trace).
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match current() {
        None => tokio::spawn(future),
        Some(state) => tokio::spawn(within(state, future)),
    }
}

/// Runs synchronous `work` with `state` as its trace, on this thread.
pub fn within_sync<R>(state: &Arc<TraceState>, work: impl FnOnce() -> R) -> R {
    struct Reset(Option<Arc<TraceState>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            THREAD_TRACE.with(|t| *t.borrow_mut() = previous);
        }
    }
    let previous = THREAD_TRACE.with(|t| t.borrow_mut().replace(state.clone()));
    let _reset = Reset(previous);
    work()
}

/// Calls `f` with the current trace, when there is one.
fn with_current<R>(f: impl FnOnce(&Arc<TraceState>) -> R) -> Option<R> {
    let mut f = Some(f);
    let from_thread = THREAD_TRACE.with(|t| t.borrow().as_ref().map(|state| f.take().map(|f| f(state))));
    if let Some(done) = from_thread {
        return done;
    }
    TASK_TRACE.try_with(|state| f.take().map(|f| f(state))).ok().flatten()
}

/// The current trace, when the work in hand is traced (to carry it into a
/// spawned task with `within`).
pub fn current() -> Option<Arc<TraceState>> {
    with_current(Arc::clone)
}

/// Whether the work in hand is traced.
pub fn is_on() -> bool {
    with_current(|_| ()).is_some()
}

/// Records `activity` when the work in hand is traced.
pub fn event(activity: &str) {
    with_current(|state| state.record(activity.to_string()));
}

/// Records the activity `describe` makes, calling it only when the work in
/// hand is traced (so the untraced path formats nothing).
pub fn event_with(describe: impl FnOnce() -> String) {
    with_current(|state| state.record(describe()));
}

/// What the coordinator knows of a traced request besides its events: the
/// columns of its `system_traces.sessions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub client: Option<IpAddr>,
    /// `Execute CQL3 query`, `Execute CQL3 prepared query`, ...
    pub request: &'static str,
    pub parameters: BTreeMap<String, String>,
    /// Milliseconds since the epoch.
    pub started_at: i64,
}

/// The coordinator's side of one traced request.
#[derive(Debug)]
pub struct Session {
    pub state: Arc<TraceState>,
    pub info: SessionInfo,
    /// Whether the client asked (the response then carries the session id);
    /// a request traced by probability records the same, silently.
    pub asked: bool,
}

/// The node's tracing: its probability and the queue its trace rows go to.
#[derive(Debug)]
pub struct Tracing {
    local: IpAddr,
    /// The f64 bits of the share of requests traced unasked (0 by default).
    probability: AtomicU64,
    sink: writer::Sink,
}

impl Tracing {
    /// The node's tracing at `local`, and the receiving end of its trace
    /// queue, for `writer::run` once the coordinator exists.
    pub fn new(local: IpAddr) -> (Arc<Tracing>, writer::Batches) {
        let (sink, batches) = writer::queue();
        let tracing = Tracing {
            local,
            probability: AtomicU64::new(0f64.to_bits()),
            sink,
        };
        (Arc::new(tracing), batches)
    }

    pub fn local(&self) -> IpAddr {
        self.local
    }

    pub fn probability(&self) -> f64 {
        f64::from_bits(self.probability.load(Ordering::Relaxed))
    }

    /// Sets the share of requests traced unasked, from nodetool's text.
    pub fn set_probability(&self, text: &str) -> Result<f64, String> {
        let p = parse_probability(text)?;
        self.probability.store(p.to_bits(), Ordering::Relaxed);
        tracing::info!(probability = p, "trace probability set");
        Ok(p)
    }

    /// A coordinator session for a request, when the client asked for tracing
    /// or the probability picked it; `None` (at the cost of an atomic load)
    /// otherwise.
    pub fn begin(&self, asked: bool, info: impl FnOnce() -> SessionInfo) -> Option<Session> {
        if !asked && !picked(self.probability()) {
            return None;
        }
        let state = Arc::new(TraceState::new(timeuuid(), self.local, COORDINATOR_STAGE));
        Some(Session {
            state,
            info: info(),
            asked,
        })
    }

    /// Ends a coordinator session: its events, then its session row with the
    /// duration, are queued for writing. The client is not kept waiting for them.
    pub fn finish(&self, session: Session) {
        // No "Request complete" event: cqlsh prints that line from the
        // session's duration, as for Cassandra, which records none either.
        let duration = session.state.elapsed_micros();
        self.sink.queue(writer::Batch {
            session: session.state.session,
            source: self.local,
            events: session.state.take_events(),
            complete: Some((session.info, duration)),
            done: None,
        });
    }

    /// A replica's state for the coordinator's session `session`, whose
    /// events are done by `stage`.
    pub fn replica(&self, session: Uuid, stage: &'static str) -> Arc<TraceState> {
        Arc::new(TraceState::new(session, self.local, stage))
    }

    /// Writes a replica's events and waits (a bounded while) until they are
    /// written, so that they are in place before the coordinator, which
    /// waits for this reply, completes the session.
    pub async fn flush(&self, state: &TraceState) {
        let (done, written) = tokio::sync::oneshot::channel();
        self.sink.queue(writer::Batch {
            session: state.session,
            source: self.local,
            events: state.take_events(),
            complete: None,
            done: Some(done),
        });
        let _ = tokio::time::timeout(writer::REPLICA_FLUSH_WAIT, written).await;
    }
}

/// Whether a request is traced at probability `p`.
fn picked(p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || rand::random::<f64>() < p)
}

/// A probability as nodetool takes it: a number from 0 to 1.
pub fn parse_probability(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Ok(p) => Err(format!("Trace probability must be between 0 and 1, got {p}")),
        Err(_) => Err(format!("Trace probability must be a number between 0 and 1, got '{text}'")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn state() -> Arc<TraceState> {
        Arc::new(TraceState::new(timeuuid(), "127.0.0.1".parse().unwrap(), "ReadStage"))
    }

    #[test]
    fn events_outside_a_trace_record_nothing() {
        let mut called = false;
        event_with(|| {
            called = true;
            "never".into()
        });
        assert!(!called, "the description is not made when nothing is traced");
        assert!(!is_on());
        assert!(current().is_none());
    }

    #[test]
    fn a_synchronous_scope_records_and_ends_with_the_work() {
        let s = state();
        within_sync(&s, || {
            event("Appending to commitlog");
            event_with(|| format!("Read {} live rows and {} tombstone cells", 2, 0));
        });
        event("after the scope");
        let events = s.take_events();
        let activities: Vec<&str> = events.iter().map(|e| e.activity.as_str()).collect();
        assert_eq!(activities, ["Appending to commitlog", "Read 2 live rows and 0 tombstone cells"]);
        assert!(events[0].id.get_timestamp().is_some(), "event ids are timeuuids");
        assert_eq!(events[0].thread, "ReadStage");
        assert!(events[0].elapsed_micros <= events[1].elapsed_micros);
    }

    #[tokio::test]
    async fn an_async_scope_records_across_awaits() {
        let s = state();
        within(s.clone(), async {
            event("Parsing SELECT");
            tokio::task::yield_now().await;
            assert!(is_on());
            event("Request complete");
        })
        .await;
        assert_eq!(s.take_events().len(), 2);
        assert!(!is_on());
    }

    #[test]
    fn a_state_keeps_at_most_its_bound_of_events() {
        let s = state();
        for _ in 0..MAX_EVENTS_PER_STATE + 10 {
            s.record("again".into());
        }
        assert_eq!(s.take_events().len(), MAX_EVENTS_PER_STATE);
    }

    #[test]
    fn probabilities_outside_zero_to_one_are_refused() {
        assert_eq!(parse_probability("0.5"), Ok(0.5));
        assert_eq!(parse_probability("1"), Ok(1.0));
        assert_eq!(parse_probability("0"), Ok(0.0));
        assert!(parse_probability("1.5").unwrap_err().contains("between 0 and 1"));
        assert!(parse_probability("half").unwrap_err().contains("a number"));
        assert!(!picked(0.0));
        assert!(picked(1.0));
    }

    #[tokio::test]
    async fn only_asked_or_picked_requests_begin_a_session() {
        let (tracing, _batches) = Tracing::new("127.0.0.1".parse().unwrap());
        let info = || SessionInfo {
            client: None,
            request: "Execute CQL3 query",
            parameters: BTreeMap::new(),
            started_at: 0,
        };
        assert!(tracing.begin(false, info).is_none());
        assert!(tracing.begin(true, info).is_some_and(|s| s.asked));
        tracing.set_probability("1").unwrap();
        assert!(tracing.begin(false, info).is_some_and(|s| !s.asked));
        assert!(tracing.set_probability("2").is_err());
        assert_eq!(tracing.probability(), 1.0, "a refused value changes nothing");
    }
}
