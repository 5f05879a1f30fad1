//! What a node knows of another from gossip, in the shape `system.peers`,
//! `system.peers_v2` and `rustica status` need; and the application states this
//! node gossips about itself. Pure conversions between gossip states and rows.

use std::net::IpAddr;

use gossip::{ApplicationState, EndpointState};
use uuid::Uuid;

use crate::system::{NodeInfo, RELEASE_VERSION};

/// The membership states of Cassandra, as gossiped in `STATUS`.
pub const NORMAL: &str = "NORMAL";
/// Streaming its ranges in (bootstrap); writes for them already reach it.
pub const JOINING: &str = "JOINING";
/// Streaming its ranges out (decommission); still serves them.
pub const LEAVING: &str = "LEAVING";
/// Out of the ring after a decommission.
pub const LEFT: &str = "LEFT";

/// A dead node's removal (`rustica removenode`), gossiped by the node that
/// runs it in `RemovalCoordinator` as `<host id>=removing|removed`, comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub host_id: Uuid,
    /// Its ranges are re-streamed: it is out of the ring.
    pub done: bool,
}

impl Removal {
    pub fn parse_all(value: &str) -> Vec<Removal> {
        value
            .split(',')
            .filter_map(|entry| {
                let (id, state) = entry.trim().split_once('=')?;
                Some(Removal {
                    host_id: Uuid::parse_str(id).ok()?,
                    done: state == "removed",
                })
            })
            .collect()
    }

    pub fn format_all(removals: &[Removal]) -> String {
        let entries: Vec<String> = removals
            .iter()
            .map(|r| format!("{}={}", r.host_id, if r.done { "removed" } else { "removing" }))
            .collect();
        entries.join(",")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    pub address: IpAddr,
    pub host_id: Option<Uuid>,
    pub tokens: Vec<i64>,
    pub data_center: String,
    pub rack: String,
    pub native_address: Option<IpAddr>,
    pub native_port: u16,
    pub schema_version: Option<Uuid>,
    pub release_version: String,
    pub status: String,
    pub load: i64,
    /// The removals this peer coordinates.
    pub removals: Vec<Removal>,
}

impl PeerInfo {
    /// Complete enough to be shown to drivers (they need a host id and tokens).
    pub fn is_complete(&self) -> bool {
        self.host_id.is_some() && !self.tokens.is_empty() && self.native_address.is_some()
    }

    /// `UN`, `DN`, `UJ`, ... as nodetool shows them.
    pub fn state_code(&self, up: bool) -> String {
        let updown = if up { 'U' } else { 'D' };
        let state = match self.status.as_str() {
            "JOINING" => 'J',
            "LEAVING" => 'L',
            "MOVING" => 'M',
            _ => 'N',
        };
        format!("{updown}{state}")
    }
}

pub fn peer_info(address: IpAddr, state: &EndpointState) -> PeerInfo {
    let get = |key: ApplicationState| state.get(key).map(|v| v.value.clone());
    PeerInfo {
        address,
        host_id: get(ApplicationState::HostId).and_then(|v| Uuid::parse_str(&v).ok()),
        tokens: get(ApplicationState::Tokens)
            .map(|v| v.split(',').filter_map(|t| t.trim().parse().ok()).collect())
            .unwrap_or_default(),
        data_center: get(ApplicationState::Dc).unwrap_or_else(|| "datacenter1".into()),
        rack: get(ApplicationState::Rack).unwrap_or_else(|| "rack1".into()),
        native_address: get(ApplicationState::NativeAddress).and_then(|v| v.parse().ok()),
        native_port: get(ApplicationState::NativePort).and_then(|v| v.parse().ok()).unwrap_or(9042),
        schema_version: get(ApplicationState::SchemaVersion).and_then(|v| Uuid::parse_str(&v).ok()),
        release_version: get(ApplicationState::ReleaseVersion).unwrap_or_else(|| RELEASE_VERSION.into()),
        status: get(ApplicationState::Status).unwrap_or_default(),
        load: get(ApplicationState::Load).and_then(|v| v.parse().ok()).unwrap_or(0),
        removals: get(ApplicationState::RemovalCoordinator)
            .map(|v| Removal::parse_all(&v))
            .unwrap_or_default(),
    }
}

/// The states this node gossips about itself when it starts with `status`
/// (status, schema version, load and removals change later).
pub fn local_states(node: &NodeInfo, schema_version: Uuid, status: &str) -> Vec<(ApplicationState, String)> {
    let tokens: Vec<String> = node.tokens.iter().map(i64::to_string).collect();
    vec![
        (ApplicationState::HostId, node.host_id.to_string()),
        (ApplicationState::Tokens, tokens.join(",")),
        (ApplicationState::Dc, node.data_center.clone()),
        (ApplicationState::Rack, node.rack.clone()),
        (ApplicationState::NativeAddress, node.address.to_string()),
        (ApplicationState::NativePort, node.native_port.to_string()),
        (ApplicationState::ReleaseVersion, RELEASE_VERSION.to_string()),
        (ApplicationState::SchemaVersion, schema_version.to_string()),
        (ApplicationState::Load, "0".to_string()),
        (ApplicationState::Status, status.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use gossip::{HeartbeatState, VersionedValue};

    #[test]
    fn a_peer_is_read_from_its_gossiped_states() {
        let node = NodeInfo {
            cluster_name: "c".into(),
            address: "127.0.0.3".parse().unwrap(),
            native_port: 9042,
            host_id: Uuid::from_bytes([7; 16]),
            data_center: "dc1".into(),
            rack: "r1".into(),
            tokens: vec![-5, 10],
        };
        let mut state = EndpointState::new(HeartbeatState { generation: 1, version: 1 });
        for (i, (k, v)) in local_states(&node, Uuid::nil(), NORMAL).into_iter().enumerate() {
            state.states.insert(k, VersionedValue::new(v, i as i32));
        }
        let peer = peer_info(node.address, &state);
        assert_eq!(peer.host_id, Some(node.host_id));
        assert_eq!(peer.tokens, vec![-5, 10]);
        assert_eq!(peer.native_address, Some(node.address));
        assert_eq!(peer.data_center, "dc1");
        assert_eq!(peer.state_code(true), "UN");
        assert_eq!(peer.state_code(false), "DN");
        assert!(peer.is_complete());
    }

    #[test]
    fn removals_round_trip_through_their_gossiped_text() {
        let removals = vec![
            Removal {
                host_id: Uuid::from_u128(1),
                done: false,
            },
            Removal {
                host_id: Uuid::from_u128(2),
                done: true,
            },
        ];
        let text = Removal::format_all(&removals);
        assert_eq!(Removal::parse_all(&text), removals);
        assert!(Removal::parse_all("").is_empty());
        assert!(Removal::parse_all("junk,=x").is_empty(), "malformed entries are skipped");
    }
}
