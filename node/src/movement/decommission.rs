//! Decommission: this node gossips LEAVING, waits a ring delay (writes now
//! also reach the nodes taking its ranges over), streams every range it
//! replicates to its new replica, hands its hints to another live node
//! (`Coordinator::transfer_hints`), gossips LEFT and ends the process. Refused
//! when a keyspace would keep fewer nodes than its replication factor, or
//! while another node moves. A failed stream puts the node back to NORMAL.

use std::sync::Arc;

use tracing::{info, warn};

use super::bootstrap::DECOMMISSIONED;
use super::plan;
use super::Services;
use super::{replicated_tables, run_transfers, MovementConfig, Progress, Totals};
use crate::cluster::peers::{LEAVING, LEFT, NORMAL};
use crate::coordinator::replicas::Strategy;

/// Why this node may not leave now, if it may not (`force`: even below a
/// keyspace's replication factor, as `nodetool decommission --force`).
pub fn check(services: &Services, force: bool) -> Result<(), String> {
    let view = &services.coordinator.view;
    let status = view.local_status();
    if status != NORMAL {
        return Err(format!("this node is {status}, not NORMAL: it cannot be decommissioned now"));
    }
    let topology = view.topology();
    if !topology.joining.is_empty() || !topology.leaving.is_empty() {
        return Err("another node is joining or leaving; decommission once it is done".into());
    }
    let schema = services.schema.snapshot();
    let keyspaces: Vec<(String, Strategy)> = schema
        .keyspaces
        .values()
        .map(|k| (k.name.clone(), Strategy::from_replication(&k.replication)))
        .collect();
    match plan::leave_refusal(&topology, services.node.address, &keyspaces) {
        Some(why) if !force => Err(format!("decommission refused: {why} (or decommission with --force)")),
        _ => Ok(()),
    }
}

/// Streams this node's ranges away and announces LEFT; `Ok` means the process may end.
pub async fn run(services: Arc<Services>, config: MovementConfig) -> Result<Totals, String> {
    let view = &services.coordinator.view;
    view.set_local_status(LEAVING);
    info!(delay = ?config.ring_delay, "LEAVING: waiting a ring delay before streaming this node's ranges away");
    tokio::time::sleep(config.ring_delay).await;
    let topology = view.topology();
    let tables = replicated_tables(&services.schema.snapshot());
    let transfers = plan::transfers(&topology, &tables);
    info!(ranges = transfers.len(), "streaming this node's ranges to their new replicas");
    let progress = Progress::new(services.clone(), "decommission");
    let result = run_transfers(&services, config, transfers, &progress, "out", |t| t.target).await;
    let totals = progress.finish(if result.is_ok() { "done" } else { "failed" });
    if let Err(e) = result {
        warn!(error = %e, "decommission failed; this node stays in the ring as NORMAL");
        view.set_local_status(NORMAL);
        return Err(e);
    }
    // As Cassandra's unbootstrap: the data first, then the hints, so a write
    // only this node holds for a down replica still reaches it.
    if let Err(e) = services.coordinator.transfer_hints().await {
        warn!(error = %e, "decommission failed: cannot hand this node's hints over; it stays in the ring as NORMAL");
        view.set_local_status(NORMAL);
        return Err(format!("cannot hand this node's hints over: {e}"));
    }
    let schema = services.schema.snapshot();
    if let Err(e) = crate::system::write_bootstrapped(services.engine.as_ref(), &schema, DECOMMISSIONED) {
        warn!(error = %e, "cannot record the decommission in system.local");
    }
    view.set_local_status(LEFT);
    info!(
        mb = totals.bytes as f64 / f64::from(1 << 20),
        seconds = totals.seconds,
        mb_per_s = totals.mb_per_s(),
        "decommissioned: LEFT the ring; exiting after a ring delay"
    );
    tokio::time::sleep(config.ring_delay * 2).await;
    Ok(totals)
}
