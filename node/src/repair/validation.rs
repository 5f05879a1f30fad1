//! The replica's side of a repair (`Verb::Validate`): the Merkle tree of its
//! content of one table over a token span. The span is read in chunks of at
//! most `CHUNK` (rows and bytes), in token order; each leaf's partitions are
//! reconciled (each cell's newest version, tombstones and TTLs kept, as the
//! digest of a read is: `coordinator::digest`) and hashed, so replicas that
//! hold the same data in different stages of compaction agree. Only one leaf
//! is in memory at a time. An incremental repair asks for the tree of a list
//! of partitions only (`Verb::ValidatePartitions`, `validate_partitions`):
//! the same leaves, holding only those partitions.

use uuid::Uuid;

use super::merkle::{MerkleTree, TokenSpan, EMPTY_LEAF, MAX_DEPTH};
use crate::storage::memory::MemoryEngine;
use crate::storage::{Mutation, PartitionPosition, PartitionSelection, ReadCommand, ReadLimits, ResumePoint, StorageEngine};

/// What is read from storage at once: rows, and bytes of row data.
const CHUNK: ReadLimits = ReadLimits {
    rows: Some(2000),
    bytes: Some(8 << 20),
    per_partition: None,
};

/// The most partitions one `ValidatePartitions` may name (the union of the
/// replicas' unrepaired lists is kept below it by the coordinator).
pub const MAX_VALIDATED_PARTITIONS: usize = 65_536;

/// A replica's tree and what it read to build it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub tree: MerkleTree,
    /// Rows hashed (a partition without rows counts one).
    pub rows: u64,
    /// Bytes hashed: the encoded size of the reconciled content.
    pub bytes: u64,
}

/// Builds the tree of `table` over `span`, with `2^depth` leaves.
pub fn validate(engine: &dyn StorageEngine, table: Uuid, span: TokenSpan, depth: u8) -> Result<Validation, String> {
    let (start, end) = span.bounds();
    build(engine, table, span, depth, PartitionSelection::Tokens { start, end })
}

/// Builds the tree of only `partitions` of `table` (those of `span`), with
/// `2^depth` leaves over `span`: where replicas hold the same content of
/// these partitions, their trees are equal.
pub fn validate_partitions(
    engine: &dyn StorageEngine,
    table: Uuid,
    span: TokenSpan,
    depth: u8,
    mut partitions: Vec<PartitionPosition>,
) -> Result<Validation, String> {
    if partitions.len() > MAX_VALIDATED_PARTITIONS {
        return Err(format!(
            "a validation of {} partitions is more than the {MAX_VALIDATED_PARTITIONS} a replica validates at once",
            partitions.len()
        ));
    }
    partitions.retain(|p| span.first <= p.token && p.token <= span.last);
    partitions.sort();
    partitions.dedup();
    build(engine, table, span, depth, PartitionSelection::Keys(partitions))
}

fn build(
    engine: &dyn StorageEngine,
    table: Uuid,
    span: TokenSpan,
    depth: u8,
    mut partitions: PartitionSelection,
) -> Result<Validation, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "a Merkle tree of depth {depth} is deeper than the {MAX_DEPTH} levels a replica builds"
        ));
    }
    let mut out = Validation {
        tree: MerkleTree {
            depth,
            leaves: vec![EMPTY_LEAF; 1usize << depth],
        },
        rows: 0,
        bytes: 0,
    };
    if matches!(&partitions, PartitionSelection::Keys(keys) if keys.is_empty()) {
        return Ok(out);
    }
    let mut resume: Option<ResumePoint> = None;
    let mut leaf: Option<(usize, Vec<Mutation>)> = None;
    loop {
        let command = ReadCommand {
            index: None,
            table,
            partitions: partitions.clone(),
            slices: Vec::new(),
            reversed: false,
            resume: resume.take(),
        };
        let read = engine.read_raw(&command, CHUNK).map_err(|e| e.to_string())?;
        let full = CHUNK.reached(&read);
        if full {
            resume = ResumePoint::end_of(&read, false);
            // The keys already read need not be sent to the engine again.
            if let (PartitionSelection::Keys(keys), Some(r)) = (&mut partitions, &resume) {
                let done = keys.partition_point(|k| k < &r.position);
                keys.drain(..done);
            }
        }
        for m in read {
            let index = span.leaf_of(depth, m.position.token);
            match &mut leaf {
                Some((current, pending)) if *current == index => pending.push(m),
                _ => {
                    if let Some((done, pending)) = leaf.take() {
                        hash_leaf(&mut out, table, done, pending)?;
                    }
                    leaf = Some((index, vec![m]));
                }
            }
        }
        if resume.is_none() {
            break;
        }
    }
    if let Some((done, pending)) = leaf {
        hash_leaf(&mut out, table, done, pending)?;
    }
    Ok(out)
}

fn hash_leaf(out: &mut Validation, table: Uuid, index: usize, partitions: Vec<Mutation>) -> Result<(), String> {
    let merged = MemoryEngine::from_mutations(table, partitions);
    let reconciled = merged
        .read_raw(&ReadCommand::all(table), ReadLimits::NONE)
        .map_err(|e| e.to_string())?;
    if reconciled.is_empty() {
        return Ok(());
    }
    let bytes = postcard::to_stdvec(&reconciled).map_err(|e| e.to_string())?;
    out.rows += crate::movement::chunk::row_count(&reconciled) as u64;
    out.bytes += bytes.len() as u64;
    if let Some(slot) = out.tree.leaves.get_mut(index) {
        *slot = crate::coordinator::digest::fnv1a(&bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Cell, ColumnData, DeletionTime, PartitionPosition, Row};

    const T: Uuid = Uuid::from_u128(5);

    fn write(engine: &MemoryEngine, token: i64, rows: u8, ts: i64) {
        let mut m = Mutation::new(
            T,
            PartitionPosition {
                token,
                key: token.to_be_bytes().to_vec(),
            },
        );
        for r in 0..rows {
            let mut row = Row::default();
            row.columns.insert("v".into(), ColumnData::Simple(Cell::live(ts, vec![r], 0, 0)));
            m.rows.push((vec![r], row));
        }
        engine.apply(m).unwrap();
    }

    fn engine() -> MemoryEngine {
        let e = MemoryEngine::new();
        e.create_table(T).unwrap();
        e
    }

    const SPAN: TokenSpan = TokenSpan { first: 0, last: 1599 };

    #[test]
    fn replicas_with_the_same_data_build_the_same_tree_across_chunks() {
        let (a, b) = (engine(), engine());
        for token in (0..1600).step_by(10) {
            // 30 rows a partition: chunks of 2000 rows cut partitions in two.
            write(&a, token, 30, 1);
            write(&b, token, 30, 1);
        }
        // An older version that b has seen too changes nothing.
        write(&b, 500, 30, 0);
        let (ta, tb) = (validate(&a, T, SPAN, 4).unwrap(), validate(&b, T, SPAN, 4).unwrap());
        assert_eq!(ta.tree, tb.tree);
        assert_eq!(ta.rows, 160 * 30);
        assert!(ta.tree.leaves.iter().all(|h| *h != EMPTY_LEAF));
    }

    #[test]
    fn a_newer_write_or_a_tombstone_changes_only_its_leaf() {
        let (a, b) = (engine(), engine());
        for token in (0..1600).step_by(10) {
            write(&a, token, 2, 1);
            write(&b, token, 2, 1);
        }
        write(&b, 150, 1, 2);
        let mut delete = Mutation::new(
            T,
            PartitionPosition {
                token: 1500,
                key: 1500i64.to_be_bytes().to_vec(),
            },
        );
        delete.partition_deletion = Some(DeletionTime {
            timestamp: 3,
            local_deletion_time: 100,
        });
        b.apply(delete).unwrap();
        let (ta, tb) = (validate(&a, T, SPAN, 4).unwrap(), validate(&b, T, SPAN, 4).unwrap());
        // 16 leaves of 100 tokens: 150 is in leaf 1, 1500 in leaf 15.
        assert_eq!(ta.tree.differences(&tb.tree).unwrap(), vec![1, 15]);
    }

    #[test]
    fn a_tree_of_listed_partitions_sees_only_their_differences() {
        let (a, b) = (engine(), engine());
        for token in (0..1600).step_by(10) {
            write(&a, token, 3, 1);
            write(&b, token, 3, 1);
        }
        write(&b, 150, 1, 2);
        write(&b, 1500, 1, 2);
        let key = |token: i64| PartitionPosition {
            token,
            key: token.to_be_bytes().to_vec(),
        };
        // Unsorted, repeated, one outside the span and one nobody holds.
        let listed = vec![key(500), key(150), key(150), key(5000), key(155)];
        let ta = validate_partitions(&a, T, SPAN, 4, listed.clone()).unwrap();
        let tb = validate_partitions(&b, T, SPAN, 4, listed).unwrap();
        assert_eq!(ta.tree.differences(&tb.tree).unwrap(), vec![1], "1500 is not listed");
        assert_eq!(ta.rows, 6, "two listed partitions of three rows");
        let none = validate_partitions(&a, T, SPAN, 4, Vec::new()).unwrap();
        assert_eq!((none.rows, none.bytes), (0, 0));
        let too_many = vec![key(1); MAX_VALIDATED_PARTITIONS + 1];
        assert!(validate_partitions(&a, T, SPAN, 4, too_many).is_err());
    }

    #[test]
    fn an_empty_table_has_empty_leaves_and_too_deep_a_tree_is_refused() {
        let t = validate(&engine(), T, SPAN, 3).unwrap();
        assert_eq!(t.tree.leaves, vec![EMPTY_LEAF; 8]);
        assert_eq!((t.rows, t.bytes), (0, 0));
        assert!(validate(&engine(), T, SPAN, MAX_DEPTH + 1).is_err());
    }
}
