//! The node's clocks: write timestamps in microseconds (strictly increasing
//! within the process) and the seconds that expiry and deletion times use.

/// Microseconds since the epoch, never going backwards or repeating within this
/// process, so two writes from one coordinator never tie.
pub fn server_timestamp() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_micros();
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
    chrono::Utc::now().timestamp()
}

/// Milliseconds since the epoch (a CQL timestamp).
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
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
