//! A flight's status, as the `flights.status` column spells it. The map writes these
//! words and the simulator obeys them, so their spelling is part of the data model;
//! also which of them a person may set by hand.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Scheduled,
    Boarding,
    OnTime,
    Delayed,
    InFlight,
    Landed,
    Cancelled,
}

pub const ALL: [Status; 7] = Status::ALL;

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Scheduled,
        Status::Boarding,
        Status::OnTime,
        Status::Delayed,
        Status::InFlight,
        Status::Landed,
        Status::Cancelled,
    ];

    /// The statuses a person may set (on the map, the console, cqlsh); the others are
    /// the simulator's to write.
    pub const SETTABLE: [Status; 3] = [Status::OnTime, Status::Delayed, Status::Cancelled];

    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Boarding => "boarding",
            Status::OnTime => "on time",
            Status::Delayed => "delayed",
            Status::InFlight => "in flight",
            Status::Landed => "landed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Parses a stored word or what a user types (`on-time`, `In_Flight`, `canceled`).
    pub fn parse(text: &str) -> Option<Status> {
        let normal: String = text
            .trim()
            .chars()
            .map(|c| if c == '-' || c == '_' { ' ' } else { c.to_ascii_lowercase() })
            .collect();
        let normal = normal.split_whitespace().collect::<Vec<_>>().join(" ");
        match normal.as_str() {
            "canceled" => Some(Status::Cancelled),
            "ontime" => Some(Status::OnTime),
            "inflight" => Some(Status::InFlight),
            other => ALL.into_iter().find(|s| s.as_str() == other),
        }
    }

    /// Whether the flight is over: nothing moves it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Landed | Status::Cancelled)
    }

    /// The statuses a person may move a flight now in `self` to.
    pub fn allowed_changes(self) -> Vec<Status> {
        if self.is_final() {
            return Vec::new();
        }
        Status::SETTABLE.into_iter().filter(|s| *s != self).collect()
    }

    /// Whether a person may move a flight from `self` to `to`.
    pub fn can_change_to(self, to: Status) -> bool {
        self.allowed_changes().contains(&to)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_stored_word() {
        for s in ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn user_spellings_are_accepted_and_nonsense_is_not() {
        assert_eq!(Status::parse("On-Time"), Some(Status::OnTime));
        assert_eq!(Status::parse("in_flight"), Some(Status::InFlight));
        assert_eq!(Status::parse("  canceled "), Some(Status::Cancelled));
        assert_eq!(Status::parse("boarded"), None);
        assert_eq!(Status::parse(""), None);
    }

    #[test]
    fn only_on_time_delayed_and_cancelled_can_be_set_and_never_on_a_finished_flight() {
        assert_eq!(
            Status::Scheduled.allowed_changes(),
            vec![Status::OnTime, Status::Delayed, Status::Cancelled]
        );
        assert_eq!(Status::Delayed.allowed_changes(), vec![Status::OnTime, Status::Cancelled]);
        assert!(Status::InFlight.can_change_to(Status::Delayed));
        assert!(!Status::InFlight.can_change_to(Status::Landed));
        assert!(Status::Landed.allowed_changes().is_empty());
        assert!(Status::Cancelled.allowed_changes().is_empty());
    }
}
