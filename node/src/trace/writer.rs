//! Writes trace rows to `system_traces` through the coordinator, off the
//! request path: requests queue `Batch`es (bounded: past `TRACE_QUEUE` a batch
//! is dropped, never waited for), and the `trace writer` job writes each one,
//! at most `TRACE_WRITES_IN_FLIGHT` at a time. It writes outside any trace,
//! so the trace's own writes are never traced. Each batch is written to every
//! live replica of the session (ALL, or ANY when a replica is down), so a
//! client reading the trace at ONE right after its request finds it whole.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use cql_protocol::wire::Consistency;
use tokio::sync::{mpsc, oneshot, Semaphore};
use uuid::Uuid;

use super::rows::{self, EVENTS, KEYSPACE, SESSIONS};
use super::{Event, SessionInfo};
use crate::clock::{now_seconds, server_timestamp};
use crate::coordinator::replicas::Strategy;
use crate::coordinator::Coordinator;
use crate::error::QueryError;
use crate::jobs::Stop;
use crate::schema_service::SchemaService;

/// Batches waiting for the writer, at most.
pub const TRACE_QUEUE: usize = 4096;
/// Batches being written at once, at most.
pub const TRACE_WRITES_IN_FLIGHT: usize = 32;
/// How long a replica waits for its events to be written before it answers
/// the traced request anyway.
pub const REPLICA_FLUSH_WAIT: Duration = Duration::from_millis(500);

/// One node's rows of one session: its events, and for the coordinator at
/// the end, the session row (its facts and duration in microseconds).
#[derive(Debug)]
pub struct Batch {
    pub session: Uuid,
    pub source: IpAddr,
    pub events: Vec<Event>,
    pub complete: Option<(SessionInfo, i32)>,
    /// Told once the batch is written (or failed).
    pub done: Option<oneshot::Sender<()>>,
}

/// Where requests queue their trace rows.
#[derive(Debug, Clone)]
pub struct Sink {
    tx: mpsc::Sender<Batch>,
}

/// The writer's end of the queue.
pub type Batches = mpsc::Receiver<Batch>;

pub fn queue() -> (Sink, Batches) {
    let (tx, rx) = mpsc::channel(TRACE_QUEUE);
    (Sink { tx }, rx)
}

impl Sink {
    /// Queues `batch`; drops it when the queue is full or the writer stopped.
    pub fn queue(&self, batch: Batch) {
        if let Err(e) = self.tx.try_send(batch) {
            tracing::debug!(error = %e, "trace rows dropped: the trace queue is full or closed");
        }
    }
}

/// The `trace writer` job: writes queued batches until `stop`. `port` is the
/// node's internode port (the rows' `source_port` and `coordinator_port`).
pub async fn run(mut batches: Batches, coordinator: Arc<Coordinator>, schema: Arc<SchemaService>, port: u16, mut stop: Stop) {
    let in_flight = Arc::new(Semaphore::new(TRACE_WRITES_IN_FLIGHT));
    loop {
        let batch = tokio::select! {
            _ = stop.stopped() => return,
            batch = batches.recv() => match batch {
                Some(batch) => batch,
                None => return,
            },
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let (coordinator, schema) = (coordinator.clone(), schema.clone());
        tokio::spawn(async move {
            let Batch {
                session,
                source,
                events,
                complete,
                done,
            } = batch;
            if let Err(e) = write(&coordinator, &schema, port, session, source, &events, complete.as_ref()).await {
                tracing::debug!(%session, error = %e, "writing trace rows failed");
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
            drop(permit);
        });
    }
}

/// Writes a batch's events, then its session row: a client that sees the
/// session's duration finds the coordinator's events already there.
async fn write(
    coordinator: &Coordinator,
    schema: &SchemaService,
    port: u16,
    session: Uuid,
    source: IpAddr,
    events: &[Event],
    complete: Option<&(SessionInfo, i32)>,
) -> Result<(), QueryError> {
    let snapshot = schema.snapshot();
    let missing = |table: &str| QueryError::Server {
        message: format!("the table {KEYSPACE}.{table} is missing"),
    };
    let keyspace = snapshot.keyspace(KEYSPACE).ok_or_else(|| missing(EVENTS))?;
    let strategy = Strategy::from_replication(&keyspace.replication);
    let ctx = rows::context(server_timestamp(), now_seconds());
    let events_table = keyspace.tables.get(EVENTS).ok_or_else(|| missing(EVENTS))?;
    if let Some(m) = rows::events_mutation(events_table, session, source, port, events, &ctx)? {
        write_everywhere(coordinator, &strategy, m).await?;
    }
    if let Some((info, duration)) = complete {
        let sessions_table = keyspace.tables.get(SESSIONS).ok_or_else(|| missing(SESSIONS))?;
        let m = rows::session_mutation(sessions_table, session, source, port, info, *duration, &ctx)?;
        write_everywhere(coordinator, &strategy, m).await?;
    }
    Ok(())
}

/// ALL, so a read at ONE finds it; ANY when a replica is down.
async fn write_everywhere(coordinator: &Coordinator, strategy: &Strategy, m: crate::storage::Mutation) -> Result<(), QueryError> {
    match coordinator.write(strategy, vec![m.clone()], Consistency::All, "SIMPLE").await {
        Err(QueryError::Unavailable { .. }) => coordinator.write(strategy, vec![m], Consistency::Any, "SIMPLE").await,
        other => other,
    }
}
