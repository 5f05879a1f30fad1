//! The value of one durable entry (format version `layout::LAYOUT_VERSION`, see
//! `docs/storage-format.md`): a live cell (value, TTL, expiry) or a tombstone
//! (local deletion time). Keys are `layout`'s. Decoding checks every length and
//! never panics.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::layout::LAYOUT_VERSION;
use crate::storage::{Cell, DeletionTime};

const KIND_LIVE: u8 = 0x00;
const KIND_TOMBSTONE: u8 = 0x01;

/// Bytes before the cell value: version, kind, ttl, expires_at, local_deletion_time.
pub const HEADER_LEN: usize = 1 + 1 + 4 + 8 + 8;

/// One entry's value. The timestamp lives in the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryValue {
    Live { ttl: i32, expires_at: i64, value: Vec<u8> },
    Tombstone { local_deletion_time: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("entry value of {len} bytes is shorter than its {HEADER_LEN}-byte header")]
    Truncated { len: usize },
    #[error("entry value has format version {version}, this build reads {LAYOUT_VERSION}")]
    Version { version: u8 },
    #[error("entry value has unknown kind {kind}")]
    Kind { kind: u8 },
}

impl EntryValue {
    pub fn from_cell(cell: &Cell, now: i64) -> EntryValue {
        match &cell.value {
            Some(value) => EntryValue::Live {
                ttl: cell.ttl,
                expires_at: cell.expires_at,
                value: value.clone(),
            },
            None => EntryValue::Tombstone { local_deletion_time: now },
        }
    }

    pub fn from_deletion(deletion: DeletionTime) -> EntryValue {
        EntryValue::Tombstone {
            local_deletion_time: deletion.local_deletion_time,
        }
    }

    pub fn into_cell(self, timestamp: i64) -> Cell {
        match self {
            EntryValue::Live { ttl, expires_at, value } => Cell {
                timestamp,
                value: Some(value),
                ttl,
                expires_at,
            },
            EntryValue::Tombstone { .. } => Cell::tombstone(timestamp),
        }
    }

    pub fn deletion(&self, timestamp: i64) -> DeletionTime {
        DeletionTime {
            timestamp,
            local_deletion_time: match self {
                EntryValue::Tombstone { local_deletion_time } => *local_deletion_time,
                EntryValue::Live { expires_at, .. } => *expires_at,
            },
        }
    }

    /// When a tombstone or an expired cell stops hiding nothing but itself:
    /// the local deletion time, or the expiry. None for a cell that never expires.
    pub fn purgeable_from(&self) -> Option<i64> {
        match self {
            EntryValue::Tombstone { local_deletion_time } => Some(*local_deletion_time),
            EntryValue::Live { expires_at, .. } => (*expires_at != 0).then_some(*expires_at),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let (kind, ttl, expires_at, ldt, value): (u8, i32, i64, i64, &[u8]) = match self {
            EntryValue::Live { ttl, expires_at, value } => (KIND_LIVE, *ttl, *expires_at, 0, value),
            EntryValue::Tombstone { local_deletion_time } => (KIND_TOMBSTONE, 0, 0, *local_deletion_time, &[]),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + value.len());
        out.push(LAYOUT_VERSION);
        out.push(kind);
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&expires_at.to_be_bytes());
        out.extend_from_slice(&ldt.to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<EntryValue, CodecError> {
        let Some((header, value)) = bytes.split_at_checked(HEADER_LEN) else {
            return Err(CodecError::Truncated { len: bytes.len() });
        };
        let [version, kind, t0, t1, t2, t3, e0, e1, e2, e3, e4, e5, e6, e7, l0, l1, l2, l3, l4, l5, l6, l7] = *header else {
            return Err(CodecError::Truncated { len: bytes.len() });
        };
        if version != LAYOUT_VERSION {
            return Err(CodecError::Version { version });
        }
        match kind {
            KIND_LIVE => Ok(EntryValue::Live {
                ttl: i32::from_be_bytes([t0, t1, t2, t3]),
                expires_at: i64::from_be_bytes([e0, e1, e2, e3, e4, e5, e6, e7]),
                value: value.to_vec(),
            }),
            KIND_TOMBSTONE => Ok(EntryValue::Tombstone {
                local_deletion_time: i64::from_be_bytes([l0, l1, l2, l3, l4, l5, l6, l7]),
            }),
            kind => Err(CodecError::Kind { kind }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_live_cell_and_a_tombstone_round_trip() {
        for v in [
            EntryValue::Live {
                ttl: 30,
                expires_at: 1_700_000_030,
                value: b"abc".to_vec(),
            },
            EntryValue::Live {
                ttl: 0,
                expires_at: 0,
                value: Vec::new(),
            },
            EntryValue::Tombstone {
                local_deletion_time: 1_700_000_000,
            },
        ] {
            assert_eq!(EntryValue::decode(&v.encode()), Ok(v.clone()));
        }
    }

    #[test]
    fn the_value_header_has_the_documented_bytes() {
        let v = EntryValue::Live {
            ttl: 1,
            expires_at: 2,
            value: vec![0xAB],
        };
        assert_eq!(
            v.encode(),
            vec![1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0xAB]
        );
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let mut bytes = EntryValue::Tombstone { local_deletion_time: 1 }.encode();
        bytes[0] = 9;
        assert_eq!(EntryValue::decode(&bytes), Err(CodecError::Version { version: 9 }));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = EntryValue::decode(&bytes);
        }
    }
}
