//! The CQL native protocol v4 and the CQL language, pure and synchronous: frame
//! headers, every request and response body, value encoding, error codes, and a
//! parser from CQL text to typed statements. No sockets, no async runtime.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod compression;
pub mod cql;
pub mod error;
pub mod frame;
pub mod option;
pub mod request;
pub mod response;
pub mod types;
pub mod value;
pub mod wire;
