//! `rustica bench-storage`: writes and point reads straight to a storage engine
//! (no network, no CQL), printing ops/s and latency percentiles, so the engine
//! can be measured apart from the server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use uuid::Uuid;

use node::storage::durable::{CommitLogSync, DurableEngine, DurableOptions};
use node::storage::memory::MemoryEngine;
use node::storage::{Cell, ColumnData, Mutation, PartitionPosition, PartitionSelection, ReadCommand, Row, StorageEngine, Visit};
use node::token::murmur3_token;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EngineKind {
    Memory,
    Periodic,
    Batch,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which engine (and, for the durable one, which commit log sync mode).
    #[arg(long, value_enum, default_value = "periodic")]
    engine: EngineKind,
    /// Operations per phase.
    #[arg(long, default_value_t = 200_000)]
    ops: u64,
    /// Writer and reader threads.
    #[arg(long, default_value_t = 2)]
    threads: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 64)]
    value_size: usize,
    /// Directory for the durable engine (a temporary one when absent).
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn mutation(table: Uuid, key: u64, value: &[u8], ts: i64) -> Mutation {
    let key_bytes = (key as i64).to_be_bytes().to_vec();
    let position = PartitionPosition {
        token: murmur3_token(&key_bytes),
        key: key_bytes,
    };
    let mut row = Row {
        marker: Some(Cell::live(ts, Vec::new(), 0, 0)),
        ..Row::default()
    };
    row.columns
        .insert("value".into(), ColumnData::Simple(Cell::live(ts, value.to_vec(), 0, 0)));
    let mut m = Mutation::new(table, position);
    m.rows.push((Vec::new(), row));
    m
}

fn read(engine: &dyn StorageEngine, table: Uuid, key: u64) -> bool {
    let key_bytes = (key as i64).to_be_bytes().to_vec();
    let position = PartitionPosition {
        token: murmur3_token(&key_bytes),
        key: key_bytes,
    };
    let command = ReadCommand {
        table,
        partitions: PartitionSelection::Keys(vec![position]),
        slices: Vec::new(),
        reversed: false,
        resume: None,
        index: None,
    };
    let mut found = false;
    let _ = engine.read(&command, 0, &mut |_, row| {
        found = row.is_some();
        Visit::Stop
    });
    found
}

/// p50/p95/p99/max of latencies in microseconds, as milliseconds.
fn percentiles(mut micros: Vec<u32>) -> String {
    micros.sort_unstable();
    let at = |q: f64| micros.get(((micros.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0) as f64 / 1000.0;
    format!(
        "p50 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3} ms",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

fn phase(name: &str, args: &BenchArgs, work: impl Fn(u64) -> bool + Send + Sync + 'static) {
    let work = Arc::new(work);
    let start = Instant::now();
    let per_thread = args.ops / args.threads.max(1);
    let handles: Vec<_> = (0..args.threads.max(1))
        .map(|t| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::with_capacity(per_thread as usize);
                let mut misses = 0u64;
                for i in 0..per_thread {
                    let s = Instant::now();
                    if !work(t * per_thread + i) {
                        misses += 1;
                    }
                    lat.push(s.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                }
                (lat, misses)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut misses = 0;
    for h in handles {
        if let Ok((lat, m)) = h.join() {
            all.extend(lat);
            misses += m;
        }
    }
    let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
    println!(
        "{name}: {} ops in {secs:.2} s, {:.0} ops/s, {misses} misses",
        all.len(),
        all.len() as f64 / secs
    );
    println!("  latency {}", percentiles(all));
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let temp = tempfile_dir(&args)?;
    let engine: Arc<dyn StorageEngine> = match args.engine {
        EngineKind::Memory => Arc::new(MemoryEngine::new()),
        EngineKind::Periodic | EngineKind::Batch => {
            let sync = match args.engine {
                EngineKind::Batch => CommitLogSync::Batch,
                _ => CommitLogSync::Periodic {
                    period: Duration::from_secs(10),
                },
            };
            Arc::new(DurableEngine::open(
                &temp,
                DurableOptions {
                    sync,
                    ..DurableOptions::default()
                },
            )?)
        }
    };
    let table = Uuid::new_v4();
    engine.create_table(table)?;
    println!(
        "bench-storage: engine {:?}, {} ops per phase, {} threads, {}-byte values, dir {}",
        args.engine,
        args.ops,
        args.threads,
        args.value_size,
        temp.display()
    );
    let value = vec![0xAB; args.value_size];
    let writer = engine.clone();
    phase("write", &args, move |k| writer.apply(mutation(table, k, &value, 1)).is_ok());
    let reader = engine.clone();
    phase("point read", &args, move |k| read(reader.as_ref(), table, k));
    drop(engine);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    Ok(())
}

fn tempfile_dir(args: &BenchArgs) -> anyhow::Result<PathBuf> {
    Ok(match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("rustica-bench-{}", Uuid::new_v4())),
    })
}
