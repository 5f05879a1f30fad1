//! The commit log modes of the durable engine, as Cassandra's `commitlog_sync`:
//! `Batch` acknowledges a write only after an fsync of the journal that covers it,
//! concurrent writers sharing one fsync (group commit, leader and followers);
//! `Periodic` acknowledges once the journal reached the OS and fsyncs it from a
//! background thread every period. Writing the journal itself is fjall's.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use fjall::{Database, PersistMode};

use super::failure::CommitHealth;

/// How writes reach the disk before they are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitLogSync {
    /// The journal reaches the OS before the write is acknowledged and is fsynced
    /// every `period`: survives a process crash, may lose the last `period` on
    /// power loss.
    Periodic { period: Duration },
    /// A write is acknowledged after an fsync that covers it; concurrent writes
    /// share one fsync.
    Batch,
}

impl Default for CommitLogSync {
    fn default() -> Self {
        CommitLogSync::Periodic {
            period: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Default)]
struct GroupState {
    /// Sequence number of the last write whose journal append finished.
    written: u64,
    /// Every write up to this one is covered by a finished fsync.
    synced: u64,
    syncing: bool,
}

/// Group commit: the first waiter to find no fsync running becomes the leader,
/// fsyncs everything appended so far, and wakes the followers it covered.
#[derive(Debug, Default)]
pub struct GroupCommit {
    state: Mutex<GroupState>,
    done: Condvar,
}

impl GroupCommit {
    /// Called after a write's journal append returned: waits until an fsync
    /// covering it finished (running it when no one else is).
    pub fn wait_durable(&self, sync: impl Fn() -> Result<(), fjall::Error>) -> Result<(), fjall::Error> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.written += 1;
        let mine = state.written;
        loop {
            if state.synced >= mine {
                return Ok(());
            }
            if state.syncing {
                state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.syncing = true;
            let target = state.written;
            drop(state);
            let result = sync();
            state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.syncing = false;
            if result.is_ok() {
                state.synced = state.synced.max(target);
            }
            self.done.notify_all();
            result?;
        }
    }
}

/// The background fsync of `Periodic` mode; stops (and joins) when dropped.
#[derive(Debug)]
pub struct PeriodicSync {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl PeriodicSync {
    /// Fsyncs every `period`; a failure is `health`'s to act on.
    pub fn start(db: Database, period: Duration, health: Arc<CommitHealth>) -> std::io::Result<PeriodicSync> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("commitlog-sync".into()).spawn(move || loop {
            match stopped.recv_timeout(period) {
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = db.persist(PersistMode::SyncData) {
                        health.failed("periodic commit log fsync", &e);
                    }
                }
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        })?;
        Ok(PeriodicSync {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for PeriodicSync {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn concurrent_writers_share_fsyncs_and_all_return() {
        let group = Arc::new(GroupCommit::default());
        let syncs = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (group, syncs) = (group.clone(), syncs.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        group
                            .wait_durable(|| {
                                syncs.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(1));
                                Ok(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = syncs.load(Ordering::SeqCst);
        assert!((1..=400).contains(&n), "{n} fsyncs for 400 writes");
    }

    #[test]
    fn a_failed_fsync_is_reported_to_the_writer() {
        let group = GroupCommit::default();
        let result = group.wait_durable(|| Err(fjall::Error::Poisoned));
        assert_eq!(result.map_err(|e| e.to_string()), Err(fjall::Error::Poisoned.to_string()));
    }
}
