//! STARTUP (spec 4.1.1): the first request of a connection, a `[string map]` of
//! options such as `CQL_VERSION` and `COMPRESSION`. Which options are acceptable is
//! the server's decision, not this codec's.

use crate::error::{Context, DecodeError};
use crate::wire::{write_string_map, Reader};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Startup {
    /// In wire order.
    pub options: Vec<(String, String)>,
}

impl Startup {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Startup {
            options: r.read_string_map().context("STARTUP options")?,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_string_map(out, &self.options);
    }

    /// The value of an option, by exact name (drivers send upper case).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &[u8] = b"\x00\x02\x00\x0BCQL_VERSION\x00\x053.0.0\x00\x0BCOMPRESSION\x00\x03lz4";

    #[test]
    fn startup_with_cql_version_matches_the_spec_bytes() {
        let startup = Startup {
            options: vec![("CQL_VERSION".into(), "3.0.0".into()), ("COMPRESSION".into(), "lz4".into())],
        };
        let mut out = Vec::new();
        startup.encode(&mut out);
        assert_eq!(out, GOLDEN);
        let decoded = Startup::decode(&mut Reader::new(GOLDEN)).unwrap();
        assert_eq!(decoded, startup);
        assert_eq!(decoded.option("CQL_VERSION"), Some("3.0.0"));
        assert_eq!(decoded.option("NO_COMPACT"), None);
    }

    #[test]
    fn a_truncated_startup_says_where_it_stopped() {
        let err = Startup::decode(&mut Reader::new(&GOLDEN[..10])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame body truncated while reading STARTUP options: needed 11 bytes, 6 left"
        );
    }
}
