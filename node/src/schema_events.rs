//! The schema as a log of DDL events, the way it spreads through the cluster.
//! Every successful DDL becomes an event (timestamp, origin node, session
//! keyspace, statement text); a node's schema is the replay of all events it
//! knows, in (timestamp, node) order, from the system keyspaces. Events only
//! accumulate, so two nodes that know the same events have the same schema and
//! the same `schema_version` (a digest of the event ids), whatever order the
//! events reached them in; concurrent DDL on two nodes resolves by timestamp.

use std::hash::{Hash, Hasher};

use cql_protocol::cql::ast::Statement;
use cql_protocol::cql::parse_statement;
use cql_protocol::response::SchemaChange;
use uuid::Uuid;

use crate::error::QueryError;
use crate::query::{ddl, keyspace_of};
use crate::schema::Schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaEvent {
    /// Microseconds since the epoch: the replay order, and LWW between nodes.
    pub timestamp: i64,
    /// The host id of the node that ran the DDL (breaks timestamp ties).
    pub node: Uuid,
    /// The session keyspace the statement ran in (for unqualified names).
    pub keyspace: Option<String>,
    pub statement: String,
}

impl SchemaEvent {
    pub fn id(&self) -> (i64, Uuid) {
        (self.timestamp, self.node)
    }
}

/// How far ahead of this node's clock a peer's schema event may be stamped, in
/// microseconds. A DDL stamped further ahead would win over every change made
/// until then (a `DROP KEYSPACE` from the far future outlives any re-create).
pub const MAX_CLOCK_SKEW_MICROS: i64 = 60_000_000;

/// Splits a peer's events into those stamped no later than `now` (microseconds)
/// plus the allowed skew, and those from further in the future.
pub fn split_future(events: Vec<SchemaEvent>, now: i64) -> (Vec<SchemaEvent>, Vec<SchemaEvent>) {
    events
        .into_iter()
        .partition(|e| e.timestamp <= now.saturating_add(MAX_CLOCK_SKEW_MICROS))
}

/// A table's id is derived from its creating event, so every node that replays
/// the event gives the table the same id.
fn table_id(event: &SchemaEvent, keyspace: &str, table: &str) -> Uuid {
    let mut bytes = [0u8; 16];
    for (i, salt) in [1u8, 2].into_iter().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, event.timestamp, event.node, keyspace, table).hash(&mut h);
        bytes[i * 8..i * 8 + 8].copy_from_slice(&h.finish().to_be_bytes());
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The schema version of a set of events: the same set gives the same version.
pub fn version(events: &[SchemaEvent]) -> Uuid {
    let mut ids: Vec<(i64, Uuid)> = events.iter().map(SchemaEvent::id).collect();
    ids.sort_unstable();
    let mut bytes = [0u8; 16];
    for (i, salt) in [3u8, 4].into_iter().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, &ids).hash(&mut h);
        bytes[i * 8..i * 8 + 8].copy_from_slice(&h.finish().to_be_bytes());
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Applies one event to `schema`. `Ok(None)`: nothing changed (IF [NOT] EXISTS).
pub fn apply(schema: &mut Schema, event: &SchemaEvent) -> Result<Option<SchemaChange>, QueryError> {
    let statement = parse_statement(&event.statement).map_err(|e| QueryError::Syntax { message: e.to_string() })?;
    let ks = event.keyspace.as_deref();
    Ok(match &statement {
        Statement::CreateKeyspace(s) => ddl::create_keyspace(schema, s)?,
        Statement::AlterKeyspace(s) => ddl::alter_keyspace(schema, s)?,
        Statement::DropKeyspace(s) => ddl::drop_keyspace(schema, s)?.map(|(c, _)| c),
        Statement::CreateTable(s) => {
            let keyspace = keyspace_of(ks, &s.name)?;
            let id = table_id(event, &keyspace, &s.name.name);
            ddl::create_table(schema, &keyspace, s, id)?.map(|(c, _)| c)
        }
        Statement::AlterTable(s) => ddl::alter_table(schema, &keyspace_of(ks, &s.name)?, s)?,
        Statement::DropTable(s) => ddl::drop_table(schema, &keyspace_of(ks, &s.name)?, s)?.map(|(c, _)| c),
        Statement::CreateType(s) => ddl::create_type(schema, &keyspace_of(ks, &s.name)?, s)?,
        Statement::DropType(s) => ddl::drop_type(schema, &keyspace_of(ks, &s.name)?, s)?,
        Statement::CreateIndex(s) => ddl::create_index(schema, &keyspace_of(ks, &s.table)?, s)?,
        Statement::DropIndex(s) => ddl::drop_index(schema, &keyspace_of(ks, &s.name)?, s)?,
        _ => return Err(QueryError::invalid("not a schema statement")),
    })
}

/// The schema that `events` make from `base` (the system keyspaces). Events that
/// fail in this order (a table created in a keyspace dropped earlier) change nothing.
pub fn replay(base: &Schema, events: &[SchemaEvent]) -> Schema {
    let mut sorted: Vec<&SchemaEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.id());
    let mut schema = base.clone();
    for event in sorted {
        let mut next = schema.clone();
        if apply(&mut next, event).is_ok() {
            schema = next;
        }
    }
    schema.version = version(events);
    schema
}

/// Events on the wire (between nodes): `[u32 count]` then per event `[i64 ts]
/// [16 bytes node][u8 has keyspace][u16 len][keyspace][u32 len][statement]`, big-endian.
pub fn encode(events: &[SchemaEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(events.len() as u32).to_be_bytes());
    for e in events {
        out.extend_from_slice(&e.timestamp.to_be_bytes());
        out.extend_from_slice(e.node.as_bytes());
        match &e.keyspace {
            Some(k) => {
                out.push(1);
                out.extend_from_slice(&(k.len() as u16).to_be_bytes());
                out.extend_from_slice(k.as_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&(e.statement.len() as u32).to_be_bytes());
        out.extend_from_slice(e.statement.as_bytes());
    }
    out
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("malformed schema events: {reason}")]
pub struct EventDecodeError {
    pub reason: &'static str,
}

pub fn decode(bytes: &[u8]) -> Result<Vec<SchemaEvent>, EventDecodeError> {
    let mut r = bytes;
    let mut take = |n: usize| -> Result<&[u8], EventDecodeError> {
        if r.len() < n {
            return Err(EventDecodeError { reason: "truncated" });
        }
        let (head, tail) = r.split_at(n);
        r = tail;
        Ok(head)
    };
    let arr = |b: &[u8]| -> [u8; 8] { b.try_into().unwrap_or([0; 8]) };
    let count = u32::from_be_bytes(take(4)?.try_into().map_err(|_| EventDecodeError { reason: "count" })?) as usize;
    let mut events = Vec::with_capacity(count.min(bytes.len() / 30 + 1));
    for _ in 0..count {
        let timestamp = i64::from_be_bytes(arr(take(8)?));
        let node = Uuid::from_slice(take(16)?).map_err(|_| EventDecodeError { reason: "node id" })?;
        let keyspace = match take(1)? {
            [0] => None,
            [1] => {
                let n = u16::from_be_bytes(take(2)?.try_into().map_err(|_| EventDecodeError { reason: "keyspace length" })?) as usize;
                Some(String::from_utf8(take(n)?.to_vec()).map_err(|_| EventDecodeError {
                    reason: "keyspace is not UTF-8",
                })?)
            }
            _ => return Err(EventDecodeError { reason: "keyspace flag" }),
        };
        let n = u32::from_be_bytes(take(4)?.try_into().map_err(|_| EventDecodeError {
            reason: "statement length",
        })?) as usize;
        let statement = String::from_utf8(take(n)?.to_vec()).map_err(|_| EventDecodeError {
            reason: "statement is not UTF-8",
        })?;
        events.push(SchemaEvent {
            timestamp,
            node,
            keyspace,
            statement,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stamped_past_the_allowed_skew_are_split_off() {
        let at = |timestamp| SchemaEvent {
            timestamp,
            node: Uuid::nil(),
            keyspace: None,
            statement: "DROP KEYSPACE k".into(),
        };
        let now = 1_000_000_000;
        let (kept, future) = split_future(
            vec![
                at(now - 5),
                at(now + MAX_CLOCK_SKEW_MICROS),
                at(now + MAX_CLOCK_SKEW_MICROS + 1),
                at(i64::MAX),
            ],
            now,
        );
        assert_eq!(kept, vec![at(now - 5), at(now + MAX_CLOCK_SKEW_MICROS)]);
        assert_eq!(future, vec![at(now + MAX_CLOCK_SKEW_MICROS + 1), at(i64::MAX)]);
    }
    use proptest::prelude::*;

    fn event(ts: i64, node: u8, cql: &str) -> SchemaEvent {
        SchemaEvent {
            timestamp: ts,
            node: Uuid::from_bytes([node; 16]),
            keyspace: None,
            statement: cql.into(),
        }
    }

    fn base() -> Schema {
        crate::system::initial_schema().unwrap()
    }

    const KS: &str = "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

    #[test]
    fn the_same_events_in_any_order_give_the_same_schema() {
        let events = vec![
            event(1, 1, KS),
            event(2, 1, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)"),
            event(3, 2, "ALTER TABLE ks.t ADD w int"),
            event(4, 2, "CREATE TABLE ks.u (k int PRIMARY KEY)"),
        ];
        let mut reversed = events.clone();
        reversed.reverse();
        let a = replay(&base(), &events);
        let b = replay(&base(), &reversed);
        assert_eq!(a, b);
        assert!(a.table("ks", "t").unwrap().column("w").is_some());
    }

    #[test]
    fn concurrent_creates_of_one_table_resolve_to_the_earliest_and_one_id() {
        let events = vec![
            event(1, 1, KS),
            event(5, 2, "CREATE TABLE ks.t (k int PRIMARY KEY, b text)"),
            event(5, 1, "CREATE TABLE ks.t (k int PRIMARY KEY, a text)"),
        ];
        let schema = replay(&base(), &events);
        let t = schema.table("ks", "t").unwrap();
        assert!(t.column("a").is_some(), "node 1 sorts first at the same timestamp");
        assert!(t.column("b").is_none());
        assert_eq!(t.id, replay(&base(), &events[..]).table("ks", "t").unwrap().id);
    }

    #[test]
    fn a_drop_after_a_create_removes_the_keyspace() {
        let events = vec![event(1, 1, KS), event(2, 2, "DROP KEYSPACE ks")];
        assert!(replay(&base(), &events).keyspace("ks").is_none());
    }

    #[test]
    fn the_version_depends_only_on_the_set_of_events() {
        let a = vec![event(1, 1, KS), event(2, 1, "DROP KEYSPACE ks")];
        let b = vec![a[1].clone(), a[0].clone()];
        assert_eq!(version(&a), version(&b));
        assert_ne!(version(&a), version(&a[..1]));
    }

    #[test]
    fn indexes_replay_with_their_default_names_and_leave_on_drop() {
        let events = vec![
            event(1, 1, KS),
            event(2, 1, "CREATE TABLE ks.t (k int PRIMARY KEY, v int, m map<text, int>)"),
            event(3, 2, "CREATE INDEX ON ks.t (v)"),
            event(4, 2, "CREATE INDEX ON ks.t (keys(m))"),
            event(5, 1, "CREATE INDEX ON ks.t (m)"),
            event(6, 1, "DROP INDEX ks.t_v_idx"),
        ];
        let schema = replay(&base(), &events);
        let t = schema.table("ks", "t").unwrap();
        let targets: Vec<(String, String)> = t.indexes.iter().map(|i| (i.name.clone(), i.target())).collect();
        assert_eq!(
            targets,
            vec![
                ("t_m_idx".to_string(), "keys(m)".to_string()),
                ("t_m_idx_1".to_string(), "values(m)".to_string())
            ]
        );
    }

    proptest! {
        #[test]
        fn events_round_trip_on_the_wire(ts: i64, node: [u8; 16], ks in proptest::option::of("[a-z]{1,10}"), cql in ".{0,40}") {
            let events = vec![SchemaEvent { timestamp: ts, node: Uuid::from_bytes(node), keyspace: ks, statement: cql }];
            prop_assert_eq!(decode(&encode(&events)).unwrap(), events);
        }

        #[test]
        fn random_bytes_never_panic_the_event_decoder(bytes: Vec<u8>) {
            let _ = decode(&bytes);
        }
    }
}
