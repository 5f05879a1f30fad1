//! EVENT (spec 4.2.6): pushed topology, status and schema changes. This file also
//! owns `SchemaChange`, which the Schema_change RESULT (4.2.5.5) shares.

use std::net::SocketAddr;

use crate::error::{Context, DecodeError};
use crate::wire::{write_inet, write_string, write_string_list, Reader};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaChangeType {
    Created,
    Updated,
    Dropped,
}

impl SchemaChangeType {
    pub fn name(self) -> &'static str {
        match self {
            SchemaChangeType::Created => "CREATED",
            SchemaChangeType::Updated => "UPDATED",
            SchemaChangeType::Dropped => "DROPPED",
        }
    }
}

/// What a schema change touched, with the `<options>` its target carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaChangeTarget {
    Keyspace {
        keyspace: String,
    },
    Table {
        keyspace: String,
        name: String,
    },
    Type {
        keyspace: String,
        name: String,
    },
    Function {
        keyspace: String,
        name: String,
        arg_types: Vec<String>,
    },
    Aggregate {
        keyspace: String,
        name: String,
        arg_types: Vec<String>,
    },
}

/// `<change_type><target><options>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChange {
    pub change: SchemaChangeType,
    pub target: SchemaChangeTarget,
}

impl SchemaChange {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let change = r.read_string().context("schema change type")?;
        let change = match change.as_str() {
            "CREATED" => SchemaChangeType::Created,
            "UPDATED" => SchemaChangeType::Updated,
            "DROPPED" => SchemaChangeType::Dropped,
            _ => return Err(DecodeError::UnknownSchemaChangeType { name: change }),
        };
        let target = r.read_string().context("schema change target")?;
        let target = match target.as_str() {
            "KEYSPACE" => SchemaChangeTarget::Keyspace {
                keyspace: r.read_string().context("keyspace name")?,
            },
            "TABLE" => SchemaChangeTarget::Table {
                keyspace: r.read_string().context("keyspace name")?,
                name: r.read_string().context("table name")?,
            },
            "TYPE" => SchemaChangeTarget::Type {
                keyspace: r.read_string().context("keyspace name")?,
                name: r.read_string().context("type name")?,
            },
            "FUNCTION" => SchemaChangeTarget::Function {
                keyspace: r.read_string().context("keyspace name")?,
                name: r.read_string().context("function name")?,
                arg_types: r.read_string_list().context("function argument types")?,
            },
            "AGGREGATE" => SchemaChangeTarget::Aggregate {
                keyspace: r.read_string().context("keyspace name")?,
                name: r.read_string().context("aggregate name")?,
                arg_types: r.read_string_list().context("aggregate argument types")?,
            },
            _ => return Err(DecodeError::UnknownSchemaChangeTarget { name: target }),
        };
        Ok(SchemaChange { change, target })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_string(out, self.change.name());
        match &self.target {
            SchemaChangeTarget::Keyspace { keyspace } => {
                write_string(out, "KEYSPACE");
                write_string(out, keyspace);
            }
            SchemaChangeTarget::Table { keyspace, name } => {
                write_string(out, "TABLE");
                write_string(out, keyspace);
                write_string(out, name);
            }
            SchemaChangeTarget::Type { keyspace, name } => {
                write_string(out, "TYPE");
                write_string(out, keyspace);
                write_string(out, name);
            }
            SchemaChangeTarget::Function { keyspace, name, arg_types } => {
                write_string(out, "FUNCTION");
                write_string(out, keyspace);
                write_string(out, name);
                write_string_list(out, arg_types);
            }
            SchemaChangeTarget::Aggregate { keyspace, name, arg_types } => {
                write_string(out, "AGGREGATE");
                write_string(out, keyspace);
                write_string(out, name);
                write_string_list(out, arg_types);
            }
        }
    }
}

/// An event pushed on stream -1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `change` is `NEW_NODE` or `REMOVED_NODE`.
    TopologyChange {
        change: String,
        address: SocketAddr,
    },
    /// `change` is `UP` or `DOWN`.
    StatusChange {
        change: String,
        address: SocketAddr,
    },
    SchemaChange(SchemaChange),
}

impl Event {
    /// The event type, as REGISTER names it.
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::TopologyChange { .. } => "TOPOLOGY_CHANGE",
            Event::StatusChange { .. } => "STATUS_CHANGE",
            Event::SchemaChange(_) => "SCHEMA_CHANGE",
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind = r.read_string().context("event type")?;
        match kind.as_str() {
            "TOPOLOGY_CHANGE" => Ok(Event::TopologyChange {
                change: r.read_string().context("topology change")?,
                address: r.read_inet().context("node address")?,
            }),
            "STATUS_CHANGE" => Ok(Event::StatusChange {
                change: r.read_string().context("status change")?,
                address: r.read_inet().context("node address")?,
            }),
            "SCHEMA_CHANGE" => Ok(Event::SchemaChange(SchemaChange::decode(r)?)),
            _ => Err(DecodeError::UnknownEventType { name: kind }),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_string(out, self.event_type());
        match self {
            Event::TopologyChange { change, address } | Event::StatusChange { change, address } => {
                write_string(out, change);
                write_inet(out, address);
            }
            Event::SchemaChange(change) => change.encode(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode_response_frame, Opcode};
    use crate::response::Response;

    fn round_trip(golden: &[u8], event: &Event) {
        let mut out = Vec::new();
        event.encode(&mut out);
        assert_eq!(out, golden);
        let mut r = Reader::new(golden);
        assert_eq!(&Event::decode(&mut r).unwrap(), event);
        assert!(r.is_empty());
    }

    #[test]
    fn a_status_change_event_carries_the_node_address() {
        round_trip(
            b"\x00\x0DSTATUS_CHANGE\x00\x02UP\x04\x7F\x00\x00\x02\x00\x00\x23\x52",
            &Event::StatusChange {
                change: "UP".into(),
                address: "127.0.0.2:9042".parse().unwrap(),
            },
        );
    }

    #[test]
    fn a_topology_change_event_may_carry_an_ipv6_address() {
        let mut golden = b"\x00\x0FTOPOLOGY_CHANGE\x00\x08NEW_NODE\x10".to_vec();
        golden.extend_from_slice(&[0; 15]);
        golden.push(1);
        golden.extend_from_slice(&[0, 0, 0x23, 0x52]);
        round_trip(
            &golden,
            &Event::TopologyChange {
                change: "NEW_NODE".into(),
                address: "[::1]:9042".parse().unwrap(),
            },
        );
    }

    #[test]
    fn a_schema_change_event_for_a_function_lists_argument_types() {
        round_trip(
            b"\x00\x0DSCHEMA_CHANGE\x00\x07CREATED\x00\x08FUNCTION\x00\x02ks\x00\x01f\x00\x02\x00\x03int\x00\x04text",
            &Event::SchemaChange(SchemaChange {
                change: SchemaChangeType::Created,
                target: SchemaChangeTarget::Function {
                    keyspace: "ks".into(),
                    name: "f".into(),
                    arg_types: vec!["int".into(), "text".into()],
                },
            }),
        );
    }

    #[test]
    fn an_event_frame_goes_out_on_stream_minus_one() {
        let event = Event::SchemaChange(SchemaChange {
            change: SchemaChangeType::Dropped,
            target: SchemaChangeTarget::Keyspace { keyspace: "ks".into() },
        });
        let frame = encode_response_frame(-1, &Response::Event(event.clone()), &[]);
        let mut expected = vec![0x84, 0x00, 0xFF, 0xFF, 0x0C, 0x00, 0x00, 0x00, 0x26];
        expected.extend_from_slice(b"\x00\x0DSCHEMA_CHANGE\x00\x07DROPPED\x00\x08KEYSPACE\x00\x02ks");
        assert_eq!(frame, expected);
        assert_eq!(Response::decode(Opcode::Event, &frame[9..]).unwrap(), Response::Event(event));
    }

    #[test]
    fn unknown_event_and_schema_change_names_are_errors() {
        assert_eq!(
            Event::decode(&mut Reader::new(b"\x00\x03FOO")).unwrap_err(),
            DecodeError::UnknownEventType { name: "FOO".into() }
        );
        assert_eq!(
            SchemaChange::decode(&mut Reader::new(b"\x00\x07CREATED\x00\x05INDEX")).unwrap_err(),
            DecodeError::UnknownSchemaChangeTarget { name: "INDEX".into() }
        );
        assert_eq!(
            SchemaChange::decode(&mut Reader::new(b"\x00\x07ALTERED")).unwrap_err(),
            DecodeError::UnknownSchemaChangeType { name: "ALTERED".into() }
        );
    }
}
