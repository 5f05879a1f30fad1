//! The node's background jobs (hint replay, metrics, gossip, the movement
//! service, a join): each runs as a task given a `Stop`, and ends soon after
//! it fires. `Jobs::stop` fires it and waits for them, for at most a grace
//! period, then abandons what is still running.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Fires once, when the node stops.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves when the node stops (at once if it has).
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

/// The running background jobs.
#[derive(Debug)]
pub struct Jobs {
    stop: watch::Sender<bool>,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs::new()
    }
}

impl Jobs {
    pub fn new() -> Jobs {
        Jobs {
            stop: watch::channel(false).0,
            running: Vec::new(),
        }
    }

    /// The stop signal, for what runs outside `spawn` (the CQL server).
    pub fn stop_signal(&self) -> Stop {
        Stop(self.stop.subscribe())
    }

    /// Runs `job` in the background until it returns or, after `stop`, it is
    /// abandoned.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, job: F)
    where
        F: FnOnce(Stop) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.running.retain(|(_, handle)| !handle.is_finished());
        let handle = tokio::spawn(job(self.stop_signal()));
        self.running.push((name, handle));
    }

    /// Tells every job to stop and waits up to `grace` for them.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        for (name, mut handle) in self.running {
            if tokio::time::timeout_at(deadline, &mut handle).await.is_err() {
                tracing::debug!(job = name, "a background job did not stop in time; abandoning it");
                handle.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_ends_the_jobs_that_watch_it_and_abandons_the_others() {
        let mut jobs = Jobs::new();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        jobs.spawn("polite", |mut stop| async move {
            stop.stopped().await;
            let _ = done_tx.send(());
        });
        jobs.spawn("stubborn", |_| std::future::pending());
        let signal = jobs.stop_signal();
        assert!(!signal.is_stopped());
        jobs.stop(Duration::from_millis(50)).await;
        assert!(signal.is_stopped());
        assert!(done_rx.await.is_ok(), "the polite job saw the stop");
    }
}
