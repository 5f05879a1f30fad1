//! The membership view the coordinator reads: which nodes are in the ring with
//! which tokens, data centre and rack, and which are up. The gossip service
//! writes it; readers take a cheap snapshot (`Topology`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use super::peers::{PeerInfo, NORMAL};
use crate::coordinator::replicas::Topology;
use crate::ring::Ring;
use crate::system::NodeInfo;

#[derive(Debug)]
pub struct ClusterView {
    local: NodeInfo,
    peers: RwLock<HashMap<IpAddr, (PeerInfo, bool)>>,
    snapshot: RwLock<Arc<Topology>>,
}

impl ClusterView {
    pub fn new(local: NodeInfo) -> ClusterView {
        let view = ClusterView {
            local,
            peers: RwLock::new(HashMap::new()),
            snapshot: RwLock::new(Arc::new(Topology::default())),
        };
        view.rebuild();
        view
    }

    /// Records what gossip says about a peer (and whether it is up).
    pub fn update(&self, peer: PeerInfo, up: bool) {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        let changed = peers.get(&peer.address).is_none_or(|(p, u)| p != &peer || *u != up);
        if changed {
            peers.insert(peer.address, (peer, up));
            drop(peers);
            self.rebuild();
        }
    }

    pub fn topology(&self) -> Arc<Topology> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn rebuild(&self) {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        let local = &self.local;
        let mut members: Vec<(IpAddr, Vec<i64>)> = vec![(local.address, local.tokens.clone())];
        let mut data_centers = HashMap::from([(local.address, local.data_center.clone())]);
        let mut racks = HashMap::from([(local.address, local.rack.clone())]);
        let mut up = std::collections::HashSet::from([local.address]);
        for (addr, (peer, is_up)) in peers.iter() {
            if peer.status != NORMAL || peer.tokens.is_empty() {
                continue;
            }
            members.push((*addr, peer.tokens.clone()));
            data_centers.insert(*addr, peer.data_center.clone());
            racks.insert(*addr, peer.rack.clone());
            if *is_up {
                up.insert(*addr);
            }
        }
        let topology = Topology {
            ring: Ring::new(members),
            data_centers,
            racks,
            up,
            local: Some(local.address),
        };
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(topology);
    }
}
