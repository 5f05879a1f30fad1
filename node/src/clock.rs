//! The node's clocks: write timestamps in microseconds (strictly increasing
//! within the process) and the seconds that expiry and deletion times use.
//!
//! For fault tests a node can run with a skewed clock: `RUSTICA_CLOCK_OFFSET_MS`
//! (read once, may be negative) is added to every reading here, as if the
//! machine's clock were off by that much.

/// The test clock offset in microseconds (0 unless `RUSTICA_CLOCK_OFFSET_MS` is set).
fn offset_micros() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var("RUSTICA_CLOCK_OFFSET_MS")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map_or(0, |ms| ms.saturating_mul(1000))
    })
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros() + offset_micros()
}

/// Microseconds since the epoch, never going backwards or repeating within this
/// process, so two writes from one coordinator never tie.
pub fn server_timestamp() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_micros();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

pub fn now_seconds() -> i64 {
    now_micros().div_euclid(1_000_000)
}

/// Milliseconds since the epoch (a CQL timestamp).
pub fn now_millis() -> i64 {
    now_micros().div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timestamps_strictly_increase() {
        let a = server_timestamp();
        let b = server_timestamp();
        assert!(b > a);
    }
}
