//! The fuzz targets in the normal test suite: every committed seed still
//! decodes (the corpus matches today's encoders), and a short seeded run of each
//! target finds no panic and no oversized allocation. The long runs are
//! `cargo run --profile fuzz -p fuzz` (see the README).

use fuzz::corpus;
use fuzz::driver::{self, Settings};
use fuzz::targets;

/// Inputs per target: enough to catch a decoder that panics on easy input,
/// small enough for a debug build.
const SMOKE_INPUTS: u64 = 20_000;

#[test]
fn every_committed_seed_decodes_with_todays_decoders() {
    for target in targets::all() {
        let seeds = corpus::load(&corpus::default_dir(), &target).unwrap();
        assert!(!seeds.is_empty(), "{} has no corpus", target.name);
        assert_eq!(
            seeds,
            (target.seeds)(),
            "{}: the committed corpus differs from the encoders' seeds; run `cargo run -p fuzz -- --write-corpus`",
            target.name
        );
        for (i, seed) in seeds.iter().enumerate() {
            assert_eq!(driver::check(&target, seed), Ok(true), "{} seed {i} does not decode", target.name);
        }
    }
}

#[test]
fn a_short_run_of_every_target_finds_nothing() {
    let crashes = std::env::temp_dir().join(format!("rustica-fuzz-smoke-{}", std::process::id()));
    let settings = Settings {
        inputs: SMOKE_INPUTS,
        seed: 1,
        crashes: &crashes,
    };
    let mut findings = Vec::new();
    for target in targets::all() {
        let seeds = corpus::load(&corpus::default_dir(), &target).unwrap();
        let report = driver::run(&target, &seeds, &settings, |f| {
            findings.push(format!("{} input {}: {}", f.target, f.input, f.problem))
        });
        assert_eq!(report.inputs, SMOKE_INPUTS);
        assert!(report.decoded > 0, "{}: no mutated input decoded", target.name);
    }
    let _ = std::fs::remove_dir_all(&crashes);
    assert!(findings.is_empty(), "findings:\n{}", findings.join("\n"));
}
