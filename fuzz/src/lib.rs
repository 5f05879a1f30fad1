//! A fuzz driver on stable Rust for every decoder that reads bytes from outside
//! the node: CQL frames, bodies, values, SASL tokens and statements; internode hellos,
//! frames, verbs, replies and stream chunks; gossip frames, messages and schema
//! events; the durable engine's keys and values, clustering keys, hint records
//! and paging states. Each target mutates its committed seed corpus
//! (`corpus`, `mutate`) with a seeded RNG and runs the decoder under
//! `catch_unwind`, counting allocations (`alloc`, `driver`). It finds panics and
//! allocations sized by unchecked length fields; it does not measure coverage.

pub mod alloc;
pub mod corpus;
pub mod driver;
pub mod mutate;
pub mod rng;
pub mod target;
pub mod targets;

#[global_allocator]
static ALLOCATOR: alloc::CountingAllocator = alloc::CountingAllocator;
