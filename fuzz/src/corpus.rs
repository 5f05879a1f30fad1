//! The committed seed corpus: `fuzz/corpus/<target>/<n>.bin`, one valid encoding
//! per file, written from the encoders by `fuzz --write-corpus` and read back by
//! every run.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::target::Target;

/// Where the committed corpus lives.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The target's corpus, in file name order.
pub fn load(dir: &Path, target: &Target) -> io::Result<Vec<Vec<u8>>> {
    let dir = dir.join(target.name);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e} (write it with `fuzz --write-corpus`)", dir.display())))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    paths.sort();
    paths.iter().map(fs::read).collect()
}

/// Replaces the target's corpus with its seeds; returns how many were written.
pub fn write(dir: &Path, target: &Target) -> io::Result<usize> {
    let dir = dir.join(target.name);
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    let seeds = (target.seeds)();
    for (i, seed) in seeds.iter().enumerate() {
        fs::write(dir.join(format!("{i:03}.bin")), seed)?;
    }
    Ok(seeds.len())
}
