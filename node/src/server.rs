//! The CQL server: accepts connections on the native port until shut down, in
//! plaintext, TLS, or both on one port (`optional`), and hands each to `connection`.
//! A just-accepted connection holds only an unauthenticated slot (`limits`) and
//! has `login_timeout` to finish its TLS handshake and log in; it takes a served
//! slot once its TLS handshake is done.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn, Instrument};

use crate::connection::{self, Handles, Login};
use crate::limits::{ConnectionLimits, RequestLimits};

/// TLS on the client port.
#[derive(Clone)]
pub struct ClientTls {
    pub acceptor: TlsAcceptor,
    /// Plaintext clients are served too.
    pub optional: bool,
}

pub async fn run(
    listener: TcpListener,
    handles: Handles,
    max_frame: u32,
    tls: Option<ClientTls>,
    limits: ConnectionLimits,
    requests: RequestLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                info!("shutting down the CQL server");
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let handles = handles.clone();
                    let tls = tls.clone();
                    let limits = limits.clone();
                    let requests = requests.clone();
                    let span = tracing::info_span!("connection", peer = %peer);
                    tokio::spawn(async move {
                        if let Err(e) = accept(socket, peer, handles, max_frame, tls, &limits, requests).await {
                            warn!(error = %e, "connection failed");
                        }
                    }.instrument(span));
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn accept(
    socket: TcpStream,
    peer: SocketAddr,
    handles: Handles,
    max_frame: u32,
    tls: Option<ClientTls>,
    limits: &ConnectionLimits,
    requests: RequestLimits,
) -> std::io::Result<()> {
    let _ = socket.set_nodelay(true);
    let deadline = Instant::now() + limits.login_timeout();
    let unauthenticated = match limits.admit_unauthenticated(peer.ip()) {
        Ok(slot) => slot,
        Err(message) => {
            warn!(peer = %peer, %message, "refusing a client connection");
            // A TLS client cannot be told why without a handshake, which is what
            // this bound saves.
            let wait = deadline.min(Instant::now() + connection::REFUSAL_WAIT);
            let plaintext = match &tls {
                None => true,
                Some(t) if t.optional => !starts_tls(&socket, wait).await?,
                Some(_) => false,
            };
            if plaintext {
                connection::refuse(socket, message, wait).await;
            }
            return Ok(());
        }
    };
    let login = Login {
        deadline,
        timeout: limits.login_timeout(),
        slot: Some(unauthenticated),
    };
    let Some(tls) = tls else {
        return serve_within(socket, peer, handles, max_frame, limits, requests, login).await;
    };
    if tls.optional && !starts_tls(&socket, deadline).await? {
        return serve_within(socket, peer, handles, max_frame, limits, requests, login).await;
    }
    match tokio::time::timeout_at(deadline, tls.acceptor.accept(socket)).await {
        Ok(Ok(stream)) => serve_within(stream, peer, handles, max_frame, limits, requests, login).await,
        Ok(Err(e)) => {
            warn!(peer = %peer, error = %e, "TLS handshake with a client failed");
            Ok(())
        }
        Err(_) => {
            warn!(peer = %peer, timeout_ms = limits.login_timeout().as_millis() as u64, "TLS handshake with a client timed out");
            Ok(())
        }
    }
}

/// Whether the client's first byte starts a TLS handshake (on a port that also
/// serves plaintext); a client that sends nothing by `deadline` is served as
/// plaintext, where its own deadline closes it.
async fn starts_tls(socket: &TcpStream, deadline: Instant) -> std::io::Result<bool> {
    let mut first = [0u8; 1];
    match tokio::time::timeout_at(deadline, socket.peek(&mut first)).await {
        Ok(Ok(n)) => Ok(n > 0 && crate::tls::starts_tls_handshake(first[0])),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

/// Serves the connection, its TLS handshake done, while it holds a served slot;
/// one over a limit is told why.
async fn serve_within<S>(
    stream: S,
    peer: SocketAddr,
    handles: Handles,
    max_frame: u32,
    limits: &ConnectionLimits,
    requests: RequestLimits,
    login: Login,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let slot = match limits.admit(peer.ip()) {
        Ok(slot) => slot,
        Err(message) => {
            warn!(peer = %peer, %message, "refusing a client connection");
            connection::refuse(stream, message, login.deadline).await;
            return Ok(());
        }
    };
    let _counted = crate::metrics::global().connection();
    let served = connection::serve(stream, Some(peer), handles, max_frame, requests, login).await;
    drop(slot);
    served
}
