//! The durable engine against the memory engine as the model: the same
//! mutations, flushes, compactions (with the clock past gc grace and TTLs) and
//! restarts must give the same reads. Plus the journal's torn tail, group
//! commit, and the compaction filter's purging.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::storage::memory::MemoryEngine;
use crate::storage::{Cell, DeletionTime, LiveRow, ResumePoint, Visit};

const T0: i64 = 1_700_000_000;

struct Harness {
    dir: tempfile::TempDir,
    clock: Arc<AtomicI64>,
    sync: CommitLogSync,
    engine: Option<DurableEngine>,
}

impl Harness {
    fn new(sync: CommitLogSync) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(T0));
        let mut h = Harness {
            dir,
            clock,
            sync,
            engine: None,
        };
        h.reopen();
        h
    }

    fn options(&self) -> DurableOptions {
        let clock = self.clock.clone();
        DurableOptions {
            sync: self.sync,
            cache_bytes: 4 << 20,
            memtable_bytes: 1 << 20,
            clock: Arc::new(move || clock.load(Ordering::SeqCst)),
            commit_failure_policy: CommitFailurePolicy::StopCommit,
        }
    }

    fn reopen(&mut self) {
        drop(self.engine.take());
        self.engine = Some(DurableEngine::open(self.dir.path(), self.options()).unwrap());
    }

    fn engine(&self) -> &DurableEngine {
        self.engine.as_ref().unwrap()
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }
}

fn pos(token: i64, key: &[u8]) -> PartitionPosition {
    PartitionPosition { token, key: key.to_vec() }
}

fn cell_row(ts: i64, column: &str, value: &str) -> Row {
    let mut r = Row::default();
    r.columns
        .insert(column.into(), ColumnData::Simple(Cell::live(ts, value.as_bytes().to_vec(), 0, T0)));
    r
}

fn full_scan(table: Uuid) -> ReadCommand {
    ReadCommand {
        index: None,
        table,
        partitions: PartitionSelection::Tokens {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        },
        slices: vec![],
        reversed: false,
        resume: None,
    }
}

/// Everything a read shows: per visit the partition, its static row and the row.
type Seen = Vec<(i64, Vec<u8>, Option<LiveRow>, Option<(Vec<u8>, LiveRow)>)>;

fn read(engine: &dyn StorageEngine, cmd: &ReadCommand, now: i64) -> Seen {
    let mut out = Vec::new();
    engine
        .read(cmd, now, &mut |p, r| {
            out.push((
                p.position.token,
                p.position.key.clone(),
                p.static_row.clone(),
                r.map(|(c, row)| (c.to_vec(), row.clone())),
            ));
            Visit::Continue
        })
        .unwrap();
    out
}

fn value_of(seen: &Seen, column: &str) -> Vec<Option<Vec<u8>>> {
    seen.iter()
        .map(|(_, _, _, r)| match r.as_ref().and_then(|(_, row)| row.get(column)) {
            Some(crate::storage::LiveData::Simple(c)) => Some(c.value.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn after_a_commit_log_failure_writes_are_refused_with_the_reason_and_reads_go_on() {
    let mut h = Harness::new(CommitLogSync::Periodic {
        period: Duration::from_secs(60),
    });
    let t = Uuid::from_u128(1);
    h.engine().create_table(t).unwrap();
    let write = |ts: i64, v: &str| {
        let mut m = Mutation::new(t, pos(1, b"k"));
        m.rows.push((vec![1], cell_row(ts, "v", v)));
        m
    };
    h.engine().apply(write(10, "before")).unwrap();
    h.engine()
        .health
        .failed("periodic commit log fsync", &"Input/output error (os error 5)");
    let refused = h.engine().apply(write(20, "after")).unwrap_err().to_string();
    assert!(
        refused.contains("refuses writes") && refused.contains("Input/output error"),
        "{refused}"
    );
    let now = h.now();
    assert_eq!(value_of(&read(h.engine(), &full_scan(t), now), "v"), vec![Some(b"before".to_vec())]);
    // A restart (with the disk fixed) takes writes again.
    h.reopen();
    h.engine().apply(write(20, "after")).unwrap();
}

#[test]
fn the_higher_timestamp_wins_when_writes_arrive_swapped() {
    let mut h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(1);
    h.engine().create_table(t).unwrap();
    for (ts, v) in [(20, "new"), (10, "old")] {
        let mut m = Mutation::new(t, pos(1, b"k"));
        m.rows.push((vec![1], cell_row(ts, "v", v)));
        h.engine().apply(m).unwrap();
    }
    let now = h.now();
    assert_eq!(value_of(&read(h.engine(), &full_scan(t), now), "v"), vec![Some(b"new".to_vec())]);
    h.engine().flush().unwrap();
    h.reopen();
    assert_eq!(value_of(&read(h.engine(), &full_scan(t), now), "v"), vec![Some(b"new".to_vec())]);
    h.engine().compact().unwrap();
    assert_eq!(value_of(&read(h.engine(), &full_scan(t), now), "v"), vec![Some(b"new".to_vec())]);
}

#[test]
fn equal_timestamps_resolve_as_cassandra_does_whatever_the_order() {
    let h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(1);
    h.engine().create_table(t).unwrap();
    for v in ["b", "a"] {
        let mut m = Mutation::new(t, pos(1, b"k"));
        m.rows.push((vec![1], cell_row(5, "v", v)));
        h.engine().apply(m).unwrap();
    }
    assert_eq!(value_of(&read(h.engine(), &full_scan(t), h.now()), "v"), vec![Some(b"b".to_vec())]);
    h.engine().compact().unwrap();
    assert_eq!(value_of(&read(h.engine(), &full_scan(t), h.now()), "v"), vec![Some(b"b".to_vec())]);
}

#[test]
fn token_ranges_and_resume_points_select_like_the_memory_engine() {
    let h = Harness::new(CommitLogSync::Periodic {
        period: Duration::from_secs(10),
    });
    let mem = MemoryEngine::new();
    let t = Uuid::from_u128(2);
    h.engine().create_table(t).unwrap();
    mem.create_table(t).unwrap();
    for (tok, key, c) in [
        (5, b"a", 2u8),
        (-3, b"b", 1),
        (5, b"a", 1),
        (-3, b"b", 0),
        (i64::MAX, b"z", 0),
        (i64::MIN, b"y", 0),
    ] {
        let mut m = Mutation::new(t, pos(tok, key));
        m.rows.push((vec![c], cell_row(1, "v", "x")));
        h.engine().apply(m.clone()).unwrap();
        mem.apply(m).unwrap();
    }
    let ranges = [
        (Bound::Included(-3), Bound::Included(5)),
        (Bound::Excluded(-3), Bound::Unbounded),
        (Bound::Unbounded, Bound::Excluded(5)),
        (Bound::Included(i64::MAX), Bound::Included(i64::MAX)),
        (Bound::Excluded(i64::MAX), Bound::Unbounded),
        (Bound::Included(i64::MIN), Bound::Included(i64::MIN)),
    ];
    for (start, end) in ranges {
        for resume in [None, Some((pos(-3, b"b"), Some(vec![0]))), Some((pos(-3, b"b"), None))] {
            for reversed in [false, true] {
                let cmd = ReadCommand {
                    partitions: PartitionSelection::Tokens { start, end },
                    reversed,
                    resume: resume.clone().map(|(position, clustering)| ResumePoint { position, clustering }),
                    ..full_scan(t)
                };
                assert_eq!(read(h.engine(), &cmd, T0), read(&mem, &cmd, T0), "{cmd:?}");
            }
        }
    }
}

#[test]
fn drop_frees_the_table_and_truncate_empties_it() {
    let h = Harness::new(CommitLogSync::Batch);
    let (a, b) = (Uuid::from_u128(3), Uuid::from_u128(4));
    for t in [a, b] {
        h.engine().create_table(t).unwrap();
        let mut m = Mutation::new(t, pos(1, b"k"));
        m.rows.push((vec![1], cell_row(1, "v", "x")));
        h.engine().apply(m).unwrap();
    }
    h.engine().flush().unwrap();
    assert!(h.engine().size_estimate(a, Bound::Unbounded, Bound::Unbounded).unwrap() > 0);
    h.engine().truncate(a).unwrap();
    assert_eq!(read(h.engine(), &full_scan(a), T0), Vec::new());
    h.engine().drop_table(b).unwrap();
    assert!(matches!(
        h.engine().read(&full_scan(b), T0, &mut |_, _| Visit::Continue),
        Err(StorageError::UnknownTable { table }) if table == b
    ));
    assert!(!h.engine().db.keyspace_exists(&b.simple().to_string()));
}

#[test]
fn a_truncation_is_recorded_across_restarts_and_drops_older_writes_only() {
    let mut h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(6);
    h.engine().create_table(t).unwrap();
    let write = |h: &Harness, key: &[u8], ts: i64| {
        let mut m = Mutation::new(t, pos(1, key));
        m.rows.push((vec![1], cell_row(ts, "v", "x")));
        h.engine().apply(m).unwrap();
    };
    let before = crate::storage::truncation::now_micros();
    write(&h, b"old", before);
    h.engine().truncate(t).unwrap();
    let at = h.engine().truncated_at(t).unwrap();
    assert!(at >= before, "{at} < {before}");
    h.reopen();
    assert_eq!(h.engine().truncated_at(t), Some(at));
    // A late write from before the TRUNCATE (a hint, say) is dropped; one
    // from after it applies.
    write(&h, b"old", before);
    write(&h, b"new", at + 1);
    let keys: Vec<Vec<u8>> = h
        .engine()
        .read_raw(&full_scan(t), ReadLimits::NONE)
        .unwrap()
        .into_iter()
        .map(|m| m.position.key)
        .collect();
    assert_eq!(keys, vec![b"new".to_vec()]);
    h.engine().drop_table(t).unwrap();
    assert_eq!(h.engine().truncated_at(t), None);
    h.reopen();
    assert_eq!(h.engine().truncated_at(t), None);
}

#[test]
fn compaction_drops_shadowed_versions_and_old_tombstones_only_after_gc_grace() {
    let h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(5);
    h.engine().create_table(t).unwrap();
    h.engine().set_gc_grace(t, 100);
    for ts in 1..=5 {
        let mut m = Mutation::new(t, pos(1, b"k"));
        m.rows.push((vec![1], cell_row(ts, "v", "x")));
        h.engine().apply(m).unwrap();
    }
    let mut d = Mutation::new(t, pos(2, b"d"));
    d.rows.push((vec![1], cell_row(1, "v", "gone")));
    h.engine().apply(d).unwrap();
    let mut d = Mutation::new(t, pos(2, b"d"));
    d.partition_deletion = Some(DeletionTime {
        timestamp: 2,
        local_deletion_time: T0,
    });
    h.engine().apply(d).unwrap();
    let count = |h: &Harness| h.engine().keyspace(t).unwrap().iter().count();
    assert_eq!(count(&h), 7);
    h.engine().compact().unwrap();
    // The four older versions of v and the deleted row go; the deletion stays
    // (and the anchor comes).
    assert_eq!(count(&h), 3);
    h.clock.store(T0 + 101, Ordering::SeqCst);
    h.engine().compact().unwrap();
    assert_eq!(count(&h), 2);
    assert_eq!(value_of(&read(h.engine(), &full_scan(t), h.now()), "v"), vec![Some(b"x".to_vec())]);
}

#[test]
fn a_tombstone_is_kept_while_older_data_it_hides_is_elsewhere() {
    let h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(6);
    h.engine().create_table(t).unwrap();
    h.engine().set_gc_grace(t, 0);
    let mut d = Mutation::new(t, pos(1, b"k"));
    d.rows.push((vec![1], Row::default()));
    d.rows[0].1.deletion = Some(DeletionTime {
        timestamp: 10,
        local_deletion_time: T0,
    });
    h.engine().apply(d).unwrap();
    h.engine().flush().unwrap();
    // An older write arrives later and sits in the memtable, outside the SSTables.
    let mut m = Mutation::new(t, pos(1, b"k"));
    m.rows.push((vec![1], cell_row(5, "v", "zombie")));
    h.engine().apply(m).unwrap();
    h.clock.store(T0 + 10, Ordering::SeqCst);
    h.engine().compact().unwrap();
    assert_eq!(read(h.engine(), &full_scan(t), h.now()), Vec::new());
    let count = || h.engine().keyspace(t).unwrap().iter().count();
    assert_eq!(count(), 2, "the deletion is kept while the zombie was in the compaction");
    h.engine().compact().unwrap();
    assert_eq!(count(), 1, "then it goes");
    assert_eq!(read(h.engine(), &full_scan(t), h.now()), Vec::new());
}

fn newest_journal(dir: &Path) -> std::path::PathBuf {
    let mut files: Vec<_> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jnl"))
        .collect();
    files.sort_by_key(|p| {
        let stem = p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok());
        (stem, std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
    });
    files.pop().expect("a journal file")
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_torn_journal_tail_is_dropped_and_the_engine_opens() {
    for garble in [false, true] {
        let mut h = Harness::new(CommitLogSync::Batch);
        let t = Uuid::from_u128(7);
        h.engine().create_table(t).unwrap();
        for i in 0..20u8 {
            let mut m = Mutation::new(t, pos(1, b"k"));
            m.rows.push((vec![i], cell_row(1, "v", "x")));
            h.engine().apply(m).unwrap();
        }
        // Closing does not flush memtables: the data lives in the journal only.
        drop(h.engine.take());
        let journal = newest_journal(h.dir.path());
        let bytes = std::fs::read(&journal).unwrap();
        // The journal file is preallocated: its data ends at the last non-zero byte.
        let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
        assert!(end > 16, "journal {journal:?} holds {end} bytes");
        let mut torn = bytes.clone();
        if garble {
            for b in &mut torn[end - 8..end] {
                *b ^= 0x5A;
            }
        } else {
            torn.truncate(end - 7);
        }
        std::fs::write(&journal, &torn).unwrap();
        h.engine = Some(DurableEngine::open(h.dir.path(), h.options()).unwrap());
        let seen = read(h.engine(), &full_scan(t), T0);
        let rows: Vec<u8> = seen.iter().filter_map(|(_, _, _, r)| r.as_ref().map(|(c, _)| c[0])).collect();
        assert_eq!(rows, (0..19).collect::<Vec<u8>>(), "garbled: {garble}");
    }
}

#[test]
fn concurrent_batch_mode_writers_are_all_durable_after_reopen() {
    let mut h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(8);
    h.engine().create_table(t).unwrap();
    let engine = Arc::new(h.engine.take().unwrap());
    let threads: Vec<_> = (0..8u8)
        .map(|w| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for i in 0..25u8 {
                    let mut m = Mutation::new(t, pos(i64::from(w), &[w]));
                    m.rows.push((vec![i], cell_row(1, "v", "x")));
                    engine.apply(m).unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    drop(Arc::try_unwrap(engine).unwrap());
    h.reopen();
    assert_eq!(read(h.engine(), &full_scan(t), T0).len(), 200);
}

// ---- the model test ----

#[derive(Debug, Clone)]
enum Op {
    Write {
        table: u8,
        partition: u8,
        kind: u8,
        ts: u8,
        ttl: u8,
        a: u8,
        b: u8,
        value: u8,
    },
    Flush,
    Compact {
        advance: u16,
    },
    Reopen,
    Check {
        a: u8,
        b: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..2u8, 0..3u8, 0..10u8, 0..12u8, 0..4u8, 0..4u8, 0..4u8, 0..3u8).prop_map(|(table, partition, kind, ts, ttl, a, b, value)| Op::Write {
            table,
            partition,
            kind,
            ts,
            ttl,
            a,
            b,
            value
        }),
        1 => Just(Op::Flush),
        1 => (0..120u16).prop_map(|advance| Op::Compact { advance }),
        1 => Just(Op::Reopen),
        2 => (0..4u8, 0..4u8).prop_map(|(a, b)| Op::Check { a, b }),
    ]
}

const TABLES: [Uuid; 2] = [Uuid::from_u128(0xA), Uuid::from_u128(0xB)];
/// Table A purges after 10 s; table B keeps tombstones for the whole test.
const GC_GRACE: [i32; 2] = [10, 1_000_000];

fn model_position(partition: u8) -> PartitionPosition {
    // Two partitions share a token, as colliding keys do.
    match partition {
        0 => pos(-5, b"p0"),
        1 => pos(7, b"p1"),
        _ => pos(7, b"p2"),
    }
}

fn bound(b: u8, v: u8) -> Bound<Vec<u8>> {
    match b % 3 {
        0 => Bound::Unbounded,
        1 => Bound::Included(vec![v]),
        _ => Bound::Excluded(vec![v]),
    }
}

fn model_mutation(op: &Op, base: i64, now: i64) -> Option<Mutation> {
    let Op::Write {
        table,
        partition,
        kind,
        ts,
        ttl,
        a,
        b,
        value,
    } = *op
    else {
        return None;
    };
    let ts = base + i64::from(ts);
    let ttl = [0, 0, 5, 40][usize::from(ttl)];
    let v = vec![b'v', value];
    let mut m = Mutation::new(TABLES[usize::from(table)], model_position(partition));
    let deletion = DeletionTime {
        timestamp: ts,
        local_deletion_time: now,
    };
    let column = ["x", "y"][usize::from(b % 2)].to_string();
    let mut row = Row::default();
    match kind {
        // INSERT: marker and a cell.
        0 | 1 => {
            row.marker = Some(Cell::live(ts, Vec::new(), ttl, now));
            row.columns.insert(column, ColumnData::Simple(Cell::live(ts, v, ttl, now)));
        }
        // UPDATE of one cell.
        2 => {
            row.columns.insert(column, ColumnData::Simple(Cell::live(ts, v, ttl, now)));
        }
        3 => {
            row.columns.insert(column, ColumnData::Simple(Cell::tombstone(ts)));
        }
        4 => row.deletion = Some(deletion),
        // Collection: add an element, or overwrite the whole collection.
        5 => {
            let cells = BTreeMap::from([(vec![b], Cell::live(ts, v, ttl, now))]);
            row.columns.insert("m".into(), ColumnData::Complex { deletion: None, cells });
        }
        6 => {
            let cells = BTreeMap::from([(vec![b], Cell::live(ts, v, ttl, now))]);
            let deletion = Some(DeletionTime {
                timestamp: ts - 1,
                local_deletion_time: now,
            });
            row.columns.insert("m".into(), ColumnData::Complex { deletion, cells });
        }
        7 => m.range_tombstones.push(RangeTombstone {
            start: bound(b, a.min(b)),
            end: bound(value, a.max(b)),
            deletion,
        }),
        8 => {
            let mut s = Row::default();
            s.columns.insert("s".into(), ColumnData::Simple(Cell::live(ts, v, ttl, now)));
            m.static_row = Some(s);
        }
        _ => m.partition_deletion = Some(deletion),
    }
    if !row.is_empty() {
        m.rows.push((vec![a], row));
    }
    Some(m)
}

fn check(h: &Harness, model: &MemoryEngine, a: u8, b: u8, stage: &str) -> Result<(), TestCaseError> {
    let now = h.now();
    for table in TABLES {
        let full = full_scan(table);
        let expected = read(model, &full, now);
        prop_assert_eq!(read(h.engine(), &full, now), expected.clone(), "{}: full scan of {}", stage, table);
        let keys = ReadCommand {
            partitions: PartitionSelection::Keys(vec![model_position(2), model_position(a % 3), model_position(1)]),
            slices: vec![
                (bound(a, a.min(b)), bound(b + 1, a.max(b))),
                (Bound::Excluded(vec![3]), Bound::Unbounded),
            ],
            reversed: a.is_multiple_of(2),
            ..full
        };
        prop_assert_eq!(read(h.engine(), &keys, now), read(model, &keys, now), "{}: {:?}", stage, keys);
        if let Some((token, key, _, row)) = expected.get(usize::from(a) % expected.len().max(1)) {
            let resumed = ReadCommand {
                resume: Some(ResumePoint {
                    position: pos(*token, key),
                    clustering: row.as_ref().map(|(c, _)| c.clone()),
                }),
                ..full_scan(table)
            };
            prop_assert_eq!(
                read(h.engine(), &resumed, now),
                read(model, &resumed, now),
                "{}: {:?}",
                stage,
                resumed
            );
        }
    }
    Ok(())
}

fn run_model(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = Harness::new(CommitLogSync::Periodic {
        period: Duration::from_millis(50),
    });
    let model = MemoryEngine::new();
    let setup = |h: &Harness| {
        for (t, grace) in TABLES.iter().zip(GC_GRACE) {
            h.engine().create_table(*t).unwrap();
            h.engine().set_gc_grace(*t, grace);
        }
    };
    setup(&h);
    for t in TABLES {
        model.create_table(t).unwrap();
    }
    // Writes after a compaction that may purge take later timestamps: Cassandra
    // does not promise to hide a write older than a tombstone past gc grace.
    let mut base = 1_000;
    for op in &ops {
        match op {
            Op::Write { .. } => {
                if let Some(m) = model_mutation(op, base, h.now()) {
                    h.engine().apply(m.clone()).unwrap();
                    model.apply(m).unwrap();
                }
            }
            Op::Flush => h.engine().flush().unwrap(),
            Op::Compact { advance } => {
                h.clock.fetch_add(i64::from(*advance), Ordering::SeqCst);
                h.engine().compact().unwrap();
                base += 100;
            }
            Op::Reopen => {
                h.reopen();
                setup(&h);
            }
            Op::Check { a, b } => check(&h, &model, *a, *b, "check op")?,
        }
    }
    check(&h, &model, 1, 2, "after the ops")?;
    h.clock.fetch_add(60, Ordering::SeqCst);
    h.engine().compact().unwrap();
    h.engine().compact().unwrap();
    check(&h, &model, 2, 3, "after compacting past gc grace")?;
    h.reopen();
    check(&h, &model, 0, 3, "after reopening")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_durable_engine_reads_like_the_memory_model(ops in proptest::collection::vec(op(), 1..40)) {
        run_model(ops)?;
    }
}

#[test]
fn the_model_check_catches_a_wrong_winner() {
    // The model test's comparison must fail when the engines disagree on a
    // winner: feed the durable engine only the older write.
    let h = Harness::new(CommitLogSync::Batch);
    let model = MemoryEngine::new();
    for t in TABLES {
        h.engine().create_table(t).unwrap();
        model.create_table(t).unwrap();
    }
    let newer = model_mutation(
        &Op::Write {
            table: 0,
            partition: 0,
            kind: 2,
            ts: 9,
            ttl: 0,
            a: 1,
            b: 0,
            value: 1,
        },
        1_000,
        T0,
    )
    .unwrap();
    let older = model_mutation(
        &Op::Write {
            table: 0,
            partition: 0,
            kind: 2,
            ts: 3,
            ttl: 0,
            a: 1,
            b: 0,
            value: 2,
        },
        1_000,
        T0,
    )
    .unwrap();
    model.apply(newer).unwrap();
    model.apply(older.clone()).unwrap();
    h.engine().apply(older).unwrap();
    assert!(check(&h, &model, 0, 1, "wrong winner").is_err());
}

/// Rough figures, not a test: `cargo test -p node --lib bench_durable -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn bench_durable_writes_and_point_reads() {
    for sync in [
        CommitLogSync::Periodic {
            period: Duration::from_secs(10),
        },
        CommitLogSync::Batch,
    ] {
        let h = Harness::new(sync);
        let t = Uuid::from_u128(9);
        h.engine().create_table(t).unwrap();
        let n: i64 = if sync == CommitLogSync::Batch { 2_000 } else { 20_000 };
        let started = std::time::Instant::now();
        for i in 0..n {
            let mut m = Mutation::new(t, pos(i.wrapping_mul(0x1E37_79B9_7F4A_7C15), &i.to_be_bytes()));
            m.rows.push((Vec::new(), cell_row(1, "v", "some value of moderate length")));
            h.engine().apply(m).unwrap();
        }
        let writes = n as f64 / started.elapsed().as_secs_f64();
        h.engine().flush().unwrap();
        let started = std::time::Instant::now();
        let mut found = 0;
        for i in 0..n {
            let cmd = ReadCommand {
                partitions: PartitionSelection::Keys(vec![pos(i.wrapping_mul(0x1E37_79B9_7F4A_7C15), &i.to_be_bytes())]),
                ..full_scan(t)
            };
            found += read(h.engine(), &cmd, T0).len();
        }
        assert_eq!(found as i64, n);
        let reads = n as f64 / started.elapsed().as_secs_f64();
        eprintln!("{sync:?}: {writes:.0} single-row writes/s, {reads:.0} point reads/s (debug build)");
    }
}

#[test]
fn a_read_seeks_over_the_many_versions_of_a_hot_cell_and_misses_nothing_after_them() {
    let h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(9);
    h.engine().create_table(t).unwrap();
    let key = pos(1, b"k");
    for ts in 1..=200 {
        let mut m = Mutation::new(t, key.clone());
        let mut row = cell_row(ts, "a", &format!("v{ts}"));
        row.columns
            .insert("b".into(), ColumnData::Simple(Cell::live(ts, b"b".to_vec(), 0, T0)));
        m.rows.push((vec![1], row));
        m.rows.push((vec![2], cell_row(ts, "a", &format!("w{ts}"))));
        h.engine().apply(m).unwrap();
    }
    let mut last = Mutation::new(t, key.clone());
    last.rows.push((vec![1], cell_row(7, "c", "only")));
    h.engine().apply(last).unwrap();
    let mut next = Mutation::new(t, pos(5, b"z"));
    next.rows.push((vec![1], cell_row(3, "a", "z")));
    h.engine().apply(next).unwrap();
    let keys = ReadCommand {
        partitions: PartitionSelection::Keys(vec![key.clone()]),
        ..full_scan(t)
    };
    for cmd in [
        keys.clone(),
        ReadCommand {
            slices: vec![(Bound::Included(vec![1]), Bound::Included(vec![1]))],
            ..keys.clone()
        },
        full_scan(t),
    ] {
        let seen = read(h.engine(), &cmd, h.now());
        let rows: Vec<&LiveRow> = seen.iter().filter_map(|(_, _, _, r)| r.as_ref().map(|(_, row)| row)).collect();
        let first = rows.first().unwrap();
        let simple = |row: &LiveRow, c: &str| match row.get(c) {
            Some(crate::storage::LiveData::Simple(cell)) => Some((cell.value.clone(), cell.timestamp)),
            _ => None,
        };
        assert_eq!(simple(first, "a"), Some((b"v200".to_vec(), 200)));
        assert_eq!(simple(first, "b"), Some((b"b".to_vec(), 200)));
        assert_eq!(simple(first, "c"), Some((b"only".to_vec(), 7)));
        if matches!(cmd.partitions, PartitionSelection::Tokens { .. }) {
            assert_eq!(rows.len(), 3, "the next partition after the hot one");
            assert_eq!(simple(rows[1], "a"), Some((b"w200".to_vec(), 200)));
            assert_eq!(simple(rows[2], "a"), Some((b"z".to_vec(), 3)));
        } else if cmd.slices.is_empty() {
            assert_eq!(rows.len(), 2);
            assert_eq!(simple(rows[1], "a"), Some((b"w200".to_vec(), 200)));
        } else {
            assert_eq!(rows.len(), 1);
        }
    }
}

#[test]
fn a_key_too_long_for_the_engine_is_an_error_and_nothing_of_its_write_is_applied() {
    let h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(10);
    h.engine().create_table(t).unwrap();
    let mut fine = Mutation::new(t, pos(1, b"ok"));
    fine.rows.push((vec![1], cell_row(1, "a", "x")));
    let mut long = Mutation::new(t, pos(2, &vec![b'k'; 70_000]));
    long.rows.push((vec![1], cell_row(1, "a", "x")));
    match h.engine().apply_all(vec![fine, long]) {
        Err(StorageError::KeyTooLong { length, max }) => assert!(length > max && max == 65_535),
        other => panic!("expected KeyTooLong, got {other:?}"),
    }
    assert!(read(h.engine(), &full_scan(t), h.now()).is_empty(), "the whole write was refused");
}

#[test]
fn the_data_size_counts_flushed_tables_not_the_preallocated_journal() {
    let h = Harness::new(CommitLogSync::Batch);
    let t = Uuid::from_u128(7);
    h.engine().create_table(t).unwrap();
    assert_eq!(h.engine().data_bytes(), 0, "an empty node holds no data");
    for i in 0..200u32 {
        let mut m = Mutation::new(t, pos(i64::from(i), &i.to_be_bytes()));
        m.rows.push((vec![1], cell_row(1, "v", &"x".repeat(100))));
        h.engine().apply(m).unwrap();
    }
    assert_eq!(h.engine().data_bytes(), 0, "memtables are not on disk yet");
    h.engine().flush().unwrap();
    let flushed = h.engine().data_bytes();
    assert!(flushed > 0 && flushed < 1 << 20, "{flushed} bytes for 200 rows of 100 bytes");
}

/// Partitions wider than a visited part (`VISIT_CHUNK_ROWS`) and than a raw
/// answer's row limit read as the memory engine reads them, whole or from a
/// resume point, by key or by token range, forward and reversed: rows in
/// order, a partition whose first part holds only deleted rows answered with
/// its rows (not as a partition without rows), and one whose rows are all
/// deleted answered once with its static row.
#[test]
fn wide_partitions_read_in_parts_as_the_memory_engine_reads_them_whole() {
    let h = Harness::new(CommitLogSync::Periodic {
        period: Duration::from_secs(10),
    });
    let mem = MemoryEngine::new();
    let t = Uuid::from_u128(3);
    h.engine().create_table(t).unwrap();
    mem.create_table(t).unwrap();
    let rows = (VISIT_CHUNK_ROWS * 2 + 500) as u16;
    let deleted = |n: u16| {
        let r = Row {
            deletion: Some(DeletionTime {
                timestamp: 2,
                local_deletion_time: T0,
            }),
            ..Row::default()
        };
        (n.to_be_bytes().to_vec(), r)
    };
    // Partition a: rows deleted up to past the first part; b: all deleted.
    for (key, dead) in [(b"a", VISIT_CHUNK_ROWS as u16 + 10), (b"b", rows)] {
        let mut m = Mutation::new(t, pos(7, key));
        m.static_row = Some(cell_row(1, "s", "static"));
        m.rows = (0..rows).map(|n| (n.to_be_bytes().to_vec(), cell_row(1, "v", "x"))).collect();
        h.engine().apply(m.clone()).unwrap();
        mem.apply(m).unwrap();
        let mut d = Mutation::new(t, pos(7, key));
        d.rows = (0..dead).map(deleted).collect();
        h.engine().apply(d.clone()).unwrap();
        mem.apply(d).unwrap();
    }
    h.engine().flush().unwrap();
    let by_key = ReadCommand {
        partitions: PartitionSelection::Keys(vec![pos(7, b"a"), pos(7, b"b")]),
        ..full_scan(t)
    };
    for base in [by_key, full_scan(t)] {
        for resume in [
            None,
            Some(ResumePoint {
                position: pos(7, b"a"),
                clustering: Some(1500u16.to_be_bytes().to_vec()),
            }),
        ] {
            for reversed in [false, true] {
                let cmd = ReadCommand {
                    reversed,
                    resume: resume.clone(),
                    ..base.clone()
                };
                let seen = read(h.engine(), &cmd, T0);
                assert_eq!(
                    seen,
                    read(&mem, &cmd, T0),
                    "{:?} reversed {reversed} resume {:?}",
                    cmd.partitions,
                    cmd.resume
                );
                let without_rows = seen.iter().filter(|(_, key, _, row)| key == b"b" && row.is_none()).count();
                assert_eq!(without_rows, 1, "partition b answered once without rows");
                for limit in [1, 999, 1000, 1001, 3000] {
                    let limits = ReadLimits::rows(limit);
                    assert_eq!(
                        h.engine().read_raw(&cmd, limits).unwrap(),
                        mem.read_raw(&cmd, limits).unwrap(),
                        "limit {limit}"
                    );
                }
            }
        }
    }
    // A visitor that stops at the first live row of a wide partition.
    let mut first = None;
    h.engine()
        .read(&full_scan(t), T0, &mut |_, row| {
            first = row.map(|(c, _)| c.to_vec());
            Visit::Stop
        })
        .unwrap();
    assert_eq!(first, Some((VISIT_CHUNK_ROWS as u16 + 10).to_be_bytes().to_vec()));
}

/// A reversed read of a wide partition loads only the rows it may answer
/// with, from the top down: no more than its row cap, the newest version of
/// each (one older version flushed, the newer in the memtable), inside its
/// slices and below its resume point; and a visitor that stops at the first
/// row sees the highest.
#[test]
fn a_reversed_read_loads_no_more_of_a_wide_partition_than_its_row_cap() {
    let h = Harness::new(CommitLogSync::Periodic {
        period: Duration::from_secs(10),
    });
    let t = Uuid::from_u128(4);
    h.engine().create_table(t).unwrap();
    let rows = 3000u16;
    let clustering = |n: u16| n.to_be_bytes().to_vec();
    for (ts, value) in [(1, "old"), (2, "new")] {
        let mut m = Mutation::new(t, pos(7, b"w"));
        m.static_row = Some(cell_row(ts, "s", value));
        m.rows = (0..rows).map(|n| (clustering(n), cell_row(ts, "v", value))).collect();
        h.engine().apply(m).unwrap();
        if ts == 1 {
            h.engine().flush().unwrap();
        }
    }
    let keyspace = h.engine().keyspace(t).unwrap();
    let load = |cmd: &ReadCommand, cap| {
        h.engine()
            .load_partition(&keyspace, &pos(7, b"w"), cmd, Some(cap))
            .unwrap()
            .unwrap()
    };
    let by_key = ReadCommand {
        partitions: PartitionSelection::Keys(vec![pos(7, b"w")]),
        reversed: true,
        ..full_scan(t)
    };
    let top = |p: &Partition| p.rows.keys().map(|c| u16::from_be_bytes([c[0], c[1]])).collect::<Vec<_>>();

    let (p, capped) = load(&by_key, 10);
    assert!(capped);
    assert_eq!(top(&p), (2990..3000).collect::<Vec<_>>());
    assert!(
        p.rows.values().all(|r| r == &cell_row(2, "v", "new")),
        "the newest version of each row"
    );
    assert_eq!(p.static_row, cell_row(2, "s", "new"));

    // Two slices, below a resume point inside the upper one.
    let sliced = ReadCommand {
        slices: vec![
            (Bound::Included(clustering(100)), Bound::Excluded(clustering(200))),
            (Bound::Excluded(clustering(1000)), Bound::Included(clustering(1005))),
        ],
        resume: Some(ResumePoint {
            position: pos(7, b"w"),
            clustering: Some(clustering(1003)),
        }),
        ..by_key.clone()
    };
    let (p, capped) = load(&sliced, 5);
    assert!(capped);
    assert_eq!(top(&p), vec![197, 198, 199, 1001, 1002]);
    let (p, capped) = load(&sliced, 500);
    assert!(!capped);
    assert_eq!(p.rows.len(), 102);

    // The same by token range, and a visitor that stops at the first row.
    let by_tokens = ReadCommand {
        reversed: true,
        ..full_scan(t)
    };
    let mut seen = Vec::new();
    h.engine()
        .each_partition(&by_tokens, Some(10), &mut |_, p, capped| {
            seen.push((top(p), capped));
            true
        })
        .unwrap();
    assert_eq!(seen, vec![((2990..3000).collect::<Vec<_>>(), true)]);
    let mut first = None;
    h.engine()
        .read(&by_tokens, T0, &mut |_, row| {
            first = row.map(|(c, _)| c.to_vec());
            Visit::Stop
        })
        .unwrap();
    assert_eq!(first, Some(clustering(2999)));
}
