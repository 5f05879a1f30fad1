//! Metric handles resolved once per label set: a hot path looks its handle up
//! in a small map under a read lock, instead of formatting its labels and
//! asking the Prometheus vector for them on every request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};

pub struct Handles<K, V> {
    map: RwLock<HashMap<K, V>>,
}

impl<K: Hash + Eq + Copy, V: Clone> Handles<K, V> {
    pub fn new() -> Self {
        Handles {
            map: RwLock::new(HashMap::new()),
        }
    }

    /// The handle of `key`, made by `make` the first time it is asked for.
    pub fn get(&self, key: K, make: impl FnOnce(K) -> V) -> V {
        if let Some(handle) = self.map.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return handle.clone();
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(key).or_insert_with(|| make(key)).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_made_once_per_key() {
        let handles = Handles::new();
        let mut made = 0;
        for key in [1, 2, 1, 1, 2] {
            let value = handles.get(key, |k| {
                made += 1;
                k * 10
            });
            assert_eq!(value, key * 10);
        }
        assert_eq!(made, 2);
    }
}
