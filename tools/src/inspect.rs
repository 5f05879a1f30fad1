//! `rustica info | ring | describecluster | gossipinfo | tablestats | tpstats`,
//! `flush | compact | drain` and `settraceprobability | gettraceprobability`:
//! nodetool's everyday commands. The node's own figures come from
//! `NODETOOL INFO | TABLESTATS | TPSTATS | GETTRACEPROBABILITY` statements; what a
//! node knows of the cluster comes from the system tables gossip keeps
//! (`system.local`, `system.peers`, `system.cluster_status`), as `rustica
//! status` reads them. The layouts are nodetool's, as pure functions of the
//! rows read; this module only asks and prints.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use scylla::client::session::Session;
use scylla::statement::unprepared::Statement;
use uuid::Uuid;

use crate::nodetool::NodeArgs;
use crate::status::{cluster_status, connect_with, format_load, ownership, ring_tokens, NodeLine, Replication};

#[derive(Debug, Clone, Args)]
pub struct TableStatsArgs {
    /// Only this keyspace's tables.
    pub keyspace: Option<String>,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TraceProbabilityArgs {
    /// The share of requests the node traces unasked: 0 (none, the default) to 1 (all).
    pub probability: f64,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// How long a flush, compaction or drain may take.
const DISK_TIMEOUT: Duration = Duration::from_secs(3600);

async fn session(args: &NodeArgs) -> anyhow::Result<Session> {
    connect_with(&args.host, args.port, &args.client).await
}

/// Runs a `NODETOOL` statement; its rows as text.
async fn nodetool_rows(session: &Session, text: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let mut statement = Statement::new(text);
    statement.set_request_timeout(Some(DISK_TIMEOUT));
    let result = session.query_unpaged(statement, ()).await.with_context(|| text.to_string())?;
    let Ok(rows) = result.into_rows_result() else {
        return Ok(Vec::new());
    };
    let width = rows.column_specs().len();
    let mut out = Vec::new();
    for row in rows.rows::<scylla::value::Row>()? {
        let row = row?;
        let cells: Vec<String> = row
            .columns
            .into_iter()
            .map(|c| match c {
                Some(scylla::value::CqlValue::Text(s)) => s,
                Some(other) => format!("{other:?}"),
                None => String::new(),
            })
            .collect();
        debug_assert_eq!(cells.len(), width);
        out.push(cells);
    }
    Ok(out)
}

/// `flush`, `compact` and `drain`: the statement, then nothing printed (as nodetool).
pub async fn disk_operation(args: NodeArgs, op: &str) -> anyhow::Result<()> {
    let session = session(&args).await?;
    nodetool_rows(&session, &format!("NODETOOL {}", op.to_uppercase()))
        .await
        .with_context(|| format!("{op} failed on {}", args.host))?;
    Ok(())
}

/// `nodetool settraceprobability`: the node traces this share of requests
/// into `system_traces`, as if their clients had asked.
pub async fn settraceprobability(args: TraceProbabilityArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.probability) {
        anyhow::bail!("Trace probability must be between 0 and 1, got {}", args.probability);
    }
    let session = session(&args.node).await?;
    nodetool_rows(&session, &format!("NODETOOL SETTRACEPROBABILITY {}", args.probability))
        .await
        .with_context(|| format!("settraceprobability failed on {}", args.node.host))?;
    Ok(())
}

/// `nodetool gettraceprobability`: `Current trace probability: 0.1`.
pub async fn gettraceprobability(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    let rows = nodetool_rows(&session, "NODETOOL GETTRACEPROBABILITY").await?;
    let probability = rows
        .first()
        .and_then(|r| r.first())
        .context("the node did not say its trace probability")?;
    println!("Current trace probability: {probability}");
    Ok(())
}

/// `nodetool info`: `Name : value` lines; sizes in binary units.
pub fn render_info(lines: &[Vec<String>]) -> String {
    let mut out = String::new();
    for line in lines {
        let (Some(name), Some(value)) = (line.first(), line.get(1)) else {
            continue;
        };
        let value = match name.as_str() {
            "Load" | "Memory used (RSS, bytes)" => value.parse::<i64>().map_or_else(|_| value.clone(), format_load),
            _ => value.clone(),
        };
        let name = name.replace(" (RSS, bytes)", " (RSS)");
        out.push_str(&format!("{name:<23}: {value}\n"));
    }
    out
}

pub async fn info(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    print!("{}", render_info(&nodetool_rows(&session, "NODETOOL INFO").await?));
    Ok(())
}

/// `nodetool tablestats`: per keyspace, then per table.
pub fn render_tablestats(rows: &[Vec<String>]) -> String {
    let mut by_keyspace: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for row in rows {
        if let [keyspace, table, bytes, ..] = row.as_slice() {
            by_keyspace.entry(keyspace).or_default().push((table, bytes.parse().unwrap_or(0)));
        }
    }
    let mut out = format!("Total number of tables: {}\n----------------\n", rows.len());
    for (keyspace, mut tables) in by_keyspace {
        tables.sort();
        let total: i64 = tables.iter().map(|(_, b)| b).sum();
        out.push_str(&format!("Keyspace : {keyspace}\n\tSpace used (live): {total}\n"));
        for (table, bytes) in tables {
            out.push_str(&format!(
                "\t\tTable: {table}\n\t\tSpace used (live): {bytes}\n\t\tSpace used (total): {bytes}\n\n"
            ));
        }
        out.push_str("----------------\n");
    }
    out
}

pub async fn tablestats(args: TableStatsArgs) -> anyhow::Result<()> {
    let session = session(&args.node).await?;
    let statement = match &args.keyspace {
        Some(ks) => format!("NODETOOL TABLESTATS \"{}\"", ks.replace('"', "\"\"")),
        None => "NODETOOL TABLESTATS".to_string(),
    };
    let rows = nodetool_rows(&session, &statement).await?;
    if let (Some(ks), true) = (&args.keyspace, rows.is_empty()) {
        anyhow::bail!("Unknown keyspace: {ks}");
    }
    print!("{}", render_tablestats(&rows));
    Ok(())
}

/// `nodetool tpstats`: one line per pool.
pub fn render_tpstats(rows: &[Vec<String>]) -> String {
    let mut out = format!(
        "{:<30}{:>8}{:>9}{:>15}{:>9}{:>18}\n",
        "Pool Name", "Active", "Pending", "Completed", "Blocked", "All time blocked"
    );
    for row in rows {
        if let [pool, active, pending, completed, blocked, ..] = row.as_slice() {
            out.push_str(&format!(
                "{pool:<30}{active:>8}{pending:>9}{completed:>15}{blocked:>9}{blocked:>18}\n"
            ));
        }
    }
    out
}

pub async fn tpstats(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    print!("{}", render_tpstats(&nodetool_rows(&session, "NODETOOL TPSTATS").await?));
    Ok(())
}

/// `nodetool ring`: every token with its node, ring order, per data centre.
pub fn render_ring(nodes: &[NodeLine], tokens: &HashMap<IpAddr, Vec<i64>>, owns: &HashMap<IpAddr, f64>) -> String {
    let mut by_dc: BTreeMap<&str, Vec<&NodeLine>> = BTreeMap::new();
    for n in nodes {
        by_dc.entry(n.data_center.as_str()).or_default().push(n);
    }
    let mut out = String::new();
    for (dc, lines) in by_dc {
        let mut entries: Vec<(i64, &NodeLine)> = lines
            .iter()
            .flat_map(|n| tokens.get(&n.address).into_iter().flatten().map(move |t| (*t, *n)))
            .collect();
        entries.sort_by_key(|(t, n)| (*t, n.address));
        let title = format!("Datacenter: {dc}");
        out.push_str(&format!("\n{title}\n{}\n", "=".repeat(10)));
        out.push_str(&format!(
            "{:<16}{:<12}{:<7}{:<8}{:<16}{:<20}{}\n",
            "Address", "Rack", "Status", "State", "Load", "Owns", "Token"
        ));
        if let Some((last, _)) = entries.last() {
            out.push_str(&format!("{:<79}{last}\n", ""));
        }
        for (token, n) in entries {
            let status = if n.state.starts_with('U') { "Up" } else { "Down" };
            let state = match n.state.chars().nth(1) {
                Some('J') => "Joining",
                Some('L') => "Leaving",
                Some('M') => "Moving",
                _ => "Normal",
            };
            let own = owns
                .get(&n.address)
                .map_or_else(|| "?".to_string(), |o| format!("{:.2}%", o * 100.0));
            out.push_str(&format!(
                "{:<16}{:<12}{:<7}{:<8}{:<16}{:<20}{token}\n",
                n.address.to_string(),
                n.rack,
                status,
                state,
                format_load(n.load),
                own
            ));
        }
    }
    out
}

pub async fn ring(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    let nodes = cluster_status(&session).await?;
    let tokens = ring_tokens(&session).await?;
    let owns = ownership(&nodes, &tokens, &Replication::Simple(1));
    print!("{}", render_ring(&nodes, &tokens, &owns));
    Ok(())
}

/// What `describecluster` reads: the node's cluster name and partitioner,
/// each node's schema version and state, and every keyspace's replication.
#[derive(Debug, Clone, Default)]
pub struct ClusterDescription {
    pub name: String,
    pub partitioner: String,
    pub nodes: Vec<(IpAddr, String, String, Option<Uuid>)>,
    pub keyspaces: Vec<(String, BTreeMap<String, String>)>,
}

/// `nodetool describecluster`.
pub fn render_describecluster(d: &ClusterDescription) -> String {
    let mut out = format!(
        "Cluster Information:\n\tName: {}\n\tSnitch: org.apache.cassandra.locator.SimpleSnitch\n\tDynamicEndPointSnitch: disabled\n\tPartitioner: {}\n\tSchema versions:\n",
        d.name, d.partitioner
    );
    let mut versions: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for (address, state, _, version) in &d.nodes {
        let key = match version {
            Some(v) if state.starts_with('U') => v.to_string(),
            _ => "UNREACHABLE".to_string(),
        };
        versions.entry(key).or_default().push(*address);
    }
    for (version, mut addresses) in versions {
        addresses.sort();
        let list: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
        out.push_str(&format!("\t\t{version}: [{}]\n", list.join(", ")));
    }
    let count = |f: &dyn Fn(&str) -> bool| d.nodes.iter().filter(|(_, s, _, _)| f(s)).count();
    out.push_str(&format!(
        "\nStats for all nodes:\n\tLive: {}\n\tJoining: {}\n\tMoving: {}\n\tLeaving: {}\n\tUnreachable: {}\n",
        count(&|s| s.starts_with('U')),
        count(&|s| s.ends_with('J')),
        count(&|s| s.ends_with('M')),
        count(&|s| s.ends_with('L')),
        count(&|s| s.starts_with('D')),
    ));
    let mut dcs: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (_, state, dc, _) in &d.nodes {
        let e = dcs.entry(dc).or_default();
        e.0 += 1;
        if state.starts_with('D') {
            e.1 += 1;
        }
    }
    out.push_str("\nData Centers: \n");
    for (dc, (n, down)) in dcs {
        out.push_str(&format!("\t{dc} #Nodes: {n} #Down: {down}\n"));
    }
    out.push_str("\nKeyspaces:\n");
    for (name, replication) in &d.keyspaces {
        let class = replication.get("class").map_or("?", |c| c.rsplit('.').next().unwrap_or(c));
        let options: Vec<String> = replication
            .iter()
            .filter(|(k, _)| k.as_str() != "class")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!("\t{name} -> Replication class: {class} {{{}}}\n", options.join(", ")));
    }
    out
}

pub async fn describecluster(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    let (name, partitioner, local, local_version): (Option<String>, Option<String>, Option<IpAddr>, Option<Uuid>) = session
        .query_unpaged(
            "SELECT cluster_name, partitioner, broadcast_address, schema_version FROM system.local",
            (),
        )
        .await
        .context("cannot read system.local")?
        .into_rows_result()?
        .single_row()?;
    // Schema versions as drivers read them for schema agreement: the node's
    // own from system.local, its peers' from system.peers.
    let mut versions: HashMap<IpAddr, Option<Uuid>> = HashMap::new();
    if let Some(local) = local {
        versions.insert(local, local_version);
    }
    let peers = session
        .query_unpaged("SELECT peer, schema_version FROM system.peers", ())
        .await
        .context("cannot read system.peers")?
        .into_rows_result()?;
    for row in peers.rows::<(IpAddr, Option<Uuid>)>()? {
        let (peer, version) = row?;
        versions.insert(peer, version);
    }
    let statuses = session
        .query_unpaged("SELECT peer, state, data_center, schema_version FROM system.cluster_status", ())
        .await
        .context("cannot read system.cluster_status")?
        .into_rows_result()?;
    let mut nodes = Vec::new();
    for row in statuses.rows::<(IpAddr, Option<String>, Option<String>, Option<Uuid>)>()? {
        let (address, state, dc, version) = row?;
        let version = versions.get(&address).copied().unwrap_or(version);
        nodes.push((address, state.unwrap_or_default(), dc.unwrap_or_default(), version));
    }
    let keyspaces = session
        .query_unpaged("SELECT keyspace_name, replication FROM system_schema.keyspaces", ())
        .await
        .context("cannot read system_schema.keyspaces")?
        .into_rows_result()?;
    let mut described = Vec::new();
    for row in keyspaces.rows::<(String, Option<HashMap<String, String>>)>()? {
        let (name, replication) = row?;
        described.push((name, replication.unwrap_or_default().into_iter().collect()));
    }
    described.sort();
    let description = ClusterDescription {
        name: name.unwrap_or_default(),
        partitioner: partitioner.unwrap_or_default(),
        nodes,
        keyspaces: described,
    };
    print!("{}", render_describecluster(&description));
    Ok(())
}

/// One node's gossiped state, as `gossipinfo` prints it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GossipEntry {
    pub address: Option<IpAddr>,
    pub state: String,
    pub status: String,
    pub load: i64,
    pub schema: Option<Uuid>,
    pub data_center: String,
    pub rack: String,
    pub release_version: String,
    pub host_id: Option<Uuid>,
    pub tokens: i32,
}

/// `nodetool gossipinfo`: one block per node, its application states.
pub fn render_gossipinfo(entries: &[GossipEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        let address = e.address.map_or_else(|| "?".to_string(), |a| a.to_string());
        let opt = |u: Option<Uuid>| u.map_or_else(|| "?".to_string(), |u| u.to_string());
        out.push_str(&format!(
            "/{address}\n  STATUS:{}\n  LOAD:{}\n  SCHEMA:{}\n  DC:{}\n  RACK:{}\n  RELEASE_VERSION:{}\n  HOST_ID:{}\n  TOKENS:<hidden> ({})\n  UP:{}\n",
            e.status,
            e.load,
            opt(e.schema),
            e.data_center,
            e.rack,
            e.release_version,
            opt(e.host_id),
            e.tokens,
            e.state.starts_with('U')
        ));
    }
    out
}

pub async fn gossipinfo(args: NodeArgs) -> anyhow::Result<()> {
    let session = session(&args).await?;
    let rows = session
        .query_unpaged(
            "SELECT peer, state, status, load, schema_version, data_center, rack, host_id, tokens FROM system.cluster_status",
            (),
        )
        .await
        .context("cannot read system.cluster_status")?
        .into_rows_result()?;
    type Row = (
        IpAddr,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<Uuid>,
        Option<String>,
        Option<String>,
        Option<Uuid>,
        Option<i32>,
    );
    let mut releases: HashMap<IpAddr, String> = HashMap::new();
    let peers = session
        .query_unpaged("SELECT peer, release_version FROM system.peers", ())
        .await
        .context("cannot read system.peers")?
        .into_rows_result()?;
    for row in peers.rows::<(IpAddr, Option<String>)>()? {
        let (peer, release) = row?;
        releases.insert(peer, release.unwrap_or_default());
    }
    let (local, local_release, local_schema): (Option<IpAddr>, Option<String>, Option<Uuid>) = session
        .query_unpaged("SELECT broadcast_address, release_version, schema_version FROM system.local", ())
        .await?
        .into_rows_result()?
        .single_row()?;
    if let Some(local) = local {
        releases.insert(local, local_release.unwrap_or_default());
    }
    let mut entries = Vec::new();
    for row in rows.rows::<Row>()? {
        let (address, state, status, load, schema, dc, rack, host_id, tokens) = row?;
        // The node's own schema version as system.local has it (its own
        // system.cluster_status row may lag behind).
        let schema = if Some(address) == local { local_schema.or(schema) } else { schema };
        entries.push(GossipEntry {
            address: Some(address),
            state: state.unwrap_or_default(),
            status: status.unwrap_or_default(),
            load: load.unwrap_or(0),
            schema,
            data_center: dc.unwrap_or_default(),
            rack: rack.unwrap_or_default(),
            release_version: releases.get(&address).cloned().unwrap_or_default(),
            host_id,
            tokens: tokens.unwrap_or(0),
        });
    }
    entries.sort_by_key(|e| e.address);
    print!("{}", render_gossipinfo(&entries));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(address: &str, state: &str) -> NodeLine {
        NodeLine {
            address: address.parse().unwrap(),
            state: state.into(),
            load: 2048,
            tokens: 2,
            host_id: None,
            data_center: "datacenter1".into(),
            rack: "rack1".into(),
        }
    }

    #[test]
    fn info_lines_line_up_and_sizes_read_in_binary_units() {
        let text = render_info(&[
            vec!["ID".into(), "abc".into()],
            vec!["Load".into(), "2048".into()],
            vec!["Memory used (RSS, bytes)".into(), "1048576".into()],
        ]);
        assert_eq!(
            text,
            "ID                     : abc\nLoad                   : 2.00 KiB\nMemory used (RSS)      : 1.00 MiB\n"
        );
    }

    #[test]
    fn the_ring_lists_every_token_in_order_with_its_node() {
        let nodes = vec![node("127.0.0.1", "UN"), node("127.0.0.2", "DN")];
        let tokens = HashMap::from([
            ("127.0.0.1".parse().unwrap(), vec![10, -5]),
            ("127.0.0.2".parse().unwrap(), vec![0]),
        ]);
        let owns = ownership(&nodes, &tokens, &Replication::Simple(1));
        let text = render_ring(&nodes, &tokens, &owns);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "Datacenter: datacenter1");
        assert!(lines[3].starts_with("Address"), "{text}");
        assert!(lines[4].trim() == "10", "the last token heads the ring: {text}");
        assert!(lines[5].starts_with("127.0.0.1") && lines[5].ends_with("-5"), "{text}");
        assert!(
            lines[6].starts_with("127.0.0.2") && lines[6].contains("Down") && lines[6].ends_with(" 0"),
            "{text}"
        );
        assert!(lines[7].ends_with("10"), "{text}");
    }

    #[test]
    fn describecluster_groups_nodes_by_schema_version_and_counts_states() {
        let v = Uuid::from_u128(7);
        let d = ClusterDescription {
            name: "Test Cluster".into(),
            partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".into(),
            nodes: vec![
                ("127.0.0.2".parse().unwrap(), "UN".into(), "dc1".into(), Some(v)),
                ("127.0.0.1".parse().unwrap(), "UN".into(), "dc1".into(), Some(v)),
                ("127.0.0.3".parse().unwrap(), "DN".into(), "dc1".into(), Some(v)),
            ],
            keyspaces: vec![(
                "aviation".into(),
                BTreeMap::from([
                    ("class".into(), "org.apache.cassandra.locator.SimpleStrategy".into()),
                    ("replication_factor".into(), "3".into()),
                ]),
            )],
        };
        let text = render_describecluster(&d);
        assert!(text.contains(&format!("\t\t{v}: [127.0.0.1, 127.0.0.2]\n")), "{text}");
        assert!(text.contains("\t\tUNREACHABLE: [127.0.0.3]\n"), "{text}");
        assert!(text.contains("\tLive: 2\n") && text.contains("\tUnreachable: 1\n"), "{text}");
        assert!(text.contains("\tdc1 #Nodes: 3 #Down: 1\n"), "{text}");
        assert!(
            text.contains("\taviation -> Replication class: SimpleStrategy {replication_factor=3}\n"),
            "{text}"
        );
    }

    #[test]
    fn tablestats_sums_each_keyspace_and_lists_its_tables() {
        let rows = vec![
            vec!["ks".into(), "b".into(), "100".into()],
            vec!["ks".into(), "a".into(), "20".into()],
        ];
        let text = render_tablestats(&rows);
        assert!(text.starts_with("Total number of tables: 2\n"), "{text}");
        assert!(text.contains("Keyspace : ks\n\tSpace used (live): 120\n\t\tTable: a\n"), "{text}");
    }

    #[test]
    fn tpstats_has_nodetools_columns() {
        let text = render_tpstats(&[vec!["ReadStage".into(), "0".into(), "0".into(), "42".into(), "0".into()]]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("Pool Name") && lines[0].ends_with("All time blocked"),
            "{text}"
        );
        assert!(lines[1].starts_with("ReadStage") && lines[1].contains(" 42 "), "{text}");
    }
}
