//! Nodes joining and leaving while the cluster serves (see `docs/movement.md`):
//! bootstrap (a new node streams the ranges it will own, then turns NORMAL),
//! decommission (a node streams its ranges to their new owners, then LEFT),
//! removenode (the remaining replicas re-stream a dead node's ranges), and
//! cleanup (a node drops the ranges it no longer replicates).
//!
//! During a move, writes also reach the nodes gaining a range (pending
//! ranges, `Topology::pending`). What moves is `plan`'s (pure); a range is
//! copied chunk by chunk by `copy`, with `progress` in `system.streams`.
//! The flows here wait, announce states through the view (gossip spreads
//! them) and run the copies.

pub mod bootstrap;
pub mod chunk;
pub mod cleanup;
pub mod copy;
pub mod decommission;
mod handle;
pub mod plan;
mod progress;
pub mod removenode;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};
use uuid::Uuid;

use self::copy::Throttle;
pub use self::handle::{channel, Handle};
use self::plan::Transfer;
pub use self::progress::{Progress, Totals};
use crate::coordinator::replicas::Strategy;
use crate::coordinator::Coordinator;
use crate::jobs::Stop;
use crate::schema::Schema;
use crate::schema_service::SchemaService;
use crate::storage::StorageEngine;
use crate::system::NodeInfo;

/// What the ring operations work with: the coordinator (its view of the ring
/// and its messaging), the schema, the local storage and this node's identity.
#[derive(Clone)]
pub struct Services {
    pub coordinator: Arc<Coordinator>,
    pub schema: Arc<SchemaService>,
    pub engine: Arc<dyn StorageEngine>,
    pub node: NodeInfo,
}

/// How ring changes are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovementConfig {
    /// How long a node waits after announcing a state before acting on it, so
    /// that every node has heard it (Cassandra's ring delay).
    pub ring_delay: Duration,
    /// Cap on streaming, in MiB/s per operation; 0 is unthrottled.
    pub stream_throughput_mb_per_sec: u64,
    /// Ranges copied at once.
    pub parallel_ranges: usize,
    /// Run cleanup on this node after another node finished joining.
    pub auto_cleanup: bool,
}

impl Default for MovementConfig {
    fn default() -> Self {
        MovementConfig {
            ring_delay: Duration::from_secs(2),
            stream_throughput_mb_per_sec: 0,
            parallel_ranges: 4,
            auto_cleanup: true,
        }
    }
}

/// What a cleanup dropped from one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    pub keyspace: String,
    pub table: String,
    pub partitions: u64,
}

/// A request to the node's movement service (from CQL or from gossip).
#[derive(Debug)]
pub enum Request {
    /// Answered once the decommission is checked and started; `force` skips
    /// the replication factor check.
    Decommission {
        force: bool,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Answered once the removal is checked and started.
    RemoveNode {
        host_id: Uuid,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Answered when the cleanup is done.
    Cleanup {
        reply: oneshot::Sender<Result<Vec<Cleaned>, String>>,
    },
    /// A peer finished joining: clean up after a ring delay or two.
    CleanupAfterJoin,
    /// Answered when the repair is done (see `crate::repair`).
    Repair {
        options: crate::repair::RepairOptions,
        reply: oneshot::Sender<Result<Vec<crate::repair::RepairSummary>, String>>,
    },
}

/// The replicated tables of the schema and their keyspaces' strategies.
pub fn replicated_tables(schema: &Schema) -> Vec<(Uuid, Strategy)> {
    schema
        .keyspaces
        .values()
        .map(|k| (k, Strategy::from_replication(&k.replication)))
        .filter(|(_, s)| !matches!(s, Strategy::Local))
        .flat_map(|(k, s)| k.tables.values().map(move |t| (t.id, s.clone())))
        .collect()
}

/// Runs requests until the node stops; `exit` is set when this node has
/// left the ring and the process should end.
pub async fn serve(
    services: Arc<Services>,
    config: MovementConfig,
    mut requests: mpsc::Receiver<Request>,
    exit: watch::Sender<bool>,
    mut stop: Stop,
) {
    let busy = Arc::new(tokio::sync::Mutex::new(()));
    let exit = Arc::new(exit);
    loop {
        let request = tokio::select! {
            _ = stop.stopped() => return,
            request = requests.recv() => match request {
                Some(request) => request,
                None => return,
            },
        };
        match request {
            Request::Decommission { force, reply } => {
                let Ok(guard) = busy.clone().try_lock_owned() else {
                    let _ = reply.send(Err("another decommission or removenode is running on this node".into()));
                    continue;
                };
                if let Err(e) = decommission::check(&services, force) {
                    let _ = reply.send(Err(e));
                    continue;
                }
                let _ = reply.send(Ok(()));
                let (services, exit) = (services.clone(), exit.clone());
                tokio::spawn(async move {
                    let _guard = guard;
                    if decommission::run(services, config).await.is_ok() {
                        let _ = exit.send(true);
                    }
                });
            }
            Request::RemoveNode { host_id, reply } => {
                let Ok(guard) = busy.clone().try_lock_owned() else {
                    let _ = reply.send(Err("another decommission or removenode is running on this node".into()));
                    continue;
                };
                let dead = match removenode::check(&services, host_id) {
                    Ok(dead) => dead,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        continue;
                    }
                };
                let _ = reply.send(Ok(()));
                let services = services.clone();
                tokio::spawn(async move {
                    let _guard = guard;
                    let _ = removenode::run(services, config, host_id, dead).await;
                });
            }
            Request::Cleanup { reply } => {
                let services = services.clone();
                tokio::spawn(async move {
                    let done = tokio::task::spawn_blocking(move || cleanup::run(&services)).await;
                    let _ = reply.send(done.unwrap_or_else(|e| Err(format!("cleanup failed: {e}"))));
                });
            }
            Request::CleanupAfterJoin if config.auto_cleanup => {
                let services = services.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(config.ring_delay * 2).await;
                    match tokio::task::spawn_blocking(move || cleanup::run(&services)).await {
                        Ok(Ok(cleaned)) => {
                            let partitions: u64 = cleaned.iter().map(|c| c.partitions).sum();
                            info!(partitions, "cleanup after a join dropped the ranges this node gave up");
                        }
                        Ok(Err(e)) => warn!(error = %e, "cleanup after a join failed"),
                        Err(e) => warn!(error = %e, "cleanup after a join failed"),
                    }
                });
            }
            Request::CleanupAfterJoin => {}
            Request::Repair { options, reply } => {
                let services = services.clone();
                tokio::spawn(async move {
                    let _ = reply.send(crate::repair::run(services, config, options).await);
                });
            }
        }
    }
}

/// Copies every transfer, `parallel_ranges` at a time, each from its first
/// source that works (resuming where a failed source stopped). `peer_of`
/// names the node a transfer's progress is counted under.
pub(crate) async fn run_transfers(
    services: &Arc<Services>,
    config: MovementConfig,
    transfers: Vec<Transfer>,
    progress: &Progress,
    direction: &str,
    peer_of: fn(&Transfer) -> IpAddr,
) -> Result<(), String> {
    let messaging = services
        .coordinator
        .messaging()
        .ok_or_else(|| "internode messaging is not running".to_string())?;
    for t in &transfers {
        progress.plan(peer_of(t), direction, 1);
    }
    let throttle = Throttle::new(config.stream_throughput_mb_per_sec);
    let results: Vec<Result<(), String>> = stream::iter(transfers)
        .map(|t| {
            let (messaging, throttle) = (&messaging, &throttle);
            async move {
                let peer = peer_of(&t);
                let mut resume = None;
                let mut last_error = format!("no live replica holds {:?}..{:?} of table {}", t.start, t.end, t.table);
                for source in &t.sources {
                    let mut sent = |bytes, rows| progress.sent(peer, bytes, rows);
                    match copy::copy_range(
                        messaging,
                        *source,
                        t.target,
                        t.table,
                        (t.start, t.end),
                        &mut resume,
                        throttle,
                        &mut sent,
                    )
                    .await
                    {
                        Ok(()) => {
                            progress.range_done(peer);
                            return Ok(());
                        }
                        Err(e) => {
                            warn!(%source, target = %t.target, error = %e, "streaming a range failed; trying the next replica");
                            last_error = e;
                        }
                    }
                }
                Err(last_error)
            }
        })
        .buffer_unordered(config.parallel_ranges.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}
