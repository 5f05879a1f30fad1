//! The `flight-map` binary: command-line flags, logging, and starting the eframe
//! window (glow renderer) with the app. Everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use gui::app::{FlightMapApp, TileChoice};
use gui::worker::WorkerConfig;

#[derive(Parser)]
#[command(
    name = "flight-map",
    version,
    about = "A desktop map of airports, flights and live planes, read from the cluster over CQL"
)]
struct Cli {
    /// Contact point(s): repeat the flag or separate with commas; `host` or `host:port`.
    #[arg(long = "host", value_delimiter = ',', default_value = "127.0.0.1")]
    hosts: Vec<String>,
    /// CQL native protocol port of contact points given without one.
    #[arg(long, default_value_t = 9042)]
    port: u16,
    /// A local tile directory laid out as {z}/{x}/{y}.png, used instead of OpenStreetMap.
    #[arg(long, value_name = "DIR", conflicts_with = "no_tiles")]
    offline_tiles: Option<PathBuf>,
    /// Never fetch tiles: draw the offline background only.
    #[arg(long)]
    no_tiles: bool,
    /// Role to log in as, when the cluster wants a password.
    #[arg(short = 'u', long = "username")]
    username: Option<String>,
    /// Its password.
    #[arg(short = 'p', long = "password", requires = "username")]
    password: Option<String>,
    /// Talk TLS, trusting this certificate authority (PEM, e.g. certs/ca.crt).
    #[arg(long = "ca-file", value_name = "FILE")]
    ca_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,scylla=warn".into()))
        .init();
    // walkers leaves the TLS crypto provider to the application.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let points = aviation::connection::contact_points(&cli.hosts, cli.port);
    if points.is_empty() {
        eprintln!("flight-map: --host needs at least one contact point");
        return ExitCode::FAILURE;
    }
    let tiles = match (cli.no_tiles, cli.offline_tiles) {
        (true, _) => TileChoice::None,
        (false, Some(dir)) if dir.is_dir() => TileChoice::Local(dir),
        (false, Some(dir)) => {
            eprintln!("flight-map: --offline-tiles {} is not a directory", dir.display());
            return ExitCode::FAILURE;
        }
        (false, None) => TileChoice::Online,
    };
    let mut config = WorkerConfig::new(points);
    config.security = gui::store::Security {
        credentials: cli.username.clone().map(|u| (u, cli.password.clone().unwrap_or_default())),
        ca_file: cli.ca_file.clone(),
    };
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_inner_size([1280.0, 800.0])
            .with_title("flight-map"),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let result = eframe::run_native(
        "flight-map",
        options,
        Box::new(move |cc| Ok(Box::new(FlightMapApp::new(&cc.egui_ctx, config, tiles)))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flight-map: cannot open the window: {e}");
            ExitCode::FAILURE
        }
    }
}
