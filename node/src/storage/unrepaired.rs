//! Which partitions hold data that no incremental repair has covered yet
//! ("unrepaired" marks, the place of Cassandra's per-SSTable `repairedAt`).
//! Every write a replica applies, whatever brought it (client write, hint,
//! read repair, stream, batchlog replay, counter, Paxos commit), leaves a mark
//! (table, partition, epoch) in the same atomic storage write as its data, so
//! a partition's data is never on disk without its mark. An incremental repair
//! of a range compares only the partitions marked on some replica, and on
//! success removes the marks of epochs before the one it started at.
//!
//! The epoch is what makes clearing sound: `MarkGate::begin` moves every later
//! write to a new epoch, and waits for the writes of the old epochs that are
//! still under way to be in storage (a write holds the gate from taking its
//! epoch to the end of its storage write). So a mark older than the repair's
//! epoch belongs to a write that was visible when the repair validated, and a
//! write that lands during the repair keeps its mark for the next run. An
//! epoch is only meaningful within one process: `RepairedBefore` names the
//! engine's incarnation, and a replica that restarted refuses to clear.
//!
//! This module is pure (key layout, the gate, the in-memory set the memory
//! engine keeps); the durable engine keeps the marks in its own fjall
//! keyspace (`docs/storage-format.md`).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard};

use uuid::Uuid;

use super::key::{decode_partition_position, encode_partition_position};
use super::PartitionPosition;

/// Where an incremental repair cuts: the marks of epochs before `epoch`, in
/// the engine incarnation `incarnation`, are covered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RepairedBefore {
    pub incarnation: u64,
    pub epoch: u64,
}

/// The epoch writes mark with, and the lock that orders them against the
/// start of a repair.
#[derive(Debug)]
pub struct MarkGate {
    incarnation: u64,
    epoch: RwLock<u64>,
}

impl MarkGate {
    /// A gate whose epochs start at `start` (the microseconds of the clock at
    /// open, so that marks left by an earlier process have lower epochs) in
    /// the incarnation `incarnation` (different for every open).
    pub fn new(incarnation: u64, start: u64) -> MarkGate {
        MarkGate {
            incarnation,
            epoch: RwLock::new(start),
        }
    }

    /// The epoch to mark a write with; the write holds the guard until its
    /// data and marks are in storage.
    pub fn enter(&self) -> RwLockReadGuard<'_, u64> {
        self.epoch.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a repair: later writes take a new epoch, and the writes of
    /// older epochs are all in storage when this returns.
    pub fn begin(&self, now_micros: u64) -> RepairedBefore {
        let mut epoch = self.epoch.write().unwrap_or_else(|e| e.into_inner());
        *epoch = now_micros.max(epoch.saturating_add(1));
        RepairedBefore {
            incarnation: self.incarnation,
            epoch: *epoch,
        }
    }

    /// Whether `before` was handed out by this gate (not by the process
    /// before a restart, whose epochs mean nothing here).
    pub fn check(&self, before: &RepairedBefore) -> Result<(), String> {
        if before.incarnation == self.incarnation {
            Ok(())
        } else {
            Err("this replica restarted since the repair started; its unrepaired marks are kept".into())
        }
    }
}

/// A mark's key: table id (16 bytes), the partition position as
/// `key::encode_partition_position` writes it, the epoch (u64 big-endian).
/// Keys sort by table, then ring position, then epoch.
pub fn mark_key(table: Uuid, position: &PartitionPosition, epoch: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 8 + position.key.len() + 4 + 8);
    out.extend_from_slice(table.as_bytes());
    out.extend_from_slice(&encode_partition_position(position.token, &position.key));
    out.extend_from_slice(&epoch.to_be_bytes());
    out
}

/// A mark key's (table, position, epoch).
pub fn decode_mark_key(key: &[u8]) -> Result<(Uuid, PartitionPosition, u64), String> {
    let (table, mut rest) = key
        .split_first_chunk::<16>()
        .ok_or_else(|| format!("an unrepaired mark of {} bytes has no table id", key.len()))?;
    let (token, partition_key) = decode_partition_position(&mut rest).map_err(|e| format!("an unrepaired mark: {e}"))?;
    let epoch: [u8; 8] = rest
        .try_into()
        .map_err(|_| format!("an unrepaired mark ends with {} bytes, not an 8-byte epoch", rest.len()))?;
    Ok((
        Uuid::from_bytes(*table),
        PartitionPosition { token, key: partition_key },
        u64::from_be_bytes(epoch),
    ))
}

/// A range of keys of the marks keyspace.
pub type MarkRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The key range of `table`'s marks whose tokens lie between the bounds;
/// `None` when no token can.
pub fn mark_range(table: Uuid, start: &Bound<i64>, end: &Bound<i64>) -> Option<MarkRange> {
    let at = |token: i64| {
        let mut key = table.as_bytes().to_vec();
        key.extend_from_slice(&((token as u64) ^ (1 << 63)).to_be_bytes());
        key
    };
    let table_start = table.as_bytes().to_vec();
    let table_end = super::prefix_end(&table_start);
    let lo = match start {
        Bound::Included(t) => Bound::Included(at(*t)),
        Bound::Excluded(t) if *t == i64::MAX => return None,
        Bound::Excluded(t) => Bound::Included(at(t + 1)),
        Bound::Unbounded => Bound::Included(table_start),
    };
    let hi = match end {
        Bound::Included(t) if *t == i64::MAX => table_end,
        Bound::Included(t) => Bound::Excluded(at(t + 1)),
        Bound::Excluded(t) if *t == i64::MIN => return None,
        Bound::Excluded(t) => Bound::Excluded(at(*t)),
        Bound::Unbounded => table_end,
    };
    Some((lo, hi))
}

/// Collects the distinct positions of marks read in key order, `None` once
/// there are more than `max`.
#[derive(Debug)]
pub struct Positions {
    max: usize,
    out: Vec<PartitionPosition>,
    over: bool,
}

impl Positions {
    pub fn new(max: usize) -> Positions {
        Positions {
            max,
            out: Vec::new(),
            over: false,
        }
    }

    /// Adds one mark's position; false once past `max` (stop reading).
    pub fn add(&mut self, position: PartitionPosition) -> bool {
        if self.out.last() == Some(&position) {
            return true;
        }
        if self.out.len() >= self.max {
            self.over = true;
            return false;
        }
        self.out.push(position);
        true
    }

    pub fn finish(self) -> Option<Vec<PartitionPosition>> {
        (!self.over).then_some(self.out)
    }
}

/// The marks as the memory engine keeps them: (table, position, epoch).
#[derive(Debug, Default)]
pub struct MarkSet {
    marks: BTreeSet<(Uuid, PartitionPosition, u64)>,
}

fn token_within(start: &Bound<i64>, end: &Bound<i64>, token: i64) -> bool {
    (match start {
        Bound::Included(s) => token >= *s,
        Bound::Excluded(s) => token > *s,
        Bound::Unbounded => true,
    }) && (match end {
        Bound::Included(e) => token <= *e,
        Bound::Excluded(e) => token < *e,
        Bound::Unbounded => true,
    })
}

impl MarkSet {
    pub fn mark(&mut self, table: Uuid, position: PartitionPosition, epoch: u64) {
        self.marks.insert((table, position, epoch));
    }

    fn of_table(&self, table: Uuid) -> impl Iterator<Item = &(Uuid, PartitionPosition, u64)> {
        self.marks.iter().filter(move |(t, _, _)| *t == table)
    }

    /// The marked partitions of `table` between the bounds (`None`: more than `max`).
    pub fn unrepaired(&self, table: Uuid, start: &Bound<i64>, end: &Bound<i64>, max: usize) -> Option<Vec<PartitionPosition>> {
        let mut positions = Positions::new(max);
        for (_, position, _) in self.of_table(table).filter(|(_, p, _)| token_within(start, end, p.token)) {
            if !positions.add(position.clone()) {
                break;
            }
        }
        positions.finish()
    }

    /// Removes `table`'s marks between the bounds of epochs before `epoch`
    /// (all of them with `u64::MAX`); how many went.
    pub fn clear(&mut self, table: Uuid, start: &Bound<i64>, end: &Bound<i64>, epoch: u64) -> u64 {
        let before = self.marks.len();
        self.marks
            .retain(|(t, p, e)| !(*t == table && *e < epoch && token_within(start, end, p.token)));
        (before - self.marks.len()) as u64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const T: Uuid = Uuid::from_u128(0x77);

    fn position(token: i64, key: &[u8]) -> PartitionPosition {
        PartitionPosition { token, key: key.to_vec() }
    }

    #[test]
    fn a_mark_key_decodes_back_and_sorts_by_table_position_then_epoch() {
        let keys = [
            mark_key(T, &position(-5, b"a"), 9),
            mark_key(T, &position(-5, b"a\0b"), 1),
            mark_key(T, &position(-5, b"b"), 1),
            mark_key(T, &position(7, b""), 1),
            mark_key(T, &position(7, b""), 2),
            mark_key(Uuid::from_u128(0x78), &position(i64::MIN, b""), 0),
        ];
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert_eq!(decode_mark_key(&keys[1]).unwrap(), (T, position(-5, b"a\0b"), 1));
        assert!(decode_mark_key(&keys[1][..20]).is_err());
        assert!(decode_mark_key(&[1, 2]).is_err());
    }

    #[test]
    fn a_mark_range_holds_exactly_the_marks_of_its_tokens() {
        let (lo, hi) = mark_range(T, &Bound::Excluded(-5), &Bound::Included(7)).unwrap();
        let inside = |key: &Vec<u8>| crate::storage::contains(&lo, &hi, key);
        assert!(!inside(&mark_key(T, &position(-5, b"zz"), u64::MAX)));
        assert!(inside(&mark_key(T, &position(-4, b""), 0)));
        assert!(inside(&mark_key(T, &position(7, b"\xff\xff"), u64::MAX)));
        assert!(!inside(&mark_key(T, &position(8, b""), 0)));
        let (lo, hi) = mark_range(T, &Bound::Unbounded, &Bound::Included(i64::MAX)).unwrap();
        let whole = |key: &Vec<u8>| crate::storage::contains(&lo, &hi, key);
        assert!(whole(&mark_key(T, &position(i64::MIN, b""), 0)));
        assert!(whole(&mark_key(T, &position(i64::MAX, b"\xff"), u64::MAX)));
        assert!(!whole(&mark_key(Uuid::from_u128(0x78), &position(i64::MIN, b""), 0)));
        assert_eq!(mark_range(T, &Bound::Excluded(i64::MAX), &Bound::Unbounded), None);
    }

    #[test]
    fn beginning_a_repair_moves_later_writes_to_a_newer_epoch() {
        let gate = MarkGate::new(3, 100);
        let first = *gate.enter();
        let before = gate.begin(50);
        assert!(before.epoch > first, "a clock behind the epoch still moves it on");
        assert_eq!(*gate.enter(), before.epoch);
        assert!(gate.begin(1_000).epoch == 1_000);
        assert!(gate.check(&before).is_ok());
        let other = MarkGate::new(4, 100);
        assert!(other.check(&before).is_err(), "another incarnation refuses");
    }

    #[test]
    fn clearing_keeps_the_marks_of_the_repair_epoch_and_later() {
        let mut set = MarkSet::default();
        set.mark(T, position(1, b"a"), 1);
        set.mark(T, position(1, b"a"), 5);
        set.mark(T, position(2, b"b"), 1);
        set.mark(T, position(50, b"c"), 1);
        set.mark(Uuid::from_u128(1), position(2, b"b"), 1);
        let range = (Bound::Included(0), Bound::Included(10));
        assert_eq!(
            set.unrepaired(T, &range.0, &range.1, 10),
            Some(vec![position(1, b"a"), position(2, b"b")])
        );
        assert_eq!(set.unrepaired(T, &range.0, &range.1, 1), None, "more than the bound");
        assert_eq!(set.clear(T, &range.0, &range.1, 5), 2);
        assert_eq!(set.unrepaired(T, &range.0, &range.1, 10), Some(vec![position(1, b"a")]));
        assert_eq!(
            set.unrepaired(T, &Bound::Unbounded, &Bound::Unbounded, 10),
            Some(vec![position(1, b"a"), position(50, b"c")])
        );
        assert_eq!(
            set.unrepaired(Uuid::from_u128(1), &Bound::Unbounded, &Bound::Unbounded, 10)
                .map(|p| p.len()),
            Some(1)
        );
    }
}
