//! `rustica repair [keyspace [table]] [--full]`: anti-entropy repair of the
//! ranges one node replicates, as Cassandra's `nodetool repair`: incremental
//! unless `--full` (only what was written since the last incremental repair
//! is compared), sent to the node as a `NODETOOL REPAIR` statement. While the
//! node works, a progress bar shows the ranges done, read from its
//! `system.repairs`; at the end a summary per keyspace: incremental or full,
//! ranges compared and differing, rows and bytes streamed, rows and bytes
//! compared, seconds.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use cql_protocol::cql::ast::{NodeTool, RepairOptions, Statement as CqlStatement};
use scylla::client::session::Session;
use scylla::statement::unprepared::Statement;
use uuid::Uuid;

use crate::nodetool::NodeArgs;
use crate::status::format_load;

#[derive(Debug, Clone, Args)]
pub struct RepairArgs {
    /// The keyspace to repair (default: every replicated keyspace).
    pub keyspace: Option<String>,
    /// The table to repair (default: every table of the keyspace).
    pub table: Option<String>,
    /// A full repair: compare everything, not only what was written since
    /// the last incremental repair (nodetool's --full).
    #[arg(long = "full")]
    pub full: bool,
    /// Only the ranges this node is the first replica of (nodetool's -pr):
    /// run it on every node to repair each range once.
    #[arg(long = "pr", alias = "partitioner-range")]
    pub primary_range: bool,
    /// Repair only tokens after this one (nodetool's -st).
    #[arg(long = "start-token", alias = "st", allow_hyphen_values = true)]
    pub start_token: Option<i64>,
    /// Repair only tokens up to this one, included (nodetool's -et).
    #[arg(long = "end-token", alias = "et", allow_hyphen_values = true)]
    pub end_token: Option<i64>,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// A repair may take hours on a large table.
const REPAIR_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// One keyspace's run, as the statement answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub keyspace: String,
    pub tables: String,
    pub ranges: u64,
    pub differing: u64,
    pub failed: u64,
    pub rows_streamed: u64,
    pub bytes_streamed: u64,
    pub bytes_compared: u64,
    pub rows_compared: u64,
    /// `incremental` or `full`.
    pub kind: String,
    pub seconds: f64,
    pub status: String,
    pub error: String,
}

impl Summary {
    fn from_row(row: &[String]) -> anyhow::Result<Summary> {
        let text = |i: usize| row.get(i).cloned().unwrap_or_default();
        let number = |i: usize| text(i).parse::<u64>().unwrap_or(0);
        anyhow::ensure!(
            row.len() >= COLUMNS,
            "the node answered NODETOOL REPAIR with {} columns, not {COLUMNS}",
            row.len()
        );
        Ok(Summary {
            keyspace: text(1),
            tables: text(2),
            ranges: number(3),
            differing: number(4),
            failed: number(5),
            rows_streamed: number(6),
            bytes_streamed: number(7),
            bytes_compared: number(8),
            kind: text(12),
            rows_compared: number(13),
            seconds: text(9).parse().unwrap_or(0.0),
            status: text(10),
            error: text(11),
        })
    }

    /// The lines printed for this keyspace.
    pub fn render(&self) -> String {
        let rate = |bytes: u64| {
            if self.seconds > 0.0 {
                bytes as f64 / f64::from(1 << 20) / self.seconds
            } else {
                0.0
            }
        };
        let mut kind = self.kind.clone();
        if let Some(first) = kind.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        let mut out = format!(
            "{kind} repair of {} ({}) {}: {} ranges compared, {} differing, {} failed; {} rows ({}) streamed; {} rows ({}) compared; {:.1} s ({:.1} MiB/s compared, {:.1} MiB/s streamed)",
            self.keyspace,
            self.tables,
            self.status,
            self.ranges,
            self.differing,
            self.failed,
            self.rows_streamed,
            format_load(self.bytes_streamed as i64),
            self.rows_compared,
            format_load(self.bytes_compared as i64),
            self.seconds,
            rate(self.bytes_compared),
            rate(self.bytes_streamed),
        );
        if !self.error.is_empty() {
            out.push_str(&format!("\n  error: {}", self.error));
        }
        out
    }
}

/// The statement for these options (printed by the CQL AST, so it parses back).
pub fn statement(args: &RepairArgs) -> String {
    CqlStatement::NodeTool(NodeTool::Repair(RepairOptions {
        keyspace: args.keyspace.clone(),
        table: args.table.clone(),
        full: args.full,
        primary_range: args.primary_range,
        start_token: args.start_token,
        end_token: args.end_token,
    }))
    .to_string()
}

/// A run's progress as `system.repairs` holds it.
struct Running {
    id: Uuid,
    keyspace: String,
    done: i32,
    total: i32,
}

async fn runs(session: &Session) -> anyhow::Result<Vec<Running>> {
    let result = session
        .query_unpaged(
            "SELECT id, keyspace_name, status, ranges_done, ranges_total FROM system.repairs",
            (),
        )
        .await
        .context("cannot read system.repairs")?
        .into_rows_result()?;
    let mut out = Vec::new();
    for row in result.rows::<(Uuid, Option<String>, Option<String>, Option<i32>, Option<i32>)>()? {
        let (id, keyspace, status, done, total) = row?;
        if status.as_deref() == Some("running") {
            out.push(Running {
                id,
                keyspace: keyspace.unwrap_or_default(),
                done: done.unwrap_or(0),
                total: total.unwrap_or(0),
            });
        }
    }
    Ok(out)
}

/// `[#######.......] 12/48 ranges  aviation`
pub fn progress_bar(keyspace: &str, done: i32, total: i32) -> String {
    const WIDTH: i32 = 30;
    let filled = if total > 0 { (done * WIDTH / total).clamp(0, WIDTH) } else { 0 };
    format!(
        "[{}{}] {done}/{total} ranges  {keyspace}",
        "#".repeat(filled as usize),
        ".".repeat((WIDTH - filled) as usize)
    )
}

pub async fn run(args: RepairArgs) -> anyhow::Result<()> {
    let session = crate::status::connect_with(&args.node.host, args.node.port, &args.node.client).await?;
    let text = statement(&args);
    let what = match (&args.keyspace, &args.table) {
        (Some(k), Some(t)) => format!("{k}.{t}"),
        (Some(k), None) => format!("keyspace {k}"),
        _ => "every replicated keyspace".to_string(),
    };
    let ranges = if args.primary_range {
        "its primary ranges"
    } else {
        "every range it replicates"
    };
    let kind = if args.full { "full" } else { "incremental" };
    println!("repairing {what} on {}: {ranges} ({kind} repair)", args.node.host);
    // Runs already in the table (a crashed node's may say `running` forever) are not ours.
    let before: HashSet<Uuid> = runs(&session).await.map(|r| r.iter().map(|r| r.id).collect()).unwrap_or_default();
    let mut request = Statement::new(text);
    request.set_request_timeout(Some(REPAIR_TIMEOUT));
    let answer = session.query_unpaged(request, ());
    tokio::pin!(answer);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut shown = false;
    let result = loop {
        tokio::select! {
            result = &mut answer => break result,
            _ = tick.tick() => {
                if let Ok(now) = runs(&session).await {
                    if let Some(r) = now.iter().find(|r| !before.contains(&r.id)) {
                        print!("\r{}", progress_bar(&r.keyspace, r.done, r.total));
                        let _ = std::io::stdout().flush();
                        shown = true;
                    }
                }
            }
        }
    };
    if shown {
        println!();
    }
    let rows = result.context("repair failed")?.into_rows_result()?;
    let mut failed = 0;
    for row in read_text_rows(&rows)? {
        let summary = Summary::from_row(&row)?;
        failed += summary.failed;
        println!("{}", summary.render());
    }
    anyhow::ensure!(failed == 0, "{failed} ranges could not be repaired (see the errors above)");
    Ok(())
}

/// The columns of the statement's answer.
const COLUMNS: usize = 14;

/// The statement's rows as text columns.
fn read_text_rows(rows: &scylla::response::query_result::QueryRowsResult) -> anyhow::Result<Vec<Vec<String>>> {
    type Fourteen = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let mut out = Vec::new();
    for row in rows.rows::<Fourteen>()? {
        let (a, b, c, d, e, f, g, h, i, j, k, l, m, n) = row?;
        out.push(vec![a, b, c, d, e, f, g, h, i, j, k, l, m, n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_carries_every_option() {
        let args = RepairArgs {
            keyspace: Some("aviation".into()),
            table: Some("flights".into()),
            full: true,
            primary_range: true,
            start_token: Some(-5),
            end_token: Some(7),
            node: NodeArgs {
                host: "127.0.0.1".into(),
                port: 9042,
                client: Default::default(),
            },
        };
        assert_eq!(statement(&args), "NODETOOL REPAIR aviation flights FULL PRIMARY START -5 END 7");
        let incremental = RepairArgs { full: false, ..args };
        assert_eq!(statement(&incremental), "NODETOOL REPAIR aviation flights PRIMARY START -5 END 7");
    }

    #[test]
    fn the_summary_says_what_was_compared_and_streamed() {
        let summary = Summary {
            keyspace: "r".into(),
            tables: "t".into(),
            ranges: 48,
            differing: 3,
            failed: 0,
            rows_streamed: 120,
            bytes_streamed: 2048,
            bytes_compared: 4 << 20,
            rows_compared: 4096,
            kind: "incremental".into(),
            seconds: 2.0,
            status: "done".into(),
            error: String::new(),
        };
        let text = summary.render();
        assert!(
            text.starts_with("Incremental repair of r (t) done: 48 ranges compared, 3 differing, 0 failed"),
            "{text}"
        );
        assert!(text.contains("4096 rows (4.00 MiB) compared"), "{text}");
        assert!(text.contains("120 rows (2.00 KiB) streamed"), "{text}");
        assert!(text.contains("2.0 MiB/s compared"), "{text}");
        assert_eq!(
            progress_bar("r", 24, 48),
            format!("[{}{}] 24/48 ranges  r", "#".repeat(15), ".".repeat(15))
        );
    }
}
