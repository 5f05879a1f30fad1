//! Gossip-port targets (9044): the frame around every message (cluster name,
//! sender, tag), the gossip messages (SYN, ACK, ACK2), and the schema events a
//! node pulls from a peer.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use gossip::{Ack, Ack2, ApplicationState, EndpointState, GossipDigest, HeartbeatState, Message, Syn, VersionedValue};
use node::cluster::wire::{self, Kind};
use node::peer_auth::PeerAuth;
use node::schema_events::{self, SchemaEvent};
use uuid::Uuid;

use crate::target::Target;

/// The cluster the gossip frames belong to; no secret, so the tag is zeros
/// and inputs get past it.
const CLUSTER: &str = "fuzz";

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "gossip-frame",
            about: "a gossip-port frame body: version, kind, cluster name, sender, payload, tag",
            seeds: frame_seeds,
            decode: |input| wire::decode(input, &PeerAuth::new(CLUSTER, None)).is_ok(),
            dictionary: &[b"fuzz"],
        },
        Target {
            name: "gossip-message",
            about: "a gossip message: SYN, ACK or ACK2 with digests and endpoint states",
            seeds: || messages().iter().filter_map(|m| m.encode().ok()).collect(),
            decode: |input| Message::decode(input).is_ok(),
            dictionary: &[],
        },
        Target {
            name: "schema-events",
            about: "the schema events a peer answers a schema pull with",
            seeds: || {
                vec![
                    schema_events::encode(&[]),
                    schema_events::encode(&events()),
                    schema_events::encode(&events()[..1]),
                ]
            },
            decode: |input| schema_events::decode(input).is_ok(),
            dictionary: &[],
        },
    ]
}

fn endpoint(n: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, n], 9044))
}

fn state(n: u8) -> EndpointState {
    let mut s = EndpointState::new(HeartbeatState {
        generation: 1_700_000_000 + i32::from(n),
        version: 40,
    });
    s.states.insert(ApplicationState::Status, VersionedValue::new("NORMAL,-9000", 3));
    s.states.insert(ApplicationState::Tokens, VersionedValue::new("-9000,0,9000", 4));
    s.states.insert(
        ApplicationState::HostId,
        VersionedValue::new(Uuid::from_u128(u128::from(n)).to_string(), 5),
    );
    s.states.insert(ApplicationState::Other(200), VersionedValue::new("future", 6));
    s
}

fn digests() -> Vec<GossipDigest> {
    (1..=3)
        .map(|n| GossipDigest {
            endpoint: endpoint(n),
            generation: 1_700_000_000,
            max_version: i32::from(n) * 10,
        })
        .collect()
}

fn messages() -> Vec<Message> {
    let states: BTreeMap<_, _> = (1..=2).map(|n| (endpoint(n), state(n))).collect();
    vec![
        Message::Syn(Syn {
            cluster_name: CLUSTER.into(),
            digests: digests(),
        }),
        Message::Ack(Ack {
            digests: digests(),
            states: states.clone(),
        }),
        Message::Ack2(Ack2 { states }),
        Message::Syn(Syn {
            cluster_name: String::new(),
            digests: vec![],
        }),
    ]
}

fn events() -> Vec<SchemaEvent> {
    vec![
        SchemaEvent {
            timestamp: 1_700_000_000_000_000,
            node: Uuid::from_u128(1),
            keyspace: None,
            statement: "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}".into(),
        },
        SchemaEvent {
            timestamp: 1_700_000_000_000_001,
            node: Uuid::from_u128(2),
            keyspace: Some("ks".into()),
            statement: "CREATE TABLE t (k int PRIMARY KEY, v text)".into(),
        },
    ]
}

fn frame_seeds() -> Vec<Vec<u8>> {
    let auth = PeerAuth::new(CLUSTER, None);
    let payloads = [
        (Kind::Gossip, messages().first().and_then(|m| m.encode().ok()).unwrap_or_default()),
        (Kind::SchemaPull, Vec::new()),
        (Kind::SchemaEvents, schema_events::encode(&events())),
    ];
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, (kind, payload))| {
            let sender = if i == 1 { "[::1]:9044".parse() } else { "127.0.0.2:9044".parse() };
            let frame = wire::Frame {
                kind,
                sender: sender.unwrap_or_else(|_| endpoint(2)),
                payload,
            };
            // The body: what follows the length prefix.
            wire::encode(&frame, &auth).split_off(4)
        })
        .collect()
}
