//! The `flight-sim` binary: command-line parsing, connecting to the cluster, and the
//! commands (`setup`, `schedule`, `run`, `console`, `schema`). The logic lives in the
//! library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use aviation::connection::{self, ConnectError};
use aviation::statements::Scheduled;
use simulator::airports::Airports;
use simulator::console;
use simulator::runner::{Settings, Simulator, Summary};
use simulator::schedule::{self, format_time, FlightRequest};
use simulator::schema;
use simulator::status::Status;
use simulator::store::Store;

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
        /// Airports CSV to load instead of the built-in aviation/data/airports.csv.
        #[arg(long)]
        airports: Option<PathBuf>,
    },
    /// Schedule one flight with the documented statements (docs/flight-data.md), as
    /// the map does; a dispatcher (`run` or `console`) flies it at its departure.
    Schedule {
        /// Flight number, like AR1132.
        number: String,
        /// Origin airport (IATA code).
        from: String,
        /// Destination airport (IATA code).
        to: String,
        /// `now`, `+30m`, `HH:MM` (UTC, today) or `YYYY-MM-DDTHH:MM` (UTC).
        departure: String,
        /// Cruise speed in km/h (default: the aircraft's).
        #[arg(long)]
        speed: Option<String>,
        /// Airline code (default: the number's first two characters).
        #[arg(long)]
        airline: Option<String>,
        /// ICAO aircraft type, like A320 (default: the smallest that flies this far).
        #[arg(long)]
        aircraft: Option<String>,
    },
    /// Dispatch: claim the flights on the cluster's schedule (and those given here)
    /// and fly each at its departure time, printing a live summary line. With
    /// flights given here and no --refill it exits once they are all over.
    Run(RunArgs),
    /// Interactive console beside a dispatcher: schedule flights, list every flight,
    /// change statuses, pause, quit.
    Console(FlyArgs),
    /// Print the CQL of the keyspace and tables (aviation/schema.cql is its output
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
    /// How much faster than the wall clock a flight moves once airborne (departures
    /// stay at their real scheduled time).
    #[arg(long, default_value_t = 60.0, value_parser = time_scale)]
    time_scale: f64,
    /// Wall-clock time between two position updates of a flight.
    #[arg(long, default_value = "1s", value_parser = tick)]
    tick: Duration,
    /// Airports CSV instead of the built-in aviation/data/airports.csv.
    #[arg(long)]
    airports: Option<PathBuf>,
    /// How long a claim on a flight holds unless renewed; a simulator that dies
    /// leaves its flights to another after this.
    #[arg(long, default_value = "15s", value_parser = lease)]
    lease: Duration,
}

fn lease(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(3600) {
        return Err(format!("lease {text} must be between 1s and 1h"));
    }
    Ok(d)
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    fly: FlyArgs,
    /// Number of random flights to schedule at start.
    #[arg(long, default_value_t = 0)]
    random: usize,
    /// Random flights depart within this time from when they are scheduled; a
    /// quarter of them (at least one) within the first 10 s.
    #[arg(long, default_value = "2m", value_parser = duration)]
    spread: Duration,
    /// Schedule a new random flight whenever one of this run's lands or is
    /// cancelled, so that --random flights keep flying (runs until --duration).
    #[arg(long, requires = "random")]
    refill: bool,
    /// A flight to schedule at start: "NUMBER FROM TO DEPARTURE SPEED [AIRLINE] [AIRCRAFT]",
    /// e.g. "AR1132 EZE MAD +10m 850". Repeatable.
    #[arg(long = "flight")]
    flights: Vec<String>,
    /// Wall-clock limit of the run (default: none; Ctrl-C stops it).
    #[arg(long, value_parser = duration)]
    duration: Option<Duration>,
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
            if e.downcast_ref::<ConnectError>()
                .is_some_and(|e| matches!(e, ConnectError::Unreachable { .. }))
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
    let security = connection::Security {
        credentials: cli.username.clone().map(|u| (u, cli.password.clone().unwrap_or_default())),
        ca_file: cli.ca_file.clone(),
    };
    let points = connection::contact_points(&cli.hosts, cli.port);
    let session = runtime.block_on(connection::connect(&points, cli.connect_timeout, &security))?;
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
        Command::Schedule {
            number,
            from,
            to,
            departure,
            speed,
            airline,
            aircraft,
        } => {
            let request = FlightRequest {
                number,
                origin: from,
                destination: to,
                departure,
                cruise_speed_kmh: speed.unwrap_or_default(),
                airline,
                aircraft,
            };
            let fly = FlyArgs {
                max_flights: 1,
                time_scale: 1.0,
                tick: Duration::from_secs(1),
                airports: None,
                lease: Duration::from_secs(15),
            };
            let sim = simulator(&runtime, session, &fly)?;
            let (plan, outcome) = sim.schedule(&request)?;
            let verb = match outcome {
                Scheduled::Created => "scheduled",
                _ => "already scheduled (the same flight)",
            };
            println!(
                "{verb} {} {}-{} {}, departs {}, arrives {}",
                plan.flight_id,
                plan.origin.iata,
                plan.destination.iata,
                plan.aircraft.code,
                format_time(plan.scheduled_departure),
                format_time(plan.scheduled_arrival)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Console(fly) => {
            let sim = simulator(&runtime, session, &fly)?;
            sim.start().context("cannot start the dispatcher")?;
            println!(
                "simulator {}: dispatching the schedule; flights move {}x faster than the wall clock, tick {:?}, up to {} at once",
                sim.id(),
                fly.time_scale,
                fly.tick,
                fly.max_flights,
            );
            console::run(&sim, std::io::stdin().lock(), std::io::stdout())?;
            let s = sim.summary();
            println!(
                "stopping: the claims of {} unfinished flights are released for another simulator",
                s.unfinished()
            );
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
    let mut settings = Settings::new(fly.max_flights as usize, fly.tick, fly.time_scale);
    settings.lease = fly.lease;
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
        schedule::plan(&request, sim.airports(), aviation::statements::wall_now()).with_context(|| format!("--flight \"{text}\""))?;
        requests.push(request);
    }
    let mut mine = Vec::new();
    for request in &requests {
        let (plan, _) = sim.schedule(request)?;
        println!("scheduled {}", plan.flight_id);
        mine.push(plan.flight_id);
    }
    mine.extend(sim.schedule_random(args.random, args.spread)?.into_iter().map(|p| p.flight_id));
    sim.start().context("cannot start the dispatcher")?;
    println!(
        "simulator {}: {} flights scheduled by this run; dispatching the schedule; flights move {}x faster than the wall clock, \
         tick {:?}, up to {} at once{}",
        sim.id(),
        mine.len(),
        args.fly.time_scale,
        args.fly.tick,
        args.fly.max_flights,
        args.duration.map(|d| format!(", for at most {d:?}")).unwrap_or_default(),
    );
    let started = Instant::now();
    let live = std::io::stdout().is_terminal();
    let mut last = (Instant::now(), 0u64);
    let finished_all = loop {
        std::thread::sleep(Duration::from_millis(500));
        let s = sim.summary();
        if last.0.elapsed() >= Duration::from_secs(1) {
            let rate = (s.position_updates - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-3);
            last = (Instant::now(), s.position_updates);
            let line = summary_line(&s, rate, started.elapsed());
            if live {
                print!("\r{line:<120}");
                let _ = std::io::stdout().flush();
            } else {
                println!("{line}");
            }
            if !mine.is_empty() {
                let open = unfinished(runtime, &sim, &mine);
                if args.refill {
                    let gone = mine.len() - open.len();
                    mine = open;
                    if gone > 0 {
                        match sim.schedule_random(gone, args.spread) {
                            Ok(plans) => mine.extend(plans.into_iter().map(|p| p.flight_id)),
                            Err(e) => eprintln!("cannot schedule more random flights: {e}"),
                        }
                    }
                } else if open.is_empty() && sim.still_flying(&mine).is_empty() {
                    // Over in the database and here too: a flight another client
                    // cancelled is ended by its own job (which deletes its position)
                    // rather than stopped under it by the shutdown.
                    break true;
                }
            }
        }
        if args.duration.is_some_and(|d| started.elapsed() >= d) {
            break false;
        }
    };
    if live {
        println!();
    }
    if !finished_all {
        println!("duration over; stopping the flights still flying (their claims are released)");
    }
    sim.shutdown();
    let s = sim.summary();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "done: {} landed, {} cancelled, {} stopped, {} claimed; {} position updates in {secs:.1}s ({:.1}/s); {} errors",
        s.landed,
        s.cancelled,
        s.stopped,
        s.claims,
        s.position_updates,
        s.position_updates as f64 / secs.max(1e-3),
        s.errors
    );
    Ok(ExitCode::SUCCESS)
}

/// The flights of `ids` not yet landed or cancelled in the database (an id that
/// cannot be read counts as not over).
fn unfinished(runtime: &tokio::runtime::Runtime, sim: &Simulator, ids: &[String]) -> Vec<String> {
    let store = sim.store().shared();
    runtime.block_on(async {
        let mut open = Vec::new();
        for id in ids {
            let finished = matches!(
                store.flight(id).await,
                Ok(Some(f)) if Status::parse(&f.status).is_some_and(Status::is_final)
            );
            if !finished {
                open.push(id.clone());
            }
        }
        open
    })
}

fn summary_line(s: &Summary, rate: f64, elapsed: Duration) -> String {
    format!(
        "{:>5}s  {}  claimed {}  airborne {}  ground {}  queued {}  landed {}  cancelled {}  {:.0} updates/s  errors {}",
        elapsed.as_secs(),
        format_time(aviation::statements::wall_now()),
        s.claims,
        s.airborne,
        s.on_ground,
        s.queued,
        s.landed,
        s.cancelled,
        rate,
        s.errors
    )
}
