//! Frames between nodes on the gossip port: `[u32 length][u8 version][u8 kind]
//! [u16 cluster name length][cluster name][sender gossip address][payload]
//! [32-byte tag]`, big-endian. The address is `[u8 4|6][4 or 16 bytes][u16
//! port]`. The tag is the HMAC of everything between the length and the tag under
//! the cluster secret (`peer_auth`; zeros when the cluster runs without one).
//! Kinds: 0 a gossip message (the gossip crate's codec), 1 a schema pull (no
//! payload), 2 schema events (`schema_events::encode`). Decoding checks every
//! length, the cluster name and the tag, and never panics; a bad frame is dropped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::peer_auth::{PeerAuth, Purpose, TAG_LEN};

pub const WIRE_VERSION: u8 = 2;
/// The longest cluster name a frame may carry.
const MAX_CLUSTER_NAME: usize = 1024;
/// Frames above this are refused before their body is read.
pub const MAX_FRAME: u32 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gossip = 0,
    SchemaPull = 1,
    SchemaEvents = 2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub sender: SocketAddr,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("internode frame of {length} bytes is over the {max}-byte limit")]
    TooLong { length: u32, max: u32 },
    #[error("internode frame version {version} is not supported (this node speaks {WIRE_VERSION})")]
    Version { version: u8 },
    #[error("unknown internode frame kind {kind}")]
    UnknownKind { kind: u8 },
    #[error("internode frame truncated while reading {what}")]
    Truncated { what: &'static str },
    #[error("bad address family {family} in an internode frame")]
    AddressFamily { family: u8 },
    #[error("a frame from cluster {theirs:?}, not this node's {ours:?}")]
    Cluster { theirs: String, ours: String },
    #[error("a frame without a valid tag: the sender does not hold this cluster's secret")]
    Tag,
}

/// The complete frame, length prefix included, tagged under `auth`.
pub fn encode(frame: &Frame, auth: &PeerAuth) -> Vec<u8> {
    let mut body = vec![WIRE_VERSION, frame.kind as u8];
    let name = auth.cluster_name.as_bytes();
    let name = name.get(..MAX_CLUSTER_NAME).unwrap_or(name);
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name);
    match frame.sender.ip() {
        IpAddr::V4(a) => {
            body.push(4);
            body.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            body.push(6);
            body.extend_from_slice(&a.octets());
        }
    }
    body.extend_from_slice(&frame.sender.port().to_be_bytes());
    body.extend_from_slice(&frame.payload);
    let tag = auth.tag(Purpose::Gossip, &[&body]);
    body.extend_from_slice(&tag);
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Checks a frame's declared length.
pub fn check_length(length: u32) -> Result<usize, WireError> {
    if length > MAX_FRAME {
        return Err(WireError::TooLong { length, max: MAX_FRAME });
    }
    Ok(length as usize)
}

/// Decodes a frame body (what follows the length prefix) of this node's
/// cluster whose tag `auth` accepts.
pub fn decode(body: &[u8], auth: &PeerAuth) -> Result<Frame, WireError> {
    let Some(signed_len) = body.len().checked_sub(TAG_LEN) else {
        return Err(WireError::Truncated { what: "tag" });
    };
    let (signed, tag) = body.split_at(signed_len);
    let mut r = signed;
    let mut take = |n: usize, what: &'static str| -> Result<&[u8], WireError> {
        if r.len() < n {
            return Err(WireError::Truncated { what });
        }
        let (head, tail) = r.split_at(n);
        r = tail;
        Ok(head)
    };
    let header = take(2, "header")?;
    let (version, kind) = match header {
        [v, k] => (*v, *k),
        _ => return Err(WireError::Truncated { what: "header" }),
    };
    if version != WIRE_VERSION {
        return Err(WireError::Version { version });
    }
    let kind = match kind {
        0 => Kind::Gossip,
        1 => Kind::SchemaPull,
        2 => Kind::SchemaEvents,
        k => return Err(WireError::UnknownKind { kind: k }),
    };
    let name_len: [u8; 2] = take(2, "cluster name length")?.try_into().map_err(|_| WireError::Truncated {
        what: "cluster name length",
    })?;
    let name = take(usize::from(u16::from_be_bytes(name_len)), "cluster name")?;
    if name != auth.cluster_name.as_bytes() {
        return Err(WireError::Cluster {
            theirs: String::from_utf8_lossy(name).into_owned(),
            ours: auth.cluster_name.clone(),
        });
    }
    let ip = match take(1, "address family")? {
        [4] => {
            let b: [u8; 4] = take(4, "IPv4 address")?
                .try_into()
                .map_err(|_| WireError::Truncated { what: "IPv4 address" })?;
            IpAddr::V4(Ipv4Addr::from(b))
        }
        [6] => {
            let b: [u8; 16] = take(16, "IPv6 address")?
                .try_into()
                .map_err(|_| WireError::Truncated { what: "IPv6 address" })?;
            IpAddr::V6(Ipv6Addr::from(b))
        }
        [f] => return Err(WireError::AddressFamily { family: *f }),
        _ => return Err(WireError::Truncated { what: "address family" }),
    };
    let port: [u8; 2] = take(2, "port")?.try_into().map_err(|_| WireError::Truncated { what: "port" })?;
    if !auth.accepts(Purpose::Gossip, &[signed], tag) {
        return Err(WireError::Tag);
    }
    Ok(Frame {
        kind,
        sender: SocketAddr::new(ip, u16::from_be_bytes(port)),
        payload: r.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer_auth::ClusterSecret;
    use proptest::prelude::*;

    fn open() -> PeerAuth {
        PeerAuth::new("ab", None)
    }

    fn sealed(secret: &str) -> PeerAuth {
        PeerAuth::new("ab", Some(ClusterSecret::new(secret).unwrap()))
    }

    fn pull() -> Frame {
        Frame {
            kind: Kind::SchemaPull,
            sender: "127.0.0.2:9044".parse().unwrap(),
            payload: vec![],
        }
    }

    #[test]
    fn a_frame_has_the_documented_bytes() {
        let mut golden = vec![0, 0, 0, 45, 2, 1, 0, 2, b'a', b'b', 4, 127, 0, 0, 2, 0x23, 0x54];
        golden.extend_from_slice(&[0; TAG_LEN]);
        assert_eq!(encode(&pull(), &open()), golden);
    }

    #[test]
    fn a_frame_of_another_cluster_or_without_the_secret_is_refused() {
        let bytes = encode(&pull(), &open());
        assert_eq!(decode(&bytes[4..], &open()), Ok(pull()));
        assert!(matches!(
            decode(&bytes[4..], &PeerAuth::new("other", None)),
            Err(WireError::Cluster { .. })
        ));
        let member = sealed("the secret of cluster ab");
        assert_eq!(decode(&bytes[4..], &member), Err(WireError::Tag), "no tag");
        let forged = encode(&pull(), &sealed("a guess at the secret"));
        assert_eq!(decode(&forged[4..], &member), Err(WireError::Tag), "another secret");
        let signed = encode(&pull(), &member);
        assert_eq!(decode(&signed[4..], &member), Ok(pull()));
        let mut tampered = signed.clone();
        tampered[14] = 3; // the sender's address
        assert_eq!(decode(&tampered[4..], &member), Err(WireError::Tag), "a changed sender");
    }

    #[test]
    fn an_oversized_length_is_refused() {
        assert_eq!(
            check_length(MAX_FRAME + 1),
            Err(WireError::TooLong {
                length: MAX_FRAME + 1,
                max: MAX_FRAME
            })
        );
    }

    #[test]
    fn another_version_is_refused() {
        let mut body = vec![9, 0];
        body.extend_from_slice(&[0; TAG_LEN]);
        assert_eq!(decode(&body, &open()), Err(WireError::Version { version: 9 }));
    }

    proptest! {
        #[test]
        fn frames_round_trip(kind in 0u8..3, a: [u8; 4], port: u16, payload: Vec<u8>) {
            let kind = match kind { 0 => Kind::Gossip, 1 => Kind::SchemaPull, _ => Kind::SchemaEvents };
            let f = Frame { kind, sender: SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port), payload };
            let auth = sealed("0123456789abcdef");
            let bytes = encode(&f, &auth);
            prop_assert_eq!(decode(&bytes[4..], &auth).unwrap(), f);
        }

        #[test]
        fn random_bytes_never_panic_the_decoder(bytes: Vec<u8>) {
            let _ = decode(&bytes, &open());
        }
    }
}
