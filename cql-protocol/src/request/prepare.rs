//! PREPARE (spec 4.1.5): a query to prepare, as a `[long string]`.

use crate::error::{Context, DecodeError};
use crate::wire::{write_long_string, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepare {
    pub query: String,
}

impl Prepare {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Prepare {
            query: r.read_long_string().context("query string")?,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_long_string(out, &self.query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_is_a_long_string_query() {
        let golden = b"\x00\x00\x00\x12SELECT * FROM t.k1";
        let prepare = Prepare {
            query: "SELECT * FROM t.k1".into(),
        };
        let mut out = Vec::new();
        prepare.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(Prepare::decode(&mut Reader::new(golden)).unwrap(), prepare);
    }

    #[test]
    fn a_short_query_string_is_reported_by_name() {
        let err = Prepare::decode(&mut Reader::new(b"\x00\x00\x00\x0cabc")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame body truncated while reading query string: needed 12 bytes, 3 left"
        );
    }
}
