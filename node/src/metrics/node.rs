//! The metrics read from the node's state at each scrape rather than bumped
//! as it works: storage sizes (the node's Load and each table's), the
//! coordinator's and query layer's counters (the same numbers
//! `system.coordinator_metrics` holds), and what gossip says of the ring.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts};

use crate::cluster::view::ClusterView;
use crate::query::QueryProcessor;
use crate::schema_service::SchemaService;
use crate::storage::StorageEngine;

/// Reads the node's state into metric families.
pub struct NodeCollector {
    queries: Arc<QueryProcessor>,
    engine: Arc<dyn StorageEngine>,
    schema: Arc<SchemaService>,
    view: Arc<ClusterView>,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace("rustica")
}

impl NodeCollector {
    pub fn new(
        queries: Arc<QueryProcessor>,
        engine: Arc<dyn StorageEngine>,
        schema: Arc<SchemaService>,
        view: Arc<ClusterView>,
    ) -> NodeCollector {
        NodeCollector {
            queries,
            engine,
            schema,
            view,
        }
    }

    /// The families as they stand now.
    pub fn collect(&self) -> Vec<MetricFamily> {
        let mut out = Vec::new();
        out.extend(self.storage());
        out.extend(self.coordinator());
        out.extend(self.gossip());
        out
    }

    fn storage(&self) -> Vec<MetricFamily> {
        let mut out = Vec::new();
        if let Ok(load) = IntGauge::with_opts(opts(
            "storage_data_bytes",
            "Bytes of the tables' data files on disk (the Load of rustica status; commit log and memtables not counted)",
        )) {
            load.set(i64::try_from(self.engine.data_bytes()).unwrap_or(i64::MAX));
            out.extend(load.collect());
        }
        if let Ok(tables) = IntGaugeVec::new(
            opts("table_disk_bytes", "Bytes on disk of each table's data files"),
            &["keyspace", "table"],
        ) {
            let schema = self.schema.snapshot();
            for keyspace in schema.keyspaces.values() {
                for table in keyspace.tables.values() {
                    let bytes = self.engine.size_estimate(table.id, Bound::Unbounded, Bound::Unbounded).unwrap_or(0);
                    tables
                        .with_label_values(&[&table.keyspace, &table.name])
                        .set(i64::try_from(bytes).unwrap_or(i64::MAX));
                }
            }
            out.extend(tables.collect());
        }
        out
    }

    /// The counters `system.coordinator_metrics` holds, from the same source.
    fn coordinator(&self) -> Vec<MetricFamily> {
        let Ok(counters) = IntCounterVec::new(
            opts(
                "coordinator_operations_total",
                "The coordinator's and query layer's counts (as in system.coordinator_metrics): writes, reads, \
                 their forwarded share, digest reads and mismatches, statements parsed, prepared statements executed",
            ),
            &["operation"],
        ) else {
            return Vec::new();
        };
        for (name, value) in self.queries.metrics() {
            counters.with_label_values(&[name]).inc_by(u64::try_from(value).unwrap_or(0));
        }
        counters.collect()
    }

    /// Nodes by state as this node's gossip sees them (`UN`, `DN`, `UJ`, ...),
    /// itself included, and whether the live members agree on the schema.
    fn gossip(&self) -> Vec<MetricFamily> {
        let mut out = Vec::new();
        let view = &self.view;
        let mut states: BTreeMap<String, i64> = BTreeMap::new();
        let local = match view.local_status().as_str() {
            crate::cluster::peers::JOINING => "UJ",
            crate::cluster::peers::LEAVING => "UL",
            _ => "UN",
        };
        *states.entry(local.to_string()).or_default() += 1;
        for (peer, up) in view.peers() {
            *states.entry(peer.state_code(up)).or_default() += 1;
        }
        if let Ok(nodes) = IntGaugeVec::new(
            opts(
                "gossip_nodes",
                "Nodes of the ring by state as this node sees them (UN, DN, UJ, UL, ...)",
            ),
            &["state"],
        ) {
            for state in ["UN", "DN", "UJ", "DJ", "UL", "DL"] {
                nodes.with_label_values(&[state]).set(states.get(state).copied().unwrap_or(0));
            }
            for (state, n) in &states {
                nodes.with_label_values(&[state]).set(*n);
            }
            out.extend(nodes.collect());
        }
        if let Ok(agree) = IntGauge::with_opts(opts(
            "schema_agreement",
            "1 when every live member of the ring gossips this node's schema version, 0 while they disagree",
        )) {
            let version = self.schema.snapshot().version;
            agree.set(i64::from(view.schema_agrees(version)));
            out.extend(agree.collect());
        }
        out
    }
}
