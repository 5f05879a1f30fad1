//! Cleanup: drops from this node every range of a replicated table that it
//! replicates neither today nor in the ring being formed (`plan::unowned`),
//! then compacts so the space comes back. Run after another node joined
//! (automatically) and by `rustica cleanup`.

use tracing::info;

use super::Services;
use super::{plan, Cleaned};
use crate::coordinator::replicas::Strategy;

pub fn run(services: &Services) -> Result<Vec<Cleaned>, String> {
    let topology = services.coordinator.view.topology();
    let local = services.node.address;
    let schema = services.schema.snapshot();
    let before = services.engine.data_bytes();
    let mut out = Vec::new();
    for keyspace in schema.keyspaces.values() {
        let strategy = Strategy::from_replication(&keyspace.replication);
        let ranges = plan::unowned(&topology, &strategy, local);
        if ranges.is_empty() {
            continue;
        }
        for table in keyspace.tables.values() {
            let mut partitions = 0;
            for (start, end) in &ranges {
                partitions += services.engine.remove_tokens(table.id, *start, *end).map_err(|e| e.to_string())?;
            }
            out.push(Cleaned {
                keyspace: keyspace.name.clone(),
                table: table.name.clone(),
                partitions,
            });
        }
    }
    let removed: u64 = out.iter().map(|c| c.partitions).sum();
    if removed > 0 {
        services.engine.compact().map_err(|e| e.to_string())?;
        crate::metrics::global().compactions.inc();
    }
    info!(
        partitions = removed,
        bytes_before = before,
        bytes_after = services.engine.data_bytes(),
        "cleanup done"
    );
    Ok(out)
}
