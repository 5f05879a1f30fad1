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
use crate::internode::{Reply, Verb};
use crate::storage::StorageEngine;

/// Serves a verb from this node's own storage: what a replica does.
pub fn local_reply(engine: &dyn StorageEngine, verb: Verb) -> Reply {
    match verb {
        Verb::Mutate { mutations } => match engine.apply_all(mutations) {
            Ok(()) => Reply::Ack,
            Err(e) => Reply::Failed { message: e.to_string() },
        },
        Verb::Read { command, limit_rows } => match engine.read_raw(&command, limit_rows.map(|n| n as usize)) {
            Ok(partitions) => Reply::Data { partitions },
            Err(e) => Reply::Failed { message: e.to_string() },
        },
        Verb::Ping => Reply::Pong,
        Verb::Truncate { table } => match engine.truncate(table) {
            Ok(()) => Reply::Ack,
            Err(e) => Reply::Failed { message: e.to_string() },
        },
        Verb::ReadDigest { command } => match engine.read_raw(&command, None).and_then(|p| digest::digest(&command, p)) {
            Ok(digest) => Reply::Digest { digest },
            Err(e) => Reply::Failed { message: e.to_string() },
        },
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
        Verb::PaxosPrepare { .. } | Verb::PaxosPropose { .. } | Verb::PaxosCommit { .. } | Verb::CounterLead { .. } => Reply::Failed {
            message: format!("{} needs the node's replica service (ReplicaHandler)", verb.name()),
        },
    }
}

/// The replica side of internode messaging: serves verbs from local storage,
/// and keeps what lightweight transactions and counters need on a replica:
/// the node's host id (its counter shards' key) and the partition locks.
pub struct ReplicaHandler {
    engine: Arc<dyn StorageEngine>,
    host_id: Uuid,
    locks: PartitionLocks,
}

impl ReplicaHandler {
    pub fn new(engine: Arc<dyn StorageEngine>, host_id: Uuid) -> ReplicaHandler {
        ReplicaHandler {
            engine,
            host_id,
            locks: PartitionLocks::default(),
        }
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
            Verb::Read { .. } | Verb::ReadDigest { .. } | Verb::Ping => false,
            Verb::StreamRead { .. } | Verb::StreamPush { .. } | Verb::Truncate { .. } | Verb::Validate { .. } => true,
        }
    }
}
