//! How the rest of the node asks the movement service for a ring operation:
//! CQL's `NODETOOL` statements, and gossip once a peer finished joining.

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{Cleaned, Request};

/// Ring operations waiting for the movement service, at most: they run one at
/// a time, and an operator asks for a few at once at most.
const QUEUE: usize = 16;

/// A cheap, cloneable handle to the movement service's request queue.
#[derive(Debug, Clone)]
pub struct Handle {
    requests: mpsc::Sender<Request>,
}

/// A handle and the queue it feeds, for `movement::serve`.
pub fn channel() -> (Handle, mpsc::Receiver<Request>) {
    let (requests, rx) = mpsc::channel(QUEUE);
    (Handle { requests }, rx)
}

impl Handle {
    /// Starts a decommission once it is checked (`force` skips the
    /// replication factor check).
    pub async fn decommission(&self, force: bool) -> Result<(), String> {
        self.ask(|reply| Request::Decommission { force, reply }).await
    }

    /// Starts re-streaming a dead node's ranges once the removal is checked.
    pub async fn remove_node(&self, host_id: Uuid) -> Result<(), String> {
        self.ask(|reply| Request::RemoveNode { host_id, reply }).await
    }

    /// Drops the ranges this node no longer replicates; answers when done.
    pub async fn cleanup(&self) -> Result<Vec<Cleaned>, String> {
        self.ask(|reply| Request::Cleanup { reply }).await
    }

    /// Repairs what `options` names (see `crate::repair`); answers when done.
    pub async fn repair(&self, options: crate::repair::RepairOptions) -> Result<Vec<crate::repair::RepairSummary>, String> {
        self.ask(|reply| Request::Repair { options, reply }).await
    }

    /// A peer finished joining: clean up after a ring delay or two. With the
    /// queue full (sixteen operations waiting) it is dropped with a log line;
    /// `rustica cleanup` asks for it again.
    pub fn cleanup_after_join(&self) {
        if self.requests.try_send(Request::CleanupAfterJoin).is_err() {
            tracing::warn!("the ring operations queue is full or closed; no cleanup after this join (run `rustica cleanup`)");
        }
    }

    async fn ask<T>(&self, request: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Request) -> Result<T, String> {
        let unavailable = || "this node runs no ring operations (its movement service is not running)".to_string();
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).await.map_err(|_| unavailable())?;
        answer.await.map_err(|_| unavailable())?
    }
}
