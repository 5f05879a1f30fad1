//! Internode messaging on port 7000 (see `docs/internode.md`): how a
//! coordinator sends verbs (mutate, read, ping) to the replicas and gets their
//! replies. `Messaging` accepts peers' connections and hands each request to the
//! node's `Handler`; it keeps one persistent, multiplexed connection per peer
//! for its own requests. The wire format is `frame` (hello, framing) and
//! `message` (verbs and replies in postcard); `connection` does one socket's
//! I/O and `pool` keeps the outgoing connections. What a verb does to storage,
//! and which replicas to ask, are the coordinator's.

mod connection;
pub mod frame;
pub mod message;
mod outbound;
mod pool;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, warn, Instrument};

pub use self::frame::{INTERNODE_VERSION, MAX_FRAME};
pub use self::message::{Reply, Verb};
pub use self::outbound::Outbound;
use self::pool::Pool;
use crate::peer_auth::PeerAuth;

/// The node's side of a peer's request. Synchronous, as storage is: reads and
/// writes are memory operations and run in line on the network task; a verb
/// the handler says may wait on the disk (`blocks`) runs on tokio's blocking
/// pool, so a slow disk never stalls the network tasks.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, from: IpAddr, verb: Verb) -> Reply;

    /// Whether answering `verb` may wait on the disk (an fsync, a large scan).
    fn blocks(&self, _verb: &Verb) -> bool {
        false
    }

    /// The node's tracing, to record a traced verb's events under its
    /// session; without it a traced verb is answered untraced.
    fn tracing(&self) -> Option<&Arc<crate::trace::Tracing>> {
        None
    }
}

/// Answers `verb` through `handler`: in line, or on the blocking pool when the
/// handler says it may wait on the disk.
pub async fn answer(handler: &Arc<dyn Handler>, from: IpAddr, verb: Verb) -> Reply {
    if let Verb::Traced { session, verb } = verb {
        return answer_traced(handler, from, session, &verb).await;
    }
    run(handler, from, verb, None).await
}

/// Runs the handler on `verb` (under `trace` when given): in line, or on the
/// blocking pool when it may wait on the disk.
async fn run(handler: &Arc<dyn Handler>, from: IpAddr, verb: Verb, trace: Option<Arc<crate::trace::TraceState>>) -> Reply {
    fn call(handler: &dyn Handler, from: IpAddr, verb: Verb, trace: Option<&Arc<crate::trace::TraceState>>) -> Reply {
        match trace {
            Some(state) => crate::trace::within_sync(state, || handler.handle(from, verb)),
            None => handler.handle(from, verb),
        }
    }
    crate::metrics::global().received(verb.name());
    if !handler.blocks(&verb) {
        return call(handler.as_ref(), from, verb, trace.as_ref());
    }
    let handler = handler.clone();
    tokio::task::spawn_blocking(move || call(handler.as_ref(), from, verb, trace.as_ref()))
        .await
        .unwrap_or_else(|e| Reply::Failed {
            message: format!("the handler failed: {e}"),
        })
}

/// Answers a traced verb: the replica's events (received, what the handler
/// did, the response) are recorded under the coordinator's `session` and
/// written before the reply goes back, so the coordinator finds them in
/// place when it completes the session.
async fn answer_traced(handler: &Arc<dyn Handler>, from: IpAddr, session: uuid::Uuid, encoded: &[u8]) -> Reply {
    let verb = match Verb::untraced(encoded) {
        Ok(verb) => verb,
        Err(e) => {
            return Reply::Failed {
                message: format!("a traced verb that does not decode: {e}"),
            }
        }
    };
    let Some(tracing) = handler.tracing().cloned() else {
        return run(handler, from, verb, None).await;
    };
    let state = tracing.replica(session, verb.stage());
    state.record(format!("{} message received from /{from}", verb.trace_name()));
    let reply = run(handler, from, verb, Some(state.clone())).await;
    state.record(format!("Enqueuing response to /{from}"));
    tracing.flush(&state).await;
    reply
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessagingError {
    #[error("no reply from {to} within {after:?}")]
    Timeout { to: IpAddr, after: Duration },
    #[error("cannot reach {to}: {reason}")]
    Unreachable { to: IpAddr, reason: String },
    #[error("protocol error with {to}: {reason}")]
    Protocol { to: IpAddr, reason: String },
}

impl MessagingError {
    /// A word for metrics: `timeout`, `unreachable`, `protocol`.
    pub fn reason(&self) -> &'static str {
        match self {
            MessagingError::Timeout { .. } => "timeout",
            MessagingError::Unreachable { .. } => "unreachable",
            MessagingError::Protocol { .. } => "protocol",
        }
    }
}

/// The node's internode messaging service.
pub struct Messaging {
    local: IpAddr,
    port: u16,
    handler: Arc<dyn Handler>,
    pool: Pool,
    shutdown: watch::Sender<bool>,
    accepted: Arc<AtomicU64>,
}

impl std::fmt::Debug for Messaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messaging")
            .field("local", &self.local)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Messaging {
    /// Starts accepting peers on `listener` (its port is also the port peers are
    /// reached on) and returns the service. `local` is this node's address, as
    /// peers know it; `auth` names the cluster and holds its secret, which peers
    /// must share.
    pub async fn start(listener: TcpListener, local: IpAddr, auth: PeerAuth, handler: Arc<dyn Handler>) -> Arc<Messaging> {
        Self::start_with_tls(listener, local, auth, handler, None).await
    }

    /// As `start`, with mutual TLS on every connection when `tls` is given.
    pub async fn start_with_tls(
        listener: TcpListener,
        local: IpAddr,
        auth: PeerAuth,
        handler: Arc<dyn Handler>,
        tls: Option<crate::tls::PeerTls>,
    ) -> Arc<Messaging> {
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(7000);
        let (shutdown, stop) = watch::channel(false);
        let accept_handler = handler.clone();
        let span = tracing::info_span!("internode", %local, port);
        let accepted = Arc::new(AtomicU64::new(0));
        let listening = Listening {
            local,
            auth: auth.clone(),
            tls: tls.clone(),
        };
        tokio::spawn(accept_loop(listener, listening, accept_handler, stop, accepted.clone()).instrument(span));
        Arc::new(Messaging {
            local,
            port,
            handler,
            pool: Pool::new(port, local, auth, tls),
            shutdown,
            accepted,
        })
    }

    /// This node's address.
    pub fn local(&self) -> IpAddr {
        self.local
    }

    /// The internode port, on this node and on every peer.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends `verb` to the node at `to` and waits at most `timeout` for its reply
    /// (connecting first when needed, within the same timeout). To this node's
    /// own address, the handler answers without a socket.
    pub async fn send(&self, to: IpAddr, verb: Verb, timeout: Duration) -> Result<Reply, MessagingError> {
        if to == self.local {
            return self.answer_locally(verb, timeout).await;
        }
        self.send_outbound(to, &Outbound::new(verb), timeout).await
    }

    /// `send` of a request that may go to several peers: its bytes are encoded
    /// once, by whichever send needs them first.
    pub async fn send_outbound(&self, to: IpAddr, request: &Outbound, timeout: Duration) -> Result<Reply, MessagingError> {
        if to == self.local {
            return self.answer_locally(request.verb().clone(), timeout).await;
        }
        let timed_out = MessagingError::Timeout { to, after: timeout };
        let name = request.verb().name();
        debug!(%to, verb = name, "sending a request");
        let exchange = async {
            let payload = request.payload().map_err(|reason| MessagingError::Protocol {
                to,
                reason: reason.to_string(),
            })?;
            let connection = self.pool.connection(to).await?;
            connection.request(payload).await
        };
        let timer = crate::metrics::global().internode(to, name);
        let outcome = tokio::time::timeout(timeout, exchange).await.unwrap_or(Err(timed_out));
        timer.finish(outcome.as_ref().err().map(MessagingError::reason));
        match &outcome {
            Ok(reply) => debug!(%to, verb = name, reply = reply.name(), "reply received"),
            Err(e) => debug!(%to, verb = name, error = %e, "request failed"),
        }
        outcome
    }

    async fn answer_locally(&self, verb: Verb, timeout: Duration) -> Result<Reply, MessagingError> {
        tokio::time::timeout(timeout, answer(&self.handler, self.local, verb))
            .await
            .map_err(|_| MessagingError::Timeout {
                to: self.local,
                after: timeout,
            })
    }

    /// How many connections peers have opened to this node (for metrics and tests).
    pub fn connections_accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes every connection, and fails requests in flight.
    /// Also done when the last reference is dropped.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        self.pool.clear();
    }
}

impl Drop for Messaging {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the accepting side shows and asks of peers.
struct Listening {
    local: IpAddr,
    auth: PeerAuth,
    tls: Option<crate::tls::PeerTls>,
}

async fn accept_loop(
    listener: TcpListener,
    listening: Listening,
    handler: Arc<dyn Handler>,
    mut stop: watch::Receiver<bool>,
    accepted_count: Arc<AtomicU64>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                accepted_count.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection::serve(
                    stream,
                    listening.tls.clone(),
                    peer,
                    listening.local,
                    listening.auth.clone(),
                    handler.clone(),
                    stop.clone(),
                ));
            }
            Err(e) => {
                // Out of file descriptors and the like: pause instead of spinning.
                warn!(error = %e, "accepting an internode connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    debug!(address = ?listener.local_addr().ok().map(|a: SocketAddr| a.to_string()), "internode listener closed");
}

#[cfg(test)]
mod tests;
