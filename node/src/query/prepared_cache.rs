//! The prepared statement cache: statements by id, within a budget of bytes
//! (`prepared_statements_cache_size_mb`, each statement weighed when it is
//! prepared). Past it, preparing a new statement evicts the least recently
//! used ones, as Cassandra's cache does; a client that then executes an
//! evicted id gets UNPREPARED and prepares it again (every driver does). A
//! lookup takes only a read lock: recency is an atomic stamp on the entry.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

struct Entry<V> {
    value: Arc<V>,
    used: AtomicU64,
    bytes: usize,
}

struct Entries<K, V> {
    by_key: HashMap<K, Entry<V>>,
    bytes: usize,
}

pub struct PreparedCache<K, V> {
    entries: RwLock<Entries<K, V>>,
    budget: usize,
    clock: AtomicU64,
}

impl<K: Eq + Hash + Clone, V> PreparedCache<K, V> {
    /// A cache of at most `budget` bytes of statements (one always fits).
    pub fn new(budget: usize) -> PreparedCache<K, V> {
        PreparedCache {
            entries: RwLock::new(Entries {
                by_key: HashMap::new(),
                bytes: 0,
            }),
            budget,
            clock: AtomicU64::new(0),
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// The statement under `key`, marked as just used.
    pub fn get<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
    {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.by_key.get(key)?;
        entry.used.store(self.tick(), Ordering::Relaxed);
        Some(entry.value.clone())
    }

    /// Keeps `value`, weighing `bytes`, under `key`; while the cache would be
    /// over its budget, the least recently used other entries go first.
    pub fn insert(&self, key: K, value: Arc<V>, bytes: usize) {
        let used = AtomicU64::new(self.tick());
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = entries.by_key.remove(&key) {
            entries.bytes -= old.bytes;
        }
        while entries.bytes + bytes > self.budget {
            let oldest = entries
                .by_key
                .iter()
                .min_by_key(|(_, e)| e.used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            let Some(gone) = oldest.and_then(|k| entries.by_key.remove(&k)) else {
                break;
            };
            entries.bytes -= gone.bytes;
        }
        entries.bytes += bytes;
        entries.by_key.insert(key, Entry { value, used, bytes });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_its_budget_the_least_recently_used_statements_go() {
        let cache = PreparedCache::new(300);
        for k in 1..=3 {
            cache.insert(k, Arc::new(k * 10), 100);
        }
        assert_eq!(cache.get(&1).as_deref(), Some(&10), "1 is now the most recently used");
        cache.insert(4, Arc::new(40), 100);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&2).is_none(), "2 was the least recently used");
        assert!(cache.get(&1).is_some() && cache.get(&3).is_some() && cache.get(&4).is_some());
        // Preparing a statement again replaces it in place: nothing else goes.
        cache.insert(4, Arc::new(41), 100);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&4).as_deref(), Some(&41));
        assert!(cache.get(&1).is_some() && cache.get(&3).is_some());
        // A heavy statement makes room for itself by weight.
        cache.insert(5, Arc::new(50), 250);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&5).is_some());
        // One statement over the whole budget is still kept, alone.
        cache.insert(6, Arc::new(60), 1_000);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&6).is_some());
    }
}
