//! The shell's own commands (`CONSISTENCY`, `PAGING`, `EXPAND`, `HELP`, `EXIT`) and
//! the settings they change, with cqlsh's replies.
//!
//! Pure: a command and the current settings in, new settings and the text to show
//! out. CQL statements pass through untouched as `Command::Cql`.
use scylla::statement::Consistency;

/// What one complete statement from the user asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Cql(String),
    Exit,
    Help,
    Consistency(Option<String>),
    Paging(Option<String>),
    Expand(Option<String>),
}

impl Command {
    pub fn parse(statement: &str) -> Command {
        let mut words = statement.split_whitespace();
        let first = words.next().unwrap_or_default().to_ascii_lowercase();
        let arg = words.next().map(str::to_string);
        match first.as_str() {
            "exit" | "quit" => Command::Exit,
            "help" | "?" => Command::Help,
            "consistency" => Command::Consistency(arg),
            "paging" => Command::Paging(arg),
            "expand" => Command::Expand(arg),
            _ => Command::Cql(statement.to_string()),
        }
    }
}

/// Session settings the shell commands change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub consistency: Consistency,
    pub paging: bool,
    pub page_size: i32,
    /// The page size `PAGING OFF` falls back to, as in cqlsh.
    pub default_page_size: i32,
    pub expand: bool,
}

impl Settings {
    /// cqlsh's defaults: consistency ONE, paging on, expand off.
    pub fn new(page_size: i32) -> Self {
        Settings {
            consistency: Consistency::One,
            paging: true,
            page_size,
            default_page_size: page_size,
            expand: false,
        }
    }
}

/// What running a shell command printed: `out` to stdout, `err` to stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reply {
    pub out: String,
    pub err: Option<String>,
}

impl Reply {
    fn out(text: impl Into<String>) -> Self {
        Reply {
            out: text.into(),
            err: None,
        }
    }

    fn err(text: impl Into<String>) -> Self {
        Reply {
            out: String::new(),
            err: Some(text.into()),
        }
    }
}

pub const CONSISTENCY_LEVELS: &[(&str, Consistency)] = &[
    ("ANY", Consistency::Any),
    ("ONE", Consistency::One),
    ("TWO", Consistency::Two),
    ("THREE", Consistency::Three),
    ("QUORUM", Consistency::Quorum),
    ("ALL", Consistency::All),
    ("LOCAL_QUORUM", Consistency::LocalQuorum),
    ("EACH_QUORUM", Consistency::EachQuorum),
    ("SERIAL", Consistency::Serial),
    ("LOCAL_SERIAL", Consistency::LocalSerial),
    ("LOCAL_ONE", Consistency::LocalOne),
];

/// The protocol's name for a level (`LOCAL_QUORUM`), as cqlsh prints it.
pub fn consistency_name(level: Consistency) -> &'static str {
    CONSISTENCY_LEVELS
        .iter()
        .find(|(_, c)| *c == level)
        .map(|(name, _)| *name)
        .unwrap_or("UNKNOWN")
}

pub fn consistency(settings: &mut Settings, level: Option<&str>) -> Reply {
    let Some(level) = level else {
        return Reply::out(format!(
            "Current consistency level is {}.\n",
            consistency_name(settings.consistency)
        ));
    };
    let upper = level.to_ascii_uppercase();
    match CONSISTENCY_LEVELS.iter().find(|(name, _)| *name == upper) {
        Some((name, c)) => {
            settings.consistency = *c;
            Reply::out(format!("Consistency level set to {name}.\n"))
        }
        None => Reply::err(format!(
            "Improper CONSISTENCY command: unknown level '{level}'. Levels: {}",
            CONSISTENCY_LEVELS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// cqlsh's `SwitchCommand`: `ON`, `OFF`, or no argument to show the state.
fn switch(state: &mut bool, arg: Option<&str>, command: &str, description: &str) -> Result<Reply, ()> {
    match arg.map(str::to_ascii_uppercase).as_deref() {
        None if *state => Ok(Reply::out(format!(
            "{description} is currently enabled. Use {command} OFF to disable\n"
        ))),
        None => Ok(Reply::out(format!(
            "{description} is currently disabled. Use {command} ON to enable.\n"
        ))),
        Some("ON") if *state => Ok(Reply::err(format!(
            "{description} is already enabled. Use {command} OFF to disable."
        ))),
        Some("ON") => {
            *state = true;
            Ok(Reply::out(format!("Now {description} is enabled\n")))
        }
        Some("OFF") if !*state => Ok(Reply::err(format!("{description} is not enabled."))),
        Some("OFF") => {
            *state = false;
            Ok(Reply::out(format!("Disabled {description}.\n")))
        }
        Some(_) => Err(()),
    }
}

pub fn expand(settings: &mut Settings, arg: Option<&str>) -> Reply {
    switch(&mut settings.expand, arg, "EXPAND", "Expanded output")
        .unwrap_or_else(|()| Reply::err("Improper EXPAND command: use EXPAND ON or EXPAND OFF."))
}

/// `PAGING`, `PAGING ON|OFF`, or `PAGING n` to turn paging on with `n` rows a page.
pub fn paging(settings: &mut Settings, arg: Option<&str>) -> Reply {
    let mut reply = match (arg, arg.map(str::parse::<i32>)) {
        (_, Some(Ok(n))) if n > 0 => {
            settings.paging = true;
            settings.page_size = n;
            Reply::default()
        }
        (Some(a), Some(Err(_))) if !a.eq_ignore_ascii_case("on") && !a.eq_ignore_ascii_case("off") => {
            return Reply::err("Improper PAGING command: use PAGING ON, PAGING OFF or PAGING <rows per page>.");
        }
        (_, Some(Ok(_))) => return Reply::err("Improper PAGING command: the page size must be positive."),
        _ => match switch(&mut settings.paging, arg, "PAGING", "Query paging") {
            Ok(reply) => reply,
            Err(()) => return Reply::err("Improper PAGING command."),
        },
    };
    if settings.paging {
        reply.out.push_str(&format!("Page size: {}\n", settings.page_size));
    } else {
        settings.page_size = settings.default_page_size;
    }
    reply
}

pub const HELP: &str = "
Documented shell commands:
===========================
CONSISTENCY [level]    Show or set the consistency level (ONE, QUORUM, ALL, LOCAL_ONE, ...).
PAGING [ON|OFF|n]      Show, enable or disable paging, or set the rows per page.
EXPAND [ON|OFF]        Show rows vertically, one block per row.
HELP                   This text.
EXIT, QUIT             Leave the shell.

Any other input is CQL and runs when it ends with ';'. Comments start with -- or //.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_case_insensitively() {
        assert_eq!(Command::parse("QUIT"), Command::Exit);
        assert_eq!(Command::parse("Help"), Command::Help);
        assert_eq!(Command::parse("consistency Quorum"), Command::Consistency(Some("Quorum".into())));
        assert_eq!(Command::parse("PAGING"), Command::Paging(None));
        assert_eq!(Command::parse("expand on"), Command::Expand(Some("on".into())));
        assert_eq!(Command::parse("SELECT 1"), Command::Cql("SELECT 1".into()));
    }

    #[test]
    fn consistency_shows_and_sets_the_level() {
        let mut s = Settings::new(100);
        assert_eq!(consistency(&mut s, None).out, "Current consistency level is ONE.\n");
        assert_eq!(
            consistency(&mut s, Some("local_quorum")).out,
            "Consistency level set to LOCAL_QUORUM.\n"
        );
        assert_eq!(s.consistency, Consistency::LocalQuorum);
        let bad = consistency(&mut s, Some("most"));
        assert!(bad.err.unwrap_or_default().starts_with("Improper CONSISTENCY command"));
        assert_eq!(s.consistency, Consistency::LocalQuorum);
    }

    #[test]
    fn expand_switches_like_cqlsh() {
        let mut s = Settings::new(100);
        assert_eq!(
            expand(&mut s, None).out,
            "Expanded output is currently disabled. Use EXPAND ON to enable.\n"
        );
        assert_eq!(expand(&mut s, Some("ON")).out, "Now Expanded output is enabled\n");
        assert!(s.expand);
        assert_eq!(
            expand(&mut s, Some("on")).err.as_deref(),
            Some("Expanded output is already enabled. Use EXPAND OFF to disable.")
        );
        assert_eq!(expand(&mut s, Some("off")).out, "Disabled Expanded output.\n");
        assert!(!s.expand);
        assert!(expand(&mut s, Some("maybe")).err.is_some());
    }

    #[test]
    fn paging_with_a_number_sets_the_page_size() {
        let mut s = Settings::new(100);
        assert_eq!(paging(&mut s, Some("50")).out, "Page size: 50\n");
        assert_eq!(s.page_size, 50);
        assert_eq!(paging(&mut s, Some("OFF")).out, "Disabled Query paging.\n");
        assert!(!s.paging);
        assert_eq!(s.page_size, 100);
        assert_eq!(paging(&mut s, Some("on")).out, "Now Query paging is enabled\nPage size: 100\n");
        assert_eq!(
            paging(&mut s, None).out,
            "Query paging is currently enabled. Use PAGING OFF to disable\nPage size: 100\n"
        );
        assert!(paging(&mut s, Some("0")).err.is_some());
        assert!(paging(&mut s, Some("lots")).err.is_some());
        assert!(s.paging);
    }
}
