//! The byte layout of gossip messages (described in docs/gossip.md): a version byte, a
//! kind byte, and a body of big-endian fixed-width integers and length-prefixed
//! strings. Decoding never panics and never allocates more than the input justifies.
//! The node owns the framing around a message (its length prefix and size limit).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use thiserror::Error;

use crate::message::{Ack, Ack2, GossipDigest, Message, Syn, GOSSIP_PROTOCOL_VERSION};
use crate::state::{ApplicationState, Endpoint, EndpointState, HeartbeatState, VersionedValue};

const KIND_SYN: u8 = 1;
const KIND_ACK: u8 = 2;
const KIND_ACK2: u8 = 3;

const FAMILY_V4: u8 = 4;
const FAMILY_V6: u8 = 6;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("message is empty")]
    Empty,
    #[error("unsupported gossip protocol version {version} (this node speaks {supported})")]
    UnsupportedVersion { version: u8, supported: u8 },
    #[error("unknown message kind {kind}")]
    UnknownKind { kind: u8 },
    #[error("message truncated: needed {needed} more bytes at offset {offset}, {available} left")]
    Truncated { offset: usize, needed: usize, available: usize },
    #[error("unknown address family {family}")]
    UnknownAddressFamily { family: u8 },
    #[error("string at offset {offset} is not UTF-8")]
    InvalidUtf8 { offset: usize },
    #[error("endpoint {endpoint} appears twice")]
    DuplicateEndpoint { endpoint: Endpoint },
    #[error("application state key {code} appears twice")]
    DuplicateKey { code: u8 },
    #[error("{count} bytes left over after the message")]
    TrailingBytes { count: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("{what} has {len} entries or bytes, more than the format allows ({max})")]
    TooLong { what: &'static str, len: usize, max: usize },
}

impl Message {
    /// Encodes the message, starting with [`GOSSIP_PROTOCOL_VERSION`].
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![GOSSIP_PROTOCOL_VERSION];
        match self {
            Message::Syn(syn) => {
                out.push(KIND_SYN);
                write_short_string(&mut out, &syn.cluster_name)?;
                write_digests(&mut out, &syn.digests)?;
            }
            Message::Ack(ack) => {
                out.push(KIND_ACK);
                write_digests(&mut out, &ack.digests)?;
                write_endpoint_states(&mut out, &ack.states)?;
            }
            Message::Ack2(ack2) => {
                out.push(KIND_ACK2);
                write_endpoint_states(&mut out, &ack2.states)?;
            }
        }
        Ok(out)
    }

    /// Decodes exactly one message occupying all of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader { bytes, offset: 0 };
        let version = r.read_u8().map_err(|_| DecodeError::Empty)?;
        if version != GOSSIP_PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                version,
                supported: GOSSIP_PROTOCOL_VERSION,
            });
        }
        let message = match r.read_u8()? {
            KIND_SYN => {
                let cluster_name = r.read_short_string()?;
                let digests = r.read_digests()?;
                Message::Syn(Syn { cluster_name, digests })
            }
            KIND_ACK => {
                let digests = r.read_digests()?;
                let states = r.read_endpoint_states()?;
                Message::Ack(Ack { digests, states })
            }
            KIND_ACK2 => Message::Ack2(Ack2 {
                states: r.read_endpoint_states()?,
            }),
            kind => return Err(DecodeError::UnknownKind { kind }),
        };
        let left = bytes.len().saturating_sub(r.offset);
        if left != 0 {
            return Err(DecodeError::TrailingBytes { count: left });
        }
        Ok(message)
    }
}

fn too_long(what: &'static str, len: usize, max: usize) -> EncodeError {
    EncodeError::TooLong { what, len, max }
}

fn write_short_string(out: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    let len = u16::try_from(s.len()).map_err(|_| too_long("cluster name", s.len(), u16::MAX as usize))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_long_string(out: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    let len = u32::try_from(s.len()).map_err(|_| too_long("value", s.len(), u32::MAX as usize))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_count(out: &mut Vec<u8>, what: &'static str, len: usize) -> Result<(), EncodeError> {
    let count = u32::try_from(len).map_err(|_| too_long(what, len, u32::MAX as usize))?;
    out.extend_from_slice(&count.to_be_bytes());
    Ok(())
}

fn write_endpoint(out: &mut Vec<u8>, endpoint: &Endpoint) {
    match endpoint.ip() {
        IpAddr::V4(ip) => {
            out.push(FAMILY_V4);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.push(FAMILY_V6);
            out.extend_from_slice(&ip.octets());
        }
    }
    out.extend_from_slice(&endpoint.port().to_be_bytes());
}

fn write_digests(out: &mut Vec<u8>, digests: &[GossipDigest]) -> Result<(), EncodeError> {
    write_count(out, "digest list", digests.len())?;
    for d in digests {
        write_endpoint(out, &d.endpoint);
        out.extend_from_slice(&d.generation.to_be_bytes());
        out.extend_from_slice(&d.max_version.to_be_bytes());
    }
    Ok(())
}

fn write_endpoint_states(out: &mut Vec<u8>, states: &BTreeMap<Endpoint, EndpointState>) -> Result<(), EncodeError> {
    write_count(out, "endpoint state map", states.len())?;
    for (endpoint, state) in states {
        write_endpoint(out, endpoint);
        out.extend_from_slice(&state.heartbeat.generation.to_be_bytes());
        out.extend_from_slice(&state.heartbeat.version.to_be_bytes());
        let count = u16::try_from(state.states.len()).map_err(|_| too_long("application states", state.states.len(), u16::MAX as usize))?;
        out.extend_from_slice(&count.to_be_bytes());
        for (key, value) in &state.states {
            out.push(key.code());
            out.extend_from_slice(&value.version.to_be_bytes());
            write_long_string(out, &value.value)?;
        }
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let rest = self.bytes.get(self.offset..).unwrap_or_default();
        let taken = rest.get(..n).ok_or(DecodeError::Truncated {
            offset: self.offset,
            needed: n,
            available: rest.len(),
        })?;
        self.offset += n;
        Ok(taken)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn read_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.take_array()?))
    }

    fn read_u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.take_array()?))
    }

    fn read_u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.take_array()?))
    }

    fn read_i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take_array()?))
    }

    fn read_utf8(&mut self, len: usize) -> Result<String, DecodeError> {
        let offset = self.offset;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::InvalidUtf8 { offset })
    }

    fn read_short_string(&mut self) -> Result<String, DecodeError> {
        let len = self.read_u16()? as usize;
        self.read_utf8(len)
    }

    fn read_long_string(&mut self) -> Result<String, DecodeError> {
        let len = self.read_u32()? as usize;
        self.read_utf8(len)
    }

    fn read_endpoint(&mut self) -> Result<Endpoint, DecodeError> {
        let ip = match self.read_u8()? {
            FAMILY_V4 => IpAddr::V4(Ipv4Addr::from(self.take_array::<4>()?)),
            FAMILY_V6 => IpAddr::V6(Ipv6Addr::from(self.take_array::<16>()?)),
            family => return Err(DecodeError::UnknownAddressFamily { family }),
        };
        Ok(SocketAddr::new(ip, self.read_u16()?))
    }

    // Counts are not trusted for allocation: every entry consumes input, so a lying
    // count ends in `Truncated` after at most `bytes.len()` small steps.
    fn read_digests(&mut self) -> Result<Vec<GossipDigest>, DecodeError> {
        let count = self.read_u32()?;
        let mut digests = Vec::new();
        for _ in 0..count {
            let endpoint = self.read_endpoint()?;
            let generation = self.read_i32()?;
            let max_version = self.read_i32()?;
            digests.push(GossipDigest {
                endpoint,
                generation,
                max_version,
            });
        }
        Ok(digests)
    }

    fn read_endpoint_states(&mut self) -> Result<BTreeMap<Endpoint, EndpointState>, DecodeError> {
        let count = self.read_u32()?;
        let mut states = BTreeMap::new();
        for _ in 0..count {
            let endpoint = self.read_endpoint()?;
            let generation = self.read_i32()?;
            let version = self.read_i32()?;
            let mut state = EndpointState::new(HeartbeatState { generation, version });
            let keys = self.read_u16()?;
            for _ in 0..keys {
                let code = self.read_u8()?;
                let version = self.read_i32()?;
                let value = self.read_long_string()?;
                if state
                    .states
                    .insert(ApplicationState::from_code(code), VersionedValue { value, version })
                    .is_some()
                {
                    return Err(DecodeError::DuplicateKey { code });
                }
            }
            if states.insert(endpoint, state).is_some() {
                return Err(DecodeError::DuplicateEndpoint { endpoint });
            }
        }
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn a_syn_has_the_documented_golden_bytes() {
        let syn = Message::Syn(Syn {
            cluster_name: "rc".into(),
            digests: vec![GossipDigest {
                endpoint: ep("127.0.0.1:9044"),
                generation: 0x0102_0304,
                max_version: 7,
            }],
        });
        let bytes = syn.encode().unwrap();
        #[rustfmt::skip]
        let expected = [
            1, 1,                   // version, kind SYN
            0, 2, b'r', b'c',       // cluster name
            0, 0, 0, 1,             // one digest
            4, 127, 0, 0, 1, 0x23, 0x54, // 127.0.0.1:9044
            1, 2, 3, 4,             // generation
            0, 0, 0, 7,             // max version
        ];
        assert_eq!(bytes, expected);
        assert_eq!(Message::decode(&bytes).unwrap(), syn);
    }

    #[test]
    fn an_ack2_has_the_documented_golden_bytes() {
        let mut state = EndpointState::new(HeartbeatState { generation: 1, version: 2 });
        state.states.insert(ApplicationState::Status, VersionedValue::new("UP", 2));
        let ack2 = Message::Ack2(Ack2 {
            states: BTreeMap::from([(ep("[::1]:7"), state)]),
        });
        let bytes = ack2.encode().unwrap();
        let mut expected = vec![1, 3, 0, 0, 0, 1, 6];
        expected.extend_from_slice(&[0; 15]);
        expected.extend_from_slice(&[1, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 2, b'U', b'P']);
        assert_eq!(bytes, expected);
        assert_eq!(Message::decode(&bytes).unwrap(), ack2);
    }

    #[test]
    fn another_version_is_refused() {
        assert_eq!(
            Message::decode(&[2, 1]),
            Err(DecodeError::UnsupportedVersion { version: 2, supported: 1 })
        );
        assert_eq!(Message::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(Message::decode(&[1, 9]), Err(DecodeError::UnknownKind { kind: 9 }));
    }

    #[test]
    fn a_lying_count_is_truncated_without_allocating() {
        let bytes = [1, 3, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::Truncated {
                offset: 6,
                needed: 1,
                available: 0
            })
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = Message::Ack2(Ack2 { states: BTreeMap::new() }).encode().unwrap();
        bytes.push(0);
        assert_eq!(Message::decode(&bytes), Err(DecodeError::TrailingBytes { count: 1 }));
    }

    #[test]
    fn duplicate_endpoints_are_refused() {
        let mut bytes = vec![1, 3, 0, 0, 0, 2];
        for _ in 0..2 {
            bytes.extend_from_slice(&[4, 10, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
        }
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::DuplicateEndpoint {
                endpoint: ep("10.0.0.1:1")
            })
        );
    }

    fn arb_endpoint() -> impl Strategy<Value = Endpoint> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(ip.into()), port)),
            (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(ip.into()), port)),
        ]
    }

    fn arb_digest() -> impl Strategy<Value = GossipDigest> {
        (arb_endpoint(), any::<i32>(), any::<i32>()).prop_map(|(endpoint, generation, max_version)| GossipDigest {
            endpoint,
            generation,
            max_version,
        })
    }

    fn arb_state() -> impl Strategy<Value = EndpointState> {
        (
            any::<i32>(),
            any::<i32>(),
            proptest::collection::btree_map(any::<u8>(), (".{0,20}", any::<i32>()), 0..6),
        )
            .prop_map(|(generation, version, entries)| EndpointState {
                heartbeat: HeartbeatState { generation, version },
                states: entries
                    .into_iter()
                    .map(|(code, (value, version))| (ApplicationState::from_code(code), VersionedValue { value, version }))
                    .collect(),
            })
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        let digests = || proptest::collection::vec(arb_digest(), 0..5);
        let states = || proptest::collection::btree_map(arb_endpoint(), arb_state(), 0..4);
        prop_oneof![
            (".{0,30}", digests()).prop_map(|(cluster_name, digests)| Message::Syn(Syn { cluster_name, digests })),
            (digests(), states()).prop_map(|(digests, states)| Message::Ack(Ack { digests, states })),
            states().prop_map(|states| Message::Ack2(Ack2 { states })),
        ]
    }

    proptest! {
        #[test]
        fn every_message_round_trips(message in arb_message()) {
            let bytes = message.encode().unwrap();
            prop_assert_eq!(Message::decode(&bytes).unwrap(), message);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn decoding_a_truncated_message_fails(message in arb_message(), cut in any::<proptest::sample::Index>()) {
            let bytes = message.encode().unwrap();
            let cut = cut.index(bytes.len());
            prop_assert!(Message::decode(&bytes[..cut]).is_err());
        }
    }
}
