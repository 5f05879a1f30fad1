//! Local secondary indexes, as Cassandra's legacy (2i) indexes work: each node
//! indexes only the data it stores, in a hidden local table per index whose
//! partition is the indexed value and whose clustering is the base row's
//! (partition key, clustering). `IndexingEngine` wraps the storage engine so
//! that every write a replica applies (client writes, hints, streams, repair,
//! read repair, Paxos commits) adds the entries of the cells it writes, and a
//! read that carries an `IndexLookup` answers from the entries. Entries are
//! never removed on update or delete: like Cassandra's stale entries, they are
//! checked against the base row when read (the query's filter keeps only rows
//! whose live value matches), so the index never misses a row. An index is
//! built from the table's data the first time this process uses it.
//!
//! The schema decides what is indexed; this module does not validate DDL.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use cql_protocol::cql::ast::IndexTargetKind;
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use uuid::Uuid;

use crate::schema::{ColumnKind, Index, Schema, Table};
use crate::schema_service::SchemaService;
use crate::storage::cell::{Cell, ColumnData, Row};
use crate::storage::key::{decode_clustering, decode_component, encode_clustering};
use crate::storage::memory::MemoryEngine;
use crate::storage::{Mutation, PartitionPosition, PartitionSelection, ReadCommand, ReadLimits, StorageEngine, StorageError, Visitor};
use crate::token::{murmur3_token, split_partition_key};

/// What an index read looks up: the hidden table of the index and the indexed
/// values (serialised as the protocol does) whose base rows it wants.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexLookup {
    pub index_table: Uuid,
    pub values: Vec<Vec<u8>>,
}

/// The id of an index's hidden local table: derived from the base table and the
/// index name, so every node (and every restart) finds the same one.
pub fn index_table_id(base: Uuid, index: &str) -> Uuid {
    let mut bytes = [0u8; 16];
    for (i, salt) in [5u8, 6].into_iter().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, base, index).hash(&mut h);
        if let Some(slot) = bytes.get_mut(i * 8..i * 8 + 8) {
            slot.copy_from_slice(&h.finish().to_be_bytes());
        }
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// What an `entries(m)` index stores for the entry `key: value` of a map: both,
/// as two blob components of the key codec.
pub fn entry_value(key: &[u8], value: &[u8]) -> Vec<u8> {
    encode_clustering(&ENTRY_CLUSTERING, &[Value::Blob(key.to_vec()), Value::Blob(value.to_vec())]).unwrap_or_default()
}

/// The clustering of an entry: the base partition key and clustering, as blobs.
const ENTRY_CLUSTERING: [(ColumnType, bool); 2] = [(ColumnType::Blob, false), (ColumnType::Blob, false)];

fn entry(index_table: Uuid, value: Vec<u8>, base_key: &[u8], clustering: &[u8], cell: &Cell) -> Option<Mutation> {
    let entry_key = encode_clustering(
        &ENTRY_CLUSTERING,
        &[Value::Blob(base_key.to_vec()), Value::Blob(clustering.to_vec())],
    )
    .ok()?;
    let mut m = Mutation::new(
        index_table,
        PartitionPosition {
            token: murmur3_token(&value),
            key: value,
        },
    );
    let marker = Cell {
        value: None,
        ..cell.clone()
    };
    m.rows.push((
        entry_key,
        Row {
            marker: Some(marker),
            deletion: None,
            columns: BTreeMap::new(),
        },
    ));
    Some(m)
}

/// The values a row of `m` gives `index`, each with the cell whose liveness the
/// entry takes (a key column takes the row marker, or any cell written).
fn indexed_values(table: &Table, index: &Index, m: &Mutation, clustering: &[u8], row: &Row) -> Vec<(Vec<u8>, Cell)> {
    let Some(column) = table.column(&index.column) else {
        return Vec::new();
    };
    let any_cell = || {
        row.marker.clone().or_else(|| {
            row.columns.values().find_map(|d| match d {
                ColumnData::Simple(c) if c.value.is_some() => Some(c.clone()),
                ColumnData::Complex { cells, .. } => cells.values().find(|c| c.value.is_some()).cloned(),
                _ => None,
            })
        })
    };
    match column.kind {
        ColumnKind::PartitionKey => {
            let parts = if table.partition_key_len == 1 {
                Some(vec![m.position.key.as_slice()])
            } else {
                split_partition_key(&m.position.key, table.partition_key_len)
            };
            let part = parts.and_then(|p| p.get(column.position as usize).map(|b| b.to_vec()));
            part.zip(any_cell()).into_iter().collect()
        }
        ColumnKind::Clustering => {
            let value = decode_clustering(&table.clustering_types(), clustering)
                .ok()
                .and_then(|values| values.into_iter().nth(column.position as usize));
            value.map(|v| v.to_bytes()).zip(any_cell()).into_iter().collect()
        }
        ColumnKind::Regular | ColumnKind::Static => match (row.columns.get(&column.name), index.kind, &column.ty) {
            (Some(ColumnData::Simple(cell)), IndexTargetKind::Simple | IndexTargetKind::Full, _) => {
                cell.value.clone().map(|v| (v, cell.clone())).into_iter().collect()
            }
            (Some(ColumnData::Complex { cells, .. }), kind, ty) => cells
                .iter()
                .filter(|(_, c)| c.value.is_some())
                .filter_map(|(path, cell)| {
                    let value = match (kind, ty) {
                        (IndexTargetKind::Values, ColumnType::Set(elem)) => path_value(path, elem)?,
                        (IndexTargetKind::Keys, ColumnType::Map(key, _)) => path_value(path, key)?,
                        (IndexTargetKind::Entries, ColumnType::Map(key, _)) => entry_value(&path_value(path, key)?, cell.value.as_ref()?),
                        (IndexTargetKind::Values, ColumnType::List(_) | ColumnType::Map(..)) => cell.value.clone()?,
                        _ => return None,
                    };
                    Some((value, cell.clone()))
                })
                .collect(),
            _ => Vec::new(),
        },
    }
}

/// A set element or map key stored as a cell path (key codec), as protocol bytes.
fn path_value(path: &[u8], ty: &ColumnType) -> Option<Vec<u8>> {
    decode_component(&mut &path[..], ty, false).ok().map(|v| v.to_bytes())
}

/// The index entries that the writes of `m` make for `table`'s indexes.
pub fn entries(table: &Table, m: &Mutation) -> Vec<Mutation> {
    let mut out = Vec::new();
    for index in &table.indexes {
        let index_table = index_table_id(table.id, &index.name);
        let rows = m
            .static_row
            .iter()
            .map(|r| (&[][..], r))
            .chain(m.rows.iter().map(|(c, r)| (c.as_slice(), r)));
        for (clustering, row) in rows {
            for (value, cell) in indexed_values(table, index, m, clustering, row) {
                out.extend(entry(index_table, value, &m.position.key, clustering, &cell));
            }
        }
    }
    out
}

/// Where the engine learns the current schema.
pub type SchemaSource = Box<dyn Fn() -> Option<Arc<Schema>> + Send + Sync>;

/// The tables with indexes, by id, and the schema version they were taken from.
#[derive(Default)]
struct IndexedTables {
    version: Option<Uuid>,
    tables: HashMap<Uuid, Arc<Table>>,
}

/// The storage engine with local secondary indexes kept beside the tables.
pub struct IndexingEngine {
    inner: Arc<dyn StorageEngine>,
    schema: OnceLock<SchemaSource>,
    indexed: RwLock<IndexedTables>,
    /// Index tables this process has created and filled from their base table.
    built: Mutex<HashSet<Uuid>>,
}

impl IndexingEngine {
    pub fn new(inner: Arc<dyn StorageEngine>) -> IndexingEngine {
        IndexingEngine {
            inner,
            schema: OnceLock::new(),
            indexed: RwLock::new(IndexedTables::default()),
            built: Mutex::new(HashSet::new()),
        }
    }

    /// Gives the engine the schema that says what to index (the schema service
    /// is opened over this engine, so it comes after).
    pub fn set_schema(&self, schema: &Arc<SchemaService>) {
        let weak: Weak<SchemaService> = Arc::downgrade(schema);
        self.set_schema_source(Box::new(move || weak.upgrade().map(|s| s.snapshot())));
    }

    /// `set_schema` with any source of schema snapshots.
    pub fn set_schema_source(&self, source: SchemaSource) {
        let _ = self.schema.set(source);
    }

    fn schema(&self) -> Option<Arc<Schema>> {
        (self.schema.get()?)()
    }

    /// The table with id `table` when it has indexes.
    fn indexed_table(&self, table: Uuid) -> Option<Arc<Table>> {
        let schema = self.schema()?;
        {
            let cache = self.indexed.read().unwrap_or_else(|e| e.into_inner());
            if cache.version == Some(schema.version) {
                return cache.tables.get(&table).cloned();
            }
        }
        let mut cache = self.indexed.write().unwrap_or_else(|e| e.into_inner());
        if cache.version != Some(schema.version) {
            let tables: HashMap<Uuid, Arc<Table>> = schema
                .keyspaces
                .values()
                .flat_map(|k| k.tables.values())
                .filter(|t| !t.indexes.is_empty())
                .map(|t| (t.id, t.clone()))
                .collect();
            // A dropped index is built afresh if it comes back: writes made
            // while it was gone have no entries.
            let current: HashSet<Uuid> = tables
                .values()
                .flat_map(|t| t.indexes.iter().map(|i| index_table_id(t.id, &i.name)))
                .collect();
            let mut gone = Vec::new();
            self.built.lock().unwrap_or_else(|e| e.into_inner()).retain(|id| {
                let kept = current.contains(id);
                if !kept {
                    gone.push(*id);
                }
                kept
            });
            *cache = IndexedTables {
                version: Some(schema.version),
                tables,
            };
            // The storage of an index dropped while this process ran goes too
            // (one dropped before a restart stays on disk, unused).
            for id in gone {
                if let Err(e) = self.inner.drop_table(id) {
                    tracing::warn!(index_table = %id, error = %e, "cannot drop the storage of a dropped secondary index");
                }
            }
        }
        cache.tables.get(&table).cloned()
    }

    /// Creates the index tables of `table` and, the first time this process
    /// sees each, fills it from the table's data.
    fn ensure_built(&self, table: &Table) -> Result<(), StorageError> {
        for index in &table.indexes {
            let id = index_table_id(table.id, &index.name);
            if self.built.lock().unwrap_or_else(|e| e.into_inner()).contains(&id) {
                continue;
            }
            self.inner.create_table(id)?;
            // Each node builds its own index from its own data: never repaired.
            self.inner.set_repair_tracking(id, false);
            let existing = self.inner.read_raw(&ReadCommand::all(table.id), ReadLimits::NONE)?;
            let only_this = Table {
                indexes: vec![index.clone()],
                ..table.clone()
            };
            let built: Vec<Mutation> = existing.iter().flat_map(|m| entries(&only_this, m)).collect();
            tracing::info!(index = %index.name, table = %table.name, entries = built.len(), "built a secondary index from the table's data");
            for chunk in built.chunks(1024) {
                self.inner.apply_all(chunk.to_vec())?;
            }
            self.built.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
        }
        Ok(())
    }

    /// `mutations` with the index entries they make.
    fn with_entries(&self, mut mutations: Vec<Mutation>) -> Result<Vec<Mutation>, StorageError> {
        let mut extra = Vec::new();
        for m in &mutations {
            if let Some(table) = self.indexed_table(m.table) {
                self.ensure_built(&table)?;
                extra.extend(entries(&table, m));
            }
        }
        mutations.extend(extra);
        Ok(mutations)
    }

    /// The stored base data of the rows the index lists for `lookup` within the
    /// command's partitions; rows no longer matching are dropped by the query.
    fn lookup_raw(&self, command: &ReadCommand, lookup: &IndexLookup) -> Result<Vec<Mutation>, StorageError> {
        if let Some(table) = self.indexed_table(command.table) {
            self.ensure_built(&table)?;
        }
        let mut wanted: BTreeMap<PartitionPosition, Vec<Vec<u8>>> = BTreeMap::new();
        for value in &lookup.values {
            let position = PartitionPosition {
                token: murmur3_token(value),
                key: value.clone(),
            };
            let entries = self.inner.read_raw(
                &ReadCommand {
                    partitions: PartitionSelection::Keys(vec![position]),
                    index: None,
                    resume: None,
                    slices: Vec::new(),
                    reversed: false,
                    table: lookup.index_table,
                },
                ReadLimits::NONE,
            )?;
            for (entry_key, _) in entries.iter().flat_map(|m| m.rows.iter()) {
                let Ok(parts) = decode_clustering(&ENTRY_CLUSTERING, entry_key) else {
                    continue;
                };
                let (Some(Value::Blob(key)), Some(Value::Blob(clustering))) = (parts.first(), parts.get(1)) else {
                    continue;
                };
                let position = PartitionPosition {
                    token: murmur3_token(key),
                    key: key.clone(),
                };
                if selects(&command.partitions, &position) {
                    wanted.entry(position).or_default().push(clustering.clone());
                }
            }
        }
        let mut out = Vec::new();
        for (position, clusterings) in wanted {
            // A static entry (empty clustering) or a table without clustering
            // columns reads the whole partition.
            let whole = clusterings.iter().any(Vec::is_empty);
            let mut read = ReadCommand::rows(command.table, position, if whole { Vec::new() } else { clusterings });
            if whole {
                read.slices = command.slices.clone();
            }
            out.extend(self.inner.read_raw(&read, ReadLimits::NONE)?);
        }
        Ok(out)
    }
}

fn selects(selection: &PartitionSelection, position: &PartitionPosition) -> bool {
    match selection {
        PartitionSelection::Keys(keys) => keys.contains(position),
        PartitionSelection::Tokens { start, end } => {
            let after_start = match start {
                Bound::Included(s) => position.token >= *s,
                Bound::Excluded(s) => position.token > *s,
                Bound::Unbounded => true,
            };
            let before_end = match end {
                Bound::Included(e) => position.token <= *e,
                Bound::Excluded(e) => position.token < *e,
                Bound::Unbounded => true,
            };
            after_start && before_end
        }
    }
}

impl StorageEngine for IndexingEngine {
    fn create_table(&self, table: Uuid) -> Result<(), StorageError> {
        self.inner.create_table(table)
    }

    fn drop_table(&self, table: Uuid) -> Result<(), StorageError> {
        self.inner.drop_table(table)
    }

    fn truncate(&self, table: Uuid) -> Result<(), StorageError> {
        if let Some(t) = self.indexed_table(table) {
            for index in &t.indexes {
                let id = index_table_id(t.id, &index.name);
                if self.built.lock().unwrap_or_else(|e| e.into_inner()).contains(&id) {
                    self.inner.truncate(id)?;
                }
            }
        }
        self.inner.truncate(table)
    }

    fn apply(&self, mutation: Mutation) -> Result<(), StorageError> {
        if self.indexed_table(mutation.table).is_none() {
            return self.inner.apply(mutation);
        }
        self.inner.apply_all(self.with_entries(vec![mutation])?)
    }

    fn apply_all(&self, mutations: Vec<Mutation>) -> Result<(), StorageError> {
        self.inner.apply_all(self.with_entries(mutations)?)
    }

    fn read(&self, command: &ReadCommand, now: i64, visitor: &mut Visitor<'_>) -> Result<(), StorageError> {
        match &command.index {
            None => self.inner.read(command, now, visitor),
            Some(lookup) => {
                let found = MemoryEngine::from_mutations(command.table, self.lookup_raw(command, lookup)?);
                found.read(
                    &ReadCommand {
                        index: None,
                        ..command.clone()
                    },
                    now,
                    visitor,
                )
            }
        }
    }

    fn read_raw(&self, command: &ReadCommand, limits: ReadLimits) -> Result<Vec<Mutation>, StorageError> {
        match &command.index {
            None => self.inner.read_raw(command, limits),
            Some(lookup) => {
                let found = MemoryEngine::from_mutations(command.table, self.lookup_raw(command, lookup)?);
                found.read_raw(
                    &ReadCommand {
                        index: None,
                        ..command.clone()
                    },
                    limits,
                )
            }
        }
    }

    fn waits_for_sync(&self) -> bool {
        self.inner.waits_for_sync()
    }

    fn truncated_at(&self, table: Uuid) -> Option<i64> {
        self.inner.truncated_at(table)
    }

    fn sync(&self) -> Result<(), StorageError> {
        self.inner.sync()
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.inner.flush()
    }

    fn compact(&self) -> Result<(), StorageError> {
        self.inner.compact()
    }

    fn size_estimate(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>) -> Result<u64, StorageError> {
        self.inner.size_estimate(table, start, end)
    }

    fn remove_tokens(&self, table: Uuid, start: Bound<i64>, end: Bound<i64>) -> Result<u64, StorageError> {
        self.inner.remove_tokens(table, start, end)
    }

    fn data_bytes(&self) -> u64 {
        self.inner.data_bytes()
    }

    fn set_gc_grace(&self, table: Uuid, seconds: i32) {
        self.inner.set_gc_grace(table, seconds)
    }

    fn set_repair_tracking(&self, table: Uuid, tracked: bool) {
        self.inner.set_repair_tracking(table, tracked)
    }

    fn begin_repair(&self) -> Result<crate::storage::RepairedBefore, StorageError> {
        self.inner.begin_repair()
    }

    fn unrepaired(
        &self,
        table: Uuid,
        start: Bound<i64>,
        end: Bound<i64>,
        max: usize,
    ) -> Result<Option<Vec<PartitionPosition>>, StorageError> {
        self.inner.unrepaired(table, start, end, max)
    }

    fn mark_repaired(
        &self,
        table: Uuid,
        start: Bound<i64>,
        end: Bound<i64>,
        before: crate::storage::RepairedBefore,
    ) -> Result<u64, StorageError> {
        self.inner.mark_repaired(table, start, end, before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::restrictions::partition_position;
    use crate::schema_events::{replay, SchemaEvent};

    fn schema(statements: &[&str]) -> Arc<Schema> {
        let events: Vec<SchemaEvent> = statements
            .iter()
            .enumerate()
            .map(|(n, s)| SchemaEvent {
                timestamp: n as i64 + 1,
                node: Uuid::nil(),
                keyspace: None,
                statement: s.to_string(),
            })
            .collect();
        Arc::new(replay(&crate::system::initial_schema().unwrap(), &events))
    }

    const KS: &str = "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
    const TABLE: &str = "CREATE TABLE ks.t (k int PRIMARY KEY, v text)";
    const INDEX: &str = "CREATE INDEX ON ks.t (v)";

    /// An engine over memory whose schema the test can change.
    fn engine(current: Arc<Mutex<Arc<Schema>>>) -> IndexingEngine {
        let engine = IndexingEngine::new(Arc::new(MemoryEngine::new()));
        engine.set_schema_source(Box::new(move || Some(current.lock().unwrap().clone())));
        engine
    }

    fn write(table: &Table, k: i32, v: &str, ts: i64) -> Mutation {
        let mut m = Mutation::new(table.id, partition_position(table, &[Value::Int(k)]));
        let row = Row {
            marker: Some(Cell::live(ts, Vec::new(), 0, 0)),
            deletion: None,
            columns: BTreeMap::from([("v".to_string(), ColumnData::Simple(Cell::live(ts, v.as_bytes().to_vec(), 0, 0)))]),
        };
        m.rows.push((Vec::new(), row));
        m
    }

    /// The partition keys an index read of `value` returns, in ring order.
    fn lookup(engine: &IndexingEngine, table: &Table, value: &str) -> Vec<i32> {
        let command = ReadCommand {
            index: Some(IndexLookup {
                index_table: index_table_id(table.id, &table.indexes[0].name),
                values: vec![value.as_bytes().to_vec()],
            }),
            ..ReadCommand::all(table.id)
        };
        engine
            .read_raw(&command, ReadLimits::NONE)
            .unwrap()
            .iter()
            .map(|m| i32::from_be_bytes(m.position.key.clone().try_into().unwrap()))
            .collect()
    }

    fn sorted(mut keys: Vec<i32>) -> Vec<i32> {
        keys.sort_unstable();
        keys
    }

    #[test]
    fn an_index_read_returns_the_rows_written_with_a_value_and_keeps_stale_ones_for_the_query_to_drop() {
        let s = schema(&[KS, TABLE, INDEX]);
        let table = s.table("ks", "t").unwrap().clone();
        let engine = engine(Arc::new(Mutex::new(s)));
        engine.create_table(table.id).unwrap();
        engine
            .apply_all(vec![write(&table, 1, "a", 1), write(&table, 2, "a", 1), write(&table, 3, "b", 1)])
            .unwrap();
        engine.apply(write(&table, 1, "b", 2)).unwrap();
        assert_eq!(
            sorted(lookup(&engine, &table, "a")),
            vec![1, 2],
            "1's entry for a is stale, not gone"
        );
        assert_eq!(sorted(lookup(&engine, &table, "b")), vec![1, 3]);
        assert_eq!(lookup(&engine, &table, "c"), Vec::<i32>::new());
    }

    #[test]
    fn an_index_created_over_existing_data_is_built_from_it_on_first_use() {
        let before = schema(&[KS, TABLE]);
        let table = before.table("ks", "t").unwrap().clone();
        let current = Arc::new(Mutex::new(before));
        let engine = engine(current.clone());
        engine.create_table(table.id).unwrap();
        engine.apply_all(vec![write(&table, 1, "a", 1), write(&table, 2, "b", 1)]).unwrap();
        let after = schema(&[KS, TABLE, INDEX]);
        let indexed = after.table("ks", "t").unwrap().clone();
        *current.lock().unwrap() = after;
        assert_eq!(lookup(&engine, &indexed, "a"), vec![1]);
        engine.apply(write(&indexed, 3, "a", 1)).unwrap();
        assert_eq!(sorted(lookup(&engine, &indexed, "a")), vec![1, 3]);
    }

    #[test]
    fn an_index_dropped_and_created_again_covers_the_writes_made_in_between() {
        let indexed = schema(&[KS, TABLE, INDEX]);
        let table = indexed.table("ks", "t").unwrap().clone();
        let current = Arc::new(Mutex::new(indexed.clone()));
        let engine = engine(current.clone());
        engine.create_table(table.id).unwrap();
        engine.apply(write(&table, 1, "a", 1)).unwrap();
        assert_eq!(lookup(&engine, &table, "a"), vec![1]);
        *current.lock().unwrap() = schema(&[KS, TABLE, INDEX, "DROP INDEX ks.t_v_idx"]);
        engine.apply(write(&table, 2, "a", 1)).unwrap();
        *current.lock().unwrap() = schema(&[KS, TABLE, INDEX, "DROP INDEX ks.t_v_idx", INDEX]);
        assert_eq!(sorted(lookup(&engine, &table, "a")), vec![1, 2]);
    }

    #[test]
    fn collection_and_key_column_indexes_index_elements_keys_and_key_parts() {
        let s = schema(&[
            KS,
            "CREATE TABLE ks.c (a int, b int, c int, l list<int>, st set<int>, m map<int, int>, PRIMARY KEY ((a, b), c))",
            "CREATE INDEX ON ks.c (b)",
            "CREATE INDEX ON ks.c (c)",
            "CREATE INDEX ON ks.c (l)",
            "CREATE INDEX ON ks.c (st)",
            "CREATE INDEX ON ks.c (keys(m))",
        ]);
        let table = s.table("ks", "c").unwrap();
        let int = |n: i32| n.to_be_bytes().to_vec();
        let path = |n: i32| crate::storage::key::encode_clustering(&[(ColumnType::Int, false)], &[Value::Int(n)]).unwrap();
        let cell = |v: Vec<u8>| Cell::live(1, v, 0, 0);
        let mut m = Mutation::new(table.id, partition_position(table, &[Value::Int(1), Value::Int(2)]));
        let clustering = encode_clustering(&table.clustering_types(), &[Value::Int(3)]).unwrap();
        let complex = |cells: Vec<(Vec<u8>, Cell)>| ColumnData::Complex {
            deletion: None,
            cells: cells.into_iter().collect(),
        };
        let row = Row {
            marker: Some(cell(Vec::new())),
            deletion: None,
            columns: BTreeMap::from([
                ("l".to_string(), complex(vec![(vec![0], cell(int(10)))])),
                ("st".to_string(), complex(vec![(path(20), cell(Vec::new()))])),
                ("m".to_string(), complex(vec![(path(30), cell(int(31)))])),
            ]),
        };
        m.rows.push((clustering, row));
        let found: Vec<(String, Vec<u8>)> = entries(table, &m)
            .iter()
            .map(|e| {
                let index = table.indexes.iter().find(|i| index_table_id(table.id, &i.name) == e.table).unwrap();
                (index.name.clone(), e.position.key.clone())
            })
            .collect();
        assert_eq!(
            found,
            vec![
                ("c_b_idx".to_string(), int(2)),
                ("c_c_idx".to_string(), int(3)),
                ("c_l_idx".to_string(), int(10)),
                ("c_st_idx".to_string(), int(20)),
                ("c_m_idx".to_string(), int(30)),
            ]
        );
    }
}
