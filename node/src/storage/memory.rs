//! An in-memory `StorageEngine`: per table, a map of partitions in ring order
//! (each a `partition::Partition`, which owns the read semantics). Nothing survives a restart; the
//! durable engine replaces it behind the same trait. It keeps unrepaired
//! marks as the durable engine does (`unrepaired`), in memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Mutex, RwLock};

use uuid::Uuid;

use super::partition::{resume_after, skipped_by_resume, token_before_end, token_in, Partition, RawAnswer};
use super::truncation::{now_micros, Truncations};
use super::unrepaired::{MarkGate, MarkSet, RepairedBefore};
use super::{Mutation, PartitionPosition, PartitionSelection, ReadCommand, ReadLimits, StorageEngine, StorageError, Visitor};

type Table = RwLock<BTreeMap<PartitionPosition, Partition>>;

#[derive(Debug)]
pub struct MemoryEngine {
    tables: RwLock<HashMap<Uuid, std::sync::Arc<Table>>>,
    truncations: Truncations,
    /// Boxed: a coordinator builds an engine per read to merge answers, and
    /// keeps it in an enum with small variants.
    repair: Box<RepairState>,
}

/// The unrepaired marks, as the durable engine keeps them (`unrepaired`).
#[derive(Debug)]
struct RepairState {
    marks: Mutex<MarkSet>,
    gate: MarkGate,
    untracked: RwLock<HashSet<Uuid>>,
}

impl Default for MemoryEngine {
    fn default() -> Self {
        MemoryEngine {
            tables: RwLock::default(),
            truncations: Truncations::default(),
            repair: Box::new(RepairState {
                marks: Mutex::default(),
                // Nothing survives the process: one incarnation, epochs from 0.
                gate: MarkGate::new(0, 0),
                untracked: RwLock::default(),
            }),
        }
    }
}

impl MemoryEngine {
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }

    /// An engine holding one table built from these mutations (whatever table
    /// they name): how a coordinator merges its replicas' `read_raw` answers
    /// before reading the reconciled result.
    pub fn from_mutations(table: Uuid, mutations: Vec<Mutation>) -> MemoryEngine {
        let mut partitions: BTreeMap<PartitionPosition, Partition> = BTreeMap::new();
        for m in mutations {
            partitions.entry(m.position.clone()).or_default().apply(m);
        }
        let engine = MemoryEngine::new();
        engine
            .tables
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(table, std::sync::Arc::new(RwLock::new(partitions)));
        engine
    }

    fn table(&self, id: Uuid) -> Result<std::sync::Arc<Table>, StorageError> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        tables.get(&id).cloned().ok_or(StorageError::UnknownTable { table: id })
    }

    /// Calls `f` with each partition the command selects, in ring order, skipping
    /// those the resume point is past, until `f` returns false.
    fn each_partition(&self, command: &ReadCommand, f: &mut dyn FnMut(&PartitionPosition, &Partition) -> bool) -> Result<(), StorageError> {
        let t = self.table(command.table)?;
        let partitions = t.read().unwrap_or_else(|e| e.into_inner());
        let resume = command.resume.as_ref();
        let skip = |p: &PartitionPosition| skipped_by_resume(resume, p);
        match &command.partitions {
            PartitionSelection::Keys(keys) => {
                let mut keys = keys.clone();
                keys.sort();
                keys.dedup();
                for key in keys.iter().filter(|k| !skip(k)) {
                    if let Some(p) = partitions.get(key) {
                        if !f(key, p) {
                            break;
                        }
                    }
                }
            }
            PartitionSelection::Tokens { start, end } => {
                let lo = match (start, resume) {
                    (_, Some(r)) if token_in(start, r.position.token) => Bound::Included(r.position.clone()),
                    (Bound::Included(t), _) => Bound::Included(PartitionPosition {
                        token: *t,
                        key: Vec::new(),
                    }),
                    (Bound::Excluded(t), _) if *t == i64::MAX => return Ok(()),
                    (Bound::Excluded(t), _) => Bound::Included(PartitionPosition {
                        token: t + 1,
                        key: Vec::new(),
                    }),
                    (Bound::Unbounded, _) => Bound::Unbounded,
                };
                for (position, p) in partitions.range((lo, Bound::Unbounded)) {
                    if !token_before_end(end, position.token) {
                        break;
                    }
                    if skip(position) {
                        continue;
                    }
                    if !f(position, p) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

impl StorageEngine for MemoryEngine {
    fn create_table(&self, table: Uuid) -> Result<(), StorageError> {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        tables.entry(table).or_default();
        Ok(())
    }

    fn drop_table(&self, table: Uuid) -> Result<(), StorageError> {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        tables.remove(&table);
        self.truncations.forget(table);
        self.marks().clear(table, &Bound::Unbounded, &Bound::Unbounded, u64::MAX);
        Ok(())
    }

    fn truncate(&self, table: Uuid) -> Result<(), StorageError> {
        let t = self.table(table)?;
        self.truncations.record(table, now_micros());
        t.write().unwrap_or_else(|e| e.into_inner()).clear();
        Ok(())
    }

    fn truncated_at(&self, table: Uuid) -> Option<i64> {
        self.truncations.get(table)
    }

    fn apply(&self, mutation: Mutation) -> Result<(), StorageError> {
        let t = self.table(mutation.table)?;
        let Some(mutation) = self.truncations.filter(mutation) else {
            return Ok(());
        };
        let gate = self.repair.gate.enter();
        if !self
            .repair
            .untracked
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&mutation.table)
        {
            self.marks().mark(mutation.table, mutation.position.clone(), *gate);
        }
        let mut partitions = t.write().unwrap_or_else(|e| e.into_inner());
        partitions.entry(mutation.position.clone()).or_default().apply(mutation);
        Ok(())
    }

    fn read(&self, command: &ReadCommand, now: i64, visitor: &mut Visitor<'_>) -> Result<(), StorageError> {
        let resume = command.resume.as_ref();
        self.each_partition(command, &mut |position, p| {
            p.visit(position, command, resume_after(resume, position), now, visitor)
        })
    }

    fn read_raw(&self, command: &ReadCommand, limits: ReadLimits) -> Result<Vec<Mutation>, StorageError> {
        let mut answer = RawAnswer::new(command, limits);
        self.each_partition(command, &mut |position, p| answer.add(position, p))?;
        Ok(answer.partitions)
    }

    fn remove_tokens(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>) -> Result<u64, StorageError> {
        let t = self.table(table)?;
        let mut partitions = t.write().unwrap_or_else(|e| e.into_inner());
        let before = partitions.len();
        partitions.retain(|p, _| !(token_in(&start, p.token) && token_before_end(&end, p.token)));
        self.marks().clear(table, &start, &end, u64::MAX);
        Ok((before - partitions.len()) as u64)
    }

    fn set_repair_tracking(&self, table: Uuid, tracked: bool) {
        let mut untracked = self.repair.untracked.write().unwrap_or_else(|e| e.into_inner());
        if tracked {
            untracked.remove(&table);
        } else {
            untracked.insert(table);
        }
    }

    fn begin_repair(&self) -> Result<RepairedBefore, StorageError> {
        Ok(self.repair.gate.begin(0))
    }

    fn unrepaired(
        &self,
        table: Uuid,
        start: Bound<i64>,
        end: Bound<i64>,
        max: usize,
    ) -> Result<Option<Vec<PartitionPosition>>, StorageError> {
        self.table(table)?;
        Ok(self.marks().unrepaired(table, &start, &end, max))
    }

    fn mark_repaired(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>, before: RepairedBefore) -> Result<u64, StorageError> {
        self.repair
            .gate
            .check(&before)
            .map_err(|reason| StorageError::RepairSession { reason })?;
        Ok(self.marks().clear(table, &start, &end, before.epoch))
    }
}

impl MemoryEngine {
    fn marks(&self) -> std::sync::MutexGuard<'_, MarkSet> {
        self.repair.marks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Cell, ColumnData, DeletionTime, RangeTombstone, Row, Visit};

    fn pos(token: i64) -> PartitionPosition {
        PartitionPosition {
            token,
            key: token.to_be_bytes().to_vec(),
        }
    }

    fn row(ts: i64, v: &str) -> Row {
        let mut r = Row {
            marker: Some(Cell::live(ts, Vec::new(), 0, 0)),
            ..Row::default()
        };
        r.columns
            .insert("v".into(), ColumnData::Simple(Cell::live(ts, v.as_bytes().to_vec(), 0, 0)));
        r
    }

    fn read_all(engine: &MemoryEngine, cmd: &ReadCommand) -> Vec<(i64, Vec<u8>)> {
        let mut out = Vec::new();
        engine
            .read(cmd, 0, &mut |p, r| {
                out.push((p.position.token, r.map(|(c, _)| c.to_vec()).unwrap_or_default()));
                Visit::Continue
            })
            .unwrap();
        out
    }

    #[test]
    fn rows_come_back_in_ring_then_clustering_order() {
        let e = MemoryEngine::new();
        let t = Uuid::nil();
        e.create_table(t).unwrap();
        for (tok, c) in [(5, 2u8), (-3, 1), (5, 1), (-3, 0)] {
            let mut m = Mutation::new(t, pos(tok));
            m.rows.push((vec![c], row(1, "x")));
            e.apply(m).unwrap();
        }
        let cmd = ReadCommand {
            index: None,
            table: t,
            partitions: PartitionSelection::Tokens {
                start: Bound::Unbounded,
                end: Bound::Unbounded,
            },
            slices: vec![],
            reversed: false,
            resume: None,
        };
        assert_eq!(read_all(&e, &cmd), vec![(-3, vec![0]), (-3, vec![1]), (5, vec![1]), (5, vec![2])]);
        let resumed = ReadCommand {
            resume: Some(super::super::ResumePoint {
                position: pos(-3),
                clustering: Some(vec![0]),
            }),
            ..cmd.clone()
        };
        assert_eq!(read_all(&e, &resumed), vec![(-3, vec![1]), (5, vec![1]), (5, vec![2])]);
        let reversed = ReadCommand { reversed: true, ..cmd };
        assert_eq!(
            read_all(&e, &reversed),
            vec![(-3, vec![1]), (-3, vec![0]), (5, vec![2]), (5, vec![1])]
        );
    }

    #[test]
    fn a_range_tombstone_hides_older_rows_in_its_range_only() {
        let e = MemoryEngine::new();
        let t = Uuid::nil();
        e.create_table(t).unwrap();
        let mut m = Mutation::new(t, pos(1));
        for c in 0..5u8 {
            m.rows.push((vec![c], row(1, "x")));
        }
        e.apply(m).unwrap();
        let mut d = Mutation::new(t, pos(1));
        d.range_tombstones.push(RangeTombstone {
            start: Bound::Included(vec![1]),
            end: Bound::Excluded(vec![3]),
            deletion: DeletionTime {
                timestamp: 2,
                local_deletion_time: 0,
            },
        });
        e.apply(d).unwrap();
        let cmd = ReadCommand {
            index: None,
            table: t,
            partitions: PartitionSelection::Keys(vec![pos(1)]),
            slices: vec![],
            reversed: false,
            resume: None,
        };
        let got: Vec<_> = read_all(&e, &cmd).into_iter().map(|(_, c)| c).collect();
        assert_eq!(got, vec![vec![0], vec![3], vec![4]]);
    }

    #[test]
    fn an_inverted_slice_selects_nothing_instead_of_panicking() {
        let e = MemoryEngine::new();
        let t = Uuid::nil();
        e.create_table(t).unwrap();
        let mut m = Mutation::new(t, pos(1));
        m.rows.push((vec![1], row(1, "x")));
        e.apply(m).unwrap();
        let cmd = ReadCommand {
            index: None,
            table: t,
            partitions: PartitionSelection::Keys(vec![pos(1)]),
            slices: vec![(Bound::Included(vec![5]), Bound::Excluded(vec![2]))],
            reversed: false,
            resume: None,
        };
        assert!(read_all(&e, &cmd).is_empty());
    }
}
