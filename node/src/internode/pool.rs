//! The outgoing side of messaging: one persistent connection per peer, opened
//! on first use and replaced when it dies (the next request reconnects).
//! Requests to one peer share its connection, told apart by request id.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use super::connection::Outgoing;
use super::MessagingError;
use crate::peer_auth::PeerAuth;

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Outgoing>>>>;

pub(crate) struct Pool {
    port: u16,
    local: IpAddr,
    auth: PeerAuth,
    tls: Option<crate::tls::PeerTls>,
    peers: Mutex<HashMap<IpAddr, Slot>>,
}

impl Pool {
    pub(crate) fn new(port: u16, local: IpAddr, auth: PeerAuth, tls: Option<crate::tls::PeerTls>) -> Pool {
        Pool {
            port,
            local,
            auth,
            tls,
            peers: Mutex::default(),
        }
    }

    /// The live connection to `to`, connecting when there is none. Callers for
    /// one peer wait on its slot, so a burst opens one connection, not many.
    pub(crate) async fn connection(&self, to: IpAddr) -> Result<Arc<Outgoing>, MessagingError> {
        let slot = self.peers.lock().unwrap_or_else(|e| e.into_inner()).entry(to).or_default().clone();
        let mut current = slot.lock().await;
        if let Some(connection) = current.as_ref().filter(|c| !c.is_closed()) {
            return Ok(connection.clone());
        }
        *current = None;
        let connection = Arc::new(Outgoing::connect(SocketAddr::new(to, self.port), self.local, &self.auth, self.tls.as_ref()).await?);
        *current = Some(connection.clone());
        Ok(connection)
    }

    /// Closes every connection (requests in flight on them fail).
    pub(crate) fn clear(&self) {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
