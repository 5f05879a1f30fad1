//! The rows of a trace, as mutations of `system_traces.events` (one row per
//! event, all of a session in its partition) and `system_traces.sessions`
//! (one row per session, written once the request is complete, with its
//! duration), every cell with the trace TTL. Pure: the writer sends them.

use std::net::IpAddr;

use cql_protocol::value::Value;
use uuid::Uuid;

use super::{Event, SessionInfo, TRACE_TTL_SECONDS};
use crate::error::QueryError;
use crate::query::cells::WriteContext;
use crate::schema::Table;
use crate::storage::Mutation;
use crate::system::row_mutation;

pub const KEYSPACE: &str = "system_traces";
pub const SESSIONS: &str = "sessions";
pub const EVENTS: &str = "events";

/// The trace's cells: the given write time, the trace TTL.
pub fn context(timestamp_micros: i64, now_seconds: i64) -> WriteContext {
    WriteContext {
        timestamp: timestamp_micros,
        ttl: TRACE_TTL_SECONDS,
        now: now_seconds,
    }
}

/// One mutation of `events` holding every event `source` recorded for
/// `session`; `None` when there are none. `port` is the node's internode port
/// (`source_port`, as Cassandra 4 records it).
pub fn events_mutation(
    table: &Table,
    session: Uuid,
    source: IpAddr,
    port: u16,
    events: &[Event],
    ctx: &WriteContext,
) -> Result<Option<Mutation>, QueryError> {
    let mut merged: Option<Mutation> = None;
    for event in events {
        let row = row_mutation(
            table,
            vec![
                ("session_id", Value::Uuid(session)),
                ("event_id", Value::Timeuuid(event.id)),
                ("activity", Value::Text(event.activity.clone())),
                ("source", Value::Inet(source)),
                ("source_elapsed", Value::Int(event.elapsed_micros)),
                ("source_port", Value::Int(i32::from(port))),
                ("thread", Value::Text(event.thread.clone())),
            ],
            ctx,
        )?;
        match &mut merged {
            Some(m) => m.rows.extend(row.rows),
            None => merged = Some(row),
        }
    }
    Ok(merged)
}

/// The `sessions` row of a completed session.
pub fn session_mutation(
    table: &Table,
    session: Uuid,
    coordinator: IpAddr,
    port: u16,
    info: &SessionInfo,
    duration_micros: i32,
    ctx: &WriteContext,
) -> Result<Mutation, QueryError> {
    let mut values = vec![
        ("session_id", Value::Uuid(session)),
        ("command", Value::Text("QUERY".into())),
        ("coordinator", Value::Inet(coordinator)),
        ("coordinator_port", Value::Int(i32::from(port))),
        ("duration", Value::Int(duration_micros)),
        (
            "parameters",
            Value::Map(
                info.parameters
                    .iter()
                    .map(|(k, v)| (Value::Text(k.clone()), Value::Text(v.clone())))
                    .collect(),
            ),
        ),
        ("request", Value::Text(info.request.into())),
        ("started_at", Value::Timestamp(info.started_at)),
    ];
    if let Some(client) = info.client {
        values.push(("client", Value::Inet(client)));
    }
    row_mutation(table, values, ctx)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::storage::ColumnData;

    fn table(name: &str) -> std::sync::Arc<Table> {
        crate::system::initial_schema().unwrap().table(KEYSPACE, name).unwrap().clone()
    }

    fn event(activity: &str, elapsed: i32) -> Event {
        Event {
            id: super::super::timeuuid(),
            activity: activity.into(),
            elapsed_micros: elapsed,
            thread: "worker".into(),
        }
    }

    #[test]
    fn system_traces_is_replicated_as_cassandra_does() {
        let schema = crate::system::initial_schema().unwrap();
        let replication = &schema.keyspace(KEYSPACE).unwrap().replication;
        assert_eq!(replication["class"], "org.apache.cassandra.locator.SimpleStrategy");
        assert_eq!(replication["replication_factor"], "2");
    }

    #[test]
    fn a_sessions_events_are_one_partition_with_a_row_each_and_the_trace_ttl() {
        let events = table(EVENTS);
        let session = super::super::timeuuid();
        let ctx = context(1_000, 2);
        let m = events_mutation(
            &events,
            session,
            "127.0.0.2".parse().unwrap(),
            7000,
            &[event("Appending to commitlog", 10), event("Adding to memtable", 20)],
            &ctx,
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.table, events.id);
        assert_eq!(m.rows.len(), 2);
        let ColumnData::Simple(cell) = &m.rows[0].1.columns["activity"] else {
            panic!("activity is a simple column");
        };
        assert_eq!(cell.value.as_deref(), Some(&b"Appending to commitlog"[..]));
        assert_eq!((cell.ttl, cell.timestamp), (TRACE_TTL_SECONDS, 1_000));
        assert_eq!(
            events_mutation(&events, session, "127.0.0.2".parse().unwrap(), 7000, &[], &ctx).unwrap(),
            None
        );
    }

    #[test]
    fn a_session_row_has_its_duration_request_and_parameters() {
        let sessions = table(SESSIONS);
        let info = SessionInfo {
            client: Some("127.0.0.9".parse().unwrap()),
            request: "Execute CQL3 query",
            parameters: BTreeMap::from([("consistency_level".to_string(), "QUORUM".to_string())]),
            started_at: 1_700_000_000_000,
        };
        let m = session_mutation(
            &sessions,
            super::super::timeuuid(),
            "127.0.0.1".parse().unwrap(),
            7000,
            &info,
            1234,
            &context(1, 2),
        )
        .unwrap();
        let row = &m.rows[0].1;
        let ColumnData::Simple(duration) = &row.columns["duration"] else {
            panic!("duration is a simple column");
        };
        assert_eq!(duration.value.as_deref(), Some(&1234i32.to_be_bytes()[..]));
        assert!(row.columns.contains_key("parameters") && row.columns.contains_key("client"));
        assert_eq!(duration.ttl, TRACE_TTL_SECONDS);
    }
}
