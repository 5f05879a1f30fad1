//! One client connection: reads frames, answers each request on its own task
//! (many streams in flight, up to `RequestLimits`: at the bound it stops
//! reading the socket), writes responses through one writer task that flushes
//! what is ready in one write, and pushes events to a connection that
//! REGISTERed for them. Protocol errors are answered on the request's stream;
//! only an unreadable frame boundary (bad version, oversized length) closes the
//! connection. Until it logs in (READY, or AUTH_SUCCESS with a password
//! authenticator) a connection is held to `Login`: frames of at most
//! `MAX_FRAME_BEFORE_LOGIN` bytes and a deadline, past which it is closed.
//! Counting connections is `limits`'s; accepting them and TLS are `server`'s.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cql_protocol::compression::{compress_frame, Compression};
use cql_protocol::frame::{decode_request, encode_response_frame, encode_response_frame_with, FrameHeader, FLAG_COMPRESSION, HEADER_LEN};
use cql_protocol::request::Request;
use cql_protocol::response::Response;
use cql_protocol::response::{ErrorBody, ErrorKind, Event, ResultBody};
use futures::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, warn, Instrument};
use uuid::Uuid;

use crate::auth::gate::{Gate, RequestKind};
use crate::auth::Auth;
use crate::auth::PASSWORD_AUTHENTICATOR;
use crate::error::QueryError;
use crate::limits::{InFlight, RequestLimits, Slot, MAX_FRAME_BEFORE_LOGIN};
use crate::query::{QueryOptions, QueryProcessor, Session};
use crate::system::CQL_VERSION;
use crate::trace::{Session as TraceSession, SessionInfo, Tracing};

const EVENT_STREAM: i16 = -1;

/// How long a refused connection is waited for to send its first frame header,
/// so it can be told why on that frame's stream.
pub const REFUSAL_WAIT: Duration = Duration::from_secs(5);

/// How long a connection closed before login may take to read its last answers:
/// one that does not read must not keep its socket open.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What a connection is held to until it logs in (READY, or AUTH_SUCCESS with a
/// password authenticator).
#[derive(Debug)]
pub struct Login {
    /// Past it a connection that has not logged in is closed; it runs from accept,
    /// so it covers the TLS handshake too.
    pub deadline: Instant,
    /// The configured span, for the message (`native_transport_auth_timeout_ms`).
    pub timeout: Duration,
    /// The connection's unauthenticated slot, given back at login.
    pub slot: Option<Slot>,
}

/// Runs `f`, bounded by the login deadline while there is one (`login` is
/// `None` once the connection has logged in); `None` if the deadline passed first.
async fn before_deadline<T>(login: &Option<Login>, f: impl Future<Output = T>) -> Option<T> {
    match login {
        None => Some(f.await),
        Some(l) => tokio::time::timeout_at(l.deadline, f).await.ok(),
    }
}

fn login_expired(login: &Login) -> Response {
    protocol_error(format!(
        "Connection closed: no login (READY or AUTH_SUCCESS) within {} ms of connecting (native_transport_auth_timeout_ms)",
        login.timeout.as_millis()
    ))
}

fn protocol_error(message: impl Into<String>) -> Response {
    Response::Error(ErrorBody {
        kind: ErrorKind::Protocol,
        message: message.into(),
    })
}

/// Answers the first request of a connection that is over a limit with an
/// Overloaded error saying so, then closes it; one that sends nothing by
/// `deadline` (or for `REFUSAL_WAIT`) is closed without a word.
pub async fn refuse<S>(mut stream: S, message: String, deadline: Instant)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut header_bytes = [0u8; HEADER_LEN];
    let deadline = deadline.min(Instant::now() + REFUSAL_WAIT);
    let stream_id = match tokio::time::timeout_at(deadline, stream.read_exact(&mut header_bytes)).await {
        Ok(Ok(_)) => FrameHeader::decode(&header_bytes).map(|h| h.stream).unwrap_or(0),
        _ => return,
    };
    let error = Response::Error(ErrorBody {
        kind: ErrorKind::Overloaded,
        message,
    });
    let _ = stream.write_all(&encode_response_frame(stream_id, &error, &[])).await;
    let _ = stream.shutdown().await;
}

/// What a connection serves its client with: the query processor, the
/// authenticator for logins, and the driver events it may register for.
#[derive(Clone)]
pub struct Handles {
    pub queries: Arc<QueryProcessor>,
    pub auth: Arc<Auth>,
    pub events: tokio::sync::broadcast::Sender<Event>,
    /// Traces requests the client asks to (or the trace probability picks).
    pub tracing: Arc<Tracing>,
}

/// Serves one client over `stream` (a TCP socket, or TLS over one) until it closes.
pub async fn serve<S>(
    stream: S,
    peer: Option<SocketAddr>,
    handles: Handles,
    max_frame: u32,
    limits: RequestLimits,
    login: Login,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    // `None` once the connection has logged in.
    let mut login = Some(login);
    let (read_half, mut write_half) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    // Every request in flight holds a permit until its answer is written, so
    // the queue never holds more than the bound allows (plus a few events).
    let (tx, mut rx) = mpsc::channel::<Outgoing>(limits.per_connection + 16);
    let mut writer = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(64 * 1024);
        let mut held = Vec::new();
        while let Some((frame, permit)) = rx.recv().await {
            batch.clear();
            batch.extend_from_slice(&frame);
            held.push(permit);
            // Coalesce what is already queued into one write.
            while batch.len() < 256 * 1024 {
                match rx.try_recv() {
                    Ok((more, permit)) => {
                        batch.extend_from_slice(&more);
                        held.push(permit);
                    }
                    Err(_) => break,
                }
            }
            if write_half.write_all(&batch).await.is_err() {
                break;
            }
            held.clear();
        }
        let _ = write_half.shutdown().await;
    });
    let in_flight = limits.connection();
    let mut framing = Framing::default();
    let session = Arc::new(Mutex::new(Session {
        client: peer.map(|p| p.ip()),
        ..Session::default()
    }));
    let mut gate = Gate::new(handles.auth.login_required());
    let mut pushers = Vec::new();
    let mut header_bytes = [0u8; HEADER_LEN];
    loop {
        match before_deadline(&login, reader.read_exact(&mut header_bytes)).await {
            Some(Ok(_)) => {}
            Some(Err(_)) => break,
            None => {
                expire(&tx, framing, 0, &login);
                break;
            }
        }
        let mut header = match FrameHeader::decode(&header_bytes) {
            Ok(h) => h,
            Err(e) => {
                let _ = tx.send((framing.encode(0, &protocol_error(e.to_string())), None)).await;
                break;
            }
        };
        if header.protocol_version() != 4 || header.is_response() {
            let message = if header.is_response() {
                "Invalid frame: a client sent a response frame".to_string()
            } else {
                format!(
                    "Invalid or unsupported protocol version ({}); supported versions are (4/v4)",
                    header.protocol_version()
                )
            };
            debug!(peer = ?peer, version = header.protocol_version(), "refusing protocol version");
            let _ = tx.send((framing.encode(header.stream, &protocol_error(message)), None)).await;
            break;
        }
        // Before login only small frames: a large announced length is refused
        // before a byte of its body is read or allocated.
        let frame_limit = if login.is_some() {
            max_frame.min(MAX_FRAME_BEFORE_LOGIN)
        } else {
            max_frame
        };
        let len = match header.body_len(frame_limit) {
            Ok(len) => len,
            Err(e) => {
                warn!(peer = ?peer, length = header.length, logged_in = login.is_none(), "refusing oversized frame");
                let message = if login.is_some() {
                    format!("{e} before authentication")
                } else {
                    e.to_string()
                };
                let _ = tx.send((framing.encode(header.stream, &protocol_error(message)), None)).await;
                break;
            }
        };
        let stream = header.stream;
        let Some(permit) = before_deadline(&login, limits.admit(&in_flight, len)).await else {
            expire(&tx, framing, stream, &login);
            break;
        };
        let mut body = vec![0u8; len];
        match before_deadline(&login, reader.read_exact(&mut body)).await {
            Some(Ok(_)) => {}
            Some(Err(_)) => break,
            None => {
                expire(&tx, framing, stream, &login);
                break;
            }
        }
        if let (true, Some(c)) = (header.flags & FLAG_COMPRESSION != 0, framing.compression) {
            match c.decompress(&body, frame_limit as usize) {
                Ok(plain) => {
                    body = plain;
                    header.flags &= !FLAG_COMPRESSION;
                }
                Err(e) => {
                    let _ = tx
                        .send((framing.encode(stream, &protocol_error(e.to_string())), Some(permit)))
                        .await;
                    continue;
                }
            }
        }
        let frame = match decode_request(&header, &body) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx
                    .send((framing.encode(stream, &protocol_error(e.to_string())), Some(permit)))
                    .await;
                continue;
            }
        };
        if let Err(message) = gate.admit(request_kind(&frame.request)) {
            warn!(peer = ?peer, %message, "request refused before login");
            let _ = tx.send((framing.encode(stream, &protocol_error(message)), Some(permit))).await;
            continue;
        }
        // Requests answered on this task are counted here; the others by `handle`.
        let counted_here = match &frame.request {
            Request::Startup(_) | Request::Register(_) => true,
            Request::AuthResponse(_) => gate.login_required(),
            _ => false,
        };
        let timer = counted_here.then(|| crate::metrics::global().request(&frame.request));
        let finish = |response: Response| match timer {
            Some(timer) => timer.finish(response),
            None => response,
        };
        let trace = begin_trace(&handles.tracing, frame.tracing, peer, &frame.request);
        match frame.request {
            // The login runs in order on this task: nothing else is admitted meanwhile.
            Request::Startup(s) => {
                let (response, compression) = startup(&s, gate.login_required());
                if !matches!(response, Response::Error(_)) {
                    gate.started();
                    framing.compression = compression;
                }
                if matches!(response, Response::Ready) {
                    // Logged in: no deadline, and the unauthenticated slot goes back.
                    login = None;
                }
                let response = finish(response);
                let _ = tx.send((framing.encode(stream, &response), Some(permit))).await;
            }
            Request::AuthResponse(a) if gate.login_required() => {
                let ip = peer.map(|p| p.ip());
                let Some(checked) = before_deadline(&login, handles.auth.login(ip, a.token.as_deref())).await else {
                    expire(&tx, framing, stream, &login);
                    break;
                };
                let response = match checked {
                    Ok(user) => {
                        debug!(peer = ?peer, user = %user.name, "logged in");
                        session.lock().unwrap_or_else(|e| e.into_inner()).user = Some(Arc::new(user));
                        gate.authenticated();
                        login = None;
                        Response::AuthSuccess { token: None }
                    }
                    Err(e) => {
                        warn!(peer = ?peer, error = %e, "login refused");
                        Response::Error(e.to_error_body())
                    }
                };
                let response = finish(response);
                let _ = tx.send((framing.encode(stream, &response), Some(permit))).await;
            }
            Request::Register(r) => {
                let response = finish(Response::Ready);
                let _ = tx.send((framing.encode(stream, &response), Some(permit))).await;
                pushers.push(spawn_event_pusher(&handles.events, r.events, tx.clone(), framing));
            }
            // Statements that change the session run in order on this task.
            Request::Query(ref q) if q.query.trim_start().get(..3).is_some_and(|s| s.eq_ignore_ascii_case("use")) => {
                let answered = handle_traced(&handles.queries, &session, frame.request, &handles.tracing, trace).await;
                let _ = tx.send((framing.encode_answer(stream, &answered), Some(permit))).await;
            }
            request => {
                let queries = handles.queries.clone();
                let tracer = handles.tracing.clone();
                let session = session.clone();
                let tx = tx.clone();
                let span = tracing::debug_span!("request", stream, opcode = header.opcode);
                tokio::spawn(
                    async move {
                        // A bug that panics fails its request with a server
                        // error instead of leaving the client waiting.
                        let answered = match std::panic::AssertUnwindSafe(handle_traced(&queries, &session, request, &tracer, trace))
                            .catch_unwind()
                            .await
                        {
                            Ok(answered) => answered,
                            Err(_) => {
                                tracing::error!(stream, "a request panicked; answered with a server error");
                                let error = crate::error::QueryError::Server {
                                    message: "the node failed on this request (see its log)".into(),
                                };
                                Answered::plain(Response::Error(error.to_error_body()))
                            }
                        };
                        let _ = tx.send((framing.encode_answer(stream, &answered), Some(permit))).await;
                    }
                    .instrument(span),
                );
            }
        }
    }
    drop(tx);
    // The pushers hold senders too: the writer ends only once they stop.
    for pusher in &pushers {
        pusher.abort();
    }
    match login {
        None => {
            let _ = writer.await;
        }
        Some(_) => {
            if tokio::time::timeout(CLOSE_GRACE, &mut writer).await.is_err() {
                writer.abort();
            }
        }
    }
    Ok(())
}

/// Tells a connection whose login deadline passed why it is closed, if there
/// is room: one that does not read its answers is closed all the same.
fn expire(tx: &mpsc::Sender<Outgoing>, framing: Framing, stream: i16, login: &Option<Login>) {
    if let Some(login) = login {
        warn!(
            timeout_ms = login.timeout.as_millis() as u64,
            "closing a connection that did not log in in time"
        );
        let _ = tx.try_send((framing.encode(stream, &login_expired(login)), None));
    }
}

/// A frame for the writer, with what its request holds until it is written.
type Outgoing = (Vec<u8>, Option<InFlight>);

/// How this connection's answers are framed: compressed once STARTUP chose an
/// algorithm. Bodies shorter than `MIN_COMPRESSED` go plain, as the protocol
/// allows (the flag tells the client which).
#[derive(Debug, Clone, Copy, Default)]
struct Framing {
    compression: Option<Compression>,
}

const MIN_COMPRESSED: usize = 64;

impl Framing {
    fn encode(self, stream: i16, response: &Response) -> Vec<u8> {
        self.compress(encode_response_frame(stream, response, &[]))
    }

    /// A request's answer, with its trace session id (when the client asked)
    /// and its warnings.
    fn encode_answer(self, stream: i16, answered: &Answered) -> Vec<u8> {
        self.compress(encode_response_frame_with(
            stream,
            &answered.response,
            answered.trace_id,
            &answered.warnings,
        ))
    }

    fn compress(self, frame: Vec<u8>) -> Vec<u8> {
        match self.compression {
            Some(c) if frame.len() >= HEADER_LEN + MIN_COMPRESSED => compress_frame(&frame, c),
            _ => frame,
        }
    }
}

fn spawn_event_pusher(
    events_of_node: &tokio::sync::broadcast::Sender<Event>,
    events: Vec<String>,
    tx: mpsc::Sender<Outgoing>,
    framing: Framing,
) -> tokio::task::JoinHandle<()> {
    let mut rx = events_of_node.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    let kind = match &event {
                        Event::TopologyChange { .. } => "TOPOLOGY_CHANGE",
                        Event::StatusChange { .. } => "STATUS_CHANGE",
                        Event::SchemaChange(_) => "SCHEMA_CHANGE",
                    };
                    if events.iter().any(|e| e == kind)
                        && tx
                            .send((framing.encode(EVENT_STREAM, &Response::Event(event)), None))
                            .await
                            .is_err()
                    {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    })
}

/// The trace session of a statement (QUERY, PREPARE, EXECUTE, BATCH) the
/// client asked to trace, or the node's trace probability picked.
fn begin_trace(tracing: &Tracing, asked: bool, peer: Option<SocketAddr>, request: &Request) -> Option<TraceSession> {
    let (request_name, consistency, query) = match request {
        Request::Query(q) => ("Execute CQL3 query", Some(&q.params), Some(q.query.as_str())),
        Request::Execute(e) => ("Execute CQL3 prepared query", Some(&e.params), None),
        Request::Prepare(p) => ("Preparing CQL3 query", None, Some(p.query.as_str())),
        Request::Batch(_) => ("Execute batch of CQL3 queries", None, None),
        _ => return None,
    };
    tracing.begin(asked, || {
        let mut parameters = BTreeMap::new();
        if let Some(query) = query {
            parameters.insert("query".to_string(), query.to_string());
        }
        let batch_consistency = match request {
            Request::Batch(b) => Some((b.consistency, b.serial_consistency)),
            _ => None,
        };
        let levels = consistency.map(|p| (p.consistency, p.serial_consistency)).or(batch_consistency);
        if let Some((cl, serial)) = levels {
            parameters.insert("consistency_level".to_string(), cl.name().to_string());
            if let Some(serial) = serial {
                parameters.insert("serial_consistency_level".to_string(), serial.name().to_string());
            }
        }
        if let Some(page_size) = consistency.and_then(|p| p.page_size) {
            parameters.insert("page_size".to_string(), page_size.to_string());
        }
        SessionInfo {
            client: peer.map(|p| p.ip()),
            request: request_name,
            parameters,
            started_at: crate::clock::now_millis(),
        }
    })
}

/// `handle`, inside the request's trace when it has one; the trace session's
/// id comes back when the client asked for it.
async fn handle_traced(
    queries: &QueryProcessor,
    session: &Mutex<Session>,
    request: Request,
    tracing: &Tracing,
    trace: Option<TraceSession>,
) -> Answered {
    let Some(trace) = trace else {
        let (response, warnings) = crate::client_warn::collect(handle(queries, session, request)).await;
        return Answered {
            response,
            trace_id: None,
            warnings,
        };
    };
    // Boxed: a traced request's future, nested in the trace's and the
    // warnings' scopes, overflowed a worker's stack in debug builds.
    let traced = Box::pin(crate::trace::within(trace.state.clone(), handle(queries, session, request)));
    let (response, warnings) = crate::client_warn::collect(traced).await;
    let trace_id = trace.asked.then_some(trace.state.session);
    tracing.finish(trace);
    Answered {
        response,
        trace_id,
        warnings,
    }
}

/// A request's response, the trace session id the client asked for, and the
/// warnings for the client (`client_warn`).
struct Answered {
    response: Response,
    trace_id: Option<Uuid>,
    warnings: Vec<String>,
}

impl Answered {
    fn plain(response: Response) -> Answered {
        Answered {
            response,
            trace_id: None,
            warnings: Vec::new(),
        }
    }
}

/// Answers one request, counted and timed in the node's metrics.
async fn handle(queries: &QueryProcessor, session: &Mutex<Session>, request: Request) -> Response {
    let timer = crate::metrics::global().request(&request);
    timer.finish(answer(queries, session, request).await)
}

async fn answer(queries: &QueryProcessor, session: &Mutex<Session>, request: Request) -> Response {
    let result = match request {
        Request::Options => {
            return Response::Supported {
                options: vec![
                    ("CQL_VERSION".into(), vec![CQL_VERSION.into()]),
                    ("COMPRESSION".into(), Compression::NAMES.iter().map(|n| n.to_string()).collect()),
                    ("PROTOCOL_VERSIONS".into(), vec!["4/v4".into()]),
                ],
            }
        }
        Request::Startup(s) => return startup(&s, false).0,
        // Without a password authenticator any credentials are fine (AllowAll).
        Request::AuthResponse(_) => return Response::AuthSuccess { token: None },
        Request::Register(_) => return Response::Ready,
        Request::Query(q) => {
            let mut s = session.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let r = queries
                .query(&mut s, &q.query, &q.params.values, &QueryOptions::from_params(&q.params))
                .await;
            if let Ok(ResultBody::SetKeyspace(_)) = &r {
                *session.lock().unwrap_or_else(|e| e.into_inner()) = s;
            }
            r.map(|body| with_skip(body, false))
        }
        Request::Prepare(p) => {
            let s = session.lock().unwrap_or_else(|e| e.into_inner()).clone();
            queries.prepare(&s, &p.query).map(ResultBody::Prepared)
        }
        Request::Execute(e) => {
            let mut s = session.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let r = queries
                .execute_prepared(&mut s, &e.id, &e.params.values, &QueryOptions::from_params(&e.params))
                .await;
            if let Ok(ResultBody::SetKeyspace(_)) = &r {
                *session.lock().unwrap_or_else(|e| e.into_inner()) = s;
            }
            r.map(|body| with_skip(body, e.params.skip_metadata))
        }
        Request::Batch(b) => {
            let mut s = session.lock().unwrap_or_else(|e| e.into_inner()).clone();
            queries.batch(&mut s, &b).await
        }
    };
    match result {
        Ok(body) => Response::Result(body),
        Err(e) => {
            if matches!(e, QueryError::Server { .. }) {
                warn!(error = %e, "server error");
            }
            Response::Error(e.to_error_body())
        }
    }
}

fn request_kind(request: &Request) -> RequestKind {
    match request {
        Request::Options => RequestKind::Options,
        Request::Startup(_) => RequestKind::Startup,
        Request::AuthResponse(_) => RequestKind::AuthResponse,
        Request::Register(_) => RequestKind::Register,
        Request::Query(_) => RequestKind::Query,
        Request::Prepare(_) => RequestKind::Prepare,
        Request::Execute(_) => RequestKind::Execute,
        Request::Batch(_) => RequestKind::Batch,
    }
}

/// STARTUP: READY, or AUTHENTICATE when the client must log in, and the
/// compression the client chose (frames after this one may use it).
fn startup(s: &cql_protocol::request::Startup, login_required: bool) -> (Response, Option<Compression>) {
    let compression = match s.option("COMPRESSION") {
        None => None,
        Some(name) => match Compression::from_name(name) {
            Some(c) => Some(c),
            None => return (protocol_error(format!("Unknown compression algorithm: {name}")), None),
        },
    };
    if login_required {
        return (
            Response::Authenticate {
                authenticator: PASSWORD_AUTHENTICATOR.into(),
            },
            compression,
        );
    }
    (Response::Ready, compression)
}

/// With SKIP_METADATA the client already has the columns from PREPARE.
fn with_skip(body: ResultBody, skip: bool) -> ResultBody {
    match body {
        ResultBody::Rows(mut rows) if skip && !rows.metadata.columns.iter().any(|c| c.name == "[applied]") => {
            rows.metadata.no_metadata = true;
            ResultBody::Rows(rows)
        }
        other => other,
    }
}
