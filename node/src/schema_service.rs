//! The schema service: this node's schema, and the log of schema events it is
//! replayed from (`schema_events`). A DDL statement made here and events merged
//! from peers both end the same way: storage for new tables, freed storage for
//! dropped ones, the `system_schema` tables and `system.local` rewritten, and
//! SCHEMA_CHANGE events for drivers. Events made here are also offered to the
//! cluster service to push to peers.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use cql_protocol::cql::ast::Statement;
use cql_protocol::response::{Event, ResultBody, SchemaChange};
use tokio::sync::broadcast;

use crate::clock::server_timestamp;
use crate::error::QueryError;
use crate::schema::{Schema, SchemaStore};
use crate::schema_events::{self, SchemaEvent};
use crate::storage::StorageEngine;
use crate::system::{self, NodeInfo};

pub struct SchemaService {
    store: SchemaStore,
    /// The system keyspaces: what the schema events are replayed onto.
    base: Schema,
    /// Every schema event this node knows (held while the schema changes).
    log: Mutex<Vec<SchemaEvent>>,
    /// Schema events made here, for the cluster to push to peers.
    pushes: broadcast::Sender<Vec<SchemaEvent>>,
    engine: Arc<dyn StorageEngine>,
    node: NodeInfo,
    /// Driver events (SCHEMA_CHANGE here).
    events: broadcast::Sender<Event>,
}

impl std::fmt::Debug for SchemaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaService")
            .field("version", &self.store.snapshot().version)
            .finish()
    }
}

impl SchemaService {
    /// Opens the schema over `engine`: the system keyspaces, then the schema
    /// stored by an earlier run, if any; writes the `system_schema` tables and
    /// `system.local` for the node `node`. Changes are announced on `events`.
    pub fn open(engine: Arc<dyn StorageEngine>, node: NodeInfo, events: broadcast::Sender<Event>) -> Result<SchemaService, QueryError> {
        let base = system::initial_schema()?;
        system::create_storage(engine.as_ref(), &base)?;
        let log = crate::schema_load::stored_events(engine.as_ref(), &base)?;
        let schema = schema_events::replay(&base, &log);
        system::create_storage(engine.as_ref(), &schema)?;
        system::write_schema_tables(engine.as_ref(), None, &schema)?;
        system::write_local(engine.as_ref(), &schema, &node)?;
        let (pushes, _) = broadcast::channel(64);
        Ok(SchemaService {
            store: SchemaStore::new(schema),
            base,
            log: Mutex::new(log),
            pushes,
            engine,
            node,
            events,
        })
    }

    /// The schema now (cheap: a shared pointer).
    pub fn snapshot(&self) -> Arc<Schema> {
        self.store.snapshot()
    }

    /// Schema events made on this node from now on, for pushing to peers.
    pub fn subscribe_pushes(&self) -> broadcast::Receiver<Vec<SchemaEvent>> {
        self.pushes.subscribe()
    }

    /// A DDL statement: validated against the current schema, recorded as a
    /// schema event (so it replays the same everywhere), installed, and pushed
    /// to peers.
    pub fn apply(&self, session_ks: Option<&str>, statement: &Statement) -> Result<ResultBody, QueryError> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let last = log.iter().map(|e| e.timestamp).max().unwrap_or(i64::MIN);
        let event = SchemaEvent {
            timestamp: server_timestamp().max(last.saturating_add(1)),
            node: self.node.host_id,
            keyspace: session_ks.map(str::to_string),
            statement: statement.to_string(),
        };
        let current = self.store.snapshot();
        let mut probe = (*current).clone();
        let Some(change) = schema_events::apply(&mut probe, &event)? else {
            return Ok(ResultBody::Void);
        };
        system::write_schema_events(self.engine.as_ref(), &current, std::slice::from_ref(&event))?;
        log.push(event.clone());
        let next = schema_events::replay(&self.base, &log);
        self.install(&current, next)?;
        drop(log);
        let _ = self.events.send(Event::SchemaChange(change.clone()));
        let _ = self.pushes.send(vec![event]);
        Ok(ResultBody::SchemaChange(change))
    }

    /// Every schema event this node knows, for a peer that asked.
    pub fn events(&self) -> Vec<SchemaEvent> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Merges schema events from a peer; returns whether the schema changed.
    /// Events stamped further ahead of this node's clock than
    /// `schema_events::MAX_CLOCK_SKEW_MICROS` are refused (and logged).
    pub fn merge(&self, incoming: Vec<SchemaEvent>) -> Result<bool, QueryError> {
        let (incoming, future) = schema_events::split_future(incoming, server_timestamp());
        for event in &future {
            tracing::warn!(
                timestamp = event.timestamp,
                node = %event.node,
                statement = %event.statement,
                "refusing a schema change stamped more than {} s ahead of this node's clock",
                schema_events::MAX_CLOCK_SKEW_MICROS / 1_000_000
            );
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let known: HashSet<(i64, uuid::Uuid)> = log.iter().map(SchemaEvent::id).collect();
        let mut new: Vec<SchemaEvent> = incoming.into_iter().filter(|e| !known.contains(&e.id())).collect();
        new.sort_by_key(SchemaEvent::id);
        new.dedup_by_key(|e| e.id());
        if new.is_empty() {
            return Ok(false);
        }
        let current = self.store.snapshot();
        system::write_schema_events(self.engine.as_ref(), &current, &new)?;
        log.extend(new);
        let next = schema_events::replay(&self.base, &log);
        let changes = schema_diff(&current, &next);
        self.install(&current, next)?;
        drop(log);
        for change in changes {
            let _ = self.events.send(Event::SchemaChange(change));
        }
        Ok(true)
    }

    /// Makes `next` the schema: storage for new tables, freed storage for dropped
    /// ones, the `system_schema` tables and `system.local` rewritten.
    fn install(&self, current: &Schema, next: Schema) -> Result<(), QueryError> {
        let old_ids: HashSet<uuid::Uuid> = current.keyspaces.values().flat_map(|k| k.tables.values().map(|t| t.id)).collect();
        let new_ids: HashSet<uuid::Uuid> = next.keyspaces.values().flat_map(|k| k.tables.values().map(|t| t.id)).collect();
        system::create_storage(self.engine.as_ref(), &next)?;
        for id in old_ids.difference(&new_ids) {
            self.engine.drop_table(*id)?;
        }
        system::write_schema_tables(self.engine.as_ref(), Some(current), &next)?;
        system::write_local(self.engine.as_ref(), &next, &self.node)?;
        self.store.replace(next);
        Ok(())
    }
}

/// The Schema_change events that turn `old` into `new`, for drivers.
fn schema_diff(old: &Schema, new: &Schema) -> Vec<SchemaChange> {
    use cql_protocol::response::{SchemaChangeTarget as T, SchemaChangeType as C};
    let mut out = Vec::new();
    let change = |c, t| SchemaChange { change: c, target: t };
    for (name, ks) in &new.keyspaces {
        match old.keyspaces.get(name) {
            None => out.push(change(C::Created, T::Keyspace { keyspace: name.clone() })),
            Some(o) if o.replication != ks.replication || o.durable_writes != ks.durable_writes => {
                out.push(change(C::Updated, T::Keyspace { keyspace: name.clone() }))
            }
            _ => {}
        }
        let empty = std::collections::BTreeMap::new();
        let old_tables = old.keyspaces.get(name).map(|k| &k.tables).unwrap_or(&empty);
        for (t, table) in &ks.tables {
            match old_tables.get(t) {
                None => out.push(change(
                    C::Created,
                    T::Table {
                        keyspace: name.clone(),
                        name: t.clone(),
                    },
                )),
                Some(o) if o != table => out.push(change(
                    C::Updated,
                    T::Table {
                        keyspace: name.clone(),
                        name: t.clone(),
                    },
                )),
                _ => {}
            }
        }
        for t in old_tables.keys().filter(|t| !ks.tables.contains_key(*t)) {
            out.push(change(
                C::Dropped,
                T::Table {
                    keyspace: name.clone(),
                    name: t.clone(),
                },
            ));
        }
        let old_types = old
            .keyspaces
            .get(name)
            .map(|k| k.types.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        for t in ks.types.keys().filter(|t| !old_types.contains(t)) {
            out.push(change(
                C::Created,
                T::Type {
                    keyspace: name.clone(),
                    name: t.clone(),
                },
            ));
        }
    }
    for name in old.keyspaces.keys().filter(|k| !new.keyspaces.contains_key(*k)) {
        out.push(change(C::Dropped, T::Keyspace { keyspace: name.clone() }));
    }
    out
}
