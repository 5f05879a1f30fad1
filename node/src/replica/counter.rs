//! Counters as Cassandra models them: a counter column holds one shard per
//! node that ever led an increment of it, keyed by that node's host id: the
//! node's running count and a logical clock. Only the owning node writes its
//! shard (it leads the increment: `lead`), each time with a higher clock, so
//! replicas merge shards by keeping each node's highest clock, which is last
//! write wins on the shard's cell with the clock as its timestamp, and a read
//! adds the shards up (`total`). The clock is never below the wall clock in
//! microseconds, so a DELETE of the counter (a tombstone at its timestamp)
//! hides the shards written before it and not the increments after it.

use uuid::Uuid;

use super::locks::PartitionLocks;
use crate::error::QueryError;
use crate::storage::{Cell, ColumnData, LiveCell, LiveData, Mutation, ReadCommand, Row, StorageEngine, Visit};

/// A node's shard as it is stored: (clock, count).
fn shard_of(host: Uuid, data: Option<&LiveData>) -> Option<(i64, i64)> {
    match data {
        Some(LiveData::Complex(shards)) => shards
            .iter()
            .find(|(path, _)| path.as_slice() == host.as_bytes())
            .map(|(_, cell)| (cell.timestamp, count_of(cell))),
        _ => None,
    }
}

fn count_of(cell: &LiveCell) -> i64 {
    cell.value.get(..8).and_then(|b| b.try_into().ok()).map_or(0, i64::from_be_bytes)
}

/// The counter's value: the sum of its shards (a value written before counters
/// had shards is read as it was).
pub fn total(data: &LiveData) -> i64 {
    match data {
        LiveData::Simple(cell) => count_of(cell),
        LiveData::Complex(shards) => sum(shards),
    }
}

/// The sum of a counter's shards.
pub fn sum(shards: &[(Vec<u8>, LiveCell)]) -> i64 {
    shards.iter().fold(0i64, |sum, (_, cell)| sum.wrapping_add(count_of(cell)))
}

/// The shard after adding `delta` to `current` (clock, count) at `now_micros`.
pub fn next_shard(current: Option<(i64, i64)>, delta: i64, now_micros: i64) -> (i64, i64) {
    match current {
        Some((clock, count)) => (clock.saturating_add(1).max(now_micros), count.wrapping_add(delta)),
        None => (now_micros, delta),
    }
}

/// The data of one shard write.
pub fn shard_data(host: Uuid, clock: i64, count: i64) -> ColumnData {
    ColumnData::Complex {
        deletion: None,
        cells: [(host.as_bytes().to_vec(), Cell::live(clock, count.to_be_bytes().to_vec(), 0, 0))].into(),
    }
}

/// The delta a counter cell of an increment carries.
fn delta_of(data: &ColumnData) -> Result<i64, QueryError> {
    match data {
        ColumnData::Simple(Cell { value: Some(v), .. }) => v
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)
            .ok_or_else(|| QueryError::invalid("a counter increment must be 8 bytes")),
        _ => Err(QueryError::invalid("a counter increment must be a live cell holding its delta")),
    }
}

/// Applies `mutations` (whose cells are deltas) as their leader: each counter
/// cell becomes this node's shard plus the delta, written here under the
/// partition's lock. Returns what was written, for the other replicas.
pub fn lead(engine: &dyn StorageEngine, locks: &PartitionLocks, host: Uuid, mutations: Vec<Mutation>) -> Result<Vec<Mutation>, QueryError> {
    let mut out = Vec::with_capacity(mutations.len());
    for m in mutations {
        let _guard = locks.lock(m.table, &m.position);
        let current = read_current(engine, &m)?;
        let now = crate::clock::server_timestamp();
        let shards = |row: &Row, live: Option<&crate::storage::LiveRow>| -> Result<Row, QueryError> {
            let mut next = Row::default();
            for (name, data) in &row.columns {
                let delta = delta_of(data)?;
                let (clock, count) = next_shard(shard_of(host, live.and_then(|l| l.get(name))), delta, now);
                next.columns.insert(name.clone(), shard_data(host, clock, count));
            }
            Ok(next)
        };
        let mut result = Mutation::new(m.table, m.position.clone());
        if let Some(row) = &m.static_row {
            result.static_row = Some(shards(row, current.static_row.as_ref())?);
        }
        for (clustering, row) in &m.rows {
            let live = current.rows.iter().find(|(c, _)| c == clustering).map(|(_, r)| r);
            result.rows.push((clustering.clone(), shards(row, live)?));
        }
        engine.apply(result.clone())?;
        out.push(result);
    }
    Ok(out)
}

#[derive(Default)]
struct Current {
    static_row: Option<crate::storage::LiveRow>,
    rows: Vec<(Vec<u8>, crate::storage::LiveRow)>,
}

/// The live rows (and static row) an increment touches, as this node has them.
fn read_current(engine: &dyn StorageEngine, m: &Mutation) -> Result<Current, QueryError> {
    let command = ReadCommand::rows(m.table, m.position.clone(), m.rows.iter().map(|(c, _)| c.clone()));
    let mut current = Current::default();
    engine.read(&command, crate::clock::now_seconds(), &mut |pv, row| {
        if current.static_row.is_none() {
            current.static_row = pv.static_row.clone();
        }
        if let Some((clustering, live)) = row {
            current.rows.push((clustering.to_vec(), live.clone()));
        }
        Visit::Continue
    })?;
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_climbs_its_clock_and_adds_the_delta() {
        assert_eq!(next_shard(None, 5, 100), (100, 5));
        assert_eq!(
            next_shard(Some((100, 5)), -2, 100),
            (101, 3),
            "same microsecond: the clock still climbs"
        );
        assert_eq!(next_shard(Some((100, 5)), 1, 500), (500, 6), "never below the wall clock");
    }

    #[test]
    fn a_read_adds_every_nodes_shard() {
        let cell = |ts: i64, n: i64| LiveCell {
            value: n.to_be_bytes().to_vec(),
            timestamp: ts,
            ttl: None,
        };
        let data = LiveData::Complex(vec![(vec![1; 16], cell(5, 10)), (vec![2; 16], cell(9, -3))]);
        assert_eq!(total(&data), 7);
        assert_eq!(shard_of(Uuid::from_bytes([2; 16]), Some(&data)), Some((9, -3)));
        assert_eq!(shard_of(Uuid::from_bytes([3; 16]), Some(&data)), None);
        assert_eq!(total(&LiveData::Simple(cell(1, 42))), 42);
    }

    #[test]
    fn replicas_keep_each_nodes_newest_shard_whatever_the_order() {
        let host = Uuid::from_bytes([1; 16]);
        let old = shard_data(host, 10, 1);
        let new = shard_data(host, 11, 2);
        assert_eq!(old.clone().reconcile(new.clone()), new.clone().reconcile(old));
        assert_eq!(shard_data(host, 10, 1).reconcile(new.clone()), new);
    }

    #[test]
    fn the_leader_adds_to_its_own_shard_only() {
        let engine = crate::storage::memory::MemoryEngine::new();
        let table = Uuid::from_u128(1);
        engine.create_table(table).unwrap();
        let locks = PartitionLocks::default();
        let position = crate::storage::PartitionPosition { token: 1, key: vec![1] };
        let increment = |delta: i64| {
            let mut m = Mutation::new(table, position.clone());
            let mut row = Row::default();
            row.columns
                .insert("c".into(), ColumnData::Simple(Cell::live(1, delta.to_be_bytes().to_vec(), 0, 0)));
            m.rows.push((vec![], row));
            m
        };
        let a = Uuid::from_bytes([0xa; 16]);
        let b = Uuid::from_bytes([0xb; 16]);
        lead(&engine, &locks, a, vec![increment(5)]).unwrap();
        let from_b = lead(&engine, &locks, b, vec![increment(2)]).unwrap();
        lead(&engine, &locks, a, vec![increment(-1)]).unwrap();
        assert_eq!(from_b.len(), 1);
        let current = read_current(&engine, &increment(0)).unwrap();
        let data = current.rows[0].1.get("c").unwrap();
        assert_eq!(total(data), 6);
        assert_eq!(shard_of(a, Some(data)).map(|s| s.1), Some(4));
        assert_eq!(shard_of(b, Some(data)).map(|s| s.1), Some(2));
        assert!(
            lead(
                &engine,
                &locks,
                a,
                vec![Mutation {
                    rows: vec![(
                        vec![],
                        Row {
                            columns: [("c".into(), ColumnData::Simple(Cell::tombstone(1)))].into(),
                            ..Row::default()
                        }
                    )],
                    ..increment(0)
                }]
            )
            .is_err(),
            "a tombstone is no increment"
        );
    }
}
