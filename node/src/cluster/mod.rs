//! The cluster membership service: runs the gossip crate's state machine on the
//! gossip port, keeps `system.peers`/`peers_v2`/`cluster_status` current, tells
//! registered drivers about nodes that join, go down and come back, and spreads
//! schema events (push on DDL, pull when a peer's schema version differs).
//! The async shell: all decisions are in `gossip` and in pure helpers here.

pub mod peers;
pub mod view;
pub mod wire;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cql_protocol::response::Event;
use gossip::{ApplicationState, GossipConfig, GossipEvent, Gossiper, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use self::peers::{local_states, peer_info, PeerInfo, Removal, JOINING};
use self::view::Membership;
use self::wire::{Frame, Kind};
use crate::coordinator::Coordinator;
use crate::jobs::Stop;
use crate::movement;
use crate::peer_auth::PeerAuth;
use crate::schema_events;
use crate::schema_service::SchemaService;
use crate::storage::StorageEngine;
use crate::system;
use crate::system::NodeInfo;
use crate::tls;

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The cluster's name and secret, checked on every frame.
    pub auth: PeerAuth,
    pub address: IpAddr,
    pub gossip_port: u16,
    pub seeds: Vec<IpAddr>,
    pub interval: Duration,
    pub phi_convict_threshold: f64,
    /// Mutual TLS with peers, when `[internode_encryption]` is enabled.
    pub tls: Option<tls::PeerTls>,
}

/// What membership works with: the coordinator's view of the ring, the schema
/// it spreads, the storage of the peer tables, this node's identity, the
/// driver events it raises, and the movement service it asks for a cleanup.
pub struct Services {
    pub coordinator: Arc<Coordinator>,
    pub schema: Arc<SchemaService>,
    pub engine: Arc<dyn StorageEngine>,
    pub node: NodeInfo,
    pub events: tokio::sync::broadcast::Sender<Event>,
    pub movement: movement::Handle,
}

struct Shared {
    gossiper: Mutex<Gossiper>,
    services: Services,
    local: SocketAddr,
    started: Instant,
    last_pull: Mutex<HashMap<SocketAddr, Instant>>,
    /// What each peer's rows say now, to write only what changed.
    written: Mutex<HashMap<SocketAddr, Written>>,
    auth: PeerAuth,
    tls: Option<tls::PeerTls>,
}

impl Shared {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// Runs membership until the node stops.
pub async fn run(listener: TcpListener, services: Services, config: ClusterConfig, mut stop: Stop) {
    let local = SocketAddr::new(config.address, config.gossip_port);
    let seeds = config.seeds.iter().map(|ip| SocketAddr::new(*ip, config.gossip_port)).collect();
    let gossip_config = GossipConfig {
        cluster_name: config.auth.cluster_name.clone(),
        seeds,
        interval_ms: config.interval.as_millis() as u64,
        phi_convict_threshold: config.phi_convict_threshold,
    };
    let generation = chrono::Utc::now().timestamp() as i32;
    let mut gossiper = Gossiper::new(local, gossip_config, generation, 0);
    let view = services.coordinator.view.clone();
    for (key, value) in local_states(&services.node, services.schema.snapshot().version, &view.local_status()) {
        gossiper.set_local_state(key, value);
    }
    let shared = Arc::new(Shared {
        gossiper: Mutex::new(gossiper),
        services,
        local,
        started: Instant::now(),
        last_pull: Mutex::new(HashMap::new()),
        written: Mutex::new(HashMap::new()),
        auth: config.auth.clone(),
        tls: config.tls.clone(),
    });
    info!(%local, "gossip listening");
    let mut ticker = tokio::time::interval(config.interval);
    let mut pushes = shared.services.schema.subscribe_pushes();
    let mut schema_version = shared.services.schema.snapshot().version;
    let mut own = OwnStates {
        status: view.local_status(),
        ..OwnStates::default()
    };
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.stopped() => return,
            accepted = listener.accept() => {
                if let Ok((socket, peer)) = accepted {
                    tokio::spawn(receive(socket, peer, shared.clone()));
                }
            }
            _ = ticker.tick() => {
                let version = shared.services.schema.snapshot().version;
                // The load is the size of the data files (as Cassandra's), measured every 10 rounds.
                let load = ticks.is_multiple_of(10).then(|| shared.services.engine.data_bytes());
                ticks += 1;
                let changes = own.changes(&view, load);
                // This node's own line, also when only its schema changed.
                if !changes.is_empty() || version != schema_version {
                    write_local_status(&shared.services);
                }
                let messages = {
                    let mut g = shared.gossiper.lock().unwrap_or_else(|e| e.into_inner());
                    if version != schema_version {
                        schema_version = version;
                        g.set_local_state(ApplicationState::SchemaVersion, version.to_string());
                    }
                    for (key, value) in changes {
                        g.set_local_state(key, value);
                    }
                    let now = shared.now();
                    let messages = g.tick(now, &mut rand::thread_rng());
                    g.convict(now);
                    messages
                };
                for (to, message) in messages {
                    send_gossip(&shared, to, &message);
                }
                after_change(&shared);
            }
            pushed = pushes.recv() => {
                if let Ok(events) = pushed {
                    let live: Vec<SocketAddr> = shared.gossiper.lock().unwrap_or_else(|e| e.into_inner()).live_endpoints().iter().copied().collect();
                    let payload = schema_events::encode(&events);
                    for to in live {
                        send(&shared, to, Frame { kind: Kind::SchemaEvents, sender: shared.local, payload: payload.clone() });
                    }
                }
            }
        }
    }
}

fn send_gossip(shared: &Shared, to: SocketAddr, message: &Message) {
    match message.encode() {
        Ok(payload) => send(
            shared,
            to,
            Frame {
                kind: Kind::Gossip,
                sender: shared.local,
                payload,
            },
        ),
        Err(e) => warn!(error = %e, "cannot encode a gossip message"),
    }
}

/// Sends one frame on a fresh connection; a peer that is down is the failure
/// detector's business, not an error here.
fn send(shared: &Shared, to: SocketAddr, frame: Frame) {
    debug!(%to, kind = ?frame.kind, bytes = frame.payload.len(), "sending a gossip message");
    let tls = shared.tls.clone();
    let local = shared.local.ip();
    let bytes = wire::encode(&frame, &shared.auth);
    tokio::spawn(async move {
        let connect = async {
            let stream = crate::net::connect_from(local, to).await?;
            tls::connect_peer(tls.as_ref(), stream, to.ip()).await
        };
        match tokio::time::timeout(Duration::from_millis(500), connect).await {
            Ok(Ok(connection)) => {
                let mut stream = connection.stream;
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
            }
            Ok(Err(e)) => debug!(%to, error = %e, "gossip peer unreachable"),
            Err(_) => debug!(%to, "gossip peer unreachable (timed out)"),
        }
    });
}

/// How long a gossip connection may take to finish its TLS handshake, and then
/// to send each frame.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

async fn receive(socket: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let connection = match tokio::time::timeout(RECEIVE_TIMEOUT, tls::accept_peer(shared.tls.as_ref(), socket)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => {
            warn!(%peer, error = %e, "refusing a gossip connection: TLS handshake failed");
            return;
        }
        Err(_) => {
            warn!(%peer, "refusing a gossip connection: no TLS handshake within {RECEIVE_TIMEOUT:?}");
            return;
        }
    };
    let mut socket = connection.stream;
    loop {
        let mut len = [0u8; 4];
        if !matches!(tokio::time::timeout(RECEIVE_TIMEOUT, socket.read_exact(&mut len)).await, Ok(Ok(_))) {
            return;
        }
        let length = match wire::check_length(u32::from_be_bytes(len)) {
            Ok(n) => n,
            Err(e) => {
                warn!(error = %e, "dropping an internode connection");
                return;
            }
        };
        let mut body = vec![0u8; length];
        if !matches!(tokio::time::timeout(RECEIVE_TIMEOUT, socket.read_exact(&mut body)).await, Ok(Ok(_))) {
            return;
        }
        let frame = match wire::decode(&body, &shared.auth) {
            Ok(frame) => frame,
            Err(e) => {
                warn!(%peer, error = %e, "dropping a gossip frame");
                return;
            }
        };
        if let Err(reason) = tls::check_node_claim(connection.names.as_ref(), frame.sender.ip()).await {
            warn!(%peer, %reason, "dropping a gossip frame");
            return;
        }
        handle(&shared, frame);
    }
}

fn handle(shared: &Shared, frame: Frame) {
    debug!(from = %frame.sender, kind = ?frame.kind, bytes = frame.payload.len(), "gossip message received");
    match frame.kind {
        Kind::Gossip => {
            let message = match Message::decode(&frame.payload) {
                Ok(m) => m,
                Err(e) => {
                    warn!(from = %frame.sender, error = %e, "dropping a malformed gossip message");
                    return;
                }
            };
            let replies = shared
                .gossiper
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .handle(frame.sender, message, shared.now());
            for (to, reply) in replies {
                send_gossip(shared, to, &reply);
            }
            after_change(shared);
        }
        Kind::SchemaPull => {
            let payload = schema_events::encode(&shared.services.schema.events());
            send(
                shared,
                frame.sender,
                Frame {
                    kind: Kind::SchemaEvents,
                    sender: shared.local,
                    payload,
                },
            );
        }
        Kind::SchemaEvents => match schema_events::decode(&frame.payload) {
            Ok(events) => match shared.services.schema.merge(events) {
                Ok(true) => info!(from = %frame.sender, version = %shared.services.schema.snapshot().version, "schema updated from a peer"),
                Ok(false) => {}
                Err(e) => warn!(from = %frame.sender, error = %e, "cannot apply schema events"),
            },
            Err(e) => warn!(from = %frame.sender, error = %e, "dropping malformed schema events"),
        },
    }
}

/// What this node last wrote and announced about a peer.
#[derive(Debug, Clone, PartialEq)]
struct Written {
    info: PeerInfo,
    up: bool,
    membership: Membership,
}

/// The local states that change while the node runs, as last gossiped.
#[derive(Debug, Default)]
struct OwnStates {
    status: String,
    removals: String,
    load: Option<u64>,
}

impl OwnStates {
    /// The states to gossip anew: status and removals when they changed, and
    /// the load when it was measured and differs.
    fn changes(&mut self, view: &view::ClusterView, load: Option<u64>) -> Vec<(ApplicationState, String)> {
        let mut out = Vec::new();
        let status = view.local_status();
        if status != self.status {
            self.status = status.clone();
            out.push((ApplicationState::Status, status));
        }
        let removals = Removal::format_all(&view.local_removals());
        if removals != self.removals {
            self.removals = removals.clone();
            out.push((ApplicationState::RemovalCoordinator, removals));
        }
        if load.is_some() && load != self.load {
            self.load = load;
            out.push((ApplicationState::Load, load.unwrap_or(0).to_string()));
        }
        out
    }
}

/// Applies what gossip learned: peer rows, driver events, schema pulls, and
/// a cleanup once a node finished joining.
fn after_change(shared: &Shared) {
    let (events, peers) = {
        let mut g = shared.gossiper.lock().unwrap_or_else(|e| e.into_inner());
        let events = g.drain_events();
        let peers: Vec<(SocketAddr, PeerInfo, bool)> = g
            .endpoints()
            .filter(|ep| *ep != shared.local)
            .filter_map(|ep| g.endpoint_state(ep).map(|s| (ep, peer_info(ep.ip(), s), g.is_alive(ep))))
            .collect();
        (events, peers)
    };
    let services = &shared.services;
    let view = &services.coordinator.view;
    for (_, info, up) in &peers {
        view.update(info.clone(), *up);
    }
    let schema = services.schema.snapshot();
    for event in &events {
        let (ep, change) = match event {
            GossipEvent::Alive(ep) => (ep, "UP"),
            GossipEvent::Dead(ep) => (ep, "DOWN"),
            _ => continue,
        };
        let Some((_, info, _)) = peers.iter().find(|(p, _, _)| p == ep) else {
            continue;
        };
        info!(peer = %ep, state = change, status = %info.status, "peer state changed");
        // Drivers hear only of the nodes they may use: those in the ring.
        if view.membership(info) != Membership::Member {
            continue;
        }
        if let Some(native) = info.native_address {
            let _ = services.events.send(Event::StatusChange {
                change: change.into(),
                address: SocketAddr::new(native, info.native_port),
            });
        }
    }
    let mut written = shared.written.lock().unwrap_or_else(|e| e.into_inner());
    for (ep, info, up) in &peers {
        if info.host_id.is_none() || info.tokens.is_empty() {
            continue;
        }
        let membership = view.membership(info);
        let now = Written {
            info: info.clone(),
            up: *up,
            membership,
        };
        let previous = written.get(ep).cloned();
        if previous.as_ref() == Some(&now) {
            continue;
        }
        let was = previous.as_ref().map(|w| w.membership);
        let native = info.native_address.map(|a| SocketAddr::new(a, info.native_port));
        match membership {
            Membership::Gone => {
                // Also when first heard of as gone: this node may have been down
                // when it left, and still have its rows.
                if was != Some(Membership::Gone) {
                    info!(peer = %ep, "node is out of the ring");
                    if let Err(e) = system::delete_peer(services.engine.as_ref(), &schema, info.address) {
                        warn!(peer = %ep, error = %e, "cannot delete the rows of a node that left");
                    }
                    if let (Some(native), Some(Membership::Member)) = (native, was) {
                        let _ = services.events.send(Event::TopologyChange {
                            change: "REMOVED_NODE".into(),
                            address: native,
                        });
                    }
                }
                written.insert(*ep, now);
                continue;
            }
            Membership::Member => {
                if previous
                    .as_ref()
                    .is_none_or(|w| w.info != *info || w.membership != Membership::Member)
                {
                    if let Err(e) = system::write_peer(services.engine.as_ref(), &schema, info) {
                        warn!(peer = %ep, error = %e, "cannot write system.peers");
                    }
                }
                if was != Some(Membership::Member) {
                    if let Some(native) = native {
                        let _ = services.events.send(Event::TopologyChange {
                            change: "NEW_NODE".into(),
                            address: native,
                        });
                    }
                }
                let finished_joining = was == Some(Membership::Joining) && previous.as_ref().is_some_and(|w| w.info.status == JOINING);
                if finished_joining {
                    info!(peer = %ep, "node finished joining; cleanup follows");
                    services.movement.cleanup_after_join();
                }
            }
            Membership::Joining => {}
        }
        if let Err(e) = system::write_cluster_status(services.engine.as_ref(), &schema, info, *up) {
            warn!(peer = %ep, error = %e, "cannot write system.cluster_status");
        }
        written.insert(*ep, now);
    }
    drop(written);
    // Pull the schema from a live peer whose version differs, at most every 2 s.
    for (ep, info, up) in &peers {
        if !*up || info.schema_version.is_none_or(|v| v == schema.version) {
            continue;
        }
        let mut last = shared.last_pull.lock().unwrap_or_else(|e| e.into_inner());
        if last.get(ep).is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
            continue;
        }
        last.insert(*ep, Instant::now());
        send(
            shared,
            *ep,
            Frame {
                kind: Kind::SchemaPull,
                sender: shared.local,
                payload: Vec::new(),
            },
        );
    }
}

/// This node's own line in `system.cluster_status`.
pub fn write_local_status(services: &Services) {
    let node = &services.node;
    let schema = services.schema.snapshot();
    let info = PeerInfo {
        address: node.address,
        host_id: Some(node.host_id),
        tokens: node.tokens.clone(),
        data_center: node.data_center.clone(),
        rack: node.rack.clone(),
        native_address: Some(node.address),
        native_port: node.native_port,
        schema_version: Some(schema.version),
        release_version: system::RELEASE_VERSION.into(),
        status: services.coordinator.view.local_status(),
        load: services.engine.data_bytes() as i64,
        removals: Vec::new(),
    };
    if let Err(e) = system::write_cluster_status(services.engine.as_ref(), &schema, &info, true) {
        warn!(error = %e, "cannot write the local line of system.cluster_status");
    }
}
