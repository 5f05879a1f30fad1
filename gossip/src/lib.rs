//! Cassandra-style gossip: who is in the cluster, what each node says about itself
//! (status, tokens, host id, data centre, rack, schema version, ...) and who is up,
//! judged by a phi-accrual failure detector. Sans-IO: no sockets, no threads, no clock
//! reads. The caller feeds messages and the time in and sends the messages that come
//! out; the node owns the transport, the framing and the timer. See docs/gossip.md.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod codec;
pub mod failure_detector;
pub mod gossiper;
pub mod message;
pub mod state;

pub use codec::{DecodeError, EncodeError};
pub use failure_detector::{ArrivalWindow, FailureDetector, FailureDetectorConfig, DEFAULT_PHI_CONVICT_THRESHOLD};
pub use gossiper::{GossipConfig, GossipEvent, Gossiper};
pub use message::{Ack, Ack2, DigestComparison, GossipDigest, Message, Syn, GOSSIP_PROTOCOL_VERSION};
pub use state::{ApplicationState, Endpoint, EndpointState, HeartbeatState, MergeOutcome, Millis, VersionedValue};
