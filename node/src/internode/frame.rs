//! The internode wire format, version [`INTERNODE_VERSION`] (see
//! `docs/internode.md`): the hello each side sends when a connection opens, and
//! the frames that follow (`[u32 length][u64 request id][u8 kind][payload]`, all
//! big-endian). Pure byte functions over buffers: what a payload means is
//! `message`'s, and sockets are `connection`'s. Parsing checks every length
//! against a limit before allocating and never panics.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::peer_auth::NONCE_LEN;

/// The version of the handshake and frame layout described in `docs/internode.md`.
pub const INTERNODE_VERSION: u8 = 11;

/// The bytes every internode connection starts with, in both directions.
pub const MAGIC: [u8; 4] = *b"RSTI";

/// The largest frame accepted or sent (its length field, excluding itself).
pub const MAX_FRAME: usize = 64 << 20;

/// The longest cluster name a hello may carry.
pub const MAX_CLUSTER_NAME: usize = 1024;

/// Bytes of a frame before its payload: length, request id, kind.
pub const FRAME_HEADER_LEN: usize = 4 + 8 + 1;

const LENGTH_LEN: usize = 4;
const ADDRESS_V4: u8 = 4;
const ADDRESS_V6: u8 = 6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("connection does not start with the internode magic bytes (got {got:02x?})")]
    BadMagic { got: [u8; 4] },
    #[error("peer speaks internode version {version}, this node speaks {INTERNODE_VERSION}")]
    Version { version: u8 },
    #[error("cluster name of {length} bytes is over the {MAX_CLUSTER_NAME}-byte limit")]
    ClusterNameTooLong { length: usize },
    #[error("cluster name is not UTF-8")]
    ClusterNameNotUtf8,
    #[error("unknown address family {family} in a hello")]
    AddressFamily { family: u8 },
    #[error("frame of {length} bytes is over the {max}-byte limit")]
    TooLong { length: usize, max: usize },
    #[error("frame of {length} bytes is shorter than its {min}-byte header")]
    TooShort { length: usize, min: usize },
    #[error("unknown frame kind {kind}")]
    Kind { kind: u8 },
}

/// What a frame carries: a request from the connecting side, or the answer to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request = 0,
    Response = 1,
}

impl Kind {
    fn from_byte(kind: u8) -> Result<Kind, FrameError> {
        match kind {
            0 => Ok(Kind::Request),
            1 => Ok(Kind::Response),
            kind => Err(FrameError::Kind { kind }),
        }
    }
}

/// The first message in each direction: who is speaking, in which cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub version: u8,
    pub cluster_name: String,
    /// The sender's node address (what the receiver's handler sees as `from`).
    pub address: IpAddr,
    /// Fresh for every connection: the other side's proof signs it.
    pub nonce: [u8; NONCE_LEN],
}

impl Hello {
    /// A hello with a fresh nonce.
    pub fn new(cluster_name: &str, address: IpAddr) -> Hello {
        Hello {
            version: INTERNODE_VERSION,
            cluster_name: cluster_name.to_string(),
            address,
            nonce: crate::peer_auth::nonce(),
        }
    }

    /// `magic[4] version[1] name_length[u16] name[..] family[1] address[4|16] nonce[32]`.
    pub fn encode(&self) -> Vec<u8> {
        let name = self.cluster_name.as_bytes();
        let name = name.get(..MAX_CLUSTER_NAME).unwrap_or(name);
        let mut out = Vec::with_capacity(4 + 1 + 2 + name.len() + 1 + 16);
        out.extend_from_slice(&MAGIC);
        out.push(self.version);
        out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(name);
        match self.address {
            IpAddr::V4(a) => {
                out.push(ADDRESS_V4);
                out.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out.push(ADDRESS_V6);
                out.extend_from_slice(&a.octets());
            }
        }
        out.extend_from_slice(&self.nonce);
        out
    }

    /// A hello from the start of `buf` and the bytes it took; `Ok(None)` when
    /// more bytes are needed. A hello of another version is an error as soon as
    /// its version byte arrives: what follows it is that version's business.
    pub fn parse(buf: &[u8]) -> Result<Option<(Hello, usize)>, FrameError> {
        let mut cursor = Cursor { buf, at: 0 };
        let Some(magic) = cursor.take(4) else {
            return Ok(None);
        };
        let got: [u8; 4] = magic.try_into().unwrap_or_default();
        if got != MAGIC {
            return Err(FrameError::BadMagic { got });
        }
        let Some(version) = cursor.u8() else {
            return Ok(None);
        };
        if version != INTERNODE_VERSION {
            return Err(FrameError::Version { version });
        }
        let Some(length) = cursor.u16() else {
            return Ok(None);
        };
        let length = usize::from(length);
        if length > MAX_CLUSTER_NAME {
            return Err(FrameError::ClusterNameTooLong { length });
        }
        let Some(name) = cursor.take(length) else {
            return Ok(None);
        };
        let cluster_name = std::str::from_utf8(name).map_err(|_| FrameError::ClusterNameNotUtf8)?.to_string();
        let Some(family) = cursor.u8() else {
            return Ok(None);
        };
        let address = match family {
            ADDRESS_V4 => match cursor.take(4) {
                Some(b) => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).unwrap_or_default())),
                None => return Ok(None),
            },
            ADDRESS_V6 => match cursor.take(16) {
                Some(b) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap_or_default())),
                None => return Ok(None),
            },
            family => return Err(FrameError::AddressFamily { family }),
        };
        let Some(nonce) = cursor.take(NONCE_LEN) else {
            return Ok(None);
        };
        let hello = Hello {
            version,
            cluster_name,
            address,
            nonce: nonce.try_into().unwrap_or([0; NONCE_LEN]),
        };
        Ok(Some((hello, cursor.at)))
    }
}

/// One message after the hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub request_id: u64,
    pub kind: Kind,
    pub payload: Vec<u8>,
}

impl Frame {
    /// A frame's bytes with `payload` produced by `write` straight into the
    /// buffer (no copy), the length patched in afterwards.
    pub fn encode_with<E>(
        request_id: u64,
        kind: Kind,
        write: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, EncodeError<E>> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&[0; LENGTH_LEN]);
        out.extend_from_slice(&request_id.to_be_bytes());
        out.push(kind as u8);
        let mut out = write(out).map_err(EncodeError::Payload)?;
        let length = out.len() - LENGTH_LEN;
        if length > MAX_FRAME {
            return Err(EncodeError::TooLong { length, max: MAX_FRAME });
        }
        let length = u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes();
        if let Some(prefix) = out.get_mut(..LENGTH_LEN) {
            prefix.copy_from_slice(&length);
        }
        Ok(out)
    }

    pub fn encode(&self) -> Vec<u8> {
        Frame::encode_with(self.request_id, self.kind, |mut out| {
            out.extend_from_slice(&self.payload);
            Ok::<_, std::convert::Infallible>(out)
        })
        .unwrap_or_default()
    }

    /// The length of the frame at the start of `buf` when its length field has
    /// arrived, checked against the limit: lets a reader reserve once.
    pub fn peek_length(buf: &[u8]) -> Result<Option<usize>, FrameError> {
        let Some(prefix) = buf.get(..LENGTH_LEN) else {
            return Ok(None);
        };
        let length = usize::try_from(u32::from_be_bytes(prefix.try_into().unwrap_or_default())).unwrap_or(usize::MAX);
        if length > MAX_FRAME {
            return Err(FrameError::TooLong { length, max: MAX_FRAME });
        }
        let min = FRAME_HEADER_LEN - LENGTH_LEN;
        if length < min {
            return Err(FrameError::TooShort { length, min });
        }
        Ok(Some(LENGTH_LEN + length))
    }

    /// A frame from the start of `buf` and the bytes it took; `Ok(None)` when
    /// more bytes are needed.
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        let Some(total) = Frame::peek_length(buf)? else {
            return Ok(None);
        };
        let Some(bytes) = buf.get(..total) else {
            return Ok(None);
        };
        let mut cursor = Cursor {
            buf: bytes,
            at: LENGTH_LEN,
        };
        let request_id = cursor.u64().unwrap_or_default();
        let kind = Kind::from_byte(cursor.u8().unwrap_or(u8::MAX))?;
        let payload = bytes.get(FRAME_HEADER_LEN..).unwrap_or_default().to_vec();
        Ok(Some((Frame { request_id, kind, payload }, total)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError<E> {
    #[error("cannot encode a message: {0}")]
    Payload(E),
    #[error("message of {length} bytes is over the {max}-byte frame limit")]
    TooLong { length: usize, max: usize },
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_hello_round_trips_and_matches_its_golden_bytes() {
        let mut hello = Hello::new("ab", IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
        hello.nonce = [0xEE; NONCE_LEN];
        let bytes = hello.encode();
        let mut golden = b"RSTI\x0b\x00\x02ab\x04\x7f\x00\x00\x01".to_vec();
        golden.extend_from_slice(&[0xEE; NONCE_LEN]);
        assert_eq!(bytes, golden);
        assert_eq!(Hello::parse(&bytes), Ok(Some((hello.clone(), bytes.len()))));
        for cut in 0..bytes.len() {
            assert_eq!(Hello::parse(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        let v6 = Hello::new("", IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(Hello::parse(&v6.encode()).unwrap().unwrap().0, v6);
    }

    #[test]
    fn a_hello_of_another_version_or_magic_is_refused() {
        assert_eq!(Hello::parse(b"RSTI\x01whatever"), Err(FrameError::Version { version: 1 }));
        assert_eq!(Hello::parse(b"RSTI\x02whatever"), Err(FrameError::Version { version: 2 }));
        assert_eq!(Hello::parse(b"RSTI\x03whatever"), Err(FrameError::Version { version: 3 }));
        assert_eq!(Hello::parse(b"RSTI\x04whatever"), Err(FrameError::Version { version: 4 }));
        assert_eq!(Hello::parse(b"RSTI\x05whatever"), Err(FrameError::Version { version: 5 }));
        assert_eq!(Hello::parse(b"RSTI\x06whatever"), Err(FrameError::Version { version: 6 }));
        assert_eq!(Hello::parse(b"RSTI\x07whatever"), Err(FrameError::Version { version: 7 }));
        assert_eq!(Hello::parse(b"RSTI\x08whatever"), Err(FrameError::Version { version: 8 }));
        assert_eq!(Hello::parse(b"RSTI\x09whatever"), Err(FrameError::Version { version: 9 }));
        assert_eq!(Hello::parse(b"RSTI\x0awhatever"), Err(FrameError::Version { version: 10 }));
        assert_eq!(Hello::parse(b"RSTI\x0cwhatever"), Err(FrameError::Version { version: 12 }));
        assert_eq!(Hello::parse(b"GET / HTTP/1.1"), Err(FrameError::BadMagic { got: *b"GET " }));
        assert_eq!(Hello::parse(b"RSTI\x0b\x00\x00\x09"), Err(FrameError::AddressFamily { family: 9 }));
        assert_eq!(
            Hello::parse(b"RSTI\x0b\xff\xff"),
            Err(FrameError::ClusterNameTooLong { length: 65535 })
        );
    }

    #[test]
    fn a_frame_round_trips_and_matches_its_golden_bytes() {
        let frame = Frame {
            request_id: 0x0102,
            kind: Kind::Response,
            payload: vec![0xAA, 0xBB],
        };
        let bytes = frame.encode();
        assert_eq!(bytes, vec![0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0xAA, 0xBB]);
        assert_eq!(Frame::parse(&bytes), Ok(Some((frame, 15))));
        assert_eq!(Frame::parse(&bytes[..14]), Ok(None));
    }

    #[test]
    fn frame_lengths_are_checked_before_anything_is_read() {
        assert_eq!(
            Frame::parse(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(FrameError::TooLong {
                length: 0xFFFF_FFFF,
                max: MAX_FRAME
            })
        );
        assert_eq!(
            Frame::parse(&[0, 0, 0, 3, 0, 0, 0]),
            Err(FrameError::TooShort { length: 3, min: 9 })
        );
        assert_eq!(
            Frame::parse(&[0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 7]),
            Err(FrameError::Kind { kind: 7 })
        );
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Frame::parse(&bytes);
            let _ = Hello::parse(&bytes);
        }

        #[test]
        fn frames_round_trip(request_id in any::<u64>(), response in any::<bool>(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let frame = Frame { request_id, kind: if response { Kind::Response } else { Kind::Request }, payload };
            let bytes = frame.encode();
            prop_assert_eq!(Frame::parse(&bytes), Ok(Some((frame, bytes.len()))));
        }
    }
}
