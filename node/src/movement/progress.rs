//! Progress of one ring operation's streams, one line per peer: ranges done
//! of planned, bytes and rows copied, the rate. Kept in memory and written to
//! `system.streams` after every chunk, where `rustica streams` and the
//! progress bars of `rustica decommission` / `removenode` read it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::warn;

use super::Services;
use crate::system::{self, StreamRow};

pub struct Progress {
    services: Arc<Services>,
    started: Instant,
    rows: Mutex<BTreeMap<IpAddr, StreamRow>>,
    operation: String,
    started_at: i64,
}

/// What a finished operation moved, for its log line and the note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub bytes: u64,
    pub rows: u64,
    pub ranges: u64,
    pub seconds: f64,
}

impl Totals {
    pub fn mb_per_s(&self) -> f64 {
        if self.seconds <= 0.0 {
            return 0.0;
        }
        self.bytes as f64 / f64::from(1 << 20) / self.seconds
    }
}

impl Progress {
    /// Progress of operation `kind` (bootstrap, decommission, removenode) starting now.
    pub fn new(services: Arc<Services>, kind: &str) -> Progress {
        let now = chrono::Utc::now();
        Progress {
            services,
            started: Instant::now(),
            rows: Mutex::new(BTreeMap::new()),
            operation: format!("{kind}@{}", now.format("%Y-%m-%dT%H:%M:%SZ")),
            started_at: now.timestamp_millis(),
        }
    }

    /// Plans `ranges` more ranges with `peer` in `direction`.
    pub fn plan(&self, peer: IpAddr, direction: &str, ranges: usize) {
        self.update(peer, |row| {
            row.direction = direction.to_string();
            row.ranges_total += ranges as i32;
        });
    }

    pub fn sent(&self, peer: IpAddr, bytes: u64, rows: u64) {
        self.update(peer, |row| {
            row.bytes += bytes as i64;
            row.rows += rows as i64;
        });
    }

    pub fn range_done(&self, peer: IpAddr) {
        self.update(peer, |row| row.ranges_done += 1);
    }

    /// Marks every stream `state` (`done`, `failed`).
    pub fn finish(&self, state: &str) -> Totals {
        let peers: Vec<IpAddr> = self.lock().keys().copied().collect();
        for peer in peers {
            self.update(peer, |row| row.state = state.to_string());
        }
        let rows = self.lock();
        Totals {
            bytes: rows.values().map(|r| r.bytes as u64).sum(),
            rows: rows.values().map(|r| r.rows as u64).sum(),
            ranges: rows.values().map(|r| r.ranges_done as u64).sum(),
            seconds: self.started.elapsed().as_secs_f64(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<IpAddr, StreamRow>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, peer: IpAddr, change: impl FnOnce(&mut StreamRow)) {
        let row = {
            let mut rows = self.lock();
            let row = rows.entry(peer).or_insert_with(|| StreamRow {
                operation: self.operation.clone(),
                peer,
                direction: String::new(),
                state: "streaming".into(),
                ranges_total: 0,
                ranges_done: 0,
                bytes: 0,
                rows: 0,
                mb_per_s: 0.0,
                started_at: self.started_at,
            });
            change(row);
            let seconds = self.started.elapsed().as_secs_f64();
            if seconds > 0.0 {
                row.mb_per_s = row.bytes as f64 / f64::from(1 << 20) / seconds;
            }
            row.clone()
        };
        let schema = self.services.schema.snapshot();
        if let Err(e) = system::write_stream(self.services.engine.as_ref(), &schema, &row) {
            warn!(error = %e, "cannot write system.streams");
        }
    }
}
