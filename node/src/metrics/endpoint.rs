//! The Prometheus endpoint: a minimal HTTP/1.1 responder on `metrics_port`
//! (9180 by default, as ScyllaDB's) of the node's address. `GET /metrics`
//! answers every metric in Prometheus' text format (version 0.0.4); anything
//! else gets a short error. One request per connection, then the connection is
//! closed, as scrapers expect nothing more. Reading the request line is a pure
//! function (`route`); this module's loop does the socket work.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::node::NodeCollector;

/// Scrapes served at once; a connection past it is closed unanswered.
pub const MAX_SCRAPERS: usize = 16;
/// The largest request head read; a longer one is refused.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// How long a scraper has to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (or HEAD: the same headers, no body).
    Metrics {
        head: bool,
    },
    /// `GET /`: a line saying where the metrics are.
    Index {
        head: bool,
    },
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Reads the request line of an HTTP request head.
pub fn route(request: &[u8]) -> Route {
    let Some(line_end) = request.windows(2).position(|w| w == b"\r\n") else {
        return Route::BadRequest;
    };
    let Ok(line) = std::str::from_utf8(&request[..line_end]) else {
        return Route::BadRequest;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let head = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Route::MethodNotAllowed,
    };
    let path = target.split('?').next().unwrap_or(target);
    match path {
        "/metrics" => Route::Metrics { head },
        "/" => Route::Index { head },
        _ => Route::NotFound,
    }
}

/// The endpoint's socket at `config.address` on `config.metrics_port`
/// (`None` when it is 0).
pub async fn bind(config: &crate::config::NodeConfig) -> anyhow::Result<Option<TcpListener>> {
    // The uptime counts from here even when the endpoint is off.
    let _ = super::global().uptime();
    if config.metrics_port == 0 {
        info!("metrics_port = 0: no Prometheus endpoint");
        return Ok(None);
    }
    let addr = std::net::SocketAddr::new(config.address, config.metrics_port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr} (metrics_port; 0 turns it off): {e}"))?;
    Ok(Some(listener))
}

/// Serves scrapes on `listener` until the node stops.
pub async fn run(listener: TcpListener, collector: NodeCollector, mut stop: crate::jobs::Stop) {
    let collector = Arc::new(collector);
    let scrapers = Arc::new(Semaphore::new(MAX_SCRAPERS));
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "serving Prometheus metrics on /metrics");
    }
    loop {
        tokio::select! {
            _ = stop.stopped() => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let Ok(permit) = scrapers.clone().try_acquire_owned() else {
                        debug!(%peer, "too many scrapers at once: closing");
                        continue;
                    };
                    let collector = collector.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve(socket, &collector).await {
                            debug!(%peer, error = %e, "metrics scrape failed");
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    warn!(error = %e, "accepting a metrics connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn serve(mut socket: TcpStream, collector: &NodeCollector) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
            let n = socket.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    match read {
        Ok(r) => r?,
        Err(_) => return Ok(()),
    }
    let response = match route(&head) {
        Route::Metrics { head } => {
            let mut families = super::global().gather();
            families.extend(collector.collect());
            match prometheus::TextEncoder::new().encode_to_string(&families) {
                Ok(text) => answer("200 OK", TEXT_FORMAT, text, head),
                Err(e) => answer(
                    "500 Internal Server Error",
                    "text/plain",
                    format!("cannot encode the metrics: {e}\n"),
                    head,
                ),
            }
        }
        Route::Index { head } => answer("200 OK", "text/plain", "rustica node: metrics at /metrics\n".into(), head),
        Route::NotFound => answer("404 Not Found", "text/plain", "not found: metrics are at /metrics\n".into(), false),
        Route::MethodNotAllowed => answer("405 Method Not Allowed", "text/plain", "only GET and HEAD\n".into(), false),
        Route::BadRequest => answer("400 Bad Request", "text/plain", "bad request\n".into(), false),
    };
    socket.write_all(&response).await?;
    socket.shutdown().await
}

fn answer(status: &str, content_type: &str, body: String, head: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_of_metrics_is_routed_to_the_metrics() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), Route::Metrics { head: false });
        assert_eq!(route(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"), Route::Metrics { head: true });
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::Index { head: false });
    }

    #[test]
    fn other_requests_get_a_clear_refusal() {
        assert_eq!(route(b"GET /nope HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\n\r\n"), Route::MethodNotAllowed);
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe\r\n"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics HTTP/1.1"), Route::BadRequest);
    }

    #[test]
    fn a_head_request_gets_the_headers_without_the_body() {
        let full = answer("200 OK", TEXT_FORMAT, "abc\n".into(), false);
        let head = answer("200 OK", TEXT_FORMAT, "abc\n".into(), true);
        assert!(String::from_utf8(full).unwrap().ends_with("\r\n\r\nabc\n"));
        let head = String::from_utf8(head).unwrap();
        assert!(head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"), "{head}");
    }
}
