//! `rustica decommission`, `removenode`, `cleanup` and `streams`: the ring
//! operations of Cassandra's nodetool, sent to one node over CQL as
//! `NODETOOL ...` statements (a rustica extension; superusers only when
//! authorization is on). Decommission and removenode show a progress bar
//! read from the node's `system.streams` until the operation ends.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use scylla::client::session::Session;
use scylla::statement::unprepared::Statement;
use scylla::value::CqlTimestamp;

use crate::status::connect_with;
use node::system::StreamRow;

#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// The node to talk to.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 9042)]
    pub port: u16,
    #[command(flatten)]
    pub client: crate::client::ClientOptions,
}

#[derive(Debug, Clone, Args)]
pub struct DecommissionArgs {
    /// Leave even when a keyspace would keep fewer nodes than its replication factor.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RemoveNodeArgs {
    /// Host id of the dead node (the `Host ID` column of `rustica status`).
    pub host_id: uuid::Uuid,
    /// A live node of the ring, which runs the removal.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// How long one operation statement may take (cleanup compacts).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(3600);

async fn session(args: &NodeArgs) -> anyhow::Result<Session> {
    connect_with(&args.host, args.port, &args.client).await
}

async fn run_operation(session: &Session, text: &str) -> anyhow::Result<scylla::response::query_result::QueryResult> {
    let mut statement = Statement::new(text);
    statement.set_request_timeout(Some(OPERATION_TIMEOUT));
    Ok(session.query_unpaged(statement, ()).await?)
}

async fn own_address(session: &Session) -> anyhow::Result<IpAddr> {
    let (address,): (IpAddr,) = session
        .query_unpaged("SELECT broadcast_address FROM system.local", ())
        .await?
        .into_rows_result()?
        .single_row()?;
    Ok(address)
}

pub async fn streams_of(session: &Session) -> anyhow::Result<Vec<StreamRow>> {
    type Row = (
        String,
        IpAddr,
        Option<String>,
        Option<String>,
        Option<i32>,
        Option<i32>,
        Option<i64>,
        Option<i64>,
        Option<f64>,
        Option<CqlTimestamp>,
    );
    let result = session
        .query_unpaged(
            "SELECT operation, peer, direction, state, ranges_total, ranges_done, bytes, rows, mb_per_s, started_at FROM system.streams",
            (),
        )
        .await
        .context("cannot read system.streams")?
        .into_rows_result()?;
    let mut out = Vec::new();
    for row in result.rows::<Row>()? {
        let (operation, peer, direction, state, total, done, bytes, rows, rate, started) = row?;
        out.push(StreamRow {
            operation,
            peer,
            direction: direction.unwrap_or_default(),
            state: state.unwrap_or_default(),
            ranges_total: total.unwrap_or(0),
            ranges_done: done.unwrap_or(0),
            bytes: bytes.unwrap_or(0),
            rows: rows.unwrap_or(0),
            mb_per_s: rate.unwrap_or(0.0),
            started_at: started.map_or(0, |t| t.0),
        });
    }
    // Operation names end with their start time: the newest sorts last.
    out.sort_by(|a, b| (&a.operation, a.peer).cmp(&(&b.operation, b.peer)));
    Ok(out)
}

/// The streams of the newest operation of `kind` (`decommission`, `removenode`, `bootstrap`).
pub fn latest<'a>(lines: &'a [StreamRow], kind: &str) -> Vec<&'a StreamRow> {
    let prefix = format!("{kind}@");
    let Some(newest) = lines
        .iter()
        .filter(|l| l.operation.starts_with(&prefix))
        .map(|l| &l.operation)
        .max()
    else {
        return Vec::new();
    };
    lines.iter().filter(|l| &l.operation == newest).collect()
}

/// `[#######.............] 12/48 ranges  1.50 GiB  35.2 MiB/s`
pub fn progress_bar(streams: &[&StreamRow]) -> String {
    let total: i64 = streams.iter().map(|s| i64::from(s.ranges_total)).sum();
    let done: i64 = streams.iter().map(|s| i64::from(s.ranges_done)).sum();
    let bytes: i64 = streams.iter().map(|s| s.bytes).sum();
    let rate: f64 = streams.iter().map(|s| s.mb_per_s).sum();
    const WIDTH: i64 = 30;
    let filled = if total > 0 { (done * WIDTH / total).clamp(0, WIDTH) } else { 0 };
    format!(
        "[{}{}] {done}/{total} ranges  {}  {rate:.1} MiB/s",
        "#".repeat(filled as usize),
        ".".repeat((WIDTH - filled) as usize),
        crate::status::format_load(bytes)
    )
}

/// Prints the progress bar of the newest `kind` operation over the same line.
async fn show_progress(session: &Session, kind: &str) -> anyhow::Result<Option<String>> {
    let lines = streams_of(session).await?;
    let streams = latest(&lines, kind);
    if streams.is_empty() {
        return Ok(None);
    }
    print!("\r{}", progress_bar(&streams));
    let _ = std::io::stdout().flush();
    let states: Vec<&str> = streams.iter().map(|s| s.state.as_str()).collect();
    Ok(if states.iter().all(|s| *s == "done") {
        Some("done".into())
    } else if states.contains(&"failed") {
        Some("failed".into())
    } else {
        None
    })
}

async fn own_status(session: &Session, address: IpAddr) -> anyhow::Result<Option<String>> {
    let result = session
        .query_unpaged("SELECT status FROM system.cluster_status WHERE peer = ?", (address,))
        .await?
        .into_rows_result()?;
    Ok(result.maybe_first_row::<(Option<String>,)>()?.and_then(|(s,)| s))
}

pub async fn decommission(args: DecommissionArgs) -> anyhow::Result<()> {
    let session = session(&args.node).await?;
    let address = own_address(&session).await?;
    let statement = if args.force {
        "NODETOOL DECOMMISSION FORCE"
    } else {
        "NODETOOL DECOMMISSION"
    };
    run_operation(&session, statement)
        .await
        .with_context(|| format!("cannot decommission {address}"))?;
    println!("{address} is LEAVING: streaming its ranges to the nodes that take them over");
    let mut streamed = None;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match own_status(&session, address).await {
            Ok(Some(status)) if status == "LEFT" => {
                let _ = show_progress(&session, "decommission").await;
                println!("\n{address} has LEFT the ring and stops.");
                return Ok(());
            }
            Ok(Some(status)) if status == "NORMAL" && streamed.is_some() => {
                anyhow::bail!("\ndecommission of {address} failed: it is NORMAL again; see its log");
            }
            Ok(_) => streamed = show_progress(&session, "decommission").await.unwrap_or(None).or(streamed),
            Err(_) if streamed.as_deref() == Some("done") => {
                println!("\n{address} streamed everything and stopped.");
                return Ok(());
            }
            Err(e) => return Err(e.context(format!("lost {address} while it was leaving"))),
        }
    }
}

pub async fn removenode(args: RemoveNodeArgs) -> anyhow::Result<()> {
    let session = session(&args.node).await?;
    run_operation(&session, &format!("NODETOOL REMOVENODE {}", args.host_id))
        .await
        .with_context(|| format!("cannot remove {}", args.host_id))?;
    println!("removing {}: re-streaming its ranges among the remaining replicas", args.host_id);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let state = show_progress(&session, "removenode").await?;
        let listed = crate::status::cluster_status(&session)
            .await?
            .iter()
            .any(|l| l.host_id == Some(args.host_id));
        match state.as_deref() {
            Some("failed") if !listed => anyhow::bail!(
                "\n{} is removed, but some ranges could not be re-streamed; see the log",
                args.host_id
            ),
            Some("done") if !listed => {
                println!("\n{} is removed from the ring.", args.host_id);
                return Ok(());
            }
            _ => {}
        }
    }
}

pub async fn cleanup(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    let result = run_operation(&session, "NODETOOL CLEANUP").await.context("cleanup failed")?;
    let rows = result.into_rows_result()?;
    let mut total = 0u64;
    for row in rows.rows::<(String, String, String)>()? {
        let (keyspace, table, partitions) = row?;
        total += partitions.parse::<u64>().unwrap_or(0);
        println!("{keyspace}.{table}: {partitions} partitions removed");
    }
    println!("cleanup done: {total} partitions removed");
    Ok(())
}

pub async fn streams(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    let lines = streams_of(&session).await?;
    if lines.is_empty() {
        println!("no streams");
        return Ok(());
    }
    println!(
        "{:<36} {:<16} {:<6} {:<10} {:>13} {:>12} {:>10}",
        "Operation", "Peer", "Dir", "State", "Ranges", "Bytes", "MiB/s"
    );
    for l in &lines {
        println!(
            "{:<36} {:<16} {:<6} {:<10} {:>13} {:>12} {:>10.1}",
            l.operation,
            l.peer.to_string(),
            l.direction,
            l.state,
            format!("{}/{}", l.ranges_done, l.ranges_total),
            crate::status::format_load(l.bytes),
            l.mb_per_s
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(operation: &str, done: i32, total: i32, state: &str) -> StreamRow {
        StreamRow {
            operation: operation.into(),
            peer: "127.0.0.2".parse().unwrap(),
            direction: "out".into(),
            state: state.into(),
            ranges_total: total,
            ranges_done: done,
            bytes: 3 << 20,
            rows: 3,
            mb_per_s: 1.5,
            started_at: 0,
        }
    }

    #[test]
    fn the_bar_fills_with_the_ranges_done() {
        let a = line("decommission@2026-12-01T00:00:00Z", 5, 10, "streaming");
        let bar = progress_bar(&[&a]);
        assert!(bar.starts_with(&format!("[{}{}]", "#".repeat(15), ".".repeat(15))), "{bar}");
        assert!(
            bar.contains("5/10 ranges") && bar.contains("3.00 MiB") && bar.contains("1.5 MiB/s"),
            "{bar}"
        );
    }

    #[test]
    fn only_the_newest_operation_of_a_kind_counts() {
        let lines = vec![
            line("decommission@2026-12-01T00:00:00Z", 1, 1, "failed"),
            line("decommission@2026-12-01T01:00:00Z", 0, 4, "streaming"),
            line("bootstrap@2026-12-01T02:00:00Z", 2, 2, "done"),
        ];
        let newest = latest(&lines, "decommission");
        assert_eq!(newest.len(), 1);
        assert_eq!(newest[0].ranges_total, 4);
        assert!(latest(&lines, "removenode").is_empty());
    }
}
