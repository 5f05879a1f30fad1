//! `rustica status`, like `nodetool status`: asks one node what it knows of the
//! cluster (`system.cluster_status`, kept by gossip, and every node's tokens from
//! `system.local` and `system.peers`) and prints one line per node, grouped by data
//! centre, with the share of the ring each node holds. The ownership arithmetic and
//! the table layout are pure functions; this module does not decide anything about
//! membership, it only reports what the node it talks to believes.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::host_filter::AllowListHostFilter;
use uuid::Uuid;

use node::ring::Ring;

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Node to ask; the report is what this node believes about the cluster.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// CQL native protocol port.
    #[arg(long, default_value_t = 9042)]
    pub port: u16,
    /// Show ownership at this keyspace's replication factor ("Owns (effective)").
    #[arg(long)]
    pub keyspace: Option<String>,
    /// Credentials and TLS.
    #[command(flatten)]
    pub client: crate::client::ClientOptions,
}

/// One line of the report: a row of `system.cluster_status`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLine {
    pub address: IpAddr,
    /// `UN`, `DN`, `UJ`, ...
    pub state: String,
    pub load: i64,
    /// How many tokens the node owns.
    pub tokens: i32,
    pub host_id: Option<Uuid>,
    pub data_center: String,
    pub rack: String,
}

/// How a keyspace places its replicas, as far as ownership is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Replication {
    /// `rf` distinct nodes clockwise over the whole ring.
    Simple(usize),
    /// `rf` distinct nodes clockwise within each data centre.
    NetworkTopology(BTreeMap<String, usize>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReplicationError {
    #[error("replication of keyspace {keyspace} has no class")]
    MissingClass { keyspace: String },
    #[error("keyspace {keyspace} uses {class}, whose ownership rustica status cannot compute")]
    UnsupportedClass { keyspace: String, class: String },
    #[error("keyspace {keyspace} has an invalid replication factor {option} = '{value}'")]
    InvalidFactor { keyspace: String, option: String, value: String },
}

/// Reads a keyspace's `replication` map (`system_schema.keyspaces`).
pub fn parse_replication(keyspace: &str, options: &HashMap<String, String>) -> Result<Replication, ReplicationError> {
    let class = options.get("class").ok_or_else(|| ReplicationError::MissingClass {
        keyspace: keyspace.to_string(),
    })?;
    // Cassandra 4 writes a transient factor as "3/1"; only the full count matters here.
    let factor = |option: &str, value: &str| {
        value
            .split('/')
            .next()
            .and_then(|n| n.trim().parse::<usize>().ok())
            .ok_or_else(|| ReplicationError::InvalidFactor {
                keyspace: keyspace.to_string(),
                option: option.to_string(),
                value: value.to_string(),
            })
    };
    let short = class.rsplit('.').next().unwrap_or(class);
    match short {
        "SimpleStrategy" => {
            let value = options.get("replication_factor").map(String::as_str).unwrap_or("1");
            Ok(Replication::Simple(factor("replication_factor", value)?))
        }
        "NetworkTopologyStrategy" => {
            let mut per_dc = BTreeMap::new();
            for (dc, value) in options.iter().filter(|(k, _)| k.as_str() != "class") {
                per_dc.insert(dc.clone(), factor(dc, value)?);
            }
            Ok(Replication::NetworkTopology(per_dc))
        }
        _ => Err(ReplicationError::UnsupportedClass {
            keyspace: keyspace.to_string(),
            class: class.clone(),
        }),
    }
}

/// Each node's share of the ring (0.0..=1.0) under `replication`. Under
/// NetworkTopologyStrategy each data centre is a ring of its own, so shares add up to
/// the data centre's factor within it. Nodes whose tokens are unknown are left out.
pub fn ownership(nodes: &[NodeLine], tokens: &HashMap<IpAddr, Vec<i64>>, replication: &Replication) -> HashMap<IpAddr, f64> {
    let ring_of = |dc: Option<&str>| {
        Ring::new(
            nodes
                .iter()
                .filter(|n| dc.is_none_or(|dc| n.data_center == dc))
                .filter_map(|n| tokens.get(&n.address).filter(|t| !t.is_empty()).map(|t| (n.address, t.clone()))),
        )
    };
    match replication {
        Replication::Simple(rf) => ring_of(None).effective_ownership(*rf).into_iter().collect(),
        Replication::NetworkTopology(per_dc) => {
            let mut owns = HashMap::new();
            let dcs: std::collections::BTreeSet<&str> = nodes.iter().map(|n| n.data_center.as_str()).collect();
            for dc in dcs {
                let rf = per_dc.get(dc).copied().unwrap_or(0);
                let ring = ring_of(Some(dc));
                if rf == 0 {
                    owns.extend(ring.effective_ownership(1).into_keys().map(|a| (a, 0.0)));
                } else {
                    owns.extend(ring.effective_ownership(rf));
                }
            }
            owns
        }
    }
}

/// Tokens as `system.local` and `system.peers` store them: decimal text.
pub fn parse_tokens(texts: &[String]) -> Vec<i64> {
    texts.iter().filter_map(|t| t.trim().parse().ok()).collect()
}

/// A size as nodetool prints it: `0 bytes`, `70.59 KiB`, `1.20 GiB`.
pub fn format_load(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.2} {unit}")
}

/// The whole report: one block per data centre (sorted by name), nodes sorted by
/// address. `effective` chooses the ownership header: "Owns (effective)" when a
/// keyspace's replication was applied, "Owns" for primary ranges only.
pub fn render(nodes: &[NodeLine], owns: &HashMap<IpAddr, f64>, effective: bool) -> String {
    let owns_header = if effective { "Owns (effective)" } else { "Owns" };
    let mut by_dc: BTreeMap<&str, Vec<&NodeLine>> = BTreeMap::new();
    for n in nodes {
        by_dc.entry(n.data_center.as_str()).or_default().push(n);
    }
    let mut out = String::new();
    for (i, (dc, mut lines)) in by_dc.into_iter().enumerate() {
        lines.sort_by_key(|n| n.address);
        if i > 0 {
            out.push('\n');
        }
        let title = format!("Datacenter: {dc}");
        out.push_str(&format!("{title}\n{}\n", "=".repeat(title.chars().count())));
        out.push_str("Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n");
        let header = ["--", "Address", "Load", "Tokens", owns_header, "Host ID", "Rack"];
        let rows: Vec<[String; 7]> = lines
            .iter()
            .map(|n| {
                [
                    n.state.clone(),
                    n.address.to_string(),
                    format_load(n.load),
                    n.tokens.to_string(),
                    owns.get(&n.address)
                        .map_or_else(|| "?".to_string(), |o| format!("{:.1}%", o * 100.0)),
                    n.host_id.map_or_else(|| "?".to_string(), |h| h.to_string()),
                    n.rack.clone(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header: [String; 7] = header.map(String::from);
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (col, (cell, w)) in row.iter().zip(widths).enumerate() {
                if col + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  "));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// A driver session that talks to `host` only: the report must be that node's view,
/// so the driver may learn of the peers but opens no connection to them.
pub async fn connect(host: &str, port: u16) -> anyhow::Result<Session> {
    connect_with(host, port, &crate::client::ClientOptions::default()).await
}

/// As `connect`, with credentials and TLS.
pub async fn connect_with(host: &str, port: u16, client: &crate::client::ClientOptions) -> anyhow::Result<Session> {
    let contact = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let filter = AllowListHostFilter::new([contact.as_str()]).with_context(|| format!("cannot resolve {contact}"))?;
    let builder = SessionBuilder::new()
        .known_node(&contact)
        .host_filter(Arc::new(filter))
        .fetch_schema_metadata(false)
        .connection_timeout(Duration::from_secs(5));
    let session = client
        .apply(builder, None)?
        .build()
        .await
        .with_context(|| format!("cannot connect to {contact}; is a rustica node running there?"))?;
    Ok(session)
}

type ClusterStatusRow = (
    IpAddr,
    Option<String>,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<i64>,
);

/// Every row of the node's `system.cluster_status`.
pub async fn cluster_status(session: &Session) -> anyhow::Result<Vec<NodeLine>> {
    let result = session
        .query_unpaged(
            "SELECT peer, state, host_id, data_center, rack, tokens, load FROM system.cluster_status",
            (),
        )
        .await
        .context("cannot read system.cluster_status")?
        .into_rows_result()?;
    let mut lines = Vec::with_capacity(result.rows_num());
    for row in result.rows::<ClusterStatusRow>()? {
        let (address, state, host_id, data_center, rack, tokens, load) = row?;
        lines.push(NodeLine {
            address,
            state: state.unwrap_or_else(|| "?".into()),
            load: load.unwrap_or(0),
            tokens: tokens.unwrap_or(0),
            host_id,
            data_center: data_center.unwrap_or_else(|| "?".into()),
            rack: rack.unwrap_or_else(|| "?".into()),
        });
    }
    Ok(lines)
}

/// Every node's tokens as the node knows them: its own from `system.local`, the
/// others' from `system.peers`.
pub async fn ring_tokens(session: &Session) -> anyhow::Result<HashMap<IpAddr, Vec<i64>>> {
    let mut tokens = HashMap::new();
    let local = session
        .query_unpaged(
            "SELECT broadcast_address, listen_address, rpc_address, tokens FROM system.local",
            (),
        )
        .await
        .context("cannot read system.local")?
        .into_rows_result()?;
    type LocalRow = (Option<IpAddr>, Option<IpAddr>, Option<IpAddr>, Option<Vec<String>>);
    for row in local.rows::<LocalRow>()? {
        let (broadcast, listen, rpc, ts) = row?;
        if let Some(address) = broadcast.or(listen).or(rpc) {
            tokens.insert(address, parse_tokens(&ts.unwrap_or_default()));
        }
    }
    let peers = session
        .query_unpaged("SELECT peer, tokens FROM system.peers", ())
        .await
        .context("cannot read system.peers")?
        .into_rows_result()?;
    for row in peers.rows::<(IpAddr, Option<Vec<String>>)>()? {
        let (address, ts) = row?;
        tokens.insert(address, parse_tokens(&ts.unwrap_or_default()));
    }
    Ok(tokens)
}

/// The keyspace's replication, from `system_schema.keyspaces`.
pub async fn keyspace_replication(session: &Session, keyspace: &str) -> anyhow::Result<Replication> {
    let result = session
        .query_unpaged(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?",
            (keyspace,),
        )
        .await
        .context("cannot read system_schema.keyspaces")?
        .into_rows_result()?;
    let row = result
        .maybe_first_row::<(Option<HashMap<String, String>>,)>()?
        .ok_or_else(|| anyhow::anyhow!("keyspace {keyspace} does not exist"))?;
    Ok(parse_replication(keyspace, &row.0.unwrap_or_default())?)
}

/// The status report of the node behind `session`, ready to print.
pub async fn report(session: &Session, keyspace: Option<&str>) -> anyhow::Result<String> {
    let nodes = cluster_status(session).await?;
    let tokens = ring_tokens(session).await?;
    let replication = match keyspace {
        Some(ks) => keyspace_replication(session, ks).await?,
        None => Replication::Simple(1),
    };
    let owns = ownership(&nodes, &tokens, &replication);
    Ok(render(&nodes, &owns, keyspace.is_some()))
}

/// `rustica status`: the report on stdout, or one line on stderr and exit status 1.
pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let result = async {
        let session = connect_with(&args.host, args.port, &args.client).await?;
        report(&session, args.keyspace.as_deref()).await
    }
    .await;
    match result {
        Ok(text) => {
            print!("{text}");
            Ok(())
        }
        Err(e) => {
            eprintln!("rustica status: {}", error_line(&e));
            std::process::exit(1);
        }
    }
}

/// An error and its root cause on one line, without the driver's layers between.
pub fn error_line(e: &anyhow::Error) -> String {
    let root = e.root_cause().to_string();
    let top = e.to_string();
    if root == top {
        top
    } else {
        format!("{top} ({root})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(address: &str, state: &str, dc: &str) -> NodeLine {
        NodeLine {
            address: address.parse().unwrap(),
            state: state.into(),
            load: 0,
            tokens: 2,
            host_id: Some(Uuid::from_u128(0x6a1b_0000_0000_4000_8000_0000_0000_0001)),
            data_center: dc.into(),
            rack: "rack1".into(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn options(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn load_is_printed_in_binary_units_like_nodetool() {
        assert_eq!(format_load(0), "0 bytes");
        assert_eq!(format_load(1023), "1023 bytes");
        assert_eq!(format_load(1024), "1.00 KiB");
        assert_eq!(format_load(72_284), "70.59 KiB");
        assert_eq!(format_load(3 * 1024 * 1024 * 1024 / 2), "1.50 GiB");
    }

    #[test]
    fn replication_is_read_from_the_schema_map() {
        let simple = options(&[
            ("class", "org.apache.cassandra.locator.SimpleStrategy"),
            ("replication_factor", "3"),
        ]);
        assert_eq!(parse_replication("ks", &simple), Ok(Replication::Simple(3)));
        let nts = options(&[("class", "NetworkTopologyStrategy"), ("dc1", "3"), ("dc2", "2/1")]);
        assert_eq!(
            parse_replication("ks", &nts),
            Ok(Replication::NetworkTopology(BTreeMap::from([("dc1".into(), 3), ("dc2".into(), 2)])))
        );
        let bad = options(&[("class", "SimpleStrategy"), ("replication_factor", "three")]);
        assert_eq!(
            parse_replication("ks", &bad),
            Err(ReplicationError::InvalidFactor {
                keyspace: "ks".into(),
                option: "replication_factor".into(),
                value: "three".into()
            })
        );
        let local = options(&[("class", "LocalStrategy")]);
        assert!(parse_replication("system", &local).is_err_and(|e| e.to_string().contains("LocalStrategy")));
    }

    #[test]
    fn effective_ownership_at_rf_three_on_three_nodes_is_everything_for_everyone() {
        let nodes = [
            line("127.0.0.1", "UN", "dc1"),
            line("127.0.0.2", "UN", "dc1"),
            line("127.0.0.3", "DN", "dc1"),
        ];
        let tokens = HashMap::from([
            (ip("127.0.0.1"), vec![-100, 5_000]),
            (ip("127.0.0.2"), vec![0, i64::MAX / 2]),
            (ip("127.0.0.3"), vec![i64::MIN / 2]),
        ]);
        let owns = ownership(&nodes, &tokens, &Replication::Simple(3));
        for n in &nodes {
            assert!((owns[&n.address] - 1.0).abs() < 1e-9, "{} owns {}", n.address, owns[&n.address]);
        }
        let primary = ownership(&nodes, &tokens, &Replication::Simple(1));
        let total: f64 = primary.values().sum();
        assert!((total - 1.0).abs() < 1e-9, "primary shares add up to the ring, got {total}");
    }

    #[test]
    fn network_topology_ownership_is_counted_within_each_data_centre() {
        let nodes = [
            line("10.0.0.1", "UN", "dc1"),
            line("10.0.0.2", "UN", "dc1"),
            line("10.0.1.1", "UN", "dc2"),
            line("10.0.1.2", "UN", "dc2"),
        ];
        let tokens = HashMap::from([
            (ip("10.0.0.1"), vec![0]),
            (ip("10.0.0.2"), vec![i64::MIN]),
            (ip("10.0.1.1"), vec![1]),
            (ip("10.0.1.2"), vec![i64::MIN + 1]),
        ]);
        let replication = Replication::NetworkTopology(BTreeMap::from([("dc1".into(), 1)]));
        let owns = ownership(&nodes, &tokens, &replication);
        assert!((owns[&ip("10.0.0.1")] - 0.5).abs() < 1e-9, "{owns:?}");
        assert!((owns[&ip("10.0.0.2")] - 0.5).abs() < 1e-9, "{owns:?}");
        assert_eq!(owns[&ip("10.0.1.1")], 0.0, "dc2 keeps no copy");
    }

    #[test]
    fn a_node_without_known_tokens_shows_a_question_mark() {
        let nodes = [line("127.0.0.1", "UN", "dc1"), line("127.0.0.2", "UJ", "dc1")];
        let tokens = HashMap::from([(ip("127.0.0.1"), vec![42])]);
        let owns = ownership(&nodes, &tokens, &Replication::Simple(1));
        assert_eq!(owns.len(), 1);
        let text = render(&nodes, &owns, false);
        let joining = text.lines().find(|l| l.starts_with("UJ")).expect("a line for the joining node");
        assert!(joining.contains(" ? "), "{joining}");
    }

    #[test]
    fn the_report_is_laid_out_like_nodetool_status() {
        let mut a = line("127.0.0.2", "DN", "datacenter1");
        a.load = 72_284;
        a.tokens = 16;
        let b = line("127.0.0.1", "UN", "datacenter1");
        let owns = HashMap::from([(ip("127.0.0.1"), 0.382), (ip("127.0.0.2"), 0.618)]);
        let text = render(&[a, b], &owns, true);
        let expected = "\
Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load       Tokens  Owns (effective)  Host ID                               Rack
UN  127.0.0.1  0 bytes    2       38.2%             6a1b0000-0000-4000-8000-000000000001  rack1
DN  127.0.0.2  70.59 KiB  16      61.8%             6a1b0000-0000-4000-8000-000000000001  rack1
";
        assert_eq!(text, expected);
    }

    #[test]
    fn each_data_centre_gets_its_own_block_and_the_header_says_owns_without_a_keyspace() {
        let nodes = [line("10.0.1.1", "UN", "east"), line("10.0.0.1", "UN", "west")];
        let text = render(&nodes, &HashMap::new(), false);
        let titles: Vec<&str> = text.lines().filter(|l| l.starts_with("Datacenter:")).collect();
        assert_eq!(titles, vec!["Datacenter: east", "Datacenter: west"]);
        assert!(text.contains("  Owns  "), "{text}");
        assert!(!text.contains("effective"), "{text}");
    }
}
