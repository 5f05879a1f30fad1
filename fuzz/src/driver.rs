//! The fuzz loop for one target: picks an input from the pool (the corpus, plus
//! mutated inputs that decoded, up to [`MAX_POOL`]), mutates it, and runs the
//! decoder under `catch_unwind` with the allocation counter reset. A panic, or
//! a single allocation over [`allocation_budget`], is a finding: the input is
//! saved and reported with the target, seed and input number, which replay it.

use std::cell::{Cell, RefCell};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::alloc;
use crate::mutate::mutate;
use crate::rng::{name_seed, Rng};
use crate::target::Target;

/// Mutated inputs that decoded are kept for further mutation, up to this many.
pub const MAX_POOL: usize = 4096;

/// Findings saved per target and run; later ones are only counted.
const MAX_SAVED: usize = 20;

/// The most memory a decoder may hold at once for an input of `len` bytes:
/// what serde's cautious preallocation (1 MiB per collection), an honest
/// decompression ratio and a parsed statement's tree need, with room to spare.
/// A decoder that sizes a buffer from an unchecked length field goes far past it.
pub fn allocation_budget(len: usize) -> usize {
    (4 << 20) + 256 * len
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Panic { message: String },
    Allocation { bytes: usize, budget: usize },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Panic { message } => write!(f, "panic: {message}"),
            Problem::Allocation { bytes, budget } => {
                write!(f, "{bytes} bytes allocated at once, over the {budget}-byte budget for this input")
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub target: &'static str,
    pub seed: u64,
    /// Which input of the run (0-based): the same seed replays it.
    pub input: u64,
    pub problem: Problem,
    /// Where the input was saved (None past the first few findings).
    pub saved: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub inputs: u64,
    pub decoded: u64,
    pub elapsed: Duration,
    pub pool: usize,
    pub panics: u64,
    pub allocations: u64,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub struct Settings<'a> {
    pub inputs: u64,
    pub seed: u64,
    /// Where findings are saved.
    pub crashes: &'a Path,
}

thread_local! {
    /// Set while a decoder runs under `check`: its panics are findings, kept
    /// for the report instead of printed.
    static IN_CHECK: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records the panics of decoders under
/// `check` and hands every other panic to the hook that was there before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_CHECK.with(Cell::get) {
                return previous(info);
            }
            let place = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{place}")));
        }));
    });
}

/// Runs the decoder once on `input`: `Ok(decoded)` or the problem.
pub fn check(target: &Target, input: &[u8]) -> Result<bool, Problem> {
    install_panic_hook();
    IN_CHECK.with(|c| c.set(true));
    alloc::reset();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.decode)(input)));
    let peak = alloc::peak();
    IN_CHECK.with(|c| c.set(false));
    match outcome {
        Err(_) => Err(Problem::Panic {
            message: LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "(no message)".into()),
        }),
        Ok(_) if peak > allocation_budget(input.len()) => Err(Problem::Allocation {
            bytes: peak,
            budget: allocation_budget(input.len()),
        }),
        Ok(decoded) => Ok(decoded),
    }
}

/// Fuzzes `target` from `corpus` for `settings.inputs` inputs; `on_finding` sees
/// each finding as it happens.
pub fn run(target: &Target, corpus: &[Vec<u8>], settings: &Settings<'_>, mut on_finding: impl FnMut(&Finding)) -> Report {
    let mut rng = Rng::new(settings.seed ^ name_seed(target.name));
    let mut pool: Vec<Vec<u8>> = corpus.to_vec();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let mut report = Report {
        target: target.name,
        inputs: 0,
        decoded: 0,
        elapsed: Duration::ZERO,
        pool: 0,
        panics: 0,
        allocations: 0,
    };
    let started = Instant::now();
    for n in 0..settings.inputs {
        let base = &pool[rng.below(pool.len())];
        let other = &pool[rng.below(pool.len())];
        let input = mutate(&mut rng, base, other, target.dictionary);
        report.inputs += 1;
        match check(target, &input) {
            Ok(true) => {
                report.decoded += 1;
                if pool.len() < MAX_POOL && !input.is_empty() {
                    pool.push(input);
                }
            }
            Ok(false) => {}
            Err(problem) => {
                match problem {
                    Problem::Panic { .. } => report.panics += 1,
                    Problem::Allocation { .. } => report.allocations += 1,
                }
                let saved = if report.panics + report.allocations <= MAX_SAVED as u64 {
                    save(settings.crashes, target.name, settings.seed, n, &input)
                } else {
                    None
                };
                on_finding(&Finding {
                    target: target.name,
                    seed: settings.seed,
                    input: n,
                    problem,
                    saved,
                });
            }
        }
    }
    report.elapsed = started.elapsed();
    report.pool = pool.len();
    report
}

fn save(dir: &Path, target: &str, seed: u64, input: u64, bytes: &[u8]) -> Option<PathBuf> {
    let path = dir.join(format!("{target}-seed{seed}-input{input}.bin"));
    fs::create_dir_all(dir).and_then(|()| fs::write(&path, bytes)).ok().map(|()| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(decode: crate::target::Decode) -> Target {
        Target {
            name: "test",
            about: "",
            seeds: Vec::new,
            decode,
            dictionary: &[],
        }
    }

    #[test]
    fn a_panicking_decoder_is_a_finding_with_its_message() {
        let t = target(|input| input.first() == Some(&1) && panic!("byte one"));
        assert_eq!(check(&t, &[0]), Ok(false));
        let Err(Problem::Panic { message }) = check(&t, &[1]) else {
            panic!("no panic found");
        };
        assert!(message.starts_with("byte one at "), "{message}");
    }

    #[test]
    fn an_allocation_sized_by_the_input_is_a_finding() {
        let t = target(|input| {
            let len = input.first().map_or(0, |b| usize::from(*b) << 22);
            std::hint::black_box(Vec::<u8>::with_capacity(len)).capacity() > 0
        });
        assert_eq!(check(&t, &[0]), Ok(false));
        assert_eq!(check(&t, &[1]), Ok(true), "4 MiB is within the budget");
        let Err(Problem::Allocation { bytes, budget }) = check(&t, &[255]) else {
            panic!("no allocation found");
        };
        assert_eq!(budget, allocation_budget(1));
        assert!(bytes >= 255 << 22, "{bytes} bytes");
    }

    #[test]
    fn a_run_finds_the_same_inputs_from_the_same_seed() {
        let t = target(|input| input.len() > 3 && input.get(1) == Some(&0xff) && panic!("found"));
        let dir = std::env::temp_dir().join(format!("rustica-fuzz-driver-{}", std::process::id()));
        let run = |seed| {
            let mut found = Vec::new();
            let settings = Settings {
                inputs: 20_000,
                seed,
                crashes: &dir,
            };
            let report = run(&t, &[vec![0; 8]], &settings, |f| found.push((f.input, f.saved.clone())));
            (report.panics, found)
        };
        let (panics, found) = run(3);
        assert!(panics > 0, "the mutator reaches a 0xff in byte 1");
        assert_eq!((panics, found.clone()), run(3));
        let (_, Some(path)) = &found[0] else {
            panic!("the first finding is saved");
        };
        let saved = fs::read(path).unwrap();
        assert_eq!(check(&t, &saved).map_err(|_| ()), Err(()), "the saved input replays the panic");
        let _ = fs::remove_dir_all(&dir);
    }
}
