//! The rustica database node: CQL server, schema, storage, coordinator,
//! internode messaging, gossip, system tables, auth and TLS, and how a node
//! starts (`start`). The client tools and the `rustica` binary are the `tools`
//! crate's; this library links no driver and no line editor.

pub mod auth;
pub mod client_warn;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod coordinator;
pub mod error;
pub mod failpoint;
pub mod index;
pub mod internode;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod movement;
pub mod net;
pub mod nodetool;
pub mod paxos;
pub mod peer_auth;
pub mod query;
pub mod repair;
pub mod replica;
pub mod ring;
pub mod schema;
pub mod schema_events;
pub mod schema_load;
pub mod schema_service;
pub mod server;
pub mod start;
pub mod storage;
pub mod system;
pub mod tls;
pub mod token;
pub mod trace;
