//! The prepared statement cache: statements by id, at most `capacity` of them.
//! Past it, preparing a new statement evicts the least recently used one, as
//! Cassandra's cache does; a client that then executes the evicted id gets
//! UNPREPARED and prepares it again (every driver does). A lookup takes only a
//! read lock: recency is an atomic stamp on the entry.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Statements kept by default: far more than any application prepares, few
/// enough that a client preparing endless distinct texts cannot grow the node.
pub const DEFAULT_CAPACITY: usize = 10_000;

struct Entry<V> {
    value: Arc<V>,
    used: AtomicU64,
}

pub struct PreparedCache<K, V> {
    entries: RwLock<HashMap<K, Entry<V>>>,
    capacity: usize,
    clock: AtomicU64,
}

impl<K: Eq + Hash + Clone, V> PreparedCache<K, V> {
    pub fn new(capacity: usize) -> PreparedCache<K, V> {
        PreparedCache {
            entries: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
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
        let entry = entries.get(key)?;
        entry.used.store(self.tick(), Ordering::Relaxed);
        Some(entry.value.clone())
    }

    /// Keeps `value` under `key`; when the cache is full, the least recently
    /// used other entry goes first.
    pub fn insert(&self, key: K, value: Arc<V>) {
        let used = AtomicU64::new(self.tick());
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if !entries.contains_key(&key) && entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, Entry { value, used });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_its_capacity_the_least_recently_used_statement_goes() {
        let cache = PreparedCache::new(3);
        for k in 1..=3 {
            cache.insert(k, Arc::new(k * 10));
        }
        assert_eq!(cache.get(&1).as_deref(), Some(&10), "1 is now the most recently used");
        cache.insert(4, Arc::new(40));
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&2).is_none(), "2 was the least recently used");
        assert!(cache.get(&1).is_some() && cache.get(&3).is_some() && cache.get(&4).is_some());
        // Preparing a statement again replaces it in place: nothing else goes.
        cache.insert(4, Arc::new(41));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&4).as_deref(), Some(&41));
        assert!(cache.get(&1).is_some() && cache.get(&3).is_some());
    }
}
