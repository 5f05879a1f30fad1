//! What a failed commit log write or fsync does to the node (Cassandra's
//! `commit_failure_policy`). A write acknowledged after such a failure might
//! not be on disk, so by default the node stops acknowledging writes and says
//! why in every refusal; reads go on. Restarting the node (once the disk is
//! fixed) clears it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::Deserialize;

use crate::storage::StorageError;

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CommitFailurePolicy {
    /// Refuse every later write; keep serving reads (and gossip).
    #[default]
    StopCommit,
    /// As `stop_commit` here: the node stays in gossip, so peers still see it up.
    Stop,
    /// Log and exit the process.
    Die,
    /// Log and go on acknowledging writes (writes since the last good fsync may be lost).
    Ignore,
}

/// The commit log's health, shared by the writers and the fsync thread.
#[derive(Debug, Default)]
pub struct CommitHealth {
    policy: CommitFailurePolicy,
    /// Set once `stopped` holds a reason: what every write checks, lock-free.
    failed: AtomicBool,
    stopped: Mutex<Option<String>>,
}

impl CommitHealth {
    pub fn new(policy: CommitFailurePolicy) -> CommitHealth {
        CommitHealth {
            policy,
            failed: AtomicBool::new(false),
            stopped: Mutex::new(None),
        }
    }

    /// Records that `what` failed with `error`, and acts by the policy.
    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) {
        let reason = format!("{what} failed: {error}");
        match self.policy {
            CommitFailurePolicy::Ignore => {
                tracing::error!(%reason, "commit log failure ignored (commit_failure_policy = ignore)");
            }
            CommitFailurePolicy::Die => {
                tracing::error!(%reason, "commit log failure: stopping the process (commit_failure_policy = die)");
                std::process::exit(1);
            }
            CommitFailurePolicy::StopCommit | CommitFailurePolicy::Stop => {
                let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
                if stopped.is_none() {
                    tracing::error!(%reason, "commit log failure: this node refuses writes until it is restarted (commit_failure_policy)");
                    *stopped = Some(reason);
                    self.failed.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Refuses a write once the commit log failed (under a stopping policy).
    pub fn check(&self) -> Result<(), StorageError> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        match &*self.stopped.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(reason) => Err(StorageError::CommitStopped { reason: reason.clone() }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopping_policy_refuses_writes_after_a_failure_and_ignore_does_not() {
        let stopping = CommitHealth::new(CommitFailurePolicy::StopCommit);
        assert!(stopping.check().is_ok());
        stopping.failed("commit log fsync", &"Input/output error");
        let refused = stopping.check().unwrap_err().to_string();
        assert!(refused.contains("commit log fsync failed: Input/output error"), "{refused}");
        let ignoring = CommitHealth::new(CommitFailurePolicy::Ignore);
        ignoring.failed("commit log fsync", &"Input/output error");
        assert!(ignoring.check().is_ok());
    }
}
