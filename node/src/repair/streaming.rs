//! How an incremental repair streams the partitions that differ: each one's
//! token is read from the source alone (`StreamRead` of a one-token span, a
//! few at a time), and what is read is gathered into chunks of about
//! `copy::CHUNK_ROWS` rows pushed to the target (`StreamPush`), so that the
//! target applies and makes durable a chunk at a time, not a partition at a
//! time. One partition is held whole on the coordinator while it is read.

use std::net::IpAddr;
use std::ops::Bound;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use uuid::Uuid;

use super::merkle::TokenSpan;
use crate::internode::{Messaging, Reply, Verb};
use crate::movement::chunk;
use crate::movement::copy::{Throttle, CHUNK_ROWS};
use crate::storage::{Mutation, ResumePoint};

/// Tokens read from the source at once.
const READS_IN_FLIGHT: usize = 8;
/// How long one read or push may take.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(60);

/// Copies the partitions of `table` at each of `tokens` from `source` to
/// `target`, calling `sent(bytes, rows)` after each chunk pushed.
pub async fn copy_tokens(
    messaging: &Messaging,
    source: IpAddr,
    target: IpAddr,
    table: Uuid,
    tokens: &[TokenSpan],
    throttle: &Throttle,
    sent: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(), String> {
    let mut reads = stream::iter(tokens.iter().copied())
        .map(|span| read_span(messaging, source, table, span))
        .buffered(READS_IN_FLIGHT);
    let mut pending: Vec<Mutation> = Vec::new();
    let mut rows = 0usize;
    while let Some(read) = reads.next().await {
        let partitions = read?;
        rows += chunk::row_count(&partitions);
        pending.extend(partitions);
        if rows >= CHUNK_ROWS as usize {
            push(messaging, target, table, std::mem::take(&mut pending), throttle, sent).await?;
            rows = 0;
        }
    }
    if !pending.is_empty() {
        push(messaging, target, table, pending, throttle, sent).await?;
    }
    Ok(())
}

/// Everything the source holds of `table` in `span`.
async fn read_span(messaging: &Messaging, source: IpAddr, table: Uuid, span: TokenSpan) -> Result<Vec<Mutation>, String> {
    let mut out = Vec::new();
    let mut resume: Option<ResumePoint> = None;
    loop {
        let verb = Verb::StreamRead {
            table,
            start: Bound::Included(span.first),
            end: Bound::Included(span.last),
            resume: resume.take(),
            max_rows: CHUNK_ROWS,
        };
        match messaging.send(source, verb, CHUNK_TIMEOUT).await {
            Ok(Reply::Stream { chunk, next }) => {
                out.extend(chunk::decode(&chunk).map_err(|e| format!("{source} sent a bad chunk: {e}"))?);
                match next {
                    Some(n) => resume = Some(n),
                    None => return Ok(out),
                }
            }
            Ok(Reply::Failed { message }) => return Err(format!("{source} cannot read token {}: {message}", span.first)),
            Ok(other) => return Err(format!("{source} answered a stream read with {}", other.name())),
            Err(e) => return Err(format!("{source}: {e}")),
        }
    }
}

async fn push(
    messaging: &Messaging,
    target: IpAddr,
    table: Uuid,
    partitions: Vec<Mutation>,
    throttle: &Throttle,
    sent: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(), String> {
    let chunk = chunk::encode(table, &partitions).map_err(|e| e.to_string())?;
    let (bytes, rows) = (chunk.data.len() as u64, u64::from(chunk.rows));
    match messaging.send(target, Verb::StreamPush { chunk }, CHUNK_TIMEOUT).await {
        Ok(Reply::Ack) => {}
        Ok(Reply::Failed { message }) => return Err(format!("{target} cannot apply a chunk: {message}")),
        Ok(other) => return Err(format!("{target} answered a stream push with {}", other.name())),
        Err(e) => return Err(format!("{target}: {e}")),
    }
    sent(bytes, rows);
    throttle.pass(bytes).await;
    Ok(())
}
