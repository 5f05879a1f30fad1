//! A stream chunk: the content of one table over part of a token range, as
//! a replica's `read_raw` gives it, postcard-encoded and CRC-32 checked. The
//! receiver refuses a chunk of another version, a checksum that does not
//! match, or bytes that do not decode, so a corrupted transfer is retried and
//! never applied.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::storage::Mutation;

/// The chunk format this build writes and reads.
pub const CHUNK_VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamChunk {
    pub version: u8,
    pub table: Uuid,
    /// Rows in the chunk (a partition without rows counts one), for progress.
    pub rows: u32,
    /// The postcard encoding of the chunk's `Vec<Mutation>`.
    pub data: Vec<u8>,
    /// CRC-32 (IEEE) of `data`.
    pub crc32: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("stream chunk version {got} is not {CHUNK_VERSION}")]
    Version { got: u8 },
    #[error("stream chunk checksum mismatch: computed {computed:08x}, sent {sent:08x}")]
    Checksum { computed: u32, sent: u32 },
    #[error("stream chunk does not decode: {0}")]
    Malformed(String),
    #[error("stream chunk for table {chunk} holds a mutation of table {mutation}")]
    WrongTable { chunk: Uuid, mutation: Uuid },
}

/// Rows as `read_raw` counts them against its limit.
pub fn row_count(partitions: &[Mutation]) -> usize {
    partitions.iter().map(|m| m.rows.len().max(1)).sum()
}

pub fn encode(table: Uuid, partitions: &[Mutation]) -> Result<StreamChunk, ChunkError> {
    let data = postcard::to_stdvec(partitions).map_err(|e| ChunkError::Malformed(e.to_string()))?;
    Ok(StreamChunk {
        version: CHUNK_VERSION,
        table,
        rows: u32::try_from(row_count(partitions)).unwrap_or(u32::MAX),
        crc32: crc32fast::hash(&data),
        data,
    })
}

/// The chunk's mutations, once its version, checksum and table check out.
pub fn decode(chunk: &StreamChunk) -> Result<Vec<Mutation>, ChunkError> {
    if chunk.version != CHUNK_VERSION {
        return Err(ChunkError::Version { got: chunk.version });
    }
    let computed = crc32fast::hash(&chunk.data);
    if computed != chunk.crc32 {
        return Err(ChunkError::Checksum {
            computed,
            sent: chunk.crc32,
        });
    }
    let partitions: Vec<Mutation> = crate::internode::message::decode(&chunk.data).map_err(|e| ChunkError::Malformed(e.to_string()))?;
    if let Some(m) = partitions.iter().find(|m| m.table != chunk.table) {
        return Err(ChunkError::WrongTable {
            chunk: chunk.table,
            mutation: m.table,
        });
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Cell, PartitionPosition, Row};

    fn partition(table: Uuid, token: i64, rows: usize) -> Mutation {
        let mut m = Mutation::new(
            table,
            PartitionPosition {
                token,
                key: token.to_be_bytes().to_vec(),
            },
        );
        for r in 0..rows {
            m.rows.push((
                vec![r as u8],
                Row {
                    marker: Some(Cell::live(1, Vec::new(), 0, 0)),
                    ..Row::default()
                },
            ));
        }
        m
    }

    #[test]
    fn a_chunk_round_trips_and_counts_its_rows() {
        let t = Uuid::from_u128(3);
        let partitions = vec![partition(t, 1, 2), partition(t, 5, 0)];
        let chunk = encode(t, &partitions).unwrap();
        assert_eq!(chunk.rows, 3);
        assert_eq!(decode(&chunk).unwrap(), partitions);
    }

    #[test]
    fn a_damaged_chunk_is_refused_and_never_decoded() {
        let t = Uuid::from_u128(3);
        let chunk = encode(t, &[partition(t, 1, 1)]).unwrap();
        let mut flipped = chunk.clone();
        flipped.data[0] ^= 1;
        assert!(matches!(decode(&flipped), Err(ChunkError::Checksum { .. })));
        let mut newer = chunk.clone();
        newer.version = 9;
        assert_eq!(decode(&newer), Err(ChunkError::Version { got: 9 }));
        let mut other = chunk.clone();
        other.table = Uuid::from_u128(4);
        assert!(matches!(decode(&other), Err(ChunkError::WrongTable { .. })));
        let mut garbage = chunk;
        garbage.data = vec![0xff; 7];
        garbage.crc32 = crc32fast::hash(&garbage.data);
        assert!(matches!(decode(&garbage), Err(ChunkError::Malformed(_))));
    }
}
