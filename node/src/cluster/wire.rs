//! Frames between nodes on the gossip port: `[u32 length][u8 version][u8 kind]
//! [sender gossip address][payload]`, big-endian. The address is `[u8 4|6][4 or
//! 16 bytes][u16 port]`. Kinds: 0 a gossip message (the gossip crate's codec),
//! 1 a schema pull (no payload), 2 schema events (`schema_events::encode`).
//! Decoding checks every length and never panics; a bad frame is dropped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const WIRE_VERSION: u8 = 1;
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
}

/// The complete frame, length prefix included.
pub fn encode(frame: &Frame) -> Vec<u8> {
    let mut body = vec![WIRE_VERSION, frame.kind as u8];
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

/// Decodes a frame body (what follows the length prefix).
pub fn decode(body: &[u8]) -> Result<Frame, WireError> {
    let mut r = body;
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
    Ok(Frame {
        kind,
        sender: SocketAddr::new(ip, u16::from_be_bytes(port)),
        payload: r.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_frame_has_the_documented_bytes() {
        let f = Frame {
            kind: Kind::SchemaPull,
            sender: "127.0.0.2:9044".parse().unwrap(),
            payload: vec![],
        };
        assert_eq!(encode(&f), vec![0, 0, 0, 9, 1, 1, 4, 127, 0, 0, 2, 0x23, 0x54]);
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
        assert_eq!(decode(&[9, 0]), Err(WireError::Version { version: 9 }));
    }

    proptest! {
        #[test]
        fn frames_round_trip(kind in 0u8..3, a: [u8; 4], port: u16, payload: Vec<u8>) {
            let kind = match kind { 0 => Kind::Gossip, 1 => Kind::SchemaPull, _ => Kind::SchemaEvents };
            let f = Frame { kind, sender: SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port), payload };
            let bytes = encode(&f);
            prop_assert_eq!(decode(&bytes[4..]).unwrap(), f);
        }

        #[test]
        fn random_bytes_never_panic_the_decoder(bytes: Vec<u8>) {
            let _ = decode(&bytes);
        }
    }
}
