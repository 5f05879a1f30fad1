//! The flight domain that the simulator (`flight-sim`) and the map (`flight-map`)
//! share, so that neither keeps its own copy: a flight's [`status`], the [`airports`]
//! data set and its parser, great-circle [`geo`]metry, the scheduled [`flight`]
//! record, the `aviation` keyspace's DDL ([`schema`]), the statements every client
//! uses to schedule and change flights ([`statements`]), and how to reach the
//! cluster ([`connection`]: contact points, credentials, CA; [`tls`]: a node's
//! certificate checked against the cluster's authority). It is a plain CQL
//! client library: it links the driver, never the database node.

pub mod airports;
pub mod connection;
pub mod flight;
pub mod geo;
pub mod schema;
pub mod statements;
pub mod status;
pub mod tls;
