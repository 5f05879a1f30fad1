//! `rustica shell`: a cqlsh-style shell on the scylla Rust driver.
//!
//! This file owns the I/O: flags, the connection, the line-editing loop, paging
//! through results and printing them. Splitting input into statements
//! (`statement.rs`), shell commands (`command.rs`), value formatting (`format.rs`),
//! table layout (`table.rs`) and error wording (`error.rs`) are pure and tested on
//! their own.
mod command;
pub(crate) mod error;
mod format;
mod statement;
mod table;

use std::io::{IsTerminal, Write};
use std::net::{Ipv6Addr, SocketAddr};
use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::host_filter::AllowListHostFilter;
use scylla::response::query_result::QueryResult;
use scylla::response::PagingState;
use scylla::statement::Statement;
use scylla::value::Row;

use command::{Command, Reply, Settings};
use statement::StatementBuffer;
use table::Style;

/// Exit status when a statement of a script or `-e` failed (as cqlsh).
const EXIT_STATEMENT_FAILED: i32 = 2;
/// Exit status when the shell could not connect.
const EXIT_CONNECTION_FAILED: i32 = 1;

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Node to connect to; repeat the flag or separate with commas for several.
    #[arg(long = "host", default_value = "127.0.0.1", value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// CQL native protocol port.
    #[arg(long, default_value_t = 9042)]
    pub port: u16,
    /// Run these statements and exit; the exit status is nonzero if one failed.
    #[arg(short = 'e', long, conflicts_with = "file")]
    pub execute: Option<String>,
    /// Run the statements in this file and exit.
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// Keyspace to use from the start.
    #[arg(short = 'k', long)]
    pub keyspace: Option<String>,
    /// Credentials (-u/-p; the password is asked for when -u is given alone) and TLS.
    #[command(flatten)]
    pub client: crate::client::ClientOptions,
    /// Rows fetched per page.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..))]
    pub page_size: i32,
}

/// Where statements come from when not typed at a prompt.
struct Script {
    /// The name cqlsh puts before error messages: a file name or `<stdin>`.
    name: String,
    text: String,
}

pub async fn run(args: ShellArgs) -> anyhow::Result<()> {
    let script = match (&args.execute, &args.file) {
        (Some(text), _) => Some(Script {
            name: "<stdin>".into(),
            text: text.clone(),
        }),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => Some(Script {
                name: path.display().to_string(),
                text,
            }),
            Err(e) => {
                eprintln!("Could not open {}: {e}", path.display());
                std::process::exit(EXIT_STATEMENT_FAILED);
            }
        },
        (None, None) if !std::io::stdin().is_terminal() => {
            let text = std::io::read_to_string(std::io::stdin())?;
            Some(Script {
                name: "<stdin>".into(),
                text,
            })
        }
        (None, None) => None,
    };
    let tty = script.is_none();

    let nodes: Vec<String> = args.hosts.iter().map(|h| node_address(h.trim(), args.port)).collect();
    let password = match (&args.client.username, &args.client.password) {
        (Some(_), None) => Some(ask_password().await?),
        (_, password) => password.clone(),
    };
    let mut builder = SessionBuilder::new().known_nodes(&nodes).fetch_schema_metadata(false);
    // As cqlsh: every statement goes to the hosts named, never to peers the
    // driver discovers, so node-local tables (system.repairs, system.local)
    // are the named node's. A name that does not resolve is reported by the
    // connection below, in cqlsh's words.
    if let Ok(only_named) = AllowListHostFilter::new(nodes.iter().map(String::as_str)) {
        builder = builder.host_filter(std::sync::Arc::new(only_named));
    }
    let mut builder = args.client.apply(builder, password)?;
    if let Some(keyspace) = &args.keyspace {
        builder = builder.use_keyspace(keyspace, false);
    }
    let session = match builder.build().await {
        Ok(session) => session,
        Err(e) => {
            eprintln!("{}", error::connect_error_text(&e, &nodes));
            std::process::exit(EXIT_CONNECTION_FAILED);
        }
    };

    let mut shell = Shell {
        session,
        settings: Settings::new(args.page_size),
        tty,
    };
    match script {
        Some(script) => {
            if !shell.run_script(&script).await {
                // Exiting here, not through main's error report, keeps the output
                // exactly cqlsh's: the failing statements were already reported.
                let _ = std::io::stdout().flush();
                std::process::exit(EXIT_STATEMENT_FAILED);
            }
            Ok(())
        }
        None => {
            shell.print_banner(nodes.first().map(String::as_str).unwrap_or_default()).await;
            shell.interact().await
        }
    }
}

/// `host:port` for the driver; a host that already names a port is kept as is.
fn node_address(host: &str, port: u16) -> String {
    if host.parse::<SocketAddr>().is_ok() {
        host.to_string()
    } else if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

async fn ask_password() -> anyhow::Result<String> {
    tokio::task::spawn_blocking(|| {
        let mut editor = DefaultEditor::new()?;
        Ok(editor.readline("Password: ")?)
    })
    .await?
}

/// The prompt: `rustica> `, or `rustica:ks> ` once a keyspace is in use.
fn prompt(keyspace: Option<&str>) -> String {
    match keyspace {
        Some(ks) => format!("rustica:{ks}> "),
        None => "rustica> ".to_string(),
    }
}

const CONTINUATION_PROMPT: &str = "   ... ";

/// One result page, already formatted, or `None` for a result without rows.
struct FormattedPage {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn format_page(result: QueryResult) -> Result<Option<FormattedPage>, String> {
    if !result.is_rows() {
        return Ok(None);
    }
    let rows_result = result.into_rows_result().map_err(|e| format!("ProtocolException: {e}"))?;
    let columns = rows_result.column_specs().iter().map(|c| c.name().to_string()).collect();
    let mut rows = Vec::with_capacity(rows_result.rows_num());
    for row in rows_result.rows::<Row>().map_err(|e| format!("ProtocolException: {e}"))? {
        let row = row.map_err(|e| format!("ProtocolException: failed to decode a row: {e}"))?;
        rows.push(row.columns.iter().map(|v| format::format_cell(v.as_ref())).collect());
    }
    Ok(Some(FormattedPage { columns, rows }))
}

struct Shell {
    session: Session,
    settings: Settings,
    /// Interactive: pages pause at `---MORE---` and get cqlsh's tty spacing.
    tty: bool,
}

impl Shell {
    fn style(&self) -> Style {
        Style {
            expand: self.settings.expand,
            tty: self.tty,
        }
    }

    /// Runs every statement of a script; false if any failed. Errors are prefixed
    /// with `name:line:` as cqlsh does outside a terminal.
    async fn run_script(&mut self, script: &Script) -> bool {
        let mut buffer = StatementBuffer::new();
        let mut ok = true;
        let mut last_line = 0;
        for (index, line) in script.text.lines().enumerate() {
            last_line = index + 1;
            for statement in buffer.push_line(line) {
                match self.run_statement(&statement).await {
                    Ok(ControlFlow::Continue(())) => {}
                    Ok(ControlFlow::Break(())) => return ok,
                    Err(message) => {
                        eprintln!("{}:{}:{message}", script.name, last_line);
                        ok = false;
                    }
                }
            }
        }
        if let Some(statement) = buffer.finish() {
            if let Err(message) = self.run_statement(&statement).await {
                eprintln!("{}:{}:{message}", script.name, last_line);
                ok = false;
            }
        }
        ok
    }

    async fn interact(&mut self) -> anyhow::Result<()> {
        let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustica_history"));
        let mut editor = DefaultEditor::new()?;
        if let Some(path) = &history {
            // A missing history file is the normal first run.
            let _ = editor.load_history(path);
        }
        let mut buffer = StatementBuffer::new();
        loop {
            let prompt = if buffer.is_empty() {
                prompt(self.session.get_keyspace().as_deref().map(String::as_str))
            } else {
                CONTINUATION_PROMPT.to_string()
            };
            // rustyline blocks; keep it off the async threads the driver runs on.
            let (returned, line) = tokio::task::spawn_blocking(move || {
                let line = editor.readline(&prompt);
                (editor, line)
            })
            .await?;
            editor = returned;
            let line = match line {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => {
                    buffer.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e.into()),
            };
            if !line.trim().is_empty() {
                let _ = editor.add_history_entry(line.as_str());
            }
            let mut exit = false;
            for statement in buffer.push_line(&line) {
                match self.run_statement(&statement).await {
                    Ok(ControlFlow::Continue(())) => {}
                    Ok(ControlFlow::Break(())) => exit = true,
                    Err(message) => eprintln!("{message}"),
                }
                if exit {
                    break;
                }
            }
            if exit {
                break;
            }
        }
        if let Some(path) = &history {
            if let Err(e) = editor.save_history(path) {
                eprintln!("Could not save history to {}: {e}", path.display());
            }
        }
        Ok(())
    }

    /// Runs one statement; `Break` asks the shell to exit; `Err` is the message to
    /// show.
    async fn run_statement(&mut self, text: &str) -> Result<ControlFlow<()>, String> {
        let reply = match Command::parse(text) {
            Command::Exit => return Ok(ControlFlow::Break(())),
            Command::Help => Reply {
                out: command::HELP.to_string(),
                err: None,
            },
            Command::Consistency(level) => command::consistency(&mut self.settings, level.as_deref()),
            Command::Paging(arg) => command::paging(&mut self.settings, arg.as_deref()),
            Command::Expand(arg) => command::expand(&mut self.settings, arg.as_deref()),
            Command::Cql(cql) => {
                self.run_cql(&cql).await?;
                return Ok(ControlFlow::Continue(()));
            }
        };
        print_out(&reply.out);
        match reply.err {
            Some(err) => Err(err),
            None => Ok(ControlFlow::Continue(())),
        }
    }

    async fn run_cql(&mut self, cql: &str) -> Result<(), String> {
        let mut statement = Statement::new(cql);
        statement.set_consistency(self.settings.consistency);
        if !self.settings.paging {
            let result = self
                .session
                .query_unpaged(statement, ())
                .await
                .map_err(|e| error::execution_error_text(&e))?;
            print_warnings(&result);
            if let Some(page) = format_page(result)? {
                print_out(&table::result(&page.columns, &page.rows, self.style()));
            }
            return Ok(());
        }

        statement.set_page_size(self.settings.page_size);
        let style = self.style();
        let mut paging_state = PagingState::start();
        let mut is_first = true;
        let mut printed_rows = 0;
        // Outside a terminal every page is gathered into one table.
        let mut gathered: Option<FormattedPage> = None;
        loop {
            let (result, paging_response) = self
                .session
                .query_single_page(statement.clone(), (), paging_state)
                .await
                .map_err(|e| error::execution_error_text(&e))?;
            print_warnings(&result);
            // Statements without rows (DDL, USE, writes) print nothing.
            let Some(page) = format_page(result)? else {
                return Ok(());
            };
            let next = paging_response.into_paging_control_flow();
            if self.tty {
                if is_first {
                    print_out(table::RESULT_START);
                }
                // cqlsh prints the first page even when empty, later ones only with rows.
                if is_first || !page.rows.is_empty() {
                    print_out(&table::page(&page.columns, &page.rows, style, is_first, printed_rows));
                }
                printed_rows += page.rows.len();
                if next.is_continue() {
                    wait_for_more().await;
                }
            } else {
                match &mut gathered {
                    Some(all) => all.rows.extend(page.rows),
                    None => gathered = Some(page),
                }
            }
            is_first = false;
            match next {
                ControlFlow::Continue(state) => paging_state = state,
                ControlFlow::Break(()) => break,
            }
        }
        if self.tty {
            print_out(&table::result_end(printed_rows, style));
        } else if let Some(all) = gathered {
            print_out(&table::result(&all.columns, &all.rows, style));
        }
        Ok(())
    }

    async fn print_banner(&self, node: &str) {
        let local = self
            .session
            .query_unpaged("SELECT cluster_name, release_version FROM system.local", ())
            .await
            .ok()
            .and_then(|r| r.into_rows_result().ok())
            .and_then(|r| r.maybe_first_row::<(Option<String>, Option<String>)>().ok().flatten());
        let (cluster, release) = local.unwrap_or_default();
        println!(
            "Connected to {} at {node}.",
            cluster.unwrap_or_else(|| "an unnamed cluster".to_string())
        );
        println!(
            "[rustica shell {} | Cassandra {} | Native protocol v4]",
            env!("CARGO_PKG_VERSION"),
            release.unwrap_or_else(|| "unknown".to_string())
        );
        println!("Use HELP for help.");
    }
}

fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`rustica shell -e ... | head`) is not worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn print_warnings(result: &QueryResult) {
    let warnings: Vec<&str> = result.warnings().collect();
    if !warnings.is_empty() {
        eprintln!("\nWarnings :");
        for warning in warnings {
            eprintln!("{warning}");
        }
        eprintln!();
    }
}

/// cqlsh's pause between interactive pages; any line (even empty) continues.
async fn wait_for_more() {
    print_out("---MORE---");
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_get_the_port_unless_they_have_one() {
        assert_eq!(node_address("127.0.0.1", 9042), "127.0.0.1:9042");
        assert_eq!(node_address("db.example", 9043), "db.example:9043");
        assert_eq!(node_address("127.0.0.2:9999", 9042), "127.0.0.2:9999");
        assert_eq!(node_address("::1", 9042), "[::1]:9042");
    }

    #[test]
    fn prompt_shows_the_keyspace_in_use() {
        assert_eq!(prompt(None), "rustica> ");
        assert_eq!(prompt(Some("ks")), "rustica:ks> ");
    }

    #[test]
    fn hosts_may_be_repeated_or_comma_separated() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            shell: ShellArgs,
        }
        let cli = Cli::parse_from(["x", "--host", "127.0.0.1,127.0.0.2", "--host", "127.0.0.3"]);
        assert_eq!(cli.shell.hosts, vec!["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
        assert_eq!(cli.shell.port, 9042);
        assert_eq!(cli.shell.page_size, 100);
        let defaults = Cli::parse_from(["x", "-e", "SELECT 1", "-k", "ks", "-u", "me", "-p", "pw"]);
        assert_eq!(defaults.shell.hosts, vec!["127.0.0.1"]);
        assert_eq!(defaults.shell.execute.as_deref(), Some("SELECT 1"));
    }
}
