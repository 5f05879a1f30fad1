//! Bootstrap: a new node (not a seed, never joined) gossips JOINING with its
//! tokens, waits until it knows the ring and the schema and no other node is
//! moving ahead of it, waits a ring delay so every coordinator sends it the
//! writes of its future ranges, streams exactly those ranges from their
//! current replicas, and turns NORMAL. A failed attempt is retried; a node
//! killed while joining leaves the ring as it was and joins again on restart
//! (`system.local.bootstrapped` stays IN_PROGRESS until it is done).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::plan::{self, Transfer};
use super::Services;
use super::{replicated_tables, run_transfers, MovementConfig, Progress, Totals};
use crate::cluster::peers::{JOINING, NORMAL};

/// `system.local.bootstrapped` values, as Cassandra writes them.
pub const COMPLETED: &str = "COMPLETED";
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const DECOMMISSIONED: &str = "DECOMMISSIONED";

/// Joins the ring; returns once this node is NORMAL.
pub async fn join(services: Arc<Services>, config: MovementConfig) {
    services.coordinator.view.set_local_status(JOINING);
    record(&services, IN_PROGRESS);
    loop {
        match attempt(&services, config).await {
            Ok(totals) => {
                info!(
                    mb = totals.bytes as f64 / f64::from(1 << 20),
                    rows = totals.rows,
                    ranges = totals.ranges,
                    seconds = totals.seconds,
                    mb_per_s = totals.mb_per_s(),
                    "bootstrap streamed its ranges; this node is NORMAL"
                );
                break;
            }
            Err(e) => {
                warn!(error = %e, "bootstrap failed; trying again in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

fn record(services: &Services, state: &str) {
    let schema = services.schema.snapshot();
    if let Err(e) = crate::system::write_bootstrapped(services.engine.as_ref(), &schema, state) {
        warn!(error = %e, "cannot write system.local.bootstrapped");
    }
}

async fn attempt(services: &Arc<Services>, config: MovementConfig) -> Result<Totals, String> {
    let view = &services.coordinator.view;
    let local = services.node.address;
    wait_for(Duration::from_secs(10), "a live node of the ring to join", || {
        let t = view.topology();
        t.ring.tokens().next().is_some() && t.up.iter().any(|n| *n != local)
    })
    .await;
    // Never streams against a schema it has not agreed on: a table it did
    // not know would not be streamed, and the old replicas' cleanup would
    // then delete their copies.
    let agrees = || view.schema_agrees(services.schema.snapshot().version);
    wait_for(Duration::from_secs(10), "the schema to agree with the ring", agrees).await;
    wait_for(Duration::from_secs(10), "the nodes moving ahead of this one", || {
        let t = view.topology();
        t.leaving.is_empty() && !t.joining.iter().any(|j| *j != local && *j < local)
    })
    .await;
    info!(delay = ?config.ring_delay, "JOINING: waiting a ring delay for every node to send this one its writes");
    tokio::time::sleep(config.ring_delay).await;
    if !agrees() {
        return Err("the schema changed while this node waited to stream; waiting for it to agree again".into());
    }
    let topology = view.topology();
    let tables = replicated_tables(&services.schema.snapshot());
    let transfers: Vec<Transfer> = plan::transfers(&topology, &tables)
        .into_iter()
        .filter(|t| t.target == local)
        .collect();
    info!(
        ranges = transfers.len(),
        tables = tables.len(),
        "streaming the ranges this node will own"
    );
    let progress = Progress::new(services.clone(), "bootstrap");
    let result = run_transfers(services, config, transfers, &progress, "in", first_source).await;
    let totals = progress.finish(if result.is_ok() { "done" } else { "failed" });
    result?;
    // What was streamed is on disk before this node owns its ranges.
    services
        .engine
        .sync()
        .map_err(|e| format!("cannot make the streamed data durable: {e}"))?;
    view.set_local_status(NORMAL);
    record(services, COMPLETED);
    Ok(totals)
}

fn first_source(t: &Transfer) -> IpAddr {
    t.sources.first().copied().unwrap_or(t.target)
}

/// Polls `ready` every 200 ms, logging what it waits for every `every`.
pub(crate) async fn wait_for(every: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let mut logged = Instant::now();
    while !ready() {
        if logged.elapsed() >= every {
            info!("waiting for {what}");
            logged = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
