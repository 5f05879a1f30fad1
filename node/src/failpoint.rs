//! Failure points for tests of crash recovery: a node started with
//! `RUSTICA_FAILPOINTS=batchlog.stored=exit` (several separated by commas)
//! exits at once, as if killed, when it reaches the point named. Read once;
//! with the variable unset a point costs one look-up in an empty map.
//!
//! Points: `batchlog.stored` (a logged batch is in the batchlog, nothing of it
//! applied yet).

use std::collections::HashMap;
use std::sync::OnceLock;

/// What a node does at a failure point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Exit with status 137, as a SIGKILL would leave it: no shutdown, no flush.
    Exit,
}

/// The points named in `spec` (`name=action,...`); unknown actions are skipped.
pub fn parse(spec: &str) -> HashMap<String, Action> {
    spec.split(',')
        .filter_map(|item| item.trim().split_once('='))
        .filter_map(|(name, action)| match action.trim() {
            "exit" => Some((name.trim().to_string(), Action::Exit)),
            other => {
                tracing::warn!(point = name, action = other, "unknown failure point action; ignored");
                None
            }
        })
        .collect()
}

fn configured() -> &'static HashMap<String, Action> {
    static POINTS: OnceLock<HashMap<String, Action>> = OnceLock::new();
    POINTS.get_or_init(|| std::env::var("RUSTICA_FAILPOINTS").map(|s| parse(&s)).unwrap_or_default())
}

/// Reaches failure point `name`.
pub fn hit(name: &str) {
    if let Some(Action::Exit) = configured().get(name) {
        tracing::error!(point = name, "failure point reached: exiting (RUSTICA_FAILPOINTS)");
        std::process::exit(137);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_read_from_the_variable_text() {
        let points = parse("batchlog.stored=exit, other=sleep,broken");
        assert_eq!(points.get("batchlog.stored"), Some(&Action::Exit));
        assert_eq!(points.len(), 1, "unknown actions and items without one are skipped");
    }
}
