//! A replica's side of Paxos: its state per partition lives in `system.paxos`
//! (as in Cassandra: row_key, cf_id, the promised ballot, the accepted proposal
//! and the last commit), read and rewritten under the partition's lock, and
//! written before the answer goes back (in batch commit log mode the write
//! waits for its fsync). The decisions are `paxos::State`'s.

use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use uuid::Uuid;

use super::locks::PartitionLocks;
use crate::error::QueryError;
use crate::paxos::{ballot_of, Ballot, Promise, Proposal, State};
use crate::storage::{Cell, ColumnData, LiveData, Mutation, PartitionPosition, ReadCommand, Row, StorageEngine, Visit};

/// The fixed id of `system.paxos` (see `system::definitions`).
pub fn paxos_table() -> Uuid {
    crate::system::system_table_id("system", "paxos")
}

fn clustering(table: Uuid) -> Result<Vec<u8>, QueryError> {
    let mut out = Vec::with_capacity(17);
    crate::storage::key::encode_component(&mut out, &ColumnType::Uuid, &Value::Uuid(table), false)
        .map_err(|e| QueryError::Server { message: e.to_string() })?;
    Ok(out)
}

/// Whether a load decodes the proposals' updates, or only their ballots (what
/// a propose or a commit decides on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Updates {
    Decode,
    BallotsOnly,
}

/// The state of `table`'s partition at `position` (default when none is
/// stored). With `Updates::BallotsOnly` the proposals come without their
/// updates: such a state is only compared, never stored whole (`changes`).
fn load(engine: &dyn StorageEngine, table: Uuid, position: &PartitionPosition, updates: Updates) -> Result<State, QueryError> {
    let command = ReadCommand::rows(paxos_table(), position.clone(), [clustering(table)?]);
    let mut state = State::default();
    let mut failure = None;
    engine.read(&command, crate::clock::now_seconds(), &mut |_, row| {
        if let Some((_, live)) = row {
            let ballot = |name: &str| match live.get(name) {
                Some(LiveData::Simple(c)) => Uuid::from_slice(&c.value).ok().and_then(Ballot::from_timeuuid),
                _ => None,
            };
            let mut update = |name: &str| match (live.get(name), updates) {
                (Some(LiveData::Simple(_)), Updates::BallotsOnly) => Some(Vec::new()),
                (Some(LiveData::Simple(c)), Updates::Decode) => match postcard::from_bytes::<Vec<Mutation>>(&c.value) {
                    Ok(u) => Some(u),
                    Err(e) => {
                        failure = Some(format!("system.paxos holds an unreadable {name}: {e}"));
                        None
                    }
                },
                _ => None,
            };
            state.promised = ballot("in_progress_ballot");
            let proposal = |(ballot, update)| Proposal {
                ballot,
                table,
                position: position.clone(),
                update,
            };
            state.accepted = ballot("proposal_ballot").zip(update("proposal")).map(proposal);
            state.committed = ballot("most_recent_commit_at").zip(update("most_recent_commit")).map(proposal);
        }
        Visit::Stop
    })?;
    match failure {
        Some(message) => Err(QueryError::Server { message }),
        None => Ok(state),
    }
}

/// How long a partition's Paxos state is kept after its last change: as in
/// Cassandra, the default `gc_grace_seconds` (no round lasts that long).
const STATE_TTL: i32 = 10 * 24 * 60 * 60;

/// The write that turns stored state `old` into `new`: only the columns whose
/// ballot changed (a proposal's update is rewritten only with its ballot, so
/// the commit a prepare reports is not written again at every phase).
fn changes(table: Uuid, position: &PartitionPosition, old: &State, new: &State) -> Result<Mutation, QueryError> {
    let ts = crate::clock::server_timestamp();
    let now = crate::clock::now_seconds();
    let cell = |value: Option<Vec<u8>>| {
        ColumnData::Simple(match value {
            Some(v) => Cell::live(ts, v, STATE_TTL, now),
            None => Cell::tombstone(ts),
        })
    };
    let encode = |p: &Proposal| {
        postcard::to_stdvec(&p.update).map_err(|e| QueryError::Server {
            message: format!("cannot encode a Paxos proposal: {e}"),
        })
    };
    let uuid = |b: Ballot| b.to_timeuuid().as_bytes().to_vec();
    let mut row = Row {
        marker: Some(Cell::live(ts, Vec::new(), STATE_TTL, now)),
        ..Row::default()
    };
    if old.promised != new.promised {
        row.columns.insert("in_progress_ballot".into(), cell(new.promised.map(uuid)));
    }
    if ballot_of(&old.accepted) != ballot_of(&new.accepted) {
        row.columns
            .insert("proposal_ballot".into(), cell(new.accepted.as_ref().map(|p| uuid(p.ballot))));
        row.columns
            .insert("proposal".into(), cell(new.accepted.as_ref().map(encode).transpose()?));
    }
    if ballot_of(&old.committed) != ballot_of(&new.committed) {
        row.columns
            .insert("most_recent_commit_at".into(), cell(new.committed.as_ref().map(|p| uuid(p.ballot))));
        row.columns
            .insert("most_recent_commit".into(), cell(new.committed.as_ref().map(encode).transpose()?));
    }
    let mut m = Mutation::new(paxos_table(), position.clone());
    m.rows.push((clustering(table)?, row));
    Ok(m)
}

/// Phase 1: promise `ballot` for the partition, or say which ballot is higher.
pub fn prepare(
    engine: &dyn StorageEngine,
    locks: &PartitionLocks,
    table: Uuid,
    position: &PartitionPosition,
    ballot: Ballot,
) -> Result<Promise, QueryError> {
    let _guard = locks.lock(table, position);
    let old = load(engine, table, position, Updates::Decode)?;
    let (next, promise) = old.prepare(ballot);
    if let Some(next) = next {
        engine.apply(changes(table, position, &old, &next)?)?;
    }
    Ok(promise)
}

/// Phase 2: accept `proposal` unless a higher ballot was promised.
pub fn propose(engine: &dyn StorageEngine, locks: &PartitionLocks, proposal: Proposal) -> Result<bool, QueryError> {
    let (table, position) = (proposal.table, proposal.position.clone());
    let _guard = locks.lock(table, &position);
    let old = load(engine, table, &position, Updates::BallotsOnly)?;
    match old.propose(proposal) {
        Some(next) => {
            engine.apply(changes(table, &position, &old, &next)?)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Phase 3: apply the proposal's update and remember it as committed, in one write.
pub fn commit(engine: &dyn StorageEngine, locks: &PartitionLocks, proposal: Proposal) -> Result<(), QueryError> {
    let (table, position) = (proposal.table, proposal.position.clone());
    let _guard = locks.lock(table, &position);
    let old = load(engine, table, &position, Updates::BallotsOnly)?;
    let mut write = proposal.update.clone();
    let next = old.commit(proposal);
    write.push(changes(table, &position, &old, &next)?);
    engine.apply_all(write)?;
    Ok(())
}
