//! What a dispatcher does with a flight it found on the schedule: leave it (claimed
//! by a live simulator, or over), claim it, or take it over from a simulator whose
//! lease lapsed. A pure decision over the `flights` row and the wall clock; the
//! claims themselves are lightweight transactions in `aviation::statements`, so two
//! simulators deciding alike still fly a flight once.

use aviation::flight::{Flight, Millis};

use crate::status::Status;

/// What to do about one flight of the schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Landed, cancelled, or a status no simulator understands: never look again.
    Over,
    /// Another simulator holds it; look again after `until` (its lease).
    Held { until: Millis },
    /// Nobody holds it: claim it if its status is still this one.
    Claim { expected: Status },
    /// Its simulator stopped renewing its lease: take it over if nobody renewed it.
    TakeOver { owner: String, lapsed: Millis },
}

/// How long after a lease ends it is taken over, for clocks a little apart.
pub const LEASE_GRACE_MS: Millis = 2_000;

pub fn decide(flight: &Flight, me: &str, now: Millis) -> Decision {
    let Some(status) = Status::parse(&flight.status) else {
        return Decision::Over;
    };
    if status.is_final() {
        return Decision::Over;
    }
    match (&flight.claimed_by, flight.lease_until) {
        (None, _) => Decision::Claim { expected: status },
        (Some(owner), _) if owner == me => Decision::Held {
            until: flight.lease_until.unwrap_or(now),
        },
        (Some(owner), Some(lease)) if lease + LEASE_GRACE_MS < now => Decision::TakeOver {
            owner: owner.clone(),
            lapsed: lease,
        },
        (Some(_), Some(lease)) => Decision::Held { until: lease },
        // A claim without a lease: made by hand; treat it as lapsed at once.
        (Some(owner), None) => Decision::TakeOver {
            owner: owner.clone(),
            lapsed: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flight(status: &str, claimed_by: Option<&str>, lease_until: Option<Millis>) -> Flight {
        Flight {
            flight_id: "AR1132-20261122".into(),
            status: status.into(),
            claimed_by: claimed_by.map(str::to_string),
            lease_until,
            ..Flight::default()
        }
    }

    #[test]
    fn an_unclaimed_flight_is_claimed_on_the_status_it_has() {
        assert_eq!(
            decide(&flight("scheduled", None, None), "a", 1_000),
            Decision::Claim {
                expected: Status::Scheduled
            }
        );
        assert_eq!(
            decide(&flight("delayed", None, None), "a", 1_000),
            Decision::Claim { expected: Status::Delayed }
        );
    }

    #[test]
    fn finished_or_unreadable_flights_are_over() {
        assert_eq!(decide(&flight("landed", None, None), "a", 0), Decision::Over);
        assert_eq!(decide(&flight("cancelled", Some("b"), Some(5)), "a", 0), Decision::Over);
        assert_eq!(decide(&flight("lost at sea", None, None), "a", 0), Decision::Over);
    }

    #[test]
    fn a_live_claim_is_left_alone_until_its_lease_lapses() {
        let f = flight("in flight", Some("b"), Some(10_000));
        assert_eq!(decide(&f, "a", 9_000), Decision::Held { until: 10_000 });
        assert_eq!(decide(&f, "a", 10_000 + LEASE_GRACE_MS), Decision::Held { until: 10_000 });
        assert_eq!(
            decide(&f, "a", 10_001 + LEASE_GRACE_MS),
            Decision::TakeOver {
                owner: "b".into(),
                lapsed: 10_000
            }
        );
        assert_eq!(decide(&f, "b", 99_000), Decision::Held { until: 10_000 });
    }
}
