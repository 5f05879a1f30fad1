//! Bounds on client connections: at most so many native connections per node and
//! per client address (Cassandra's `native_transport_max_concurrent_connections`
//! and `..._per_ip`), and at most so many requests in flight per connection and
//! request bytes in flight per node (`native_transport_max_requests_per_connection`,
//! `native_transport_max_concurrent_requests_in_bytes`). A slot or a permit is
//! held by a guard and given back when it drops.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    counts: Arc<Mutex<Counts>>,
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
    pub fn new(max_total: usize, max_per_ip: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_total,
            max_per_ip,
            counts: Arc::default(),
        }
    }

    /// A slot for a new connection from `ip`, or why there is none.
    pub fn admit(&self, ip: IpAddr) -> Result<Slot, String> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= self.max_total {
            return Err(format!(
                "Too many connections: this node accepts at most {} client connections (native_transport_max_concurrent_connections)",
                self.max_total
            ));
        }
        let from_ip = c.per_ip.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.max_per_ip {
            return Err(format!(
                "Too many connections from {ip}: at most {} per client address (native_transport_max_concurrent_connections_per_ip)",
                self.max_per_ip
            ));
        }
        c.total += 1;
        *c.per_ip.entry(ip).or_insert(0) += 1;
        Ok(Slot {
            ip,
            counts: self.counts.clone(),
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

    #[test]
    fn connections_are_bounded_per_address_and_per_node_and_slots_come_back() {
        let limits = ConnectionLimits::new(3, 2);
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
}
