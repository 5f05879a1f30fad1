//! The coordinator's side of a counter write, as in Cassandra: each increment
//! goes to one live replica of its partition, the leader (this node when it is
//! one, else a replica in the local data centre), which adds the delta to its
//! own shard (`replica::counter`) and answers the shard it wrote; that goes to
//! the other replicas as an ordinary write, the leader counting as one
//! acknowledgement of the level. An increment that times out may or may not
//! have been applied (Cassandra documents the same); it is never applied twice
//! by this path, since nothing here retries.

use std::net::IpAddr;

use cql_protocol::wire::Consistency;
use futures::future::try_join_all;
use rand::seq::SliceRandom;

use super::consistency::Requirement;
use super::replicas::Strategy;
use super::Coordinator;
use crate::error::QueryError;
use crate::internode::{Reply, Verb};
use crate::storage::Mutation;

impl Coordinator {
    /// Writes counter increments (each counter cell holding its delta) at `cl`.
    pub async fn write_counters(&self, strategy: &Strategy, mutations: Vec<Mutation>, cl: Consistency) -> Result<(), QueryError> {
        try_join_all(mutations.into_iter().map(|m| self.increment(strategy, m, cl))).await?;
        Ok(())
    }

    async fn increment(&self, strategy: &Strategy, m: Mutation, cl: Consistency) -> Result<(), QueryError> {
        crate::metrics::global().counter_increments.inc();
        let topology = self.view.topology();
        let local_dc = topology.local_dc();
        let replicas = self.replicas(&topology, strategy, m.position.token);
        self.count(false, &replicas);
        let alive: Vec<IpAddr> = replicas.into_iter().filter(|r| topology.is_up(r)).collect();
        let requirement = Requirement::for_level(cl, strategy, &local_dc);
        if let Some(short) = requirement.shortfall(alive.iter().map(|r| topology.data_center(r))) {
            return Err(QueryError::Unavailable {
                consistency: cl,
                required: short.required as i32,
                alive: short.alive as i32,
            });
        }
        let leader = if alive.contains(&self.local) {
            self.local
        } else {
            let near: Vec<IpAddr> = alive.iter().copied().filter(|r| topology.data_center(r) == local_dc).collect();
            let pool = if near.is_empty() { &alive } else { &near };
            *pool.choose(&mut rand::thread_rng()).ok_or(QueryError::Unavailable {
                consistency: cl,
                required: requirement.block_for() as i32,
                alive: 0,
            })?
        };
        let timeout = self.timeouts.counter_write;
        let timed_out = || QueryError::WriteTimeout {
            consistency: cl,
            received: 0,
            block_for: requirement.block_for() as i32,
            write_type: "COUNTER".into(),
        };
        let shards = match self.send(leader, Verb::CounterLead { mutations: vec![m] }, timeout).await {
            Ok(Reply::Data { partitions }) => partitions,
            Ok(Reply::Failed { message }) => {
                tracing::debug!(%leader, %message, "a counter leader failed");
                return Err(timed_out());
            }
            _ => return Err(timed_out()),
        };
        self.replicate(strategy, shards, cl, "COUNTER", Some(leader), timeout).await
    }
}
