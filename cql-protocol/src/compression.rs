//! Frame body compression, as protocol v4 negotiates it: a client names an
//! algorithm in STARTUP's COMPRESSION option, and from then on every frame but
//! the STARTUP itself may carry the COMPRESSION flag, its body compressed. LZ4
//! bodies are a 4-byte big-endian uncompressed length and an LZ4 block; Snappy
//! bodies are a raw Snappy block (which states its own length). Decompression
//! checks the stated length against a limit, and against what a block of its
//! size can expand to, before allocating.

use crate::error::DecodeError;
use crate::frame::{FrameHeader, FLAG_COMPRESSION, HEADER_LEN};

/// An algorithm a client may ask for in STARTUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Snappy,
}

impl Compression {
    /// What SUPPORTED lists under COMPRESSION.
    pub const NAMES: [&'static str; 2] = ["lz4", "snappy"];

    /// The algorithm STARTUP names (case-insensitive), if it is one of ours.
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "lz4" => Some(Compression::Lz4),
            "snappy" => Some(Compression::Snappy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Lz4 => "lz4",
            Compression::Snappy => "snappy",
        }
    }

    /// The most bytes one compressed byte can stand for: an LZ4 match-length
    /// byte adds at most 255 bytes; a 3-byte Snappy copy writes at most 64.
    fn max_expansion(self) -> usize {
        match self {
            Compression::Lz4 => 255,
            Compression::Snappy => 22,
        }
    }

    pub fn compress(self, body: &[u8]) -> Vec<u8> {
        match self {
            Compression::Lz4 => {
                let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
                let mut out = length.to_be_bytes().to_vec();
                out.extend_from_slice(&lz4_flex::block::compress(body));
                out
            }
            // Encoding a slice into a vector fails only past snap's 4 GiB limit,
            // which no frame reaches (frame lengths are checked first).
            Compression::Snappy => snap::raw::Encoder::new().compress_vec(body).unwrap_or_default(),
        }
    }

    /// The body `compressed` stands for; an error when it is malformed or would
    /// be longer than `max_len` (checked before anything is allocated).
    pub fn decompress(self, compressed: &[u8], max_len: usize) -> Result<Vec<u8>, DecodeError> {
        let malformed = |reason: String| DecodeError::Decompression {
            algorithm: self.name(),
            reason,
        };
        let (length, block) = match self {
            Compression::Lz4 => {
                let (head, block) = compressed
                    .split_first_chunk::<4>()
                    .ok_or_else(|| malformed("shorter than its length prefix".into()))?;
                (u32::from_be_bytes(*head) as usize, block)
            }
            Compression::Snappy => (
                snap::raw::decompress_len(compressed).map_err(|e| malformed(e.to_string()))?,
                compressed,
            ),
        };
        if length > max_len {
            return Err(DecodeError::TooLong {
                what: "decompressed frame body",
                length: length as u64,
                max: max_len as u64,
            });
        }
        // The decompressors allocate the stated length up front: a short body
        // stating a long one would cost that memory before failing.
        let most = block.len().saturating_mul(self.max_expansion());
        if length > most {
            return Err(malformed(format!(
                "states {length} bytes, more than a {}-byte block can hold",
                block.len()
            )));
        }
        let body = match self {
            Compression::Lz4 => lz4_flex::block::decompress(block, length).map_err(|e| malformed(e.to_string()))?,
            Compression::Snappy => snap::raw::Decoder::new()
                .decompress_vec(block)
                .map_err(|e| malformed(e.to_string()))?,
        };
        if body.len() != length {
            return Err(malformed(format!("{} bytes where {length} were stated", body.len())));
        }
        Ok(body)
    }
}

/// Compresses the body of an encoded frame in place of the plain one: sets
/// the COMPRESSION flag and the new length in its header.
pub fn compress_frame(frame: &[u8], compression: Compression) -> Vec<u8> {
    let (Ok(mut header), Some(body)) = (FrameHeader::decode(frame), frame.get(HEADER_LEN..)) else {
        return frame.to_vec();
    };
    let compressed = compression.compress(body);
    header.flags |= FLAG_COMPRESSION;
    header.length = u32::try_from(compressed.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + compressed.len());
    header.encode(&mut out);
    out.extend_from_slice(&compressed);
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const BOTH: [Compression; 2] = [Compression::Lz4, Compression::Snappy];

    proptest! {
        #[test]
        fn every_body_survives_compression(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
            for c in BOTH {
                prop_assert_eq!(c.decompress(&c.compress(&body), 1 << 20)?, body.clone());
            }
        }

        #[test]
        fn decompressing_garbage_is_an_error_not_a_panic(garbage in proptest::collection::vec(any::<u8>(), 0..512)) {
            for c in BOTH {
                let _ = c.decompress(&garbage, 1 << 16);
            }
        }
    }

    #[test]
    fn a_stated_length_over_the_limit_is_refused_before_allocating() {
        let body = vec![7u8; 10_000];
        for c in BOTH {
            let err = c.decompress(&c.compress(&body), 9_999).unwrap_err();
            assert_eq!(
                err,
                DecodeError::TooLong {
                    what: "decompressed frame body",
                    length: 10_000,
                    max: 9_999
                }
            );
        }
        let lies = [0xFF, 0xFF, 0xFF, 0xFF, 0x00];
        assert!(matches!(
            Compression::Lz4.decompress(&lies, 1 << 20),
            Err(DecodeError::TooLong { length: 4_294_967_295, .. })
        ));
    }

    #[test]
    fn a_short_body_stating_a_long_one_is_refused_before_allocating() {
        // Inputs the fuzzer found (targets cql-lz4 and cql-snappy, seed 1): 5 MiB
        // stated by a 2-byte LZ4 block, 16 MiB by a 4-byte Snappy body; within
        // the frame limit, far beyond what the blocks can expand to.
        let lz4 = [0x00, 0x4f, 0x00, 0x04, 0x20, 0x00];
        let snappy = [0xff, 0xff, 0xff, 0x07];
        assert_eq!(
            Compression::Lz4.decompress(&lz4, 256 << 20),
            Err(DecodeError::Decompression {
                algorithm: "lz4",
                reason: "states 5177348 bytes, more than a 2-byte block can hold".into()
            })
        );
        assert_eq!(
            Compression::Snappy.decompress(&snappy, 256 << 20),
            Err(DecodeError::Decompression {
                algorithm: "snappy",
                reason: "states 16777215 bytes, more than a 4-byte block can hold".into()
            })
        );
        let body = vec![0u8; 100_000];
        for c in BOTH {
            assert_eq!(
                c.decompress(&c.compress(&body), 1 << 20).unwrap(),
                body,
                "{}: a real ratio passes",
                c.name()
            );
        }
    }

    #[test]
    fn the_lz4_body_starts_with_its_big_endian_length() {
        let out = Compression::Lz4.compress(b"hello hello hello");
        assert_eq!(out.get(..4), Some(&[0, 0, 0, 17][..]));
    }

    #[test]
    fn a_compressed_frame_carries_the_flag_and_its_new_length() {
        let mut frame = Vec::new();
        FrameHeader {
            version: 0x84,
            flags: 0,
            stream: 3,
            opcode: 0x08,
            length: 1000,
        }
        .encode(&mut frame);
        frame.extend(std::iter::repeat_n(b'a', 1000));
        let out = compress_frame(&frame, Compression::Snappy);
        let header = FrameHeader::decode(&out).unwrap();
        assert_eq!((header.flags & FLAG_COMPRESSION, header.stream), (FLAG_COMPRESSION, 3));
        assert_eq!(header.length as usize, out.len() - HEADER_LEN);
        assert_eq!(Compression::Snappy.decompress(&out[HEADER_LEN..], 1000).unwrap(), vec![b'a'; 1000]);
    }

    #[test]
    fn names_are_matched_without_case() {
        assert_eq!(Compression::from_name("LZ4"), Some(Compression::Lz4));
        assert_eq!(Compression::from_name("snappy"), Some(Compression::Snappy));
        assert_eq!(Compression::from_name("zstd"), None);
    }
}
