//! `fuzz`: runs the fuzz targets and prints, per target, inputs, inputs per
//! second, how many decoded, and the panics and oversized allocations found.
//!
//! ```text
//! fuzz [--target T]... [--inputs N] [--seed S] [--corpus DIR] [--crashes DIR]
//! fuzz --list | --write-corpus | --target T --replay FILE
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use fuzz::driver::{self, Settings};
use fuzz::target::Target;
use fuzz::{corpus, targets};

struct Args {
    targets: Vec<Target>,
    inputs: u64,
    seed: u64,
    corpus: PathBuf,
    crashes: PathBuf,
    list: bool,
    write_corpus: bool,
    replay: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        targets: Vec::new(),
        inputs: 1_000_000,
        seed: 1,
        corpus: corpus::default_dir(),
        crashes: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes"),
        list: false,
        write_corpus: false,
        replay: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{arg} needs a value"));
        match arg.as_str() {
            "--target" => {
                for name in value()?.split(',') {
                    args.targets
                        .push(targets::named(name).ok_or_else(|| anyhow!("no target {name:?} (see --list)"))?);
                }
            }
            "--inputs" => args.inputs = value()?.replace('_', "").parse().context("--inputs")?,
            "--seed" => args.seed = value()?.parse().context("--seed")?,
            "--corpus" => args.corpus = value()?.into(),
            "--crashes" => args.crashes = value()?.into(),
            "--replay" => args.replay = Some(value()?.into()),
            "--list" => args.list = true,
            "--write-corpus" => args.write_corpus = true,
            "-h" | "--help" => {
                println!("fuzz [--target T[,T]...] [--inputs N] [--seed S] [--corpus DIR] [--crashes DIR]");
                println!("fuzz --list | --write-corpus [--target T] | --target T --replay FILE");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if args.targets.is_empty() {
        args.targets = targets::all();
    }
    Ok(args)
}

fn main() -> Result<ExitCode> {
    let args = parse_args()?;
    if args.list {
        for t in &args.targets {
            println!("{:<20} {}", t.name, t.about);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.write_corpus {
        for t in &args.targets {
            let n = corpus::write(&args.corpus, t)?;
            println!("{:<20} {n} seeds", t.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.replay {
        let [target] = args.targets.as_slice() else {
            bail!("--replay needs exactly one --target");
        };
        let input = std::fs::read(path).with_context(|| path.display().to_string())?;
        // Outside `check` first: a panic prints with its location, as a test would.
        let decoded = (target.decode)(&input);
        println!("{}: {} bytes, decoded: {decoded}", target.name, input.len());
        return match driver::check(target, &input) {
            Ok(_) => Ok(ExitCode::SUCCESS),
            Err(problem) => {
                println!("{problem}");
                Ok(ExitCode::FAILURE)
            }
        };
    }
    let settings = Settings {
        inputs: args.inputs,
        seed: args.seed,
        crashes: &args.crashes,
    };
    println!(
        "{:<20} {:>12} {:>10} {:>8} {:>6} {:>7} {:>7}",
        "target", "inputs", "inputs/s", "decoded", "pool", "panics", "allocs"
    );
    let (mut inputs, mut findings, mut seconds) = (0u64, 0u64, 0f64);
    for target in &args.targets {
        let seeds = corpus::load(&args.corpus, target)?;
        let report = driver::run(target, &seeds, &settings, |f| {
            let saved = f
                .saved
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(not saved)".into());
            println!(
                "FINDING target={} seed={} input={} saved={saved}\n  {}",
                f.target, f.seed, f.input, f.problem
            );
        });
        println!(
            "{:<20} {:>12} {:>10.0} {:>7.1}% {:>6} {:>7} {:>7}",
            report.target,
            report.inputs,
            report.per_second(),
            100.0 * report.decoded as f64 / report.inputs.max(1) as f64,
            report.pool,
            report.panics,
            report.allocations
        );
        inputs += report.inputs;
        findings += report.panics + report.allocations;
        seconds += report.elapsed.as_secs_f64();
    }
    println!(
        "total: {} targets, {inputs} inputs in {seconds:.1} s, {findings} findings (seed {})",
        args.targets.len(),
        args.seed
    );
    Ok(if findings == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
