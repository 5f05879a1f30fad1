//! Digest reads: the coordinator asks one replica for the data of a read and
//! the others only for a digest of theirs; equal digests mean the replicas agree,
//! so no data crosses the network twice. Pure: the digest of a replica's answer.
//!
//! The digest is FNV-1a (64-bit) over the postcard encoding of the answer after
//! reconciliation (each cell's newest version, tombstones kept), so replicas that
//! hold the same data in different stages of compaction agree. A mismatch only
//! costs a full read from each replica, with read repair.

use crate::storage::memory::MemoryEngine;
use crate::storage::{Mutation, ReadCommand, ReadLimits, StorageEngine, StorageError};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// The digest of a replica's raw answer to `command`.
pub fn digest(command: &ReadCommand, partitions: Vec<Mutation>) -> Result<u64, StorageError> {
    digest_of(&MemoryEngine::from_mutations(command.table, partitions), command)
}

/// The digest of an answer already merged into `engine`.
pub fn digest_of(engine: &MemoryEngine, command: &ReadCommand) -> Result<u64, StorageError> {
    let reconciled = engine.read_raw(command, ReadLimits::NONE)?;
    let bytes = postcard::to_stdvec(&reconciled).map_err(|e| StorageError::Engine { message: e.to_string() })?;
    Ok(fnv1a(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Cell, ColumnData, PartitionPosition, PartitionSelection, Row};
    use std::ops::Bound;
    use uuid::Uuid;

    fn write(ts: i64, value: &[u8]) -> Mutation {
        let mut m = Mutation::new(
            Uuid::from_u128(1),
            PartitionPosition {
                token: 5,
                key: b"k".to_vec(),
            },
        );
        let mut row = Row::default();
        row.columns
            .insert("v".into(), ColumnData::Simple(Cell::live(ts, value.to_vec(), 0, 0)));
        m.rows.push((vec![1], row));
        m
    }

    fn all() -> ReadCommand {
        ReadCommand {
            index: None,
            table: Uuid::from_u128(1),
            partitions: PartitionSelection::Tokens {
                start: Bound::Unbounded,
                end: Bound::Unbounded,
            },
            slices: vec![(Bound::Unbounded, Bound::Unbounded)],
            reversed: false,
            resume: None,
        }
    }

    #[test]
    fn replicas_with_the_same_newest_data_agree_and_a_stale_one_does_not() {
        let compacted = digest(&all(), vec![write(2, b"new")]).unwrap();
        let uncompacted = digest(&all(), vec![write(1, b"old"), write(2, b"new")]).unwrap();
        let stale = digest(&all(), vec![write(1, b"old")]).unwrap();
        assert_eq!(compacted, uncompacted, "older versions do not change the digest");
        assert_ne!(compacted, stale);
        assert_ne!(digest(&all(), Vec::new()).unwrap(), compacted);
    }

    #[test]
    fn fnv1a_matches_its_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }
}
