//! The client tools of the `rustica` command: the CQL shell, the stress load
//! generator, status, the nodetool commands (decommission, removenode, cleanup,
//! streams, repair; info, ring, describecluster, gossipinfo, tablestats, tpstats,
//! flush, compact, drain, settraceprobability, gettraceprobability), a local cluster on loopback, certificates for a
//! cluster, and the storage benchmark. Clients of a running cluster through the scylla driver;
//! the database node itself is the `node` crate.

pub mod bench;
pub mod certs;
pub mod client;
pub mod inspect;
pub mod local;
pub mod nodetool;
pub mod repair;
pub mod shell;
pub mod status;
pub mod stress;
