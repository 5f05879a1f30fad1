//! EXECUTE (spec 4.1.6): a prepared statement id (`[short bytes]`) and the same
//! `<query_parameters>` as QUERY.

use crate::error::{Context, DecodeError};
use crate::request::QueryParameters;
use crate::wire::{write_short_bytes, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execute {
    pub id: Vec<u8>,
    pub params: QueryParameters,
}

impl Execute {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = r.read_short_bytes().context("prepared statement id")?.to_vec();
        let params = QueryParameters::decode(r)?;
        Ok(Execute { id, params })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_short_bytes(out, &self.id);
        self.params.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{BoundValue, BoundValues};
    use crate::wire::Consistency;

    #[test]
    fn execute_is_an_id_then_query_parameters() {
        let golden = b"\x00\x02\xAB\xCD\x00\x04\x0B\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x01\x02";
        // flags 0x0B = values | skip metadata | paging state
        let execute = Execute {
            id: vec![0xAB, 0xCD],
            params: QueryParameters {
                values: BoundValues::Positional(vec![BoundValue::Bytes(vec![])]),
                skip_metadata: true,
                paging_state: Some(vec![1, 2]),
                ..QueryParameters::with_consistency(Consistency::Quorum)
            },
        };
        let mut out = Vec::new();
        execute.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(Execute::decode(&mut Reader::new(golden)).unwrap(), execute);
    }

    #[test]
    fn a_missing_id_is_reported_by_name() {
        let err = Execute::decode(&mut Reader::new(b"\x00\x10\x01")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame body truncated while reading prepared statement id: needed 16 bytes, 1 left"
        );
    }
}
