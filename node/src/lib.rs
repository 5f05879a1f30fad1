//! The rustica database node: CQL server, schema, storage, system tables, and the
//! client-side tools (`rustica shell`, `rustica stress`) that ship in the same binary.

pub mod auth;
pub mod bench;
pub mod certs;
pub mod client;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod coordinator;
pub mod error;
pub mod internode;
pub mod limits;
pub mod local;
pub mod movement;
pub mod nodetool;
pub mod query;
pub mod ring;
pub mod schema;
pub mod schema_events;
pub mod schema_load;
pub mod server;
pub mod shell;
pub mod status;
pub mod storage;
pub mod stress;
pub mod system;
pub mod tls;
pub mod token;
