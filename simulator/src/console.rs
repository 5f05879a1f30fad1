//! The interactive console: parsing a typed line into a command (pure, so bad input
//! is tested without a cluster), running it against the simulator, and the prompt
//! loop. `add` and `random` schedule flights with the shared statements (a dispatcher
//! flies them at their time); `list` and `status` act on every flight in the
//! database. A line that does not parse, or a flight the schedule refuses, gets a
//! clear message and writes nothing.

use std::io::{BufRead, Write};

use std::time::Duration;

use aviation::statements::Scheduled;

use crate::runner::{SimError, Simulator};
use crate::schedule::{format_time, FlightRequest};
use crate::status::{Status, ALL};

pub const HELP: &str = "\
commands:
  add <number> <from> <to> <departure> <speed-kmh> [airline] [aircraft]
        departure: now | +30m | HH:MM (UTC) | YYYY-MM-DDTHH:MM (UTC)
        e.g.  add AR1132 EZE MAD +10m 850 AR A359
        schedules the flight in the database; a dispatcher flies it at that time
  random <n>                 schedule n random flights departing within 2 minutes
  list                       every flight in the database, with status and claimant
  status <flight> <status>   set a flight's status (on time, delayed, cancelled);
                             <flight> is an id or a number scheduled once
  pause | resume             stop or restart the motion of this simulator's flights
  help
  quit";

/// Most random flights one command may add.
pub const MAX_RANDOM: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Add(FlightRequest),
    Random(usize),
    List,
    SetStatus { flight: String, status: Status },
    Pause,
    Resume,
    Help,
    Quit,
    Empty,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown command `{word}`; type `help`")]
    UnknownCommand { word: String },
    #[error("usage: {usage}")]
    Usage { usage: &'static str },
    #[error("`{text}` is not a number of flights between 1 and {MAX_RANDOM}")]
    BadCount { text: String },
    #[error("unknown status `{text}`; one of: {}", ALL.map(|s| s.as_str()).join(", "))]
    BadStatus { text: String },
}

const ADD_USAGE: &str = "add <number> <from> <to> <departure> <speed-kmh> [airline] [aircraft]";

pub fn parse(line: &str) -> Result<Command, ParseError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&first, rest)) = words.split_first() else {
        return Ok(Command::Empty);
    };
    match first.to_ascii_lowercase().as_str() {
        "add" => {
            if !(5..=7).contains(&rest.len()) {
                return Err(ParseError::Usage { usage: ADD_USAGE });
            }
            Ok(Command::Add(FlightRequest {
                number: rest[0].into(),
                origin: rest[1].into(),
                destination: rest[2].into(),
                departure: rest[3].into(),
                cruise_speed_kmh: rest[4].into(),
                airline: rest.get(5).map(|s| s.to_string()),
                aircraft: rest.get(6).map(|s| s.to_string()),
            }))
        }
        "random" => match rest {
            [n] => match n.parse::<usize>() {
                Ok(n) if (1..=MAX_RANDOM).contains(&n) => Ok(Command::Random(n)),
                _ => Err(ParseError::BadCount { text: n.to_string() }),
            },
            _ => Err(ParseError::Usage { usage: "random <n>" }),
        },
        "list" | "ls" if rest.is_empty() => Ok(Command::List),
        "status" => {
            if rest.len() < 2 {
                return Err(ParseError::Usage {
                    usage: "status <flight> <status>",
                });
            }
            let text = rest[1..].join(" ");
            let status = Status::parse(&text).ok_or(ParseError::BadStatus { text })?;
            Ok(Command::SetStatus {
                flight: rest[0].to_string(),
                status,
            })
        }
        "pause" if rest.is_empty() => Ok(Command::Pause),
        "resume" if rest.is_empty() => Ok(Command::Resume),
        "help" | "?" => Ok(Command::Help),
        "quit" | "exit" if rest.is_empty() => Ok(Command::Quit),
        "list" | "ls" | "pause" | "resume" | "quit" | "exit" => Err(ParseError::Usage {
            usage: "this command takes no arguments",
        }),
        _ => Err(ParseError::UnknownCommand { word: first.to_string() }),
    }
}

/// Runs one command and returns what to print; `None` means quit.
pub fn execute(sim: &Simulator, command: Command) -> Option<String> {
    let out = match command {
        Command::Empty => String::new(),
        Command::Help => HELP.to_string(),
        Command::Quit => return None,
        Command::Pause => {
            if sim.pause() {
                "paused: simulated time stands still".into()
            } else {
                "already paused".into()
            }
        }
        Command::Resume => {
            if sim.resume() {
                "resumed".into()
            } else {
                "not paused".into()
            }
        }
        Command::List => list(sim),
        Command::Add(request) => match sim.schedule(&request) {
            Ok((p, outcome)) => {
                let verb = match outcome {
                    Scheduled::Created => "scheduled",
                    _ => "already scheduled (the same flight)",
                };
                format!(
                    "{verb} {} {}-{} ({:.0} km, {} at {:.0} km/h), departs {}, arrives {}",
                    p.flight_id,
                    p.origin.iata,
                    p.destination.iata,
                    p.model.distance_km(),
                    p.aircraft.code,
                    p.model.cruise_speed_kmh(),
                    format_time(p.scheduled_departure),
                    format_time(p.scheduled_arrival),
                )
            }
            Err(e) => error_line(&e),
        },
        Command::Random(n) => match sim.schedule_random(n, Duration::from_secs(120)) {
            Ok(added) => format!("scheduled {} random flights departing within 2 minutes", added.len()),
            Err(e) => error_line(&e),
        },
        Command::SetStatus { flight, status } => match sim.set_status(&flight, status) {
            Ok(f) => format!("{} is now {status}", f.flight_id),
            Err(e) => error_line(&e),
        },
    };
    Some(out)
}

fn error_line(e: &SimError) -> String {
    format!("error: {e}")
}

/// Most flights `list` shows.
const LIST_LIMIT: usize = 500;

fn list(sim: &Simulator) -> String {
    let flights = match sim.all_flights(LIST_LIMIT) {
        Ok(f) => f,
        Err(e) => return error_line(&e),
    };
    if flights.is_empty() {
        return "no flights in the database; try `random 5` or `add`".into();
    }
    let held: std::collections::HashMap<String, _> = sim.held().into_iter().map(|e| (e.plan.flight_id.clone(), e)).collect();
    let mut out = format!(
        "{:<16} {:<7} {:<17} {:<10} {:<22} {:>8} {:>8}\n",
        "flight", "route", "departs (UTC)", "status", "flown by", "progress", "alt m"
    );
    for f in &flights {
        let departs = f.scheduled_departure.map(format_time).unwrap_or_default();
        let departs = departs.trim_end_matches(" UTC");
        let by = match &f.claimed_by {
            Some(id) if id == sim.id() => "this simulator".to_string(),
            Some(id) => id.clone(),
            None => "-".to_string(),
        };
        let (progress, altitude) = match held.get(&f.flight_id) {
            Some(e) => {
                let v = e.view();
                (format!("{:.1}%", v.progress * 100.0), format!("{:.0}", v.altitude_m))
            }
            None => (String::new(), String::new()),
        };
        out.push_str(&format!(
            "{:<16} {}-{} {:<17} {:<10} {:<22} {:>8} {:>8}\n",
            f.flight_id, f.origin, f.destination, departs, f.status, by, progress, altitude
        ));
    }
    let s = sim.summary();
    out.push_str(&format!(
        "{} flights in the database; this simulator ({}) holds {} airborne, {} on the ground, {} queued; \
         it landed {}, saw {} cancelled{}",
        flights.len(),
        sim.id(),
        s.airborne,
        s.on_ground,
        s.queued,
        s.landed,
        s.cancelled,
        if sim.clock().is_paused() { "; paused" } else { "" }
    ));
    out
}

/// The prompt loop: reads lines until `quit` or end of input.
pub fn run(sim: &Simulator, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    writeln!(output, "flight-sim console; type `help`")?;
    write!(output, "> ")?;
    output.flush()?;
    for line in input.lines() {
        let line = line?;
        let reply = match parse(&line) {
            Ok(command) => match execute(sim, command) {
                Some(reply) => reply,
                None => break,
            },
            Err(e) => format!("error: {e}"),
        };
        if !reply.is_empty() {
            writeln!(output, "{reply}")?;
        }
        write!(output, "> ")?;
        output.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_takes_five_to_seven_words() {
        let cmd = parse("add AR1132 EZE MAD +10m 850 AR A359").unwrap();
        let Command::Add(r) = cmd else { panic!("not an add: {cmd:?}") };
        assert_eq!(r.number, "AR1132");
        assert_eq!(r.destination, "MAD");
        assert_eq!(r.airline.as_deref(), Some("AR"));
        assert_eq!(r.aircraft.as_deref(), Some("A359"));
        assert_eq!(parse("add AR1132 EZE MAD"), Err(ParseError::Usage { usage: ADD_USAGE }));
    }

    #[test]
    fn status_accepts_multi_word_statuses() {
        assert_eq!(
            parse("status AR1132 on time"),
            Ok(Command::SetStatus {
                flight: "AR1132".into(),
                status: Status::OnTime
            })
        );
        assert_eq!(parse("status AR1132 late"), Err(ParseError::BadStatus { text: "late".into() }));
        assert!(parse("status AR1132").is_err());
    }

    #[test]
    fn random_needs_a_sensible_count() {
        assert_eq!(parse("random 5"), Ok(Command::Random(5)));
        assert_eq!(parse("random 0"), Err(ParseError::BadCount { text: "0".into() }));
        assert_eq!(parse("random -3"), Err(ParseError::BadCount { text: "-3".into() }));
        assert_eq!(parse("random many"), Err(ParseError::BadCount { text: "many".into() }));
    }

    #[test]
    fn simple_commands_and_unknown_words() {
        assert_eq!(parse("  "), Ok(Command::Empty));
        assert_eq!(parse("LIST"), Ok(Command::List));
        assert_eq!(parse("pause"), Ok(Command::Pause));
        assert_eq!(parse("resume"), Ok(Command::Resume));
        assert_eq!(parse("quit"), Ok(Command::Quit));
        assert_eq!(parse("exit"), Ok(Command::Quit));
        assert!(matches!(parse("pause now"), Err(ParseError::Usage { .. })));
        assert_eq!(parse("fly"), Err(ParseError::UnknownCommand { word: "fly".into() }));
    }
}
