//! Bounds on client connections: at most so many native connections per node and
//! per client address (Cassandra's `native_transport_max_concurrent_connections`
//! and `..._per_ip`), at most so many of them not yet logged in, per node and per
//! address (`native_transport_max_unauthenticated_connections` and `..._per_ip`,
//! which Cassandra has not), and at most so many requests in flight per connection
//! and request bytes in flight per node (`native_transport_max_requests_per_connection`,
//! `native_transport_max_concurrent_requests_in_bytes`). A slot or a permit is
//! held by a guard and given back when it drops. The deadline for logging in is
//! kept by the connection (`connection::Login`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The largest frame body a connection may send before it logs in: STARTUP,
/// OPTIONS and AUTH_RESPONSE are a few hundred bytes, and a larger announced
/// length is refused before anything is read or allocated.
pub const MAX_FRAME_BEFORE_LOGIN: u32 = 64 * 1024;

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Slots counted per node and per client address.
#[derive(Debug, Clone)]
struct Pool {
    max_total: usize,
    max_per_ip: usize,
    counts: Arc<Mutex<Counts>>,
}

/// Which bound a pool refused at.
enum Full {
    Node,
    Address,
}

impl Pool {
    fn new(max_total: usize, max_per_ip: usize) -> Pool {
        Pool {
            max_total,
            max_per_ip,
            counts: Arc::default(),
        }
    }

    fn take(&self, ip: IpAddr) -> Result<Slot, Full> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= self.max_total {
            return Err(Full::Node);
        }
        if c.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip {
            return Err(Full::Address);
        }
        c.total += 1;
        *c.per_ip.entry(ip).or_insert(0) += 1;
        Ok(Slot {
            ip,
            counts: self.counts.clone(),
        })
    }
}

/// The client port's connection bounds: `served` counts every connection past
/// its TLS handshake, `unauthenticated` every one from accept until READY or
/// AUTH_SUCCESS, so connections that never log in hold at most the lower bound,
/// and for no longer than `login_timeout`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    served: Pool,
    unauthenticated: Pool,
    login_timeout: Duration,
}

/// A connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

impl ConnectionLimits {
    /// Bounds on connections (`max_total`, `max_per_ip`) and, lower, on those
    /// not logged in yet (`max_unauthenticated`, `max_unauthenticated_per_ip`),
    /// which are closed `login_timeout` after they were accepted.
    pub fn new(
        max_total: usize,
        max_per_ip: usize,
        max_unauthenticated: usize,
        max_unauthenticated_per_ip: usize,
        login_timeout: Duration,
    ) -> ConnectionLimits {
        ConnectionLimits {
            served: Pool::new(max_total, max_per_ip),
            unauthenticated: Pool::new(max_unauthenticated, max_unauthenticated_per_ip),
            login_timeout,
        }
    }

    /// How long a connection has from accept to READY or AUTH_SUCCESS.
    pub fn login_timeout(&self) -> Duration {
        self.login_timeout
    }

    /// A slot for a connection from `ip` that has finished its TLS handshake
    /// (if any), or why there is none.
    pub fn admit(&self, ip: IpAddr) -> Result<Slot, String> {
        self.served.take(ip).map_err(|full| match full {
            Full::Node => format!(
                "Too many connections: this node accepts at most {} client connections (native_transport_max_concurrent_connections)",
                self.served.max_total
            ),
            Full::Address => format!(
                "Too many connections from {ip}: at most {} per client address (native_transport_max_concurrent_connections_per_ip)",
                self.served.max_per_ip
            ),
        })
    }

    /// A slot for a just-accepted connection from `ip` until it logs in (its
    /// TLS handshake included), or why there is none.
    pub fn admit_unauthenticated(&self, ip: IpAddr) -> Result<Slot, String> {
        self.unauthenticated.take(ip).map_err(|full| match full {
            Full::Node => format!(
                "Too many connections that have not logged in: this node accepts at most {} (native_transport_max_unauthenticated_connections)",
                self.unauthenticated.max_total
            ),
            Full::Address => format!(
                "Too many connections from {ip} that have not logged in: at most {} per client address (native_transport_max_unauthenticated_connections_per_ip)",
                self.unauthenticated.max_per_ip
            ),
        })
    }
}

/// Requests in flight: per connection, and request bytes across the node. A
/// connection that reaches a bound stops reading its socket until answers go
/// out (backpressure), so a client that sends and never reads holds at most
/// `per_connection` requests and their answers.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    pub per_connection: usize,
    max_bytes: usize,
    bytes: Arc<Semaphore>,
}

/// What one request holds while it is in flight, until its answer is written.
#[derive(Debug)]
pub struct InFlight {
    _request: Option<OwnedSemaphorePermit>,
    _bytes: Option<OwnedSemaphorePermit>,
    _counted: (crate::metrics::Gauged, crate::metrics::Gauged),
}

impl RequestLimits {
    pub fn new(per_connection: usize, max_bytes: usize) -> RequestLimits {
        let max_bytes = max_bytes.clamp(1, u32::MAX as usize);
        RequestLimits {
            per_connection: per_connection.max(1),
            max_bytes,
            bytes: Arc::new(Semaphore::new(max_bytes)),
        }
    }

    /// A semaphore for one connection's requests in flight.
    pub fn connection(&self) -> Arc<Semaphore> {
        Arc::new(Semaphore::new(self.per_connection))
    }

    /// Waits for room for a request of `len` body bytes on `connection`. A
    /// request larger than the node's whole byte bound waits until it is alone.
    pub async fn admit(&self, connection: &Arc<Semaphore>, len: usize) -> InFlight {
        // The semaphores are never closed: acquiring only waits.
        let request = connection.clone().acquire_owned().await.ok();
        let want = len.min(self.max_bytes) as u32;
        let bytes = match want {
            0 => None,
            n => self.bytes.clone().acquire_many_owned(n).await.ok(),
        };
        InFlight {
            _request: request,
            _bytes: bytes,
            _counted: crate::metrics::global().in_flight(len),
        }
    }

    /// Request bytes in flight on this node now (for metrics and tests).
    pub fn bytes_in_flight(&self) -> usize {
        self.max_bytes - self.bytes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_total: usize, max_per_ip: usize, max_unauthenticated: usize, max_unauthenticated_per_ip: usize) -> ConnectionLimits {
        ConnectionLimits::new(
            max_total,
            max_per_ip,
            max_unauthenticated,
            max_unauthenticated_per_ip,
            Duration::from_secs(10),
        )
    }

    #[test]
    fn connections_are_bounded_per_address_and_per_node_and_slots_come_back() {
        let limits = limits(3, 2, 8, 8);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = limits.admit(a).unwrap();
        let _a2 = limits.admit(a).unwrap();
        let refused = limits.admit(a).unwrap_err();
        assert!(refused.contains("Too many connections from 127.0.0.1: at most 2"), "{refused}");
        let _b1 = limits.admit(b).unwrap();
        let full = limits.admit(b).unwrap_err();
        assert!(full.contains("at most 3 client connections"), "{full}");
        drop(a1);
        assert!(limits.admit(b).is_ok(), "a closed connection frees its slot");
    }

    #[test]
    fn connections_not_logged_in_have_lower_bounds_of_their_own() {
        let limits = limits(100, 100, 3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let c: IpAddr = "127.0.0.3".parse().unwrap();
        let a1 = limits.admit_unauthenticated(a).unwrap();
        let _a2 = limits.admit_unauthenticated(a).unwrap();
        let refused = limits.admit_unauthenticated(a).unwrap_err();
        assert_eq!(
            refused,
            "Too many connections from 127.0.0.1 that have not logged in: at most 2 per client address \
             (native_transport_max_unauthenticated_connections_per_ip)"
        );
        let _b1 = limits.admit_unauthenticated(b).unwrap();
        let full = limits.admit_unauthenticated(c).unwrap_err();
        assert!(full.contains("this node accepts at most 3"), "{full}");
        // The served slots are counted apart: idle connections do not take them.
        let served: Vec<Slot> = (0..100).map(|_| limits.admit(c)).collect::<Result<_, _>>().unwrap();
        assert_eq!(served.len(), 100);
        assert!(limits.admit(a).is_err(), "the node-wide bound of served connections holds");
        drop(a1);
        assert!(
            limits.admit_unauthenticated(c).is_ok(),
            "a connection that logged in frees its slot"
        );
    }
}
