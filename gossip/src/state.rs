//! What gossip knows about one endpoint: its heartbeat (generation and version) and
//! its application states, each stamped with the version at which its owner set it.
//! This file owns the merge rules between two views of the same endpoint; it does not
//! own liveness (see `failure_detector.rs`) nor who talks to whom (see `gossiper.rs`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// An endpoint is identified by its gossip address. A type alias, so that it can become
/// a host id or a richer type without touching every signature.
pub type Endpoint = SocketAddr;

/// Time in this crate: milliseconds on a clock the caller owns. Only differences between
/// two readings of the same node's clock are ever used, so clocks of different nodes
/// may disagree freely.
pub type Millis = u64;

/// A node's liveness counter. `generation` is the node's start time in seconds since the
/// epoch, so a restarted node outranks its previous life; `version` grows every round and
/// on every local state change, drawn from the same counter as the application states'
/// versions, so the highest version of an endpoint summarises everything it has said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HeartbeatState {
    pub generation: i32,
    pub version: i32,
}

/// The keys of application state, numbered as Cassandra's `ApplicationState` ordinals
/// where Cassandra has the key. `Other` carries keys this build does not know, so a node
/// relays the keys of newer nodes unchanged during a rolling upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ApplicationState {
    Status,
    Load,
    SchemaVersion,
    Dc,
    Rack,
    ReleaseVersion,
    RemovalCoordinator,
    InternalIp,
    NativeAddress,
    Severity,
    NetVersion,
    HostId,
    Tokens,
    NativeReady,
    InternalAddressAndPort,
    NativeAddressAndPort,
    StatusWithPort,
    SstableVersions,
    DiskUsage,
    /// Not a Cassandra key: rustica gossips the CQL port apart from the address.
    NativePort,
    /// A key unknown to this build, kept by its wire code.
    Other(u8),
}

impl ApplicationState {
    /// The one-byte code of the key on the wire (see docs/gossip.md).
    pub fn code(self) -> u8 {
        match self {
            Self::Status => 0,
            Self::Load => 1,
            Self::SchemaVersion => 2,
            Self::Dc => 3,
            Self::Rack => 4,
            Self::ReleaseVersion => 5,
            Self::RemovalCoordinator => 6,
            Self::InternalIp => 7,
            Self::NativeAddress => 8,
            Self::Severity => 10,
            Self::NetVersion => 11,
            Self::HostId => 12,
            Self::Tokens => 13,
            Self::NativeReady => 14,
            Self::InternalAddressAndPort => 15,
            Self::NativeAddressAndPort => 16,
            Self::StatusWithPort => 17,
            Self::SstableVersions => 18,
            Self::DiskUsage => 19,
            Self::NativePort => 64,
            Self::Other(code) => code,
        }
    }

    /// The key for a wire code; never fails, unknown codes become `Other`.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Status,
            1 => Self::Load,
            2 => Self::SchemaVersion,
            3 => Self::Dc,
            4 => Self::Rack,
            5 => Self::ReleaseVersion,
            6 => Self::RemovalCoordinator,
            7 => Self::InternalIp,
            8 => Self::NativeAddress,
            10 => Self::Severity,
            11 => Self::NetVersion,
            12 => Self::HostId,
            13 => Self::Tokens,
            14 => Self::NativeReady,
            15 => Self::InternalAddressAndPort,
            16 => Self::NativeAddressAndPort,
            17 => Self::StatusWithPort,
            18 => Self::SstableVersions,
            19 => Self::DiskUsage,
            64 => Self::NativePort,
            other => Self::Other(other),
        }
    }
}

/// One application state value and the version at which its owner set it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VersionedValue {
    pub value: String,
    pub version: i32,
}

impl VersionedValue {
    pub fn new(value: impl Into<String>, version: i32) -> Self {
        Self {
            value: value.into(),
            version,
        }
    }
}

/// Everything gossip knows about one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    pub heartbeat: HeartbeatState,
    pub states: BTreeMap<ApplicationState, VersionedValue>,
}

/// What merging a remote view into a local one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The remote view had a higher generation: the endpoint restarted and its whole
    /// state was replaced. Carries the keys of the new state.
    Replaced { keys: Vec<ApplicationState> },
    /// Same generation: newer keys and a newer heartbeat were taken, key by key.
    Merged {
        heartbeat_advanced: bool,
        keys: Vec<ApplicationState>,
    },
    /// The remote view had a lower generation, or a generation implausibly far ahead of
    /// ours: nothing changed.
    Stale,
}

/// A generation further ahead than this of the one we hold is treated as corrupt and
/// ignored, as Cassandra does (one year, in seconds).
pub const MAX_GENERATION_DIFFERENCE: i32 = 86_400 * 365;

impl EndpointState {
    pub fn new(heartbeat: HeartbeatState) -> Self {
        Self {
            heartbeat,
            states: BTreeMap::new(),
        }
    }

    pub fn generation(&self) -> i32 {
        self.heartbeat.generation
    }

    /// The highest version among the heartbeat and every application state: the
    /// version a digest advertises.
    pub fn max_version(&self) -> i32 {
        self.states.values().map(|v| v.version).fold(self.heartbeat.version, i32::max)
    }

    pub fn get(&self, key: ApplicationState) -> Option<&VersionedValue> {
        self.states.get(&key)
    }

    /// The heartbeat and the application states newer than `version`: the delta a peer
    /// that has seen everything up to `version` of this generation lacks.
    pub fn newer_than(&self, version: i32) -> EndpointState {
        EndpointState {
            heartbeat: self.heartbeat,
            states: self
                .states
                .iter()
                .filter(|(_, v)| v.version > version)
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        }
    }

    /// Merges a remote view of the same endpoint into this one.
    ///
    /// A higher generation replaces the whole state (the endpoint restarted); the same
    /// generation merges key by key, the higher version winning, and takes the higher
    /// heartbeat; a lower generation changes nothing. This makes merging a join: the
    /// result of merging a set of views does not depend on their order or repetition,
    /// given that an owner never gives two values the same version in one generation.
    pub fn merge(&mut self, remote: &EndpointState) -> MergeOutcome {
        let local_generation = self.generation();
        let remote_generation = remote.generation();
        if remote_generation > local_generation {
            if local_generation != 0 && remote_generation.saturating_sub(local_generation) > MAX_GENERATION_DIFFERENCE {
                return MergeOutcome::Stale;
            }
            *self = remote.clone();
            return MergeOutcome::Replaced {
                keys: self.states.keys().copied().collect(),
            };
        }
        if remote_generation < local_generation {
            return MergeOutcome::Stale;
        }
        let heartbeat_advanced = remote.heartbeat.version > self.heartbeat.version;
        if heartbeat_advanced {
            self.heartbeat.version = remote.heartbeat.version;
        }
        let mut keys = Vec::new();
        for (key, value) in &remote.states {
            let newer = self.states.get(key).is_none_or(|local| value.version > local.version);
            if newer {
                self.states.insert(*key, value.clone());
                keys.push(*key);
            }
        }
        MergeOutcome::Merged { heartbeat_advanced, keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(generation: i32, heartbeat: i32, entries: &[(ApplicationState, &str, i32)]) -> EndpointState {
        let mut s = EndpointState::new(HeartbeatState {
            generation,
            version: heartbeat,
        });
        for (k, v, ver) in entries {
            s.states.insert(*k, VersionedValue::new(*v, *ver));
        }
        s
    }

    #[test]
    fn max_version_covers_heartbeat_and_every_state() {
        let s = state(
            1,
            7,
            &[(ApplicationState::Status, "NORMAL", 3), (ApplicationState::Tokens, "1,2", 9)],
        );
        assert_eq!(s.max_version(), 9);
        let s = state(1, 12, &[(ApplicationState::Status, "NORMAL", 3)]);
        assert_eq!(s.max_version(), 12);
    }

    #[test]
    fn newer_than_keeps_the_heartbeat_and_only_newer_states() {
        let s = state(
            1,
            10,
            &[(ApplicationState::Status, "NORMAL", 3), (ApplicationState::Tokens, "1,2", 9)],
        );
        let delta = s.newer_than(5);
        assert_eq!(delta.heartbeat, s.heartbeat);
        assert_eq!(delta.states.keys().copied().collect::<Vec<_>>(), vec![ApplicationState::Tokens]);
    }

    #[test]
    fn a_higher_generation_replaces_the_whole_state() {
        let mut local = state(
            1,
            50,
            &[(ApplicationState::Status, "NORMAL", 40), (ApplicationState::Load, "9", 45)],
        );
        let remote = state(2, 3, &[(ApplicationState::Status, "JOINING", 2)]);
        let outcome = local.merge(&remote);
        assert_eq!(
            outcome,
            MergeOutcome::Replaced {
                keys: vec![ApplicationState::Status]
            }
        );
        assert_eq!(local, remote);
    }

    #[test]
    fn a_stale_generation_never_overwrites_a_newer_one() {
        let mut local = state(2, 3, &[(ApplicationState::Status, "JOINING", 2)]);
        let before = local.clone();
        let remote = state(1, 50, &[(ApplicationState::Status, "NORMAL", 40)]);
        assert_eq!(local.merge(&remote), MergeOutcome::Stale);
        assert_eq!(local, before);
    }

    #[test]
    fn a_generation_more_than_a_year_ahead_is_ignored() {
        let mut local = state(1_000, 3, &[]);
        let remote = state(1_000 + MAX_GENERATION_DIFFERENCE + 1, 1, &[]);
        assert_eq!(local.merge(&remote), MergeOutcome::Stale);
        assert_eq!(local.generation(), 1_000);
    }

    #[test]
    fn the_same_generation_merges_key_by_key_by_version() {
        let mut local = state(1, 10, &[(ApplicationState::Status, "NORMAL", 8), (ApplicationState::Load, "1", 4)]);
        let remote = state(1, 9, &[(ApplicationState::Status, "JOINING", 2), (ApplicationState::Load, "2", 9)]);
        let outcome = local.merge(&remote);
        assert_eq!(
            outcome,
            MergeOutcome::Merged {
                heartbeat_advanced: false,
                keys: vec![ApplicationState::Load]
            }
        );
        assert_eq!(local.heartbeat.version, 10);
        assert_eq!(local.get(ApplicationState::Status).map(|v| v.value.as_str()), Some("NORMAL"));
        assert_eq!(local.get(ApplicationState::Load).map(|v| v.value.as_str()), Some("2"));
    }

    #[test]
    fn every_known_key_round_trips_through_its_code() {
        for code in 0..=u8::MAX {
            assert_eq!(ApplicationState::from_code(code).code(), code);
        }
    }
}
