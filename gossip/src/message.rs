//! The three gossip messages (SYN, ACK, ACK2) and the digest comparison that decides
//! what each side of an exchange lacks. The byte layout lives in `codec.rs`; the
//! decisions of who sends what to whom live in `gossiper.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::{Endpoint, EndpointState};

/// The version of the gossip message format, the first byte of every encoded message.
pub const GOSSIP_PROTOCOL_VERSION: u8 = 1;

/// A summary of what a node knows about one endpoint: `address:generation:max_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GossipDigest {
    pub endpoint: Endpoint,
    pub generation: i32,
    pub max_version: i32,
}

/// Opens a round: the sender's cluster name and a digest of every endpoint it knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Syn {
    pub cluster_name: String,
    pub digests: Vec<GossipDigest>,
}

/// Answers a SYN: `digests` names what the ACK sender wants (the states of `endpoint`
/// newer than `max_version` in `generation`; 0 means everything), `states` carries what
/// the SYN sender lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub digests: Vec<GossipDigest>,
    pub states: BTreeMap<Endpoint, EndpointState>,
}

/// Closes a round: the states the ACK asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack2 {
    pub states: BTreeMap<Endpoint, EndpointState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Syn(Syn),
    Ack(Ack),
    Ack2(Ack2),
}

/// What comparing a remote digest with the local state of the same endpoint says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestComparison {
    /// Both sides hold the same generation and version.
    InSync,
    /// The remote side knows more: ask it for everything newer than `max_version` of
    /// `generation` (0 asks for the whole state).
    Request { generation: i32, max_version: i32 },
    /// The local side knows more: send the local state newer than `after` (0 sends the
    /// whole state).
    Send { after: i32 },
}

impl GossipDigest {
    pub fn of(endpoint: Endpoint, state: &EndpointState) -> Self {
        Self {
            endpoint,
            generation: state.generation(),
            max_version: state.max_version(),
        }
    }

    /// Compares this (remote) digest with what we hold for its endpoint, by generation
    /// first and by version within a generation.
    pub fn compare(&self, local: Option<&EndpointState>) -> DigestComparison {
        let Some(local) = local else {
            return DigestComparison::Request {
                generation: self.generation,
                max_version: 0,
            };
        };
        let local_generation = local.generation();
        let local_version = local.max_version();
        if self.generation > local_generation {
            DigestComparison::Request {
                generation: self.generation,
                max_version: 0,
            }
        } else if self.generation < local_generation {
            DigestComparison::Send { after: 0 }
        } else if self.max_version > local_version {
            DigestComparison::Request {
                generation: self.generation,
                max_version: local_version,
            }
        } else if self.max_version < local_version {
            DigestComparison::Send { after: self.max_version }
        } else {
            DigestComparison::InSync
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ApplicationState, HeartbeatState, VersionedValue};

    fn ep() -> Endpoint {
        "127.0.0.1:9044".parse().unwrap()
    }

    fn local(generation: i32, version: i32) -> EndpointState {
        let mut s = EndpointState::new(HeartbeatState { generation, version: 1 });
        s.states.insert(ApplicationState::Status, VersionedValue::new("NORMAL", version));
        s
    }

    fn digest(generation: i32, max_version: i32) -> GossipDigest {
        GossipDigest {
            endpoint: ep(),
            generation,
            max_version,
        }
    }

    #[test]
    fn an_unknown_endpoint_is_requested_whole() {
        assert_eq!(
            digest(5, 10).compare(None),
            DigestComparison::Request {
                generation: 5,
                max_version: 0
            }
        );
    }

    #[test]
    fn a_higher_remote_generation_is_requested_whole() {
        assert_eq!(
            digest(6, 2).compare(Some(&local(5, 10))),
            DigestComparison::Request {
                generation: 6,
                max_version: 0
            }
        );
    }

    #[test]
    fn a_lower_remote_generation_is_sent_the_whole_local_state() {
        assert_eq!(digest(4, 99).compare(Some(&local(5, 10))), DigestComparison::Send { after: 0 });
    }

    #[test]
    fn a_higher_remote_version_is_requested_after_the_local_version() {
        assert_eq!(
            digest(5, 12).compare(Some(&local(5, 10))),
            DigestComparison::Request {
                generation: 5,
                max_version: 10
            }
        );
    }

    #[test]
    fn a_lower_remote_version_is_sent_the_newer_local_states() {
        assert_eq!(digest(5, 7).compare(Some(&local(5, 10))), DigestComparison::Send { after: 7 });
    }

    #[test]
    fn equal_digests_are_in_sync() {
        assert_eq!(digest(5, 10).compare(Some(&local(5, 10))), DigestComparison::InSync);
    }
}
