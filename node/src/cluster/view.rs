//! The membership view the coordinator reads: which nodes are in the ring with
//! which tokens, data centre and rack, which are up, and which are moving in or
//! out (joining, leaving, being removed). The gossip service writes it, this
//! node's own state included; readers take a cheap snapshot (`Topology`).
//!
//! The ring reads use (`Topology::ring`) holds the NORMAL and LEAVING nodes.
//! While a node joins or leaves, the ring after the move (`Topology::future`)
//! also exists, and writes go to its extra replicas too (pending ranges).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::peers::{PeerInfo, Removal, JOINING, LEAVING, LEFT, NORMAL};
use crate::coordinator::replicas::Topology;
use crate::ring::Ring;
use crate::system::NodeInfo;

#[derive(Debug)]
pub struct ClusterView {
    local: NodeInfo,
    local_status: RwLock<String>,
    /// Removals this node coordinates (`rustica removenode`), gossiped by it.
    local_removals: RwLock<Vec<Removal>>,
    peers: RwLock<HashMap<IpAddr, (PeerInfo, bool)>>,
    /// Since when each peer that is down has been down, as this node saw it.
    down_since: RwLock<HashMap<IpAddr, Instant>>,
    snapshot: RwLock<Arc<Topology>>,
}

/// Where a peer stands in the ring, as this view decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// In the ring (NORMAL or LEAVING): shown to drivers in `system.peers`.
    Member,
    /// Not yet in the ring (JOINING, or not fully gossiped).
    Joining,
    /// Out of the ring for good (LEFT, or removed by `removenode`).
    Gone,
}

impl ClusterView {
    /// A view of a node that is NORMAL (use `set_local_status` for a joining one).
    pub fn new(local: NodeInfo) -> ClusterView {
        let view = ClusterView {
            local,
            local_status: RwLock::new(NORMAL.to_string()),
            local_removals: RwLock::new(Vec::new()),
            peers: RwLock::new(HashMap::new()),
            down_since: RwLock::new(HashMap::new()),
            snapshot: RwLock::new(Arc::new(Topology::default())),
        };
        view.rebuild();
        view
    }

    pub fn local(&self) -> &NodeInfo {
        &self.local
    }

    /// This node's gossiped STATUS (NORMAL, JOINING, LEAVING, LEFT).
    pub fn local_status(&self) -> String {
        self.local_status.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_local_status(&self, status: &str) {
        *self.local_status.write().unwrap_or_else(|e| e.into_inner()) = status.to_string();
        self.rebuild();
    }

    /// The removals this node coordinates, as gossiped.
    pub fn local_removals(&self) -> Vec<Removal> {
        self.local_removals.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records (or advances) a removal this node coordinates.
    pub fn set_removal(&self, removal: Removal) {
        {
            let mut removals = self.local_removals.write().unwrap_or_else(|e| e.into_inner());
            removals.retain(|r| r.host_id != removal.host_id);
            removals.push(removal);
        }
        self.rebuild();
    }

    /// Records what gossip says about a peer (and whether it is up).
    pub fn update(&self, peer: PeerInfo, up: bool) {
        {
            let mut down_since = self.down_since.write().unwrap_or_else(|e| e.into_inner());
            if up {
                down_since.remove(&peer.address);
            } else {
                down_since.entry(peer.address).or_insert_with(Instant::now);
            }
        }
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        let changed = peers.get(&peer.address).is_none_or(|(p, u)| p != &peer || *u != up);
        if changed {
            peers.insert(peer.address, (peer, up));
            drop(peers);
            self.rebuild();
        }
    }

    /// How long `address` has been down, as this node saw it (None: up, or
    /// never heard of).
    pub fn down_for(&self, address: IpAddr) -> Option<Duration> {
        let down_since = self.down_since.read().unwrap_or_else(|e| e.into_inner());
        down_since.get(&address).map(Instant::elapsed)
    }

    /// Whether `address` is out of the ring for good (left, or removed).
    pub fn is_gone(&self, address: IpAddr) -> bool {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        peers
            .get(&address)
            .is_some_and(|(peer, _)| membership(peer, &self.removals(&peers)) == Membership::Gone)
    }

    /// Every peer gossip told of, and whether it is up.
    pub fn peers(&self) -> Vec<(PeerInfo, bool)> {
        self.peers.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Whether every live member of the ring gossips schema `version`.
    pub fn schema_agrees(&self, version: Uuid) -> bool {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        let removals = self.removals(&peers);
        peers
            .values()
            .filter(|(p, up)| *up && membership(p, &removals) == Membership::Member)
            .all(|(p, _)| p.schema_version == Some(version))
    }

    pub fn topology(&self) -> Arc<Topology> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every removal any node gossips (host id → done).
    fn removals(&self, peers: &HashMap<IpAddr, (PeerInfo, bool)>) -> HashMap<Uuid, bool> {
        let mut all: HashMap<Uuid, bool> = HashMap::new();
        let local = self.local_removals();
        for r in local.iter().chain(peers.values().flat_map(|(p, _)| p.removals.iter())) {
            let done = all.entry(r.host_id).or_default();
            *done |= r.done;
        }
        all
    }

    /// Where `peer` stands, given every gossiped removal.
    pub fn membership(&self, peer: &PeerInfo) -> Membership {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        membership(peer, &self.removals(&peers))
    }

    fn rebuild(&self) {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        let removals = self.removals(&peers);
        let local = &self.local;
        let local_status = self.local_status();
        let mut members: Vec<(IpAddr, Vec<i64>)> = Vec::new();
        let mut joining: Vec<(IpAddr, Vec<i64>)> = Vec::new();
        let mut leaving = HashSet::new();
        match local_status.as_str() {
            JOINING => joining.push((local.address, local.tokens.clone())),
            LEFT => {}
            status => {
                members.push((local.address, local.tokens.clone()));
                if status == LEAVING {
                    leaving.insert(local.address);
                }
            }
        }
        let mut data_centers = HashMap::from([(local.address, local.data_center.clone())]);
        let mut racks = HashMap::from([(local.address, local.rack.clone())]);
        let mut up = HashSet::from([local.address]);
        for (addr, (peer, is_up)) in peers.iter() {
            if peer.tokens.is_empty() {
                continue;
            }
            match membership(peer, &removals) {
                Membership::Gone => continue,
                Membership::Member => {
                    members.push((*addr, peer.tokens.clone()));
                    let removing = peer.host_id.is_some_and(|h| removals.contains_key(&h));
                    if peer.status == LEAVING || removing {
                        leaving.insert(*addr);
                    }
                }
                // A joiner that is down gets nothing: its join restarts anyway.
                Membership::Joining if peer.status == JOINING && *is_up => joining.push((*addr, peer.tokens.clone())),
                Membership::Joining => continue,
            }
            data_centers.insert(*addr, peer.data_center.clone());
            racks.insert(*addr, peer.rack.clone());
            if *is_up {
                up.insert(*addr);
            }
        }
        let future = (!joining.is_empty() || !leaving.is_empty()).then(|| {
            let staying = members.iter().filter(|(n, _)| !leaving.contains(n)).cloned();
            Ring::new(staying.chain(joining.iter().cloned()))
        });
        let topology = Topology {
            ring: Ring::new(members),
            future,
            joining: joining.into_iter().map(|(n, _)| n).collect(),
            leaving,
            data_centers,
            racks,
            up,
            local: Some(local.address),
        };
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(topology);
    }
}

/// Where `peer` stands given the removals gossiped (host id → done).
fn membership(peer: &PeerInfo, removals: &HashMap<Uuid, bool>) -> Membership {
    let removed = peer.host_id.is_some_and(|h| removals.get(&h) == Some(&true));
    if removed || peer.status == LEFT {
        Membership::Gone
    } else if peer.is_complete() && (peer.status == NORMAL || peer.status == LEAVING) {
        Membership::Member
    } else {
        Membership::Joining
    }
}
