//! Copying one token range of one table from a source node to a target node
//! in chunks: the source reads a chunk (`Verb::StreamRead`, served by
//! `read_chunk`), the target applies it (`Verb::StreamPush`). Either node may
//! be this one (messaging serves its own address in process). A failed copy
//! reports how far it got, so the caller resumes it from another source.

use std::net::IpAddr;
use std::ops::Bound;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::chunk::{self, StreamChunk};
use crate::internode::{Messaging, Reply, Verb};
use crate::storage::{PartitionSelection, ReadCommand, ReadLimits, ResumePoint, StorageEngine};

/// Rows per chunk: about a megabyte for rows of a kilobyte.
pub const CHUNK_ROWS: u32 = 1000;
/// About the most row data one chunk holds, whatever its row count, so that
/// a chunk of large rows stays well within an internode frame.
const CHUNK_BYTES: u32 = 8 << 20;
/// How long one chunk may take to read or apply.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(60);

/// The replica side of `StreamRead`: the next chunk of the range and where the
/// one after starts (`None` once the range is exhausted).
pub fn read_chunk(
    engine: &dyn StorageEngine,
    table: Uuid,
    start: Bound<i64>,
    end: Bound<i64>,
    resume: Option<ResumePoint>,
    max_rows: u32,
) -> Result<(StreamChunk, Option<ResumePoint>), String> {
    let limits = ReadLimits {
        rows: Some(max_rows.max(1)),
        bytes: Some(CHUNK_BYTES),
        per_partition: None,
    };
    let command = ReadCommand {
        index: None,
        table,
        partitions: PartitionSelection::Tokens { start, end },
        slices: Vec::new(),
        reversed: false,
        resume,
    };
    let partitions = engine.read_raw(&command, limits).map_err(|e| e.to_string())?;
    let next = if limits.reached(&partitions) {
        // Full: continue after the last row sent (or the whole last partition).
        ResumePoint::end_of(&partitions, false)
    } else {
        None
    };
    let chunk = chunk::encode(table, &partitions).map_err(|e| e.to_string())?;
    Ok((chunk, next))
}

/// A cap on the bytes per second one operation streams (0: none).
#[derive(Debug)]
pub struct Throttle {
    bytes_per_second: u64,
    state: Mutex<(Instant, u64)>,
}

impl Throttle {
    pub fn new(megabytes_per_second: u64) -> Throttle {
        Throttle {
            bytes_per_second: megabytes_per_second.saturating_mul(1 << 20),
            state: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Counts `bytes` sent and waits as long as they put the stream ahead of its cap.
    pub async fn pass(&self, bytes: u64) {
        crate::metrics::global().stream_bytes.with_label_values(&["out"]).inc_by(bytes);
        if self.bytes_per_second == 0 {
            return;
        }
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.1 += bytes;
            let due = Duration::from_secs_f64(state.1 as f64 / self.bytes_per_second as f64);
            due.saturating_sub(state.0.elapsed())
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Copies `[start, end]` of `table` from `source` to `target`, from `*resume`
/// on, calling `sent(bytes, rows)` after each chunk. On failure `*resume` is
/// where the next attempt starts.
#[allow(clippy::too_many_arguments)]
pub async fn copy_range(
    messaging: &Messaging,
    source: IpAddr,
    target: IpAddr,
    table: Uuid,
    (start, end): (Bound<i64>, Bound<i64>),
    resume: &mut Option<ResumePoint>,
    throttle: &Throttle,
    sent: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(), String> {
    loop {
        let verb = Verb::StreamRead {
            table,
            start,
            end,
            resume: resume.clone(),
            max_rows: CHUNK_ROWS,
        };
        let (chunk, next) = match messaging.send(source, verb, CHUNK_TIMEOUT).await {
            Ok(Reply::Stream { chunk, next }) => (chunk, next),
            Ok(Reply::Failed { message }) => return Err(format!("{source} cannot read the range: {message}")),
            Ok(other) => return Err(format!("{source} answered a stream read with {other:?}")),
            Err(e) => return Err(e.to_string()),
        };
        let (bytes, rows) = (chunk.data.len() as u64, u64::from(chunk.rows));
        if rows > 0 {
            match messaging.send(target, Verb::StreamPush { chunk }, CHUNK_TIMEOUT).await {
                Ok(Reply::Ack) => {}
                Ok(Reply::Failed { message }) => return Err(format!("{target} cannot apply a chunk: {message}")),
                Ok(other) => return Err(format!("{target} answered a stream push with {other:?}")),
                Err(e) => return Err(e.to_string()),
            }
        }
        sent(bytes, rows);
        throttle.pass(bytes).await;
        match next {
            Some(n) => *resume = Some(n),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryEngine;
    use crate::storage::{Cell, Mutation, PartitionPosition, Row};

    const T: Uuid = Uuid::from_u128(9);

    #[test]
    fn chunks_walk_a_range_to_its_end_without_repeating_rows() {
        let engine = MemoryEngine::new();
        engine.create_table(T).unwrap();
        for token in 0..50i64 {
            let mut m = Mutation::new(
                T,
                PartitionPosition {
                    token,
                    key: vec![token as u8],
                },
            );
            for r in 0..3u8 {
                m.rows.push((
                    vec![r],
                    Row {
                        marker: Some(Cell::live(1, Vec::new(), 0, 0)),
                        ..Row::default()
                    },
                ));
            }
            engine.apply(m).unwrap();
        }
        let (mut resume, mut rows, mut chunks) = (None, 0usize, 0);
        loop {
            let (chunk, next) = read_chunk(&engine, T, Bound::Excluded(9), Bound::Included(39), resume.take(), 7).unwrap();
            let partitions = chunk::decode(&chunk).unwrap();
            assert!(partitions.iter().all(|m| (10..=39).contains(&m.position.token)));
            rows += partitions.iter().map(|m| m.rows.len()).sum::<usize>();
            chunks += 1;
            match next {
                Some(n) => resume = Some(n),
                None => break,
            }
        }
        assert_eq!(rows, 30 * 3, "every row of tokens 10..=39 once");
        assert!(chunks >= 13, "7 rows a chunk: {chunks}");
    }
}
