//! flight-sim: a console flight simulator and dispatcher. It claims the flights on
//! the cluster's schedule (made by the map, the console, cqlsh or itself) and flies
//! them between real airports, writing their statuses and live positions to a
//! rustica (or any Cassandra-compatible) cluster through the scylla driver, as an
//! ordinary client. Pure parts (flight model, schedule checks, the dispatch decision)
//! are separate from the parts that talk to the cluster (store, runner). The flight
//! domain it shares with the map (airports, statuses, geometry, schema, statements,
//! connection) is the `aviation` crate, re-exported here under its old paths.

pub use aviation::{airports, geo, schema, status};

pub mod clock;
pub mod console;
pub mod dispatch;
pub mod flight;
pub mod runner;
pub mod schedule;
pub mod store;
