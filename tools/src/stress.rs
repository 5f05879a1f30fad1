//! `rustica stress`: a small load generator on the scylla Rust driver, in the
//! spirit of cassandra-stress.
//!
//! It creates `<keyspace>.kv (key bigint PRIMARY KEY, value blob)` if absent, runs
//! prepared inserts and/or prepared point reads with a fixed number of requests in
//! flight, and reports throughput and latency percentiles per phase. Which key an
//! operation touches, its value, and the percentile arithmetic are pure functions
//! of the operation number, so a run is reproducible and testable; failures are
//! counted and reported, never panics.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use futures::stream::{self, StreamExt};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;

use crate::shell::error::{connect_error_text, execution_error_text};

/// Bytes in every value written, unless `--value-size` says otherwise.
const VALUE_SIZE: usize = 64;
/// Salts that make read-key choice and the mixed read/write split independent.
const READ_KEY_SALT: u64 = 0x5eed_0001;
const MIXED_SPLIT_SALT: u64 = 0x5eed_0002;
/// How many distinct error messages a report lists.
const ERRORS_SHOWN: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Inserts only.
    Write,
    /// Point reads of keys 0..ops (written by an earlier run).
    Read,
    /// Half inserts, half reads, interleaved.
    Mixed,
}

#[derive(Debug, Args)]
pub struct StressArgs {
    /// Node to connect to; repeat the flag or separate with commas for several.
    #[arg(long = "host", default_value = "127.0.0.1", value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// CQL native protocol port.
    #[arg(long, default_value_t = 9042)]
    pub port: u16,
    /// Operations per phase.
    #[arg(long, default_value_t = 100_000)]
    pub ops: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// What to run; without it, a write phase then a read phase.
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Keyspace holding the stress table (created if absent).
    #[arg(long, default_value = "stress")]
    pub keyspace: String,
    /// Replication factor of the keyspace when it is created.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub replication_factor: u32,
    /// Consistency level of every request.
    #[arg(long, value_enum, default_value = "one")]
    pub consistency: Level,
    /// Bytes in every value written (and checked when read).
    #[arg(long, default_value_t = VALUE_SIZE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=(16 << 20)))]
    pub value_size: usize,
    /// Credentials and TLS.
    #[command(flatten)]
    pub client: crate::client::ClientOptions,
}

/// The consistency levels a stress run can use.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Level {
    One,
    Two,
    Quorum,
    All,
    LocalQuorum,
}

impl Level {
    fn driver(self) -> Consistency {
        match self {
            Level::One => Consistency::One,
            Level::Two => Consistency::Two,
            Level::Quorum => Consistency::Quorum,
            Level::All => Consistency::All,
            Level::LocalQuorum => Consistency::LocalQuorum,
        }
    }
}

pub async fn run(args: StressArgs) -> anyhow::Result<()> {
    if !is_plain_identifier(&args.keyspace) {
        bail!("keyspace name {:?} must be letters, digits and underscores", args.keyspace);
    }
    let nodes: Vec<String> = args.hosts.iter().map(|h| format!("{}:{}", h.trim(), args.port)).collect();
    let builder = args.client.apply(SessionBuilder::new().known_nodes(&nodes), None)?;
    let session = match builder.build().await {
        Ok(session) => session,
        Err(e) => {
            // Said plainly and once; main's error report would add a backtrace.
            eprintln!("{}", connect_error_text(&e, &nodes));
            std::process::exit(1);
        }
    };
    let ks = &args.keyspace;
    create_schema(&session, ks, args.replication_factor).await?;

    let mut insert = session
        .prepare(format!("INSERT INTO {ks}.kv (key, value) VALUES (?, ?)"))
        .await
        .map_err(|e| anyhow::anyhow!("preparing the insert: {e}"))?;
    insert.set_consistency(args.consistency.driver());
    let mut select = session
        .prepare(format!("SELECT value FROM {ks}.kv WHERE key = ?"))
        .await
        .map_err(|e| anyhow::anyhow!("preparing the read: {e}"))?;
    select.set_consistency(args.consistency.driver());
    let statements = Statements {
        insert,
        select,
        value_size: args.value_size,
    };

    let concurrency = args.concurrency as usize;
    println!(
        "stress: {} ops per phase, {} in flight, keyspace {ks}, nodes {}",
        args.ops,
        concurrency,
        nodes.join(", ")
    );
    let phases: &[Mode] = match args.mode {
        None => &[Mode::Write, Mode::Read],
        Some(Mode::Write) => &[Mode::Write],
        Some(Mode::Read) => &[Mode::Read],
        Some(Mode::Mixed) => &[Mode::Mixed],
    };
    for &mode in phases {
        for report in run_phase(&session, &statements, mode, args.ops, concurrency).await {
            print!("{}", report.render());
        }
    }
    Ok(())
}

async fn create_schema(session: &Session, keyspace: &str, replication_factor: u32) -> anyhow::Result<()> {
    let statements = [
        format!(
            "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
             {{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
        ),
        format!("CREATE TABLE IF NOT EXISTS {keyspace}.kv (key bigint PRIMARY KEY, value blob)"),
    ];
    for cql in statements {
        session
            .query_unpaged(cql.as_str(), ())
            .await
            .map_err(|e| anyhow::anyhow!("{}", execution_error_text(&e)))
            .with_context(|| format!("creating the stress schema: {cql}"))?;
    }
    Ok(())
}

struct Statements {
    insert: PreparedStatement,
    select: PreparedStatement,
    value_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Write,
    Read,
}

/// What one operation did.
enum Outcome {
    Done,
    /// A read found no row for its key.
    Missing,
    Failed(String),
}

/// Runs `ops` operations of `mode`; a mixed phase reports writes and reads apart.
async fn run_phase(session: &Session, statements: &Statements, mode: Mode, ops: u64, concurrency: usize) -> Vec<PhaseReport> {
    let started = Instant::now();
    let results: Vec<(OpKind, u32, Outcome)> = stream::iter(0..ops)
        .map(|op| {
            let kind = op_kind(mode, op);
            async move {
                let begun = Instant::now();
                let outcome = match kind {
                    OpKind::Write => write_op(session, statements, op).await,
                    OpKind::Read => read_op(session, statements, read_key(op, ops)).await,
                };
                (kind, micros(begun.elapsed()), outcome)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let kinds: &[(OpKind, &str)] = match mode {
        Mode::Write => &[(OpKind::Write, "write")],
        Mode::Read => &[(OpKind::Read, "read")],
        Mode::Mixed => &[(OpKind::Write, "mixed/write"), (OpKind::Read, "mixed/read")],
    };
    kinds
        .iter()
        .map(|&(kind, name)| {
            let mut report = PhaseReport::new(name, elapsed);
            for (_, latency, outcome) in results.iter().filter(|(k, _, _)| *k == kind) {
                report.record(*latency, outcome);
            }
            report
        })
        .collect()
}

async fn write_op(session: &Session, statements: &Statements, op: u64) -> Outcome {
    let key = op as i64;
    match session
        .execute_unpaged(&statements.insert, (key, value_for(key, statements.value_size)))
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Failed(execution_error_text(&e)),
    }
}

async fn read_op(session: &Session, statements: &Statements, key: i64) -> Outcome {
    let result = match session.execute_unpaged(&statements.select, (key,)).await {
        Ok(result) => result,
        Err(e) => return Outcome::Failed(execution_error_text(&e)),
    };
    let row = result
        .into_rows_result()
        .map_err(|e| e.to_string())
        .and_then(|rows| rows.maybe_first_row::<(Option<Vec<u8>>,)>().map_err(|e| e.to_string()));
    match row {
        Ok(None) => Outcome::Missing,
        Ok(Some((value,))) if value.as_deref() == Some(value_for(key, statements.value_size).as_slice()) => Outcome::Done,
        Ok(Some(_)) => Outcome::Failed(format!("key {key} read back a different value than was written")),
        Err(e) => Outcome::Failed(format!("bad read result: {e}")),
    }
}

/// Latency of one operation in microseconds, saturating at ~71 minutes.
fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// splitmix64: a fast, well-mixed hash, so key choice needs no shared RNG state.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The key the `op`-th read looks up: uniform over the `key_count` written keys
/// `0..key_count`.
fn read_key(op: u64, key_count: u64) -> i64 {
    if key_count == 0 {
        return 0;
    }
    (mix(op ^ READ_KEY_SALT) % key_count) as i64
}

/// Whether the `op`-th operation of a phase writes or reads. In a mixed phase,
/// operation `op` writes key `op`, or reads a key chosen as in a read phase.
fn op_kind(mode: Mode, op: u64) -> OpKind {
    match mode {
        Mode::Write => OpKind::Write,
        Mode::Read => OpKind::Read,
        Mode::Mixed if mix(op ^ MIXED_SPLIT_SALT).is_multiple_of(2) => OpKind::Write,
        Mode::Mixed => OpKind::Read,
    }
}

/// The value stored under `key`: deterministic, so reads can check what they get.
fn value_for(key: i64, size: usize) -> Vec<u8> {
    let mut value = Vec::with_capacity(size + 8);
    let mut state = key as u64;
    while value.len() < size {
        state = mix(state);
        value.extend_from_slice(&state.to_le_bytes());
    }
    value.truncate(size);
    value
}

fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// Nearest-rank percentile of sorted latencies; 0 when there are none.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LatencySummary {
    p50: u32,
    p95: u32,
    p99: u32,
    max: u32,
}

impl LatencySummary {
    fn of(mut micros: Vec<u32>) -> Self {
        micros.sort_unstable();
        LatencySummary {
            p50: percentile(&micros, 50.0),
            p95: percentile(&micros, 95.0),
            p99: percentile(&micros, 99.0),
            max: micros.last().copied().unwrap_or(0),
        }
    }
}

/// What one phase (or one operation kind of a mixed phase) measured.
#[derive(Debug)]
struct PhaseReport {
    name: String,
    elapsed: Duration,
    /// Latencies of every attempted operation, failed ones included.
    latencies: Vec<u32>,
    missing: u64,
    errors: BTreeMap<String, u64>,
}

impl PhaseReport {
    fn new(name: &str, elapsed: Duration) -> Self {
        PhaseReport {
            name: name.to_string(),
            elapsed,
            latencies: Vec::new(),
            missing: 0,
            errors: BTreeMap::new(),
        }
    }

    fn record(&mut self, latency: u32, outcome: &Outcome) {
        self.latencies.push(latency);
        match outcome {
            Outcome::Done => {}
            Outcome::Missing => self.missing += 1,
            Outcome::Failed(message) => *self.errors.entry(message.clone()).or_default() += 1,
        }
    }

    fn render(&self) -> String {
        let ops = self.latencies.len();
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 { ops as f64 / secs } else { 0.0 };
        let error_count: u64 = self.errors.values().sum();
        let lat = LatencySummary::of(self.latencies.clone());
        let ms = |us: u32| f64::from(us) / 1000.0;
        let mut out = format!("{}: {ops} ops in {secs:.2} s, {rate:.0} ops/s, {error_count} errors", self.name);
        if self.missing > 0 {
            out.push_str(&format!(", {} keys not found", self.missing));
        }
        out.push_str(&format!(
            "\n  latency ms: p50 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3}\n",
            ms(lat.p50),
            ms(lat.p95),
            ms(lat.p99),
            ms(lat.max)
        ));
        let mut by_count: Vec<(&String, &u64)> = self.errors.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for (message, count) in by_count.iter().take(ERRORS_SHOWN) {
            out.push_str(&format!("  {count} x {message}\n"));
        }
        if by_count.len() > ERRORS_SHOWN {
            out.push_str(&format!("  ... and {} other kinds of error\n", by_count.len() - ERRORS_SHOWN));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), 50);
        assert_eq!(percentile(&sorted, 95.0), 95);
        assert_eq!(percentile(&sorted, 99.0), 99);
        assert_eq!(percentile(&sorted, 100.0), 100);
        assert_eq!(percentile(&sorted, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn latency_summary_sorts_before_ranking() {
        let summary = LatencySummary::of(vec![900, 100, 500, 300, 700]);
        assert_eq!(
            summary,
            LatencySummary {
                p50: 500,
                p95: 900,
                p99: 900,
                max: 900
            }
        );
        assert_eq!(
            LatencySummary::of(Vec::new()),
            LatencySummary {
                p50: 0,
                p95: 0,
                p99: 0,
                max: 0
            }
        );
    }

    #[test]
    fn read_keys_stay_within_the_written_keys_and_spread_out() {
        let keys: HashSet<i64> = (0..10_000).map(|op| read_key(op, 1_000)).collect();
        assert!(keys.iter().all(|k| (0..1_000).contains(k)));
        assert!(keys.len() > 990, "only {} distinct keys", keys.len());
        assert_eq!(read_key(5, 0), 0);
    }

    #[test]
    fn read_keys_are_reproducible() {
        assert_eq!(read_key(42, 1_000_000), read_key(42, 1_000_000));
    }

    #[test]
    fn mixed_mode_splits_about_evenly() {
        let writes = (0..10_000).filter(|&op| op_kind(Mode::Mixed, op) == OpKind::Write).count();
        assert!((4_500..5_500).contains(&writes), "{writes} writes of 10000");
        assert_eq!(op_kind(Mode::Write, 3), OpKind::Write);
        assert_eq!(op_kind(Mode::Read, 3), OpKind::Read);
    }

    #[test]
    fn values_are_deterministic_and_differ_between_keys() {
        assert_eq!(value_for(7, VALUE_SIZE).len(), VALUE_SIZE);
        assert_eq!(value_for(7, 1000).len(), 1000);
        assert_eq!(value_for(7, VALUE_SIZE), value_for(7, VALUE_SIZE));
        assert_ne!(value_for(7, VALUE_SIZE), value_for(8, VALUE_SIZE));
    }

    #[test]
    fn keyspace_names_must_be_plain_identifiers() {
        assert!(is_plain_identifier("stress"));
        assert!(is_plain_identifier("ks_2"));
        assert!(!is_plain_identifier(""));
        assert!(!is_plain_identifier("2ks"));
        assert!(!is_plain_identifier("ks; DROP KEYSPACE x"));
    }

    #[test]
    fn report_shows_rate_percentiles_and_errors() {
        let mut report = PhaseReport::new("write", Duration::from_secs(2));
        for latency in [1_000, 2_000, 3_000, 4_000] {
            report.record(latency, &Outcome::Done);
        }
        report.record(10_000, &Outcome::Failed("WriteTimeout: late".into()));
        report.record(500, &Outcome::Missing);
        assert_eq!(
            report.render(),
            "write: 6 ops in 2.00 s, 3 ops/s, 1 errors, 1 keys not found\n\
             \x20 latency ms: p50 2.000  p95 10.000  p99 10.000  max 10.000\n\
             \x20 1 x WriteTimeout: late\n"
        );
    }

    #[test]
    fn micros_saturate() {
        assert_eq!(micros(Duration::from_millis(3)), 3_000);
        assert_eq!(micros(Duration::from_secs(10_000)), u32::MAX);
    }
}
