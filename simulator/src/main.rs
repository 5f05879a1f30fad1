//! The `flight-sim` binary: command-line parsing, connecting to the cluster, and the
//! three commands (`setup`, `run`, `console`). The logic lives in the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use simulator::airports::Airports;
use simulator::console;
use simulator::runner::{Settings, Simulator, Summary};
use simulator::schedule::{self, format_time};
use simulator::schema;
use simulator::store::{self, Store, StoreError};

#[derive(Parser)]
#[command(
    name = "flight-sim",
    version,
    about = "Flies planes between real airports and writes them to the cluster over CQL"
)]
struct Cli {
    /// Contact point(s): repeat the flag or separate with commas; `host` or `host:port`.
    #[arg(long = "host", global = true, value_delimiter = ',', default_value = "127.0.0.1")]
    hosts: Vec<String>,
    /// CQL native protocol port of the contact points.
    #[arg(long, global = true, default_value_t = 9042)]
    port: u16,
    /// How long to wait for the cluster at start.
    #[arg(long, global = true, default_value = "10s", value_parser = duration)]
    connect_timeout: Duration,
    /// Role to log in as, when the cluster wants a password.
    #[arg(short = 'u', long = "username", global = true)]
    username: Option<String>,
    /// Its password.
    #[arg(short = 'p', long = "password", global = true, requires = "username")]
    password: Option<String>,
    /// Talk TLS, trusting this certificate authority (PEM, e.g. certs/ca.crt).
    #[arg(long = "ca-file", value_name = "FILE", global = true)]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the `aviation` keyspace and tables (idempotent) and load the airports.
    Setup {
        /// Airports CSV to load instead of the built-in simulator/data/airports.csv.
        #[arg(long)]
        airports: Option<PathBuf>,
    },
    /// Fly flights without a prompt, printing a live summary line; exits when every
    /// flight is over or the duration ends.
    Run(RunArgs),
    /// Interactive console: add flights, list them, change statuses, pause, quit.
    Console(FlyArgs),
    /// Print the CQL of the keyspace and tables (simulator/schema.cql is its output
    /// for RF 3); needs no cluster.
    Schema {
        #[arg(long, default_value_t = schema::DESIGN_REPLICATION_FACTOR)]
        replication_factor: usize,
    },
}

#[derive(Args)]
struct FlyArgs {
    /// Flights flying at once (pool workers); more wait in the queue.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    max_flights: u32,
    /// Simulated seconds per wall-clock second.
    #[arg(long, default_value_t = 60.0, value_parser = time_scale)]
    time_scale: f64,
    /// Wall-clock time between two position updates of a flight.
    #[arg(long, default_value = "1s", value_parser = tick)]
    tick: Duration,
    /// Airports CSV instead of the built-in simulator/data/airports.csv.
    #[arg(long)]
    airports: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    fly: FlyArgs,
    /// Number of random flights to add at start.
    #[arg(long, default_value_t = 0)]
    random: usize,
    /// A flight to add at start: "NUMBER FROM TO DEPARTURE SPEED [AIRLINE] [AIRCRAFT]",
    /// e.g. "AR1132 EZE MAD +10m 850". Repeatable.
    #[arg(long = "flight")]
    flights: Vec<String>,
    /// Wall-clock limit of the run.
    #[arg(long, default_value = "10m", value_parser = duration)]
    duration: Duration,
}

fn duration(text: &str) -> Result<Duration, String> {
    schedule::parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration (like 500ms, 30s, 10m, 1h)"))
}

fn tick(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d < Duration::from_millis(10) || d > Duration::from_secs(3600) {
        return Err(format!("tick {text} must be between 10ms and 1h"));
    }
    Ok(d)
}

fn time_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1_000_000.0 => Ok(x),
        _ => Err(format!("time scale `{text}` must be a number above 0 and at most 1000000")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("flight-sim: {e:#}");
            if e.downcast_ref::<StoreError>()
                .is_some_and(|e| matches!(e, StoreError::Unreachable { .. }))
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Schema { replication_factor } = cli.command {
        print!("{}", schema::schema_cql(replication_factor));
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("flight-sim-io")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let security = store::Security {
        credentials: cli.username.clone().map(|u| (u, cli.password.clone().unwrap_or_default())),
        ca_file: cli.ca_file.clone(),
    };
    let session = runtime.block_on(store::connect(&cli.hosts, cli.port, cli.connect_timeout, &security))?;
    match cli.command {
        Command::Setup { airports } => {
            let airports = load_airports(airports.as_ref())?;
            let (rf, nodes) = runtime.block_on(schema::create(&session)).context("creating the aviation schema")?;
            println!(
                "keyspace {}: replication factor {rf} = min(3, {nodes} node{} the driver sees){}",
                schema::KEYSPACE,
                if nodes == 1 { "" } else { "s" },
                if rf < schema::DESIGN_REPLICATION_FACTOR {
                    "; the design's RF 3 needs a cluster of 3 or more nodes"
                } else {
                    ""
                }
            );
            println!("(an existing keyspace keeps the replication it was created with)");
            let store = runtime.block_on(Store::prepare(session))?;
            let n = runtime.block_on(store.load_airports(&airports))?;
            println!("loaded {n} airports into {}.airports", schema::KEYSPACE);
            Ok(ExitCode::SUCCESS)
        }
        Command::Console(fly) => {
            let sim = simulator(&runtime, session, &fly)?;
            println!(
                "time scale {}x, tick {:?}, up to {} flights at once; simulated time {}",
                fly.time_scale,
                fly.tick,
                fly.max_flights,
                format_time(sim.clock().now())
            );
            console::run(&sim, std::io::stdin().lock(), std::io::stdout())?;
            let s = sim.summary();
            println!("stopping: {} flights still unfinished keep their last rows", s.unfinished());
            sim.shutdown();
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run_batch(&runtime, session, args),
        Command::Schema { .. } => Ok(ExitCode::SUCCESS),
    }
}

fn load_airports(path: Option<&PathBuf>) -> anyhow::Result<Airports> {
    Ok(match path {
        Some(p) => Airports::from_file(p)?,
        None => Airports::builtin()?,
    })
}

fn simulator(runtime: &tokio::runtime::Runtime, session: scylla::client::session::Session, fly: &FlyArgs) -> anyhow::Result<Simulator> {
    let airports = load_airports(fly.airports.as_ref())?;
    let store = runtime.block_on(Store::prepare(session))?;
    let settings = Settings {
        max_flights: fly.max_flights as usize,
        tick: fly.tick,
        time_scale: fly.time_scale,
    };
    Ok(Simulator::new(runtime.handle().clone(), Arc::new(store), airports, &settings))
}

fn run_batch(runtime: &tokio::runtime::Runtime, session: scylla::client::session::Session, args: RunArgs) -> anyhow::Result<ExitCode> {
    let sim = simulator(runtime, session, &args.fly)?;
    // Check every flight given on the command line before writing any of them.
    let mut requests = Vec::new();
    for text in &args.flights {
        let console::Command::Add(request) = console::parse(&format!("add {text}")).with_context(|| format!("--flight \"{text}\""))? else {
            anyhow::bail!("--flight \"{text}\" is not a flight");
        };
        schedule::plan(&request, sim.airports(), sim.clock().now()).with_context(|| format!("--flight \"{text}\""))?;
        requests.push(request);
    }
    if requests.is_empty() && args.random == 0 {
        anyhow::bail!("nothing to fly: give --random N and/or --flight \"...\"");
    }
    for request in &requests {
        let entry = sim.add(request)?;
        println!("added {}", entry.plan.flight_id);
    }
    sim.add_random(args.random)?;
    println!(
        "flying {} flights, time scale {}x, tick {:?}, up to {} at once, for at most {:?}; simulated time {}",
        requests.len() + args.random,
        args.fly.time_scale,
        args.fly.tick,
        args.fly.max_flights,
        args.duration,
        format_time(sim.clock().now())
    );
    let started = Instant::now();
    let live = std::io::stdout().is_terminal();
    let mut last = (Instant::now(), 0u64);
    let finished_all = loop {
        std::thread::sleep(Duration::from_millis(500));
        let s = sim.summary();
        let rate = (s.position_updates - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-3);
        if last.0.elapsed() >= Duration::from_secs(1) {
            last = (Instant::now(), s.position_updates);
            let line = summary_line(&sim, &s, rate, started.elapsed());
            if live {
                print!("\r{line:<120}");
                let _ = std::io::stdout().flush();
            } else {
                println!("{line}");
            }
        }
        if s.unfinished() == 0 {
            break true;
        }
        if started.elapsed() >= args.duration {
            break false;
        }
    };
    if live {
        println!();
    }
    if !finished_all {
        println!("duration {:?} over; stopping the flights still flying", args.duration);
    }
    sim.shutdown();
    let s = sim.summary();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "done: {} landed, {} cancelled, {} stopped; {} position updates in {secs:.1}s ({:.1}/s); {} errors",
        s.landed,
        s.cancelled,
        s.stopped,
        s.position_updates,
        s.position_updates as f64 / secs.max(1e-3),
        s.errors
    );
    Ok(ExitCode::SUCCESS)
}

fn summary_line(sim: &Simulator, s: &Summary, rate: f64, elapsed: Duration) -> String {
    format!(
        "{:>5}s  sim {}  airborne {}  ground {}  queued {}  landed {}  cancelled {}  {:.0} updates/s  errors {}",
        elapsed.as_secs(),
        format_time(sim.clock().now()),
        s.airborne,
        s.on_ground,
        s.queued,
        s.landed,
        s.cancelled,
        rate,
        s.errors
    )
}
