//! removenode: a dead node's ranges are re-streamed among the remaining
//! replicas. The node running it gossips the removal (`RemovalCoordinator`),
//! which makes the dead node a leaver in every view, waits a ring delay,
//! copies each range the dead node held from a live replica to its new one
//! (relaying the chunks), then gossips the removal as done: every node drops
//! the dead node from the ring and drivers hear REMOVED_NODE.

use std::net::IpAddr;
use std::sync::Arc;

use tracing::{info, warn};
use uuid::Uuid;

use super::plan;
use super::Services;
use super::{replicated_tables, run_transfers, MovementConfig, Progress, Totals};
use crate::cluster::peers::Removal;
use crate::cluster::view::Membership;

/// The address of the dead node with `host_id`, or why it cannot be removed.
pub fn check(services: &Services, host_id: Uuid) -> Result<IpAddr, String> {
    if host_id == services.node.host_id {
        return Err("a node cannot remove itself; use decommission".into());
    }
    let view = &services.coordinator.view;
    let Some((peer, up)) = view.peers().into_iter().find(|(p, _)| p.host_id == Some(host_id)) else {
        return Err(format!("no node of the ring has host id {host_id}"));
    };
    if view.membership(&peer) != Membership::Member {
        return Err(format!("node {host_id} ({}) is not in the ring", peer.address));
    }
    if up {
        return Err(format!(
            "node {host_id} ({}) is up: decommission it instead, or stop it first",
            peer.address
        ));
    }
    let topology = view.topology();
    if !topology.joining.is_empty() || !topology.leaving.is_empty() {
        return Err("another node is joining or leaving; remove the node once it is done".into());
    }
    Ok(peer.address)
}

pub async fn run(services: Arc<Services>, config: MovementConfig, host_id: Uuid, dead: IpAddr) -> Result<Totals, String> {
    let view = &services.coordinator.view;
    view.set_removal(Removal { host_id, done: false });
    info!(%host_id, %dead, delay = ?config.ring_delay, "removing a dead node: waiting a ring delay");
    tokio::time::sleep(config.ring_delay).await;
    let topology = view.topology();
    let tables = replicated_tables(&services.schema.snapshot());
    let transfers = plan::transfers(&topology, &tables);
    info!(ranges = transfers.len(), "re-streaming the dead node's ranges");
    let progress = Progress::new(services.clone(), "removenode");
    let result = run_transfers(&services, config, transfers, &progress, "relay", |t| t.target).await;
    let totals = progress.finish(if result.is_ok() { "done" } else { "failed" });
    if let Err(e) = &result {
        warn!(%host_id, error = %e, "removenode could not re-stream every range; the node is removed anyway, repair what is missing with QUORUM reads");
    }
    view.set_removal(Removal { host_id, done: true });
    info!(%host_id, %dead, mb = totals.bytes as f64 / f64::from(1 << 20), seconds = totals.seconds, "node removed from the ring");
    result.map(|()| totals)
}
