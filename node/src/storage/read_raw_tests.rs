//! `read_raw`, a replica's unresolved answer to a coordinator: both engines give
//! the same answer, and merging the answers of replicas that saw different
//! writes reads exactly like one replica that saw them all (tombstones and
//! expired cells included, after a trip through the wire encoding).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use uuid::Uuid;

use super::durable::{CommitLogSync, DurableEngine, DurableOptions};
use super::memory::MemoryEngine;
use super::*;

const T0: i64 = 1_700_000_000;
const TABLE: Uuid = Uuid::from_u128(0x5);

fn durable(dir: &std::path::Path) -> DurableEngine {
    let engine = DurableEngine::open(
        dir,
        DurableOptions {
            sync: CommitLogSync::Periodic {
                period: Duration::from_secs(60),
            },
            cache_bytes: 1 << 20,
            memtable_bytes: 1 << 20,
            clock: Arc::new(|| T0),
            ..DurableOptions::default()
        },
    )
    .unwrap();
    engine.create_table(TABLE).unwrap();
    engine
}

fn memory() -> MemoryEngine {
    let engine = MemoryEngine::new();
    engine.create_table(TABLE).unwrap();
    engine
}

fn position(partition: u8) -> PartitionPosition {
    // Two partitions share a token, as colliding keys do.
    match partition {
        0 => PartitionPosition {
            token: -5,
            key: b"p0".to_vec(),
        },
        1 => PartitionPosition {
            token: 7,
            key: b"p1".to_vec(),
        },
        _ => PartitionPosition {
            token: 7,
            key: b"p2".to_vec(),
        },
    }
}

fn full_scan() -> ReadCommand {
    ReadCommand {
        index: None,
        table: TABLE,
        partitions: PartitionSelection::Tokens {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        },
        slices: vec![],
        reversed: false,
        resume: None,
    }
}

fn commands(a: u8, b: u8) -> Vec<ReadCommand> {
    let bound = |kind: u8, v: u8| match kind % 3 {
        0 => Bound::Unbounded,
        1 => Bound::Included(vec![v]),
        _ => Bound::Excluded(vec![v]),
    };
    vec![
        full_scan(),
        ReadCommand {
            reversed: true,
            ..full_scan()
        },
        ReadCommand {
            partitions: PartitionSelection::Keys(vec![position(2), position(a % 3), position(1)]),
            slices: vec![
                (bound(a, a.min(b)), bound(b + 1, a.max(b))),
                (Bound::Excluded(vec![3]), Bound::Unbounded),
            ],
            reversed: a.is_multiple_of(2),
            ..full_scan()
        },
        ReadCommand {
            partitions: PartitionSelection::Tokens {
                start: Bound::Excluded(-5),
                end: Bound::Included(7),
            },
            ..full_scan()
        },
        ReadCommand {
            resume: Some(ResumePoint {
                position: position(a % 3),
                clustering: b.is_multiple_of(2).then(|| vec![b]),
            }),
            reversed: b.is_multiple_of(3),
            ..full_scan()
        },
    ]
}

/// One write of the generated history and which replicas saw it.
#[derive(Debug, Clone)]
struct Write {
    replicas: u8,
    partition: u8,
    kind: u8,
    ts: u8,
    ttl: u8,
    a: u8,
    b: u8,
}

fn write() -> impl Strategy<Value = Write> {
    (1..4u8, 0..3u8, 0..11u8, 0..12u8, 0..3u8, 0..5u8, 0..5u8).prop_map(|(replicas, partition, kind, ts, ttl, a, b)| Write {
        replicas,
        partition,
        kind,
        ts,
        ttl,
        a,
        b,
    })
}

fn mutation(w: &Write) -> Mutation {
    let ts = 1_000 + i64::from(w.ts);
    // Written at T0; reads run at T0 + 10, when a 5 s TTL has run out.
    let ttl = [0, 5, 100][usize::from(w.ttl)];
    let value = vec![b'v', w.b];
    let deletion = DeletionTime {
        timestamp: ts,
        local_deletion_time: T0,
    };
    let mut m = Mutation::new(TABLE, position(w.partition));
    let mut row = Row::default();
    let column = ["x", "y"][usize::from(w.b % 2)].to_string();
    match w.kind {
        0 | 1 => {
            row.marker = Some(Cell::live(ts, Vec::new(), ttl, T0));
            row.columns.insert(column, ColumnData::Simple(Cell::live(ts, value, ttl, T0)));
        }
        2 => {
            row.columns.insert(column, ColumnData::Simple(Cell::live(ts, value, ttl, T0)));
        }
        3 => {
            row.columns.insert(column, ColumnData::Simple(Cell::tombstone(ts)));
        }
        4 => row.deletion = Some(deletion),
        5 => {
            let cells = BTreeMap::from([(vec![w.b], Cell::live(ts, value, ttl, T0))]);
            row.columns.insert("m".into(), ColumnData::Complex { deletion: None, cells });
        }
        6 => {
            let cells = BTreeMap::from([(vec![w.b], Cell::live(ts, value, ttl, T0))]);
            let deletion = Some(DeletionTime {
                timestamp: ts - 1,
                local_deletion_time: T0,
            });
            row.columns.insert("m".into(), ColumnData::Complex { deletion, cells });
        }
        7 => m.range_tombstones.push(RangeTombstone {
            start: Bound::Included(vec![w.a.min(w.b)]),
            end: if w.b.is_multiple_of(2) {
                Bound::Included(vec![w.a.max(w.b)])
            } else {
                Bound::Unbounded
            },
            deletion,
        }),
        8 => {
            let mut s = Row::default();
            s.columns.insert("s".into(), ColumnData::Simple(Cell::live(ts, value, ttl, T0)));
            m.static_row = Some(s);
        }
        9 => m.partition_deletion = Some(deletion),
        _ => {
            let mut s = Row::default();
            s.columns.insert("s".into(), ColumnData::Simple(Cell::tombstone(ts)));
            m.static_row = Some(s);
        }
    }
    if !row.is_empty() {
        m.rows.push((vec![w.a], row));
    }
    m
}

/// Everything a read shows: per visit the partition, its static row and the row.
type Seen = Vec<(PartitionPosition, Option<LiveRow>, Option<(Vec<u8>, LiveRow)>)>;

fn read(engine: &dyn StorageEngine, cmd: &ReadCommand, now: i64) -> Seen {
    let mut out = Vec::new();
    engine
        .read(cmd, now, &mut |p, r| {
            out.push((
                p.position.clone(),
                p.static_row.clone(),
                r.map(|(c, row)| (c.to_vec(), row.clone())),
            ));
            Visit::Continue
        })
        .unwrap();
    out
}

/// A replica's answer as the coordinator receives it: through postcard.
fn over_the_wire(partitions: Vec<Mutation>) -> Vec<Mutation> {
    let bytes = postcard::to_allocvec(&partitions).unwrap();
    let back: Vec<Mutation> = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, partitions);
    back
}

fn merged(replicas: &[&dyn StorageEngine], cmd: &ReadCommand) -> MemoryEngine {
    let answers = replicas
        .iter()
        .flat_map(|r| over_the_wire(r.read_raw(cmd, ReadLimits::NONE).unwrap()))
        .collect();
    MemoryEngine::from_mutations(TABLE, answers)
}

fn check_history(writes: &[Write], a: u8, b: u8) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let replica_a = durable(dir.path());
    let replica_a_model = memory();
    let replica_b = memory();
    let all = memory();
    for w in writes {
        let m = mutation(w);
        if w.replicas & 1 != 0 {
            replica_a.apply(m.clone()).unwrap();
            replica_a_model.apply(m.clone()).unwrap();
        }
        if w.replicas & 2 != 0 {
            replica_b.apply(m.clone()).unwrap();
        }
        all.apply(m).unwrap();
    }
    let now = T0 + 10;
    for cmd in commands(a, b) {
        prop_assert_eq!(
            replica_a.read_raw(&cmd, ReadLimits::NONE).unwrap(),
            replica_a_model.read_raw(&cmd, ReadLimits::NONE).unwrap(),
            "engines disagree on {:?}",
            cmd
        );
        let limits = ReadLimits::rows(usize::from(a) + 1);
        let limited = replica_a.read_raw(&cmd, limits).unwrap();
        prop_assert_eq!(&limited, &replica_a_model.read_raw(&cmd, limits).unwrap());
        prop_assert!(limited.iter().map(|m| m.rows.len().max(1)).sum::<usize>() <= usize::from(a) + 1);
        let per_partition = ReadLimits {
            per_partition: Some(u32::from(b) + 1),
            ..ReadLimits::rows(usize::from(a) + 3)
        };
        let limited = replica_a.read_raw(&cmd, per_partition).unwrap();
        prop_assert_eq!(&limited, &replica_a_model.read_raw(&cmd, per_partition).unwrap());
        prop_assert!(limited.iter().all(|m| m.rows.len() <= usize::from(b) + 1));
        let both = merged(&[&replica_a, &replica_b], &cmd);
        prop_assert_eq!(read(&both, &cmd, now), read(&all, &cmd, now), "merged answers differ on {:?}", cmd);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn merged_replica_answers_read_like_a_replica_that_saw_every_write(
        writes in proptest::collection::vec(write(), 1..30),
        a in 0..5u8,
        b in 0..5u8,
    ) {
        check_history(&writes, a, b)?;
    }
}

fn live_row(ts: i64, value: &str) -> Row {
    let mut row = Row {
        marker: Some(Cell::live(ts, Vec::new(), 0, T0)),
        ..Row::default()
    };
    row.columns
        .insert("v".into(), ColumnData::Simple(Cell::live(ts, value.as_bytes().to_vec(), 0, T0)));
    row
}

fn values(seen: &Seen) -> Vec<(Vec<u8>, Vec<u8>)> {
    seen.iter()
        .filter_map(|(p, _, r)| {
            let (c, row) = r.as_ref()?;
            match row.get("v") {
                Some(LiveData::Simple(cell)) => Some((p.key.iter().chain(c).copied().collect(), cell.value.clone())),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn a_deletion_on_one_replica_wins_over_older_data_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let old = durable(dir.path());
    let deleting = memory();
    for c in 0..4u8 {
        let mut m = Mutation::new(TABLE, position(0));
        m.rows.push((vec![c], live_row(10, "old")));
        old.apply(m).unwrap();
    }
    let mut other = Mutation::new(TABLE, position(1));
    other.rows.push((vec![0], live_row(10, "old")));
    old.apply(other).unwrap();
    // The other replica missed those writes but saw later deletions: a range
    // tombstone over rows 0..=1, a row deletion of 3, and a partition deletion of p1.
    let at = |timestamp| DeletionTime {
        timestamp,
        local_deletion_time: T0,
    };
    let mut d = Mutation::new(TABLE, position(0));
    d.range_tombstones.push(RangeTombstone {
        start: Bound::Included(vec![0]),
        end: Bound::Included(vec![1]),
        deletion: at(20),
    });
    d.rows.push((
        vec![3],
        Row {
            deletion: Some(at(20)),
            ..Row::default()
        },
    ));
    deleting.apply(d).unwrap();
    let mut p = Mutation::new(TABLE, position(1));
    p.partition_deletion = Some(at(20));
    deleting.apply(p).unwrap();

    let raw = deleting.read_raw(&full_scan(), ReadLimits::NONE).unwrap();
    assert_eq!(raw.len(), 2, "the tombstones themselves are the answer: {raw:?}");
    let one_way = merged(&[&old, &deleting], &full_scan());
    assert_eq!(
        values(&read(&one_way, &full_scan(), T0)),
        vec![(b"p0\x02".to_vec(), b"old".to_vec())]
    );
    // Merging in the other order changes nothing.
    let other_way = merged(&[&deleting, &old], &full_scan());
    assert_eq!(read(&other_way, &full_scan(), T0), read(&one_way, &full_scan(), T0));
}

#[test]
fn an_expired_cell_still_hides_an_older_value_on_another_replica() {
    let newer = memory();
    let older = memory();
    let mut expiring = Mutation::new(TABLE, position(0));
    let mut row = Row::default();
    row.columns
        .insert("v".into(), ColumnData::Simple(Cell::live(20, b"new".to_vec(), 5, T0)));
    expiring.rows.push((vec![1], row));
    newer.apply(expiring).unwrap();
    let mut m = Mutation::new(TABLE, position(0));
    let mut row = Row::default();
    row.columns
        .insert("v".into(), ColumnData::Simple(Cell::live(10, b"old".to_vec(), 0, T0)));
    m.rows.push((vec![1], row));
    older.apply(m).unwrap();

    let raw = newer.read_raw(&full_scan(), ReadLimits::NONE).unwrap();
    assert_eq!(raw.len(), 1, "an expired cell is still stored and sent");
    let both = merged(&[&newer, &older], &full_scan());
    assert_eq!(values(&read(&both, &full_scan(), T0 + 60)), vec![]);
    assert_eq!(values(&read(&both, &full_scan(), T0)), vec![(b"p0\x01".to_vec(), b"new".to_vec())]);
}

#[test]
fn the_limit_counts_rows_and_partitions_without_rows() {
    let dir = tempfile::tempdir().unwrap();
    let engines: [Box<dyn StorageEngine>; 2] = [Box::new(memory()), Box::new(durable(dir.path()))];
    for engine in &engines {
        let mut m = Mutation::new(TABLE, position(0));
        for c in 0..3u8 {
            m.rows.push((vec![c], live_row(1, "x")));
        }
        engine.apply(m).unwrap();
        let mut s = Mutation::new(TABLE, position(1));
        s.partition_deletion = Some(DeletionTime {
            timestamp: 1,
            local_deletion_time: T0,
        });
        engine.apply(s).unwrap();
        let mut m = Mutation::new(TABLE, position(2));
        m.rows.push((vec![0], live_row(1, "x")));
        engine.apply(m).unwrap();
        // An empty mutation stores nothing and is not answered.
        engine
            .apply(Mutation::new(TABLE, PartitionPosition { token: 9, key: vec![] }))
            .unwrap();

        let shape = |limit: Option<usize>, reversed| -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
            let cmd = ReadCommand { reversed, ..full_scan() };
            engine
                .read_raw(&cmd, limit.map_or(ReadLimits::NONE, ReadLimits::rows))
                .unwrap()
                .into_iter()
                .map(|m| (m.position.key, m.rows.into_iter().map(|(c, _)| c).collect()))
                .collect()
        };
        let p = |k: &str| k.as_bytes().to_vec();
        assert_eq!(
            shape(None, false),
            vec![
                (p("p0"), vec![vec![0], vec![1], vec![2]]),
                (p("p1"), vec![]),
                (p("p2"), vec![vec![0]])
            ]
        );
        assert_eq!(shape(Some(2), false), vec![(p("p0"), vec![vec![0], vec![1]])]);
        // Reversed, the first rows in read order are the last ones, still sent ascending.
        assert_eq!(shape(Some(2), true), vec![(p("p0"), vec![vec![1], vec![2]])]);
        assert_eq!(
            shape(Some(4), false),
            vec![(p("p0"), vec![vec![0], vec![1], vec![2]]), (p("p1"), vec![])]
        );
        let nothing = ReadLimits {
            rows: Some(0),
            ..ReadLimits::NONE
        };
        assert_eq!(engine.read_raw(&full_scan(), nothing).unwrap(), vec![]);
    }
}

#[test]
fn resuming_a_raw_read_skips_what_was_already_sent() {
    let engine = memory();
    let mut m = Mutation::new(TABLE, position(0));
    for c in 0..4u8 {
        m.rows.push((vec![c], live_row(1, "x")));
    }
    engine.apply(m).unwrap();
    let mut m = Mutation::new(TABLE, position(1));
    m.rows.push((vec![0], live_row(1, "x")));
    engine.apply(m).unwrap();
    let cmd = ReadCommand {
        resume: Some(ResumePoint {
            position: position(0),
            clustering: Some(vec![1]),
        }),
        ..full_scan()
    };
    let rows: Vec<(Vec<u8>, Vec<u8>)> = engine
        .read_raw(&cmd, ReadLimits::NONE)
        .unwrap()
        .into_iter()
        .flat_map(|m| m.rows.into_iter().map(move |(c, _)| (m.position.key.clone(), c)))
        .collect();
    assert_eq!(
        rows,
        vec![(b"p0".to_vec(), vec![2]), (b"p0".to_vec(), vec![3]), (b"p1".to_vec(), vec![0])]
    );
}
