//! The byte format of a hint file (`docs/storage-format.md`, "Hint files"): a
//! header, then records appended one by one, each checksummed so that a torn
//! tail (the node died mid-append) or a damaged record is found on replay and
//! the rest of the file skipped. Pure: `hint_store` does the I/O.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::storage::Mutation;

/// `RHNT` then the version byte.
pub const MAGIC: [u8; 4] = *b"RHNT";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 5;

/// The largest record a file may hold: the internode frame limit, since a
/// bigger hint could never be sent.
pub const MAX_HINT_BYTES: usize = 64 << 20;

/// One stored hint: when it was written (milliseconds since the epoch, for
/// its TTL) and the mutation the target missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub created_at: i64,
    pub mutation: Mutation,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HintFileError {
    #[error("not a hint file (magic {got:?})")]
    BadMagic { got: Vec<u8> },
    #[error("hint file version {version}, this node reads version {VERSION}")]
    UnknownVersion { version: u8 },
    #[error("cannot encode a hint: {message}")]
    Encode { message: String },
    #[error("a hint of {length} bytes is over the limit of {MAX_HINT_BYTES}")]
    TooLong { length: usize },
}

pub fn header() -> [u8; HEADER_LEN] {
    let [a, b, c, d] = MAGIC;
    [a, b, c, d, VERSION]
}

/// One record: `length u32, crc32(length) u32, payload, crc32(payload) u32`,
/// the payload `created_at i64` then the postcard mutation.
pub fn encode(hint: &Hint) -> Result<Vec<u8>, HintFileError> {
    let payload = postcard::to_extend(&hint.mutation, hint.created_at.to_be_bytes().to_vec())
        .map_err(|e| HintFileError::Encode { message: e.to_string() })?;
    if payload.len() > MAX_HINT_BYTES {
        return Err(HintFileError::TooLong { length: payload.len() });
    }
    let length = (payload.len() as u32).to_be_bytes();
    let mut out = Vec::with_capacity(payload.len() + 12);
    out.extend_from_slice(&length);
    out.extend_from_slice(&crc32fast::hash(&length).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
    Ok(out)
}

/// What a file holds: its whole records, and why reading stopped early (a
/// torn tail or a damaged record), if it did.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    pub hints: Vec<Hint>,
    pub stopped: Option<String>,
}

/// Reads a whole file's bytes. A bad header is an error; a bad record ends
/// the read there (`Decoded::stopped`): nothing after it can be trusted.
pub fn decode(bytes: &[u8]) -> Result<Decoded, HintFileError> {
    let (header, mut rest) = bytes
        .split_at_checked(HEADER_LEN)
        .ok_or_else(|| HintFileError::BadMagic { got: bytes.to_vec() })?;
    let (magic, version) = header.split_at(4);
    if magic != MAGIC {
        return Err(HintFileError::BadMagic { got: magic.to_vec() });
    }
    if version != [VERSION] {
        return Err(HintFileError::UnknownVersion {
            version: version.first().copied().unwrap_or_default(),
        });
    }
    let mut hints = Vec::new();
    let mut offset = HEADER_LEN;
    while !rest.is_empty() {
        match record(rest) {
            Ok((hint, used)) => {
                hints.push(hint);
                rest = rest.get(used..).unwrap_or_default();
                offset += used;
            }
            Err(why) => {
                return Ok(Decoded {
                    hints,
                    stopped: Some(format!("{why} at byte {offset}")),
                })
            }
        }
    }
    Ok(Decoded { hints, stopped: None })
}

fn record(bytes: &[u8]) -> Result<(Hint, usize), String> {
    let u32_at = |at: usize| -> Option<u32> { bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes) };
    let (Some(length), Some(length_crc)) = (u32_at(0), u32_at(4)) else {
        return Err("a torn record header".into());
    };
    if crc32fast::hash(&length.to_be_bytes()) != length_crc {
        return Err("a record length that fails its checksum".into());
    }
    let length = length as usize;
    if length > MAX_HINT_BYTES {
        return Err(format!("a record of {length} bytes, over the limit"));
    }
    let (Some(payload), Some(crc)) = (bytes.get(8..8 + length), u32_at(8 + length)) else {
        return Err("a torn record".into());
    };
    if crc32fast::hash(payload) != crc {
        return Err("a record that fails its checksum".into());
    }
    let (created, mutation) = payload.split_at_checked(8).ok_or("a record too short for its time")?;
    let created_at = i64::from_be_bytes(created.try_into().map_err(|_| "a record too short for its time")?);
    let mutation = postcard::from_bytes(mutation).map_err(|e| format!("a record whose mutation does not decode ({e})"))?;
    Ok((Hint { created_at, mutation }, 12 + length))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::storage::PartitionPosition;

    fn hint(i: u8) -> Hint {
        Hint {
            created_at: 1_700_000_000_000 + i64::from(i),
            mutation: Mutation::new(
                Uuid::from_u128(u128::from(i)),
                PartitionPosition {
                    token: i64::from(i),
                    key: vec![i; 3],
                },
            ),
        }
    }

    fn file(hints: &[Hint]) -> Vec<u8> {
        let mut out = header().to_vec();
        for h in hints {
            out.extend(encode(h).unwrap());
        }
        out
    }

    #[test]
    fn hints_round_trip_through_a_file() {
        let hints = [hint(1), hint(2), hint(3)];
        assert_eq!(
            decode(&file(&hints)).unwrap(),
            Decoded {
                hints: hints.to_vec(),
                stopped: None
            }
        );
    }

    #[test]
    fn a_torn_tail_is_skipped_and_the_whole_records_before_it_kept() {
        let whole = file(&[hint(1), hint(2)]);
        for cut in 1..encode(&hint(2)).unwrap().len() {
            let decoded = decode(&whole[..whole.len() - cut]).unwrap();
            assert_eq!(decoded.hints, vec![hint(1)], "cut {cut}");
            assert!(decoded.stopped.is_some(), "cut {cut}");
        }
    }

    #[test]
    fn a_damaged_record_ends_the_read() {
        let mut bytes = file(&[hint(1), hint(2), hint(3)]);
        let second = HEADER_LEN + encode(&hint(1)).unwrap().len();
        bytes[second + 10] ^= 0xFF;
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.hints, vec![hint(1)]);
        assert_eq!(decoded.stopped, Some(format!("a record that fails its checksum at byte {second}")));
    }

    #[test]
    fn another_version_or_magic_is_refused() {
        assert_eq!(decode(b"RHNT\x02"), Err(HintFileError::UnknownVersion { version: 2 }));
        assert_eq!(decode(b"XXXX\x01"), Err(HintFileError::BadMagic { got: b"XXXX".to_vec() }));
        assert_eq!(decode(b"RH"), Err(HintFileError::BadMagic { got: b"RH".to_vec() }));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut with_header = header().to_vec();
            with_header.extend(&bytes);
            let _ = decode(&bytes);
            let _ = decode(&with_header);
        }
    }
}
