//! Per-partition serialisation on a replica: a fixed set of mutexes, a
//! partition mapped to one by its table and key. Paxos state changes and a
//! counter leader's read-add-write of its shard hold one, briefly and never
//! across an await; two partitions may share a stripe, which only costs a wait.

use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use uuid::Uuid;

use crate::storage::PartitionPosition;

const STRIPES: usize = 256;

#[derive(Debug)]
pub struct PartitionLocks {
    stripes: [Mutex<()>; STRIPES],
}

impl Default for PartitionLocks {
    fn default() -> Self {
        PartitionLocks {
            stripes: std::array::from_fn(|_| Mutex::new(())),
        }
    }
}

impl PartitionLocks {
    /// Holds the partition's stripe until the guard is dropped.
    pub fn lock(&self, table: Uuid, position: &PartitionPosition) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (table, &position.key).hash(&mut h);
        let i = (h.finish() as usize) % STRIPES;
        // A poisoned stripe guards no data of its own: take it anyway.
        self.stripes[i].lock().unwrap_or_else(|e| e.into_inner())
    }
}
