//! BATCH (spec 4.1.7): a batch type, a list of statements (query strings or
//! prepared ids, each with its values), a consistency and flags.
//!
//! The flags come after the statements, yet say whether each value has a name
//! (CASSANDRA-10246). We decode without names first and, if the flags then claim
//! names, decode again with them; a batch is accepted only if the reading it was
//! decoded with agrees with its own flags.

use crate::error::{Context, DecodeError};
use crate::request::query::default_timestamp;
use crate::request::BoundValues;
use crate::wire::{write_byte, write_consistency, write_count, write_long, write_long_string, write_short_bytes, Consistency, Reader};

const FLAG_SERIAL_CONSISTENCY: u8 = 0x10;
const FLAG_DEFAULT_TIMESTAMP: u8 = 0x20;
const FLAG_NAMES_FOR_VALUES: u8 = 0x40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchType {
    Logged = 0,
    Unlogged = 1,
    Counter = 2,
}

impl BatchType {
    pub fn from_u8(value: u8) -> Option<BatchType> {
        match value {
            0 => Some(BatchType::Logged),
            1 => Some(BatchType::Unlogged),
            2 => Some(BatchType::Counter),
            _ => None,
        }
    }
}

/// What a batch statement runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchTarget {
    /// kind 0: a query string.
    Query(String),
    /// kind 1: a prepared statement id.
    Prepared(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatement {
    pub target: BatchTarget,
    /// `Positional` or `Named` as decoded (possibly empty), never `None`; on encode
    /// `None` is written as zero values.
    pub values: BoundValues,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub kind: BatchType,
    pub statements: Vec<BatchStatement>,
    pub consistency: Consistency,
    pub serial_consistency: Option<Consistency>,
    /// Microseconds since the epoch.
    pub default_timestamp: Option<i64>,
}

impl Batch {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Each reading counts only if the flags it ends on agree with it.
        let mut positional = r.clone();
        let first = Batch::decode_as(&mut positional, false);
        let unnamed = match &first {
            Ok((batch, flags)) if flags & FLAG_NAMES_FOR_VALUES == 0 => Some(batch),
            _ => None,
        };
        if let Some(batch) = unnamed {
            if positional.is_empty() {
                *r = positional;
                return Ok(batch.clone());
            }
        }
        let mut named = r.clone();
        let named_batch = match Batch::decode_as(&mut named, true) {
            Ok((batch, flags)) if flags & FLAG_NAMES_FOR_VALUES != 0 => Some(batch),
            _ => None,
        };
        // Both readings can agree with their flags when bytes trail the batch (a
        // zero-length value looks like an empty name followed by more); drivers
        // send no trailing bytes, so the reading that leaves fewer is the one meant.
        match (unnamed, named_batch) {
            (Some(_), Some(n)) if named.remaining() < positional.remaining() => {
                *r = named;
                Ok(n)
            }
            (Some(p), _) => {
                let p = p.clone();
                *r = positional;
                Ok(p)
            }
            (None, Some(n)) => {
                *r = named;
                Ok(n)
            }
            (None, None) => match first {
                Err(e) => Err(e),
                Ok(_) => Err(DecodeError::Invalid {
                    message: "BATCH sets the names-for-values flag (0x40), but its values are \
                              not preceded by names"
                        .to_string(),
                }),
            },
        }
    }

    /// Decodes assuming names are present or not; returns the batch and its flags.
    fn decode_as(r: &mut Reader<'_>, named: bool) -> Result<(Self, u8), DecodeError> {
        let kind = r.read_byte().context("batch type")?;
        let kind = BatchType::from_u8(kind).ok_or(DecodeError::UnknownBatchType { value: kind })?;
        let n = usize::from(r.read_short().context("batch statement count")?);
        // A statement is at least a kind byte, an empty [short bytes] and a count.
        r.check_room(n, 5, "batch statements")?;
        let mut statements = Vec::with_capacity(n);
        for _ in 0..n {
            let target = match r.read_byte().context("batch statement kind")? {
                0 => BatchTarget::Query(r.read_long_string().context("query string")?),
                1 => BatchTarget::Prepared(r.read_short_bytes().context("prepared statement id")?.to_vec()),
                value => return Err(DecodeError::UnknownBatchStatementKind { value }),
            };
            let values = BoundValues::decode_list(r, named)?;
            statements.push(BatchStatement { target, values });
        }
        let consistency = r.read_consistency()?;
        let flags = r.read_byte().context("batch flags")?;
        let serial_consistency = if flags & FLAG_SERIAL_CONSISTENCY != 0 {
            Some(r.read_consistency()?)
        } else {
            None
        };
        let default_timestamp = if flags & FLAG_DEFAULT_TIMESTAMP != 0 {
            Some(default_timestamp(r.read_long().context("default timestamp")?)?)
        } else {
            None
        };
        let batch = Batch {
            kind,
            statements,
            consistency,
            serial_consistency,
            default_timestamp,
        };
        Ok((batch, flags))
    }

    /// Values are written with names (flag 0x40) if any statement has named values.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let named = self.statements.iter().any(|s| matches!(s.values, BoundValues::Named(_)));
        write_byte(out, self.kind as u8);
        let n = write_count(out, self.statements.len());
        for s in self.statements.iter().take(n) {
            match &s.target {
                BatchTarget::Query(q) => {
                    write_byte(out, 0);
                    write_long_string(out, q);
                }
                BatchTarget::Prepared(id) => {
                    write_byte(out, 1);
                    write_short_bytes(out, id);
                }
            }
            s.values.encode_list(out, named);
        }
        let mut flags = 0;
        if named {
            flags |= FLAG_NAMES_FOR_VALUES;
        }
        if self.serial_consistency.is_some() {
            flags |= FLAG_SERIAL_CONSISTENCY;
        }
        if self.default_timestamp.is_some() {
            flags |= FLAG_DEFAULT_TIMESTAMP;
        }
        write_consistency(out, self.consistency);
        write_byte(out, flags);
        if let Some(c) = self.serial_consistency {
            write_consistency(out, c);
        }
        if let Some(ts) = self.default_timestamp {
            write_long(out, ts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::BoundValue;

    fn round_trip(golden: &[u8], batch: &Batch) {
        let mut out = Vec::new();
        batch.encode(&mut out);
        assert_eq!(out, golden);
        let mut r = Reader::new(golden);
        assert_eq!(&Batch::decode(&mut r).unwrap(), batch);
        assert!(r.is_empty());
    }

    #[test]
    fn an_unlogged_batch_mixes_query_strings_and_prepared_ids() {
        let mut golden = vec![0x01, 0x00, 0x02]; // unlogged, two statements
        golden.extend_from_slice(b"\x00\x00\x00\x00\x06INSERT\x00\x01\x00\x00\x00\x01\x01");
        golden.extend_from_slice(b"\x01\x00\x01\xFF\x00\x00");
        golden.extend_from_slice(b"\x00\x01\x10\x00\x09"); // ONE, serial, LOCAL_SERIAL
        round_trip(
            &golden,
            &Batch {
                kind: BatchType::Unlogged,
                statements: vec![
                    BatchStatement {
                        target: BatchTarget::Query("INSERT".into()),
                        values: BoundValues::Positional(vec![BoundValue::Bytes(vec![1])]),
                    },
                    BatchStatement {
                        target: BatchTarget::Prepared(vec![0xFF]),
                        values: BoundValues::Positional(vec![]),
                    },
                ],
                consistency: Consistency::One,
                serial_consistency: Some(Consistency::LocalSerial),
                default_timestamp: None,
            },
        );
    }

    #[test]
    fn a_batch_with_named_values_is_read_once_the_flags_are_known() {
        let mut golden = vec![0x00, 0x00, 0x01]; // logged, one statement
        golden.extend_from_slice(b"\x01\x00\x01\x07\x00\x01\x00\x01v\xFF\xFF\xFF\xFF");
        golden.extend_from_slice(b"\x00\x04\x60\x00\x00\x00\x00\x00\x00\x00\x2A");
        round_trip(
            &golden,
            &Batch {
                kind: BatchType::Logged,
                statements: vec![BatchStatement {
                    target: BatchTarget::Prepared(vec![7]),
                    values: BoundValues::Named(vec![("v".into(), BoundValue::Null)]),
                }],
                consistency: Consistency::Quorum,
                serial_consistency: None,
                default_timestamp: Some(42),
            },
        );
    }

    #[test]
    fn an_empty_name_and_empty_value_is_not_mistaken_for_a_positional_value() {
        // Read without names, `00 00 | 00 00 00 00` is one empty value followed by
        // what looks like a consistency and zero flags, leaving two bytes over.
        let mut golden = b"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01".to_vec();
        golden.extend_from_slice(b"\x00\x00\x00\x00\x00\x00\x00\x00\x40");
        round_trip(
            &golden,
            &Batch {
                kind: BatchType::Logged,
                statements: vec![BatchStatement {
                    target: BatchTarget::Query(String::new()),
                    values: BoundValues::Named(vec![(String::new(), BoundValue::Bytes(vec![]))]),
                }],
                consistency: Consistency::Any,
                serial_consistency: None,
                default_timestamp: None,
            },
        );
    }

    #[test]
    fn a_batch_claiming_names_it_does_not_have_is_refused() {
        let body = b"\x02\x00\x01\x01\x00\x01\x07\x00\x01\x00\x00\x00\x01\x05\x00\x01\x40";
        let err = Batch::decode(&mut Reader::new(body)).unwrap_err();
        assert!(err.to_string().contains("names-for-values"), "{err}");
    }

    #[test]
    fn unknown_batch_and_statement_kinds_are_errors() {
        assert_eq!(
            Batch::decode(&mut Reader::new(b"\x03\x00\x00\x00\x01\x00")).unwrap_err(),
            DecodeError::UnknownBatchType { value: 3 }
        );
        assert_eq!(
            Batch::decode(&mut Reader::new(b"\x00\x00\x01\x02\x00\x00\x00\x00\x00")).unwrap_err(),
            DecodeError::UnknownBatchStatementKind { value: 2 }
        );
    }
}
