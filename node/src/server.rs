//! The CQL server: accepts connections on the native port until shut down.

use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{info, warn, Instrument};

use crate::connection;
use crate::query::Executor;

pub async fn run(listener: TcpListener, executor: Arc<Executor>, max_frame: u32, shutdown: impl std::future::Future<Output = ()>) {
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
                    let span = tracing::info_span!("connection", peer = %peer);
                    tokio::spawn(async move {
                        if let Err(e) = connection::serve(socket, executor, max_frame).await {
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
