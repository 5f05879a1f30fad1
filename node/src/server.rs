//! The CQL server: accepts connections on the native port until shut down, in
//! plaintext, TLS, or both on one port (`optional`), and hands each to `connection`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn, Instrument};

use crate::connection;
use crate::limits::{ConnectionLimits, RequestLimits};
use crate::query::Executor;

/// TLS on the client port.
#[derive(Clone)]
pub struct ClientTls {
    pub acceptor: TlsAcceptor,
    /// Plaintext clients are served too.
    pub optional: bool,
}

pub async fn run(
    listener: TcpListener,
    executor: Arc<Executor>,
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
                    let executor = executor.clone();
                    let tls = tls.clone();
                    let limits = limits.clone();
                    let requests = requests.clone();
                    let span = tracing::info_span!("connection", peer = %peer);
                    tokio::spawn(async move {
                        if let Err(e) = accept(socket, peer, executor, max_frame, tls, &limits, requests).await {
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
    executor: Arc<Executor>,
    max_frame: u32,
    tls: Option<ClientTls>,
    limits: &ConnectionLimits,
    requests: RequestLimits,
) -> std::io::Result<()> {
    let _ = socket.set_nodelay(true);
    let slot = limits.admit(peer.ip());
    let Some(tls) = tls else {
        return serve_within(socket, peer, executor, max_frame, slot, requests).await;
    };
    if tls.optional {
        let mut first = [0u8; 1];
        let n = socket.peek(&mut first).await?;
        if n == 0 || !crate::tls::starts_tls_handshake(first[0]) {
            return serve_within(socket, peer, executor, max_frame, slot, requests).await;
        }
    }
    match tls.acceptor.accept(socket).await {
        Ok(stream) => serve_within(stream, peer, executor, max_frame, slot, requests).await,
        Err(e) => {
            warn!(peer = %peer, error = %e, "TLS handshake with a client failed");
            Ok(())
        }
    }
}

/// Serves the connection while it holds a slot; one over a limit is told why.
async fn serve_within<S>(
    stream: S,
    peer: SocketAddr,
    executor: Arc<Executor>,
    max_frame: u32,
    slot: Result<crate::limits::Slot, String>,
    requests: RequestLimits,
) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    match slot {
        Ok(_slot) => connection::serve(stream, Some(peer), executor, max_frame, requests).await,
        Err(message) => {
            warn!(peer = %peer, %message, "refusing a client connection");
            connection::refuse(stream, message).await;
            Ok(())
        }
    }
}
