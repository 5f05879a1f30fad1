//! The replica's side of every verb: what a node does with a peer's request
//! (and with its own, sent to itself). Data verbs are served from storage
//! (`local_reply`); Paxos phases keep their state per partition (`paxos`), and a
//! counter increment is applied by its leader (`counter`), both under the
//! partition's lock (`locks`).

pub mod counter;
pub mod locks;
pub mod paxos;

use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use self::locks::PartitionLocks;
use crate::coordinator::digest;
use crate::coordinator::hint_file::Hint;
use crate::coordinator::hint_store::HintStore;
use crate::internode::{Reply, Verb};
use crate::storage::StorageEngine;

/// Serves a verb from this node's own storage: what a replica does.
pub fn local_reply(engine: &dyn StorageEngine, verb: Verb) -> Reply {
    match verb {
        Verb::Mutate { mutations } => match engine.apply_all(mutations) {
            Ok(()) => Reply::Ack,
            Err(e) => Reply::Failed { message: e.to_string() },
        },
        Verb::Read { command, limits } => {
            trace_read_start(&command);
            match engine.read_raw(&command, limits) {
                Ok(partitions) => {
                    trace_read_counts(&partitions);
                    Reply::Data { partitions }
                }
                Err(e) => Reply::Failed { message: e.to_string() },
            }
        }
        Verb::Ping => Reply::Pong,
        Verb::Truncate { table } => match engine.truncate(table) {
            Ok(()) => Reply::Ack,
            Err(e) => Reply::Failed { message: e.to_string() },
        },
        Verb::ReadDigest { command, limits } => {
            trace_read_start(&command);
            let read = engine.read_raw(&command, limits).and_then(|p| {
                trace_read_counts(&p);
                digest::digest(&command, p)
            });
            match read {
                Ok(digest) => Reply::Digest { digest },
                Err(e) => Reply::Failed { message: e.to_string() },
            }
        }
        Verb::StreamRead {
            table,
            start,
            end,
            resume,
            max_rows,
        } => match crate::movement::copy::read_chunk(engine, table, start, end, resume, max_rows) {
            Ok((chunk, next)) => Reply::Stream { chunk, next },
            Err(message) => Reply::Failed { message },
        },
        // Streamed data is on disk before it is acknowledged: the sender may
        // be a leaving node about to exit.
        Verb::StreamPush { chunk } => match crate::movement::chunk::decode(&chunk) {
            Ok(partitions) => match engine.apply_all(partitions).and_then(|()| engine.sync()) {
                Ok(()) => Reply::Ack,
                Err(e) => Reply::Failed { message: e.to_string() },
            },
            Err(e) => Reply::Failed { message: e.to_string() },
        },
        Verb::Validate { table, span, depth } => match crate::repair::validation::validate(engine, table, span, depth) {
            Ok(v) => Reply::Tree {
                tree: v.tree,
                rows: v.rows,
                bytes: v.bytes,
            },
            Err(message) => Reply::Failed { message },
        },
        Verb::RepairPrepare {
            table,
            span,
            max_partitions,
        } => {
            let (start, end) = span.bounds();
            let answer = engine
                .begin_repair()
                .and_then(|before| Ok((before, engine.unrepaired(table, start, end, max_partitions as usize)?)));
            match answer {
                Ok((before, partitions)) => Reply::Unrepaired { before, partitions },
                Err(e) => Reply::Failed { message: e.to_string() },
            }
        }
        Verb::ValidatePartitions {
            table,
            span,
            depth,
            partitions,
        } => match crate::repair::validation::validate_partitions(engine, table, span, depth, partitions) {
            Ok(v) => Reply::Tree {
                tree: v.tree,
                rows: v.rows,
                bytes: v.bytes,
            },
            Err(message) => Reply::Failed { message },
        },
        Verb::RepairFinalize { table, span, before } => {
            let (start, end) = span.bounds();
            match engine.mark_repaired(table, start, end, before) {
                Ok(_) => Reply::Ack,
                Err(e) => Reply::Failed { message: e.to_string() },
            }
        }
        Verb::PaxosPrepare { .. } | Verb::PaxosPropose { .. } | Verb::PaxosCommit { .. } | Verb::CounterLead { .. } => Reply::Failed {
            message: format!("{} needs the node's replica service (ReplicaHandler)", verb.name()),
        },
        Verb::Traced { .. } => Reply::Failed {
            message: "a traced verb is unwrapped by internode::answer".into(),
        },
        Verb::Hint { .. } => Reply::Failed {
            message: "a handed-over hint needs the node's replica service (ReplicaHandler)".into(),
        },
    }
}

/// The trace event a read begins with, as Cassandra words it.
fn trace_read_start(command: &crate::storage::ReadCommand) {
    crate::trace::event(match command.partitions {
        crate::storage::PartitionSelection::Keys(_) => "Executing single-partition query",
        crate::storage::PartitionSelection::Tokens { .. } => "Executing range scan",
    });
}

/// The trace event a read ends with: `Read N live rows and M tombstone cells`.
fn trace_read_counts(partitions: &[crate::storage::Mutation]) {
    crate::trace::event_with(|| {
        let (live, tombstones) = row_and_tombstone_counts(partitions);
        format!("Read {live} live rows and {tombstones} tombstone cells")
    });
}

/// Rows with at least one live cell (or a live row marker), and tombstones of
/// every kind (cell, row, range and partition deletions), in raw replica
/// content. Expiry is not looked at: a cell whose TTL ran out counts as live.
pub fn row_and_tombstone_counts(partitions: &[crate::storage::Mutation]) -> (usize, usize) {
    use crate::storage::ColumnData;
    let mut live = 0;
    let mut tombstones = 0;
    for m in partitions {
        tombstones += usize::from(m.partition_deletion.is_some()) + m.range_tombstones.len();
        for row in m.static_row.iter().chain(m.rows.iter().map(|(_, r)| r)) {
            tombstones += usize::from(row.deletion.is_some());
            let mut any_live = row.marker.as_ref().is_some_and(|c| c.value.is_some());
            for data in row.columns.values() {
                let cells: Box<dyn Iterator<Item = &crate::storage::Cell>> = match data {
                    ColumnData::Simple(cell) => Box::new(std::iter::once(cell)),
                    ColumnData::Complex { deletion, cells } => {
                        tombstones += usize::from(deletion.is_some());
                        Box::new(cells.values())
                    }
                };
                for cell in cells {
                    if cell.value.is_some() {
                        any_live = true;
                    } else {
                        tombstones += 1;
                    }
                }
            }
            live += usize::from(any_live);
        }
    }
    (live, tombstones)
}

/// The replica side of internode messaging: serves verbs from local storage,
/// and keeps what lightweight transactions and counters need on a replica:
/// the node's host id (its counter shards' key) and the partition locks.
pub struct ReplicaHandler {
    engine: Arc<dyn StorageEngine>,
    host_id: Uuid,
    locks: PartitionLocks,
    tracing: Option<Arc<crate::trace::Tracing>>,
    /// This node's address and hints, for hints handed over by a leaving node.
    hints: Option<(IpAddr, Arc<HintStore>)>,
}

impl ReplicaHandler {
    pub fn new(engine: Arc<dyn StorageEngine>, host_id: Uuid) -> ReplicaHandler {
        ReplicaHandler {
            engine,
            host_id,
            locks: PartitionLocks::default(),
            tracing: None,
            hints: None,
        }
    }

    /// Takes the hints a leaving node hands over into `store` (this node is `local`).
    pub fn with_hints(mut self, local: IpAddr, store: Arc<HintStore>) -> ReplicaHandler {
        self.hints = Some((local, store));
        self
    }

    /// A handed-over hint: applied when this node is its target, else kept.
    fn take_hint(&self, target: IpAddr, hint: Hint) -> Reply {
        match &self.hints {
            Some((local, _)) if *local == target => match self.engine.apply(hint.mutation) {
                Ok(()) => Reply::Ack,
                Err(e) => failed(e),
            },
            Some((_, store)) => match store.store_hint(target, &hint) {
                Ok(()) => Reply::Ack,
                Err(e) => failed(e),
            },
            None => failed("this node keeps no hints"),
        }
    }

    /// Records traced verbs' events through the node's `tracing`.
    pub fn with_tracing(mut self, tracing: Arc<crate::trace::Tracing>) -> ReplicaHandler {
        self.tracing = Some(tracing);
        self
    }
}

fn failed(e: impl std::fmt::Display) -> Reply {
    Reply::Failed { message: e.to_string() }
}

impl crate::internode::Handler for ReplicaHandler {
    fn handle(&self, _from: IpAddr, verb: Verb) -> Reply {
        let engine = self.engine.as_ref();
        match verb {
            Verb::PaxosPrepare { table, position, ballot } => match paxos::prepare(engine, &self.locks, table, &position, ballot) {
                Ok(promise) => Reply::Promise { promise },
                Err(e) => failed(e),
            },
            Verb::PaxosPropose { proposal } => match paxos::propose(engine, &self.locks, proposal) {
                Ok(accepted) => Reply::Accepted { accepted },
                Err(e) => failed(e),
            },
            Verb::PaxosCommit { proposal } => match paxos::commit(engine, &self.locks, proposal) {
                Ok(()) => Reply::Ack,
                Err(e) => failed(e),
            },
            Verb::CounterLead { mutations } => match counter::lead(engine, &self.locks, self.host_id, mutations) {
                Ok(partitions) => Reply::Data { partitions },
                Err(e) => failed(e),
            },
            Verb::Hint {
                target,
                created_at,
                mutation,
            } => self.take_hint(target, Hint { created_at, mutation }),
            other => local_reply(engine, other),
        }
    }

    fn blocks(&self, verb: &Verb) -> bool {
        match verb {
            Verb::Mutate { .. }
            | Verb::PaxosPrepare { .. }
            | Verb::PaxosPropose { .. }
            | Verb::PaxosCommit { .. }
            | Verb::CounterLead { .. } => self.engine.waits_for_sync(),
            Verb::Hint { .. } => true,
            Verb::Read { .. } | Verb::ReadDigest { .. } | Verb::Ping => false,
            Verb::StreamRead { .. }
            | Verb::StreamPush { .. }
            | Verb::Truncate { .. }
            | Verb::Validate { .. }
            | Verb::RepairPrepare { .. }
            | Verb::ValidatePartitions { .. }
            | Verb::RepairFinalize { .. } => true,
            Verb::Traced { .. } => false,
        }
    }

    fn tracing(&self) -> Option<&Arc<crate::trace::Tracing>> {
        self.tracing.as_ref()
    }
}
