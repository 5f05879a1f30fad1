//! flight-sim: a console flight simulator that flies planes between real airports and
//! writes their schedules, statuses and live positions to a rustica (or any
//! Cassandra-compatible) cluster through the scylla driver, as an ordinary client.
//! Pure parts (geometry, flight model, airports, schedule checks, schema text) are
//! separate from the parts that talk to the cluster (store, runner).

pub mod airports;
pub mod clock;
pub mod console;
pub mod flight;
pub mod geo;
pub mod runner;
pub mod schedule;
pub mod schema;
pub mod status;
pub mod store;
