//! The unrepaired marks this process has lately put in storage, so that a
//! partition written again and again within one epoch (a plane's position,
//! a counter) is marked by its first write only, not by every write. Writing
//! a mark that is already there changes nothing, so this is a cache: missing
//! an entry only costs a mark written twice.
//!
//! Skipping a mark is sound only while the mark is still in storage. Marks
//! leave storage only through `DurableEngine::clear_marks`, which calls
//! `forget` first: the generation moves on, and a write that looked up the
//! cache under the old generation writes the marks it skipped after all
//! (`DurableEngine::write`). A mark key holds its epoch, so a write of a
//! later epoch never finds an earlier epoch's entry.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

/// The most mark keys held; past it the cache starts again empty (a workload
/// of ever new partitions gains nothing from it anyway).
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Default)]
pub struct WrittenMarks {
    inner: Mutex<Written>,
}

#[derive(Debug, Default)]
struct Written {
    /// Moves on each time marks leave storage.
    generation: u64,
    keys: HashSet<Vec<u8>>,
}

impl WrittenMarks {
    /// The generation to pass to `record` and to compare after a write.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Whether the mark `key` is in storage (as far as this cache knows).
    pub fn contains(&self, key: &[u8]) -> bool {
        self.lock().keys.contains(key)
    }

    /// Marks a write put in storage; dropped when marks were removed since
    /// `generation`, which the write read before it looked anything up.
    pub fn record(&self, generation: u64, keys: Vec<Vec<u8>>) {
        if keys.is_empty() {
            return;
        }
        let mut written = self.lock();
        if written.generation != generation {
            return;
        }
        if written.keys.len() + keys.len() > MAX_KEYS {
            written.keys.clear();
        }
        written.keys.extend(keys);
    }

    /// Called before marks are removed from storage: nothing cached holds.
    pub fn forget(&self) {
        let mut written = self.lock();
        written.generation = written.generation.wrapping_add(1);
        written.keys.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Written> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_mark_is_known_until_marks_are_forgotten() {
        let cache = WrittenMarks::default();
        let generation = cache.generation();
        assert!(!cache.contains(b"m1"));
        cache.record(generation, vec![b"m1".to_vec()]);
        assert!(cache.contains(b"m1"));
        cache.forget();
        assert!(!cache.contains(b"m1"));
    }

    #[test]
    fn a_write_that_started_before_marks_were_removed_records_nothing() {
        let cache = WrittenMarks::default();
        let generation = cache.generation();
        cache.forget();
        cache.record(generation, vec![b"m1".to_vec()]);
        assert!(!cache.contains(b"m1"));
        assert_ne!(cache.generation(), generation);
    }

    #[test]
    fn the_cache_starts_again_when_full() {
        let cache = WrittenMarks::default();
        let generation = cache.generation();
        cache.record(generation, (0..MAX_KEYS as u32).map(|i| i.to_be_bytes().to_vec()).collect());
        assert!(cache.contains(&0u32.to_be_bytes()));
        cache.record(generation, vec![b"next".to_vec()]);
        assert!(cache.contains(b"next"));
        assert!(!cache.contains(&0u32.to_be_bytes()));
    }
}
