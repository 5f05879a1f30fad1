//! Unrepaired marks on both engines, through the trait and through the
//! replica's verbs (`RepairPrepare`, `RepairFinalize`) as an incremental
//! repair drives them: a write leaves a mark, a repair's cut clears only the
//! marks from before it, in its span, and a write during the repair stays
//! marked; a restarted durable engine keeps its marks and refuses an old cut.
//! Plus the cost of marking on the write path (an ignored measurement).

use std::ops::Bound;
use std::time::Instant;

use uuid::Uuid;

use super::durable::{DurableEngine, DurableOptions};
use super::memory::MemoryEngine;
use super::{Cell, ColumnData, Mutation, PartitionPosition, RepairedBefore, Row, StorageEngine};
use crate::internode::{Reply, Verb};
use crate::repair::merkle::TokenSpan;
use crate::replica::local_reply;

const T: Uuid = Uuid::from_u128(0x5eed);
const WHOLE: TokenSpan = TokenSpan {
    first: i64::MIN,
    last: i64::MAX,
};

fn pos(token: i64) -> PartitionPosition {
    PartitionPosition {
        token,
        key: token.to_be_bytes().to_vec(),
    }
}

fn write(engine: &dyn StorageEngine, token: i64, value: &str) {
    let mut m = Mutation::new(T, pos(token));
    let mut row = Row::default();
    row.columns
        .insert("v".into(), ColumnData::Simple(Cell::live(1, value.as_bytes().to_vec(), 0, 0)));
    m.rows.push((Vec::new(), row));
    engine.apply(m).unwrap();
}

fn prepare(engine: &dyn StorageEngine, span: TokenSpan) -> (RepairedBefore, Option<Vec<PartitionPosition>>) {
    let verb = Verb::RepairPrepare {
        table: T,
        span,
        max_partitions: 100,
    };
    match local_reply(engine, verb) {
        Reply::Unrepaired { before, partitions } => (before, partitions),
        other => panic!("RepairPrepare answered {other:?}"),
    }
}

fn finalize(engine: &dyn StorageEngine, span: TokenSpan, before: RepairedBefore) -> Reply {
    local_reply(engine, Verb::RepairFinalize { table: T, span, before })
}

fn unrepaired(engine: &dyn StorageEngine) -> Vec<i64> {
    engine
        .unrepaired(T, Bound::Unbounded, Bound::Unbounded, 1000)
        .unwrap()
        .unwrap()
        .iter()
        .map(|p| p.token)
        .collect()
}

/// The behaviour both engines share.
fn a_repair_clears_only_what_was_written_before_it_in_its_span(engine: &dyn StorageEngine) {
    engine.create_table(T).unwrap();
    for token in [-20, -10, 10, 20] {
        write(engine, token, "a");
    }
    let left = TokenSpan { first: i64::MIN, last: 0 };
    let (before, listed) = prepare(engine, left);
    assert_eq!(listed, Some(vec![pos(-20), pos(-10)]), "the span's marked partitions");
    // Written while the repair runs: after its cut.
    write(engine, -10, "b");
    write(engine, -5, "b");
    assert_eq!(finalize(engine, left, before), Reply::Ack);
    assert_eq!(
        unrepaired(engine),
        vec![-10, -5, 10, 20],
        "-20 repaired; -10 and -5 written during the repair"
    );
    // A second repair of the span lists only those, and then nothing.
    let (before, listed) = prepare(engine, left);
    assert_eq!(listed, Some(vec![pos(-10), pos(-5)]));
    assert_eq!(finalize(engine, left, before), Reply::Ack);
    let (_, listed) = prepare(engine, left);
    assert_eq!(listed, Some(vec![]));
    // More than asked for: no list.
    let over = Verb::RepairPrepare {
        table: T,
        span: WHOLE,
        max_partitions: 1,
    };
    assert!(matches!(local_reply(engine, over), Reply::Unrepaired { partitions: None, .. }));
    // A table local to the node leaves no mark; cleanup drops the marks of what it removes.
    engine.set_repair_tracking(T, false);
    write(engine, 30, "a");
    engine.set_repair_tracking(T, true);
    assert_eq!(unrepaired(engine), vec![10, 20]);
    engine.remove_tokens(T, Bound::Included(15), Bound::Unbounded).unwrap();
    assert_eq!(unrepaired(engine), vec![10]);
    engine.drop_table(T).unwrap();
    engine.create_table(T).unwrap();
    assert_eq!(unrepaired(engine), Vec::<i64>::new(), "a dropped table's marks go with it");
}

#[test]
fn the_memory_engine_marks_writes_and_a_repair_clears_only_the_older_marks() {
    a_repair_clears_only_what_was_written_before_it_in_its_span(&MemoryEngine::new());
}

#[test]
fn the_durable_engine_marks_writes_and_a_repair_clears_only_the_older_marks() {
    let dir = tempfile::tempdir().unwrap();
    let engine = DurableEngine::open(dir.path(), DurableOptions::default()).unwrap();
    a_repair_clears_only_what_was_written_before_it_in_its_span(&engine);
}

#[test]
fn marks_survive_a_restart_and_a_restarted_replica_refuses_an_older_cut() {
    let dir = tempfile::tempdir().unwrap();
    let engine = DurableEngine::open(dir.path(), DurableOptions::default()).unwrap();
    engine.create_table(T).unwrap();
    write(&engine, 1, "a");
    let (before, _) = prepare(&engine, WHOLE);
    drop(engine);
    let engine = DurableEngine::open(dir.path(), DurableOptions::default()).unwrap();
    assert_eq!(unrepaired(&engine), vec![1], "the mark is on disk");
    write(&engine, 2, "a");
    match finalize(&engine, WHOLE, before) {
        Reply::Failed { message } => assert!(message.contains("restarted"), "{message}"),
        other => panic!("a cut from before the restart was accepted: {other:?}"),
    }
    assert_eq!(unrepaired(&engine), vec![1, 2], "nothing cleared");
    let (before, _) = prepare(&engine, WHOLE);
    assert_eq!(finalize(&engine, WHOLE, before), Reply::Ack);
    assert_eq!(
        unrepaired(&engine),
        Vec::<i64>::new(),
        "marks of the earlier process are older than any new cut"
    );
}

#[test]
fn a_partition_written_again_after_its_marks_were_removed_is_marked_again() {
    let dir = tempfile::tempdir().unwrap();
    let engine = DurableEngine::open(dir.path(), DurableOptions::default()).unwrap();
    engine.create_table(T).unwrap();
    write(&engine, 5, "a");
    write(&engine, 5, "b");
    assert_eq!(unrepaired(&engine), vec![5]);
    // Cleanup removes the partition and its marks within the epoch whose
    // mark the engine remembers writing.
    engine.remove_tokens(T, Bound::Unbounded, Bound::Unbounded).unwrap();
    assert_eq!(unrepaired(&engine), Vec::<i64>::new());
    write(&engine, 5, "c");
    assert_eq!(unrepaired(&engine), vec![5], "the rewritten partition is marked");
    drop(engine);
    let engine = DurableEngine::open(dir.path(), DurableOptions::default()).unwrap();
    assert_eq!(unrepaired(&engine), vec![5], "and the mark is in storage");
}

/// The cost of marking on the write path: the same single-row writes of
/// 100-byte values, with marks and without (`set_repair_tracking`).
/// `cargo test --release -p node --lib unrepaired_tests -- --ignored --nocapture`
#[test]
#[ignore = "a measurement; run in release"]
fn the_cost_of_marking_writes() {
    const WRITES: i64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let engine = DurableEngine::open(dir.path(), DurableOptions::default()).unwrap();
    engine.create_table(T).unwrap();
    let value = "x".repeat(100);
    let run = |tracked: bool, round: i64| {
        engine.set_repair_tracking(T, tracked);
        let start = Instant::now();
        for i in 0..WRITES {
            write(&engine, (round * WRITES + i).wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64), &value);
        }
        start.elapsed().as_secs_f64() * 1e9 / WRITES as f64
    };
    let mut with = Vec::new();
    let mut without = Vec::new();
    for round in 0..3 {
        without.push(run(false, 2 * round));
        with.push(run(true, 2 * round + 1));
    }
    println!("ns per write without marks: {without:.0?}; with marks: {with:.0?}");
    // A hot partition (a plane's position) is marked by its first write of
    // an epoch only.
    let hot = |tracked: bool| {
        engine.set_repair_tracking(T, tracked);
        let start = Instant::now();
        for i in 0..WRITES {
            write(&engine, i % 1000, &value);
        }
        start.elapsed().as_secs_f64() * 1e9 / WRITES as f64
    };
    let (hot_without, hot_with) = (hot(false), hot(true));
    println!("ns per write to 1000 hot partitions without marks: {hot_without:.0}; with marks: {hot_with:.0}");
}
