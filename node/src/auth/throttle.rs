//! Failed-login throttling: after `MAX_FAILURES` bad passwords for one role from
//! one client address within `WINDOW`, further logins of that role from there are
//! refused until the window has passed, so a password cannot be guessed at bcrypt
//! speed (and one client's typos do not lock out the others). Time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: HashMap<(IpAddr, String), (u32, Instant)>,
}

impl LoginThrottle {
    /// How long `ip` must still wait, if it is locked out.
    pub fn locked_for(&self, ip: IpAddr, user: &str, now: Instant) -> Option<Duration> {
        let (count, since) = self.failures.get(&(ip, user.to_string()))?;
        let elapsed = now.saturating_duration_since(*since);
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    pub fn failed(&mut self, ip: IpAddr, user: &str, now: Instant) {
        let entry = self.failures.entry((ip, user.to_string())).or_insert((0, now));
        if now.saturating_duration_since(entry.1) >= WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
        // Keep the map small: forget windows that are over.
        if self.failures.len() > 10_000 {
            self.failures.retain(|_, (_, since)| now.saturating_duration_since(*since) < WINDOW);
        }
    }

    pub fn succeeded(&mut self, ip: IpAddr, user: &str) {
        self.failures.remove(&(ip, user.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_locked_out_after_repeated_failures_until_the_window_passes() {
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let other: IpAddr = "127.0.0.10".parse().unwrap();
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed(ip, "u", t0);
        }
        assert_eq!(throttle.locked_for(ip, "u", t0), None, "not yet");
        throttle.failed(ip, "u", t0);
        assert_eq!(
            throttle.locked_for(ip, "u", t0 + Duration::from_secs(10)),
            Some(WINDOW - Duration::from_secs(10))
        );
        assert_eq!(throttle.locked_for(other, "u", t0), None, "other addresses are not affected");
        assert_eq!(throttle.locked_for(ip, "v", t0), None, "other roles are not affected");
        assert_eq!(throttle.locked_for(ip, "u", t0 + WINDOW), None, "the lockout ends with the window");
        throttle.failed(ip, "u", t0 + WINDOW);
        assert_eq!(
            throttle.locked_for(ip, "u", t0 + WINDOW),
            None,
            "a new window starts counting afresh"
        );
        throttle.succeeded(ip, "u");
        assert_eq!(throttle.locked_for(ip, "u", t0), None);
    }
}
