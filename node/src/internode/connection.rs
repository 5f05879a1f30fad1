//! One internode TCP connection: the handshake, a reader that cuts frames out of
//! the stream, and a writer task that coalesces queued frames into one
//! `write_all`. The connecting side (`Outgoing`) sends requests and matches
//! responses to waiting callers by request id; the accepting side (`serve`)
//! runs each request through the `Handler` on the blocking pool and queues the
//! reply. Which connection serves which peer is `pool`'s business; the bytes
//! are `frame`'s and `message`'s.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;

use crate::peer_auth::{PeerAuth, Purpose, TAG_LEN};
use crate::tls::{accept_peer, check_node_claim, connect_peer, PeerStream, PeerTls};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn, Instrument};

use super::frame::{Frame, FrameError, Hello, Kind};
use super::message::{self, Reply, Verb};
use super::{Handler, MessagingError};

/// Frames a writer joins into one write when they are queued together.
const COALESCE_BYTES: usize = 64 << 10;
/// Frames queued for a connection's writer before senders wait.
const QUEUE_FRAMES: usize = 4096;
/// How long an accepted connection may take to say hello.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection's reader stopped.
enum Closed {
    Eof,
    Io(std::io::Error),
    Garbage(String),
    Shutdown,
}

/// Reads frames until the stream ends or fails; `on_frame` returning an error
/// closes the connection as garbage.
async fn read_frames(
    reader: &mut ReadHalf<PeerStream>,
    buf: &mut BytesMut,
    mut on_frame: impl FnMut(Frame) -> Result<(), String>,
) -> Closed {
    loop {
        loop {
            match Frame::parse(buf) {
                Ok(Some((frame, used))) => {
                    buf.advance(used);
                    if let Err(reason) = on_frame(frame) {
                        return Closed::Garbage(reason);
                    }
                }
                Ok(None) => break,
                Err(e) => return Closed::Garbage(e.to_string()),
            }
        }
        // The length was checked against the limit by `parse`: reserve once.
        if let Ok(Some(total)) = Frame::peek_length(buf) {
            buf.reserve(total.saturating_sub(buf.len()));
        }
        match reader.read_buf(buf).await {
            Ok(0) => return Closed::Eof,
            Ok(_) => {}
            Err(e) => return Closed::Io(e),
        }
    }
}

/// Writes queued frames, joining those already waiting into one write, until
/// the queue closes or `stop` completes (the write half is then dropped).
async fn write_frames(
    mut writer: WriteHalf<PeerStream>,
    mut queue: mpsc::Receiver<Vec<u8>>,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let mut batch = Vec::new();
    tokio::pin!(stop);
    loop {
        let first = tokio::select! {
            frame = queue.recv() => frame,
            () = &mut stop => return Ok(()),
        };
        let Some(first) = first else {
            break;
        };
        match queue.try_recv() {
            Err(_) => writer.write_all(&first).await?,
            Ok(second) => {
                batch.clear();
                batch.extend_from_slice(&first);
                batch.extend_from_slice(&second);
                while batch.len() < COALESCE_BYTES {
                    match queue.try_recv() {
                        Ok(frame) => batch.extend_from_slice(&frame),
                        Err(_) => break,
                    }
                }
                writer.write_all(&batch).await?;
                if batch.capacity() > 4 * COALESCE_BYTES {
                    batch = Vec::new();
                }
            }
        }
    }
    writer.shutdown().await
}

/// Reads a hello from the stream (keeping any bytes after it in `buf`), with
/// the bytes it was sent as (the proofs sign them).
async fn read_hello(reader: &mut ReadHalf<PeerStream>, buf: &mut BytesMut) -> Result<(Hello, Vec<u8>), String> {
    loop {
        match Hello::parse(buf) {
            Ok(Some((hello, used))) => {
                let bytes = buf.split_to(used).to_vec();
                return Ok((hello, bytes));
            }
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        match reader.read_buf(buf).await {
            Ok(0) => return Err("the peer closed the connection during the handshake".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("handshake failed: {e}")),
        }
    }
}

/// Reads the proof that follows the hellos (keeping any bytes after it in `buf`).
async fn read_proof(reader: &mut ReadHalf<PeerStream>, buf: &mut BytesMut) -> Result<Vec<u8>, String> {
    while buf.len() < TAG_LEN {
        match reader.read_buf(buf).await {
            Ok(0) => return Err("the peer closed the connection during the handshake (does it hold this cluster's secret?)".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("handshake failed: {e}")),
        }
    }
    Ok(buf.split_to(TAG_LEN).to_vec())
}

/// The accepting side of the handshake (see `Outgoing::connect`): the peer's
/// hello, the stream's halves and any bytes read past the handshake.
async fn handshake(
    stream: TcpStream,
    tls: Option<&PeerTls>,
    local: IpAddr,
    auth: &PeerAuth,
) -> Result<(Hello, ReadHalf<PeerStream>, WriteHalf<PeerStream>, BytesMut), String> {
    let connection = accept_peer(tls, stream).await.map_err(|e| format!("TLS handshake failed: {e}"))?;
    let (mut reader, mut writer) = tokio::io::split(connection.stream);
    let mut buf = BytesMut::with_capacity(8 << 10);
    let ours = Hello::new(&auth.cluster_name, local);
    let (hello, theirs) = match read_hello(&mut reader, &mut buf).await {
        Ok(hello) => hello,
        Err(reason) => {
            // A peer of another version learns ours before the connection closes.
            if Hello::parse(&buf).is_err_and(|e| matches!(e, FrameError::Version { .. })) {
                let _ = writer.write_all(&ours.encode()).await;
            }
            return Err(reason);
        }
    };
    if hello.cluster_name != auth.cluster_name {
        return Err(format!(
            "it belongs to cluster {:?}, this node to {:?}",
            hello.cluster_name, auth.cluster_name
        ));
    }
    check_node_claim(connection.names.as_ref(), hello.address).await?;
    let ours = ours.encode();
    writer.write_all(&ours).await.map_err(|e| e.to_string())?;
    let proof = read_proof(&mut reader, &mut buf).await?;
    if !auth.accepts(Purpose::Dial, &[&theirs, &ours], &proof) {
        return Err(format!("{} does not prove it holds this cluster's secret", hello.address));
    }
    writer
        .write_all(&auth.tag(Purpose::Accept, &[&ours, &theirs]))
        .await
        .map_err(|e| e.to_string())?;
    Ok((hello, reader, writer, buf))
}

type Waiter = oneshot::Sender<Result<Reply, MessagingError>>;

/// Callers waiting for responses on one outgoing connection, by request id.
/// `None` once the connection closed: nobody can wait on it any more.
struct Pending {
    waiters: Mutex<Option<HashMap<u64, Waiter>>>,
    /// Becomes true when the connection closes: stops the writer.
    closed: watch::Sender<bool>,
}

impl Pending {
    fn register(&self, id: u64) -> Option<oneshot::Receiver<Result<Reply, MessagingError>>> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.as_mut()?.insert(id, tx);
        Some(rx)
    }

    fn take(&self, id: u64) -> Option<Waiter> {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.as_mut()?.remove(&id)
    }

    fn is_closed(&self) -> bool {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// Fails every waiting caller with the error the connection died of.
    fn close(&self, error: impl Fn() -> MessagingError) {
        let waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.closed.send_replace(true);
        for (_, waiter) in waiters.into_iter().flatten() {
            let _ = waiter.send(Err(error()));
        }
    }
}

/// Removes a request's waiter when its caller gives up (timeout, cancellation).
struct Forget<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.pending.take(self.id);
    }
}

/// The connection this node opened to a peer, for its requests to that peer.
pub(crate) struct Outgoing {
    to: IpAddr,
    queue: mpsc::Sender<Vec<u8>>,
    pending: Arc<Pending>,
    next_id: AtomicU64,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Outgoing {
    /// Connects and handshakes: both sides send a hello, the peer's must be of
    /// this version and cluster; then each proves it holds the cluster's secret
    /// (see `peer_auth`), and under TLS the peer's certificate must name the
    /// address its hello claims.
    pub(crate) async fn connect(to: SocketAddr, local: IpAddr, auth: &PeerAuth, tls: Option<&PeerTls>) -> Result<Outgoing, MessagingError> {
        let peer = to.ip();
        let unreachable = |reason: String| MessagingError::Unreachable { to: peer, reason };
        let stream = crate::net::connect_from(local, to).await.map_err(|e| unreachable(e.to_string()))?;
        let connection = connect_peer(tls, stream, peer)
            .await
            .map_err(|e| unreachable(format!("TLS handshake failed: {e}")))?;
        let (mut reader, mut writer) = tokio::io::split(connection.stream);
        let ours = Hello::new(&auth.cluster_name, local).encode();
        writer.write_all(&ours).await.map_err(|e| unreachable(e.to_string()))?;
        let mut buf = BytesMut::with_capacity(8 << 10);
        let protocol = |reason: String| MessagingError::Protocol { to: peer, reason };
        let (hello, theirs) = read_hello(&mut reader, &mut buf)
            .await
            .map_err(|reason| protocol(format!("{reason} (a node of another cluster, or with another secret, closes it)")))?;
        if hello.cluster_name != auth.cluster_name {
            return Err(protocol(format!(
                "the peer belongs to cluster {:?}, this node to {:?}",
                hello.cluster_name, auth.cluster_name
            )));
        }
        check_node_claim(connection.names.as_ref(), hello.address).await.map_err(protocol)?;
        let proof = auth.tag(Purpose::Dial, &[&ours, &theirs]);
        writer.write_all(&proof).await.map_err(|e| unreachable(e.to_string()))?;
        let their_proof = read_proof(&mut reader, &mut buf).await.map_err(protocol)?;
        if !auth.accepts(Purpose::Accept, &[&theirs, &ours], &their_proof) {
            return Err(protocol("the peer does not hold this cluster's secret".into()));
        }
        debug!(peer = %to, "internode connection open");
        let pending = Arc::new(Pending {
            waiters: Mutex::new(Some(HashMap::new())),
            closed: watch::Sender::new(false),
        });
        let (queue, rx) = mpsc::channel(QUEUE_FRAMES);
        let span = tracing::info_span!("internode", peer = %to);
        let writer_pending = pending.clone();
        let mut closed = pending.closed.subscribe();
        let writer_task = tokio::spawn(
            async move {
                let stop = async move {
                    let _ = closed.wait_for(|closed| *closed).await;
                };
                if let Err(e) = write_frames(writer, rx, stop).await {
                    writer_pending.close(|| MessagingError::Unreachable {
                        to: peer,
                        reason: format!("write failed: {e}"),
                    });
                }
            }
            .instrument(span.clone()),
        );
        let reader_pending = pending.clone();
        let reader_task = tokio::spawn(
            async move {
                let closed = read_frames(&mut reader, &mut buf, |frame| {
                    if frame.kind != Kind::Response {
                        return Err(format!(
                            "a request (id {}) on a connection that only carries responses",
                            frame.request_id
                        ));
                    }
                    let reply = message::decode::<Reply>(&frame.payload).map_err(|e| e.to_string())?;
                    if let Some(waiter) = reader_pending.take(frame.request_id) {
                        let _ = waiter.send(Ok(reply));
                    }
                    Ok(())
                })
                .await;
                match closed {
                    Closed::Garbage(reason) => {
                        warn!(%reason, "closing an internode connection after a malformed response");
                        reader_pending.close(|| MessagingError::Protocol {
                            to: peer,
                            reason: reason.clone(),
                        });
                    }
                    Closed::Eof | Closed::Shutdown => reader_pending.close(|| MessagingError::Unreachable {
                        to: peer,
                        reason: "the peer closed the connection".into(),
                    }),
                    Closed::Io(e) => reader_pending.close(|| MessagingError::Unreachable {
                        to: peer,
                        reason: format!("read failed: {e}"),
                    }),
                }
            }
            .instrument(span),
        );
        Ok(Outgoing {
            to: peer,
            queue,
            pending,
            next_id: AtomicU64::new(1),
            tasks: [writer_task, reader_task],
        })
    }

    /// Whether the connection died (a new one is needed).
    pub(crate) fn is_closed(&self) -> bool {
        self.pending.is_closed() || self.queue.is_closed()
    }

    /// Sends one request (an encoded verb, see `Outbound`) and waits for its
    /// response (the caller bounds the wait).
    pub(crate) async fn request(&self, payload: &[u8]) -> Result<Reply, MessagingError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = Frame::encode_with(id, Kind::Request, |mut out| {
            out.extend_from_slice(payload);
            Ok::<_, std::convert::Infallible>(out)
        })
        .map_err(|e| MessagingError::Protocol {
            to: self.to,
            reason: e.to_string(),
        })?;
        let closed = || MessagingError::Unreachable {
            to: self.to,
            reason: "the connection closed".into(),
        };
        let response = self.pending.register(id).ok_or_else(closed)?;
        let _forget = Forget {
            pending: &self.pending,
            id,
        };
        self.queue.send(frame).await.map_err(|_| closed())?;
        response.await.map_err(|_| closed())?
    }
}

/// Serves one accepted connection until it closes or the node shuts down.
pub(crate) async fn serve(
    stream: TcpStream,
    tls: Option<PeerTls>,
    socket_peer: SocketAddr,
    local: IpAddr,
    auth: PeerAuth,
    handler: Arc<dyn Handler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(stream, tls.as_ref(), local, &auth));
    let (hello, mut reader, writer, mut buf) = match handshake.await {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(reason)) => {
            warn!(peer = %socket_peer, %reason, "refusing an internode connection");
            return;
        }
        Err(_) => {
            warn!(peer = %socket_peer, "refusing an internode connection that did not finish its handshake within {HANDSHAKE_TIMEOUT:?}");
            return;
        }
    };
    let from = hello.address;
    debug!(peer = %socket_peer, %from, "internode connection accepted");
    let (queue, rx) = mpsc::channel(QUEUE_FRAMES);
    let writer_task = tokio::spawn(async move {
        let _ = write_frames(writer, rx, std::future::pending()).await;
    });
    let read = read_frames(&mut reader, &mut buf, |frame| {
        if frame.kind != Kind::Request {
            return Err(format!(
                "a response (id {}) on a connection that only carries requests",
                frame.request_id
            ));
        }
        let verb = message::decode::<Verb>(&frame.payload).map_err(|e| e.to_string())?;
        let handler = handler.clone();
        let queue = queue.clone();
        let id = frame.request_id;
        let span = tracing::debug_span!("internode request", peer = %from, id, verb = verb.name());
        tokio::spawn(
            async move {
                debug!("request received");
                let reply = super::answer(&handler, from, verb).await;
                debug!(reply = reply.name(), "reply sent");
                let frame = message::encode(id, Kind::Response, &reply).or_else(|e| {
                    message::encode(
                        id,
                        Kind::Response,
                        &Reply::Failed {
                            message: format!("cannot encode the reply: {e}"),
                        },
                    )
                });
                if let Ok(frame) = frame {
                    let _ = queue.send(frame).await;
                }
            }
            .instrument(span),
        );
        Ok(())
    });
    let closed = tokio::select! {
        closed = read => closed,
        _ = shutdown.wait_for(|stop| *stop) => Closed::Shutdown,
    };
    match closed {
        Closed::Garbage(reason) => warn!(peer = %socket_peer, %reason, "closing an internode connection after a malformed request"),
        Closed::Io(e) => debug!(peer = %socket_peer, error = %e, "internode connection failed"),
        Closed::Eof | Closed::Shutdown => debug!(peer = %socket_peer, "internode connection closed"),
    }
    writer_task.abort();
}
