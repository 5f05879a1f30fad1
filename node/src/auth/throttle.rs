//! Failed-login throttling: after `MAX_FAILURES` bad passwords for one role from
//! one client address within `WINDOW`, further logins of that role from there are
//! refused until the window has passed, so a password cannot be guessed at bcrypt
//! speed (and one client's typos do not lock out the others). Time is passed in.
//!
//! An attempt is counted when it starts (`reserve`), before its password is
//! checked, so parallel guesses cannot all pass the check before any of them is
//! recorded; a success clears the count and an attempt that failed for another
//! reason than its credentials is given back (`release`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Past this many (address, role) entries, those whose window is over are forgotten.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    /// Attempts counted against (address, role), and when their window began.
    failures: HashMap<(IpAddr, String), (u32, Instant)>,
}

impl LoginThrottle {
    /// Counts an attempt of `user` from `ip` that is about to be checked, or
    /// refuses it with how long `ip` must still wait when `MAX_FAILURES`
    /// attempts are already counted in this window. Check and count are one step
    /// (the caller holds the lock across both).
    pub fn reserve(&mut self, ip: IpAddr, user: &str, now: Instant) -> Result<(), Duration> {
        if self.failures.len() > MAX_ENTRIES {
            self.failures.retain(|_, (_, since)| now.saturating_duration_since(*since) < WINDOW);
        }
        let entry = self.failures.entry((ip, user.to_string())).or_insert((0, now));
        let elapsed = now.saturating_duration_since(entry.1);
        if elapsed >= WINDOW {
            *entry = (0, now);
        } else if entry.0 >= MAX_FAILURES {
            return Err(WINDOW - elapsed);
        }
        entry.0 += 1;
        Ok(())
    }

    /// Gives back an attempt that `reserve` counted but that failed for another
    /// reason than its credentials (e.g. the roles table could not be read).
    pub fn release(&mut self, ip: IpAddr, user: &str) {
        if let Some(entry) = self.failures.get_mut(&(ip, user.to_string())) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    /// A successful login: its address starts afresh.
    pub fn succeeded(&mut self, ip: IpAddr, user: &str) {
        self.failures.remove(&(ip, user.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_is_locked_out_after_repeated_failures_until_the_window_passes() {
        let (ip, other) = (ip("127.0.0.9"), ip("127.0.0.10"));
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        for n in 0..MAX_FAILURES {
            assert_eq!(throttle.reserve(ip, "u", t0), Ok(()), "attempt {n} is allowed");
        }
        assert_eq!(
            throttle.reserve(ip, "u", t0 + Duration::from_secs(10)),
            Err(WINDOW - Duration::from_secs(10))
        );
        assert_eq!(throttle.reserve(other, "u", t0), Ok(()), "other addresses are not affected");
        assert_eq!(throttle.reserve(ip, "v", t0), Ok(()), "other roles are not affected");
        assert_eq!(throttle.reserve(ip, "u", t0 + WINDOW), Ok(()), "the lockout ends with the window");
        for _ in 1..MAX_FAILURES {
            assert_eq!(throttle.reserve(ip, "u", t0 + WINDOW), Ok(()), "a new window counts afresh");
        }
        assert!(throttle.reserve(ip, "u", t0 + WINDOW).is_err());
        throttle.succeeded(ip, "u");
        assert_eq!(throttle.reserve(ip, "u", t0 + WINDOW), Ok(()), "a success clears the count");
    }

    #[test]
    fn attempts_in_flight_count_before_any_of_them_is_checked() {
        // N guesses arrive together: each reserves before any password check
        // finishes, so only MAX_FAILURES of them are let through to bcrypt.
        let (ip, t0) = (ip("10.1.1.1"), Instant::now());
        let mut throttle = LoginThrottle::default();
        let admitted = (0..3 * MAX_FAILURES).filter(|_| throttle.reserve(ip, "u", t0).is_ok()).count();
        assert_eq!(admitted, MAX_FAILURES as usize);
    }

    #[test]
    fn an_attempt_that_failed_for_another_reason_is_given_back() {
        let (ip, t0) = (ip("10.1.1.2"), Instant::now());
        let mut throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            throttle.reserve(ip, "u", t0).unwrap();
            throttle.release(ip, "u");
        }
        assert_eq!(throttle.reserve(ip, "u", t0), Ok(()), "released attempts are not failures");
    }
}
