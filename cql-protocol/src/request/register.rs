//! REGISTER (spec 4.1.8): the event types a connection wants pushed, as a
//! `[string list]`. Whether the names are valid is the server's decision.

use crate::error::{Context, DecodeError};
use crate::wire::{write_string_list, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub events: Vec<String>,
}

impl Register {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Register {
            events: r.read_string_list().context("event types")?,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_string_list(out, &self.events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_lists_event_types() {
        let golden = b"\x00\x02\x00\x0FTOPOLOGY_CHANGE\x00\x0DSCHEMA_CHANGE";
        let register = Register {
            events: vec!["TOPOLOGY_CHANGE".into(), "SCHEMA_CHANGE".into()],
        };
        let mut out = Vec::new();
        register.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(Register::decode(&mut Reader::new(golden)).unwrap(), register);
    }
}
