//! QUERY (spec 4.1.4): a `[long string]` query and its `<query_parameters>`. This
//! file also owns the query parameters and bound values, which EXECUTE shares and
//! BATCH reuses in part.

use crate::error::{Context, DecodeError};
use crate::wire::{
    write_byte, write_bytes, write_consistency, write_count, write_int, write_long, write_long_string, write_string, write_value,
    Consistency, RawValue, Reader,
};

const FLAG_VALUES: u8 = 0x01;
const FLAG_SKIP_METADATA: u8 = 0x02;
const FLAG_PAGE_SIZE: u8 = 0x04;
const FLAG_PAGING_STATE: u8 = 0x08;
const FLAG_SERIAL_CONSISTENCY: u8 = 0x10;
const FLAG_DEFAULT_TIMESTAMP: u8 = 0x20;
const FLAG_NAMES_FOR_VALUES: u8 = 0x40;

/// One bound `[value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundValue {
    Null,
    /// "not set" (length -2): leave the column as it is.
    Unset,
    Bytes(Vec<u8>),
}

impl BoundValue {
    pub fn from_raw(raw: RawValue<'_>) -> Self {
        match raw {
            RawValue::Null => BoundValue::Null,
            RawValue::NotSet => BoundValue::Unset,
            RawValue::Bytes(b) => BoundValue::Bytes(b.to_vec()),
        }
    }

    pub fn as_raw(&self) -> RawValue<'_> {
        match self {
            BoundValue::Null => RawValue::Null,
            BoundValue::Unset => RawValue::NotSet,
            BoundValue::Bytes(b) => RawValue::Bytes(b),
        }
    }
}

/// The values bound to a statement's markers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BoundValues {
    /// The Values flag was not set.
    #[default]
    None,
    Positional(Vec<BoundValue>),
    /// The names-for-values flag (0x40) was set.
    Named(Vec<(String, BoundValue)>),
}

impl BoundValues {
    pub fn len(&self) -> usize {
        match self {
            BoundValues::None => 0,
            BoundValues::Positional(v) => v.len(),
            BoundValues::Named(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads `<n>` then n values, each preceded by a `[string]` name if `named`.
    pub(crate) fn decode_list(r: &mut Reader<'_>, named: bool) -> Result<Self, DecodeError> {
        let n = usize::from(r.read_short().context("bound value count")?);
        if named {
            r.check_room(n, 6, "named bound values")?;
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.read_string().context("bound value name")?;
                let value = r.read_value().context("bound value")?;
                values.push((name, BoundValue::from_raw(value)));
            }
            Ok(BoundValues::Named(values))
        } else {
            r.check_room(n, 4, "bound values")?;
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(BoundValue::from_raw(r.read_value().context("bound value")?));
            }
            Ok(BoundValues::Positional(values))
        }
    }

    /// Writes `<n>` then the values; names only if `named` (positional values in a
    /// named list get empty names, `None` is written as zero values).
    pub(crate) fn encode_list(&self, out: &mut Vec<u8>, named: bool) {
        match self {
            BoundValues::None => {
                write_count(out, 0);
            }
            BoundValues::Positional(values) => {
                let n = write_count(out, values.len());
                for v in values.iter().take(n) {
                    if named {
                        write_string(out, "");
                    }
                    write_value(out, v.as_raw());
                }
            }
            BoundValues::Named(values) => {
                let n = write_count(out, values.len());
                for (name, v) in values.iter().take(n) {
                    if named {
                        write_string(out, name);
                    }
                    write_value(out, v.as_raw());
                }
            }
        }
    }
}

/// `<query_parameters>`, shared by QUERY and EXECUTE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParameters {
    pub consistency: Consistency,
    pub values: BoundValues,
    pub skip_metadata: bool,
    pub page_size: Option<i32>,
    pub paging_state: Option<Vec<u8>>,
    pub serial_consistency: Option<Consistency>,
    /// Microseconds since the epoch.
    pub default_timestamp: Option<i64>,
}

impl QueryParameters {
    /// No values, no paging, no extras.
    pub fn with_consistency(consistency: Consistency) -> Self {
        QueryParameters {
            consistency,
            values: BoundValues::None,
            skip_metadata: false,
            page_size: None,
            paging_state: None,
            serial_consistency: None,
            default_timestamp: None,
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let consistency = r.read_consistency()?;
        let flags = r.read_byte().context("query flags")?;
        let values = if flags & FLAG_VALUES != 0 {
            BoundValues::decode_list(r, flags & FLAG_NAMES_FOR_VALUES != 0)?
        } else {
            BoundValues::None
        };
        let page_size = if flags & FLAG_PAGE_SIZE != 0 {
            Some(r.read_int().context("result page size")?)
        } else {
            None
        };
        let paging_state = if flags & FLAG_PAGING_STATE != 0 {
            r.read_bytes().context("paging state")?.map(<[u8]>::to_vec)
        } else {
            None
        };
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
        Ok(QueryParameters {
            consistency,
            values,
            skip_metadata: flags & FLAG_SKIP_METADATA != 0,
            page_size,
            paging_state,
            serial_consistency,
            default_timestamp,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        match self.values {
            BoundValues::None => {}
            BoundValues::Positional(_) => flags |= FLAG_VALUES,
            BoundValues::Named(_) => flags |= FLAG_VALUES | FLAG_NAMES_FOR_VALUES,
        }
        if self.skip_metadata {
            flags |= FLAG_SKIP_METADATA;
        }
        if self.page_size.is_some() {
            flags |= FLAG_PAGE_SIZE;
        }
        if self.paging_state.is_some() {
            flags |= FLAG_PAGING_STATE;
        }
        if self.serial_consistency.is_some() {
            flags |= FLAG_SERIAL_CONSISTENCY;
        }
        if self.default_timestamp.is_some() {
            flags |= FLAG_DEFAULT_TIMESTAMP;
        }
        write_consistency(out, self.consistency);
        write_byte(out, flags);
        if flags & FLAG_VALUES != 0 {
            self.values.encode_list(out, flags & FLAG_NAMES_FOR_VALUES != 0);
        }
        if let Some(n) = self.page_size {
            write_int(out, n);
        }
        if let Some(state) = &self.paging_state {
            write_bytes(out, Some(state));
        }
        if let Some(c) = self.serial_consistency {
            write_consistency(out, c);
        }
        if let Some(ts) = self.default_timestamp {
            write_long(out, ts);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub query: String,
    pub params: QueryParameters,
}

impl Query {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let query = r.read_long_string().context("query string")?;
        let params = QueryParameters::decode(r)?;
        Ok(Query { query, params })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_long_string(out, &self.query);
        self.params.encode(out);
    }
}

/// A client's default timestamp: any long but the smallest, which Cassandra
/// keeps to mean "no timestamp" (it answers a protocol error, as here).
pub(crate) fn default_timestamp(ts: i64) -> Result<i64, DecodeError> {
    if ts == i64::MIN {
        return Err(DecodeError::Invalid {
            message: format!("Out of bound timestamp, must be in [{}, {}] (got {ts})", i64::MIN + 1, i64::MAX),
        });
    }
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(golden: &[u8], query: &Query) {
        let mut out = Vec::new();
        query.encode(&mut out);
        assert_eq!(out, golden);
        let mut r = Reader::new(golden);
        assert_eq!(&Query::decode(&mut r).unwrap(), query);
        assert!(r.is_empty());
    }

    #[test]
    fn a_bare_query_is_the_string_a_consistency_and_zero_flags() {
        let golden = b"\x00\x00\x00\x08SELECT 1\x00\x06\x00";
        round_trip(
            golden,
            &Query {
                query: "SELECT 1".into(),
                params: QueryParameters::with_consistency(Consistency::LocalQuorum),
            },
        );
    }

    #[test]
    fn a_query_with_values_page_size_and_timestamp_lays_them_out_in_flag_order() {
        let mut golden = b"\x00\x00\x00\x08SELECT ?".to_vec();
        golden.extend_from_slice(&[0x00, 0x01]); // ONE
        golden.push(0x25); // values | page size | default timestamp
        golden.extend_from_slice(&[0x00, 0x03]); // three values
        golden.extend_from_slice(&[0x00, 0x00, 0x00, 0x01, 0x2A]);
        golden.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]); // null
        golden.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFE]); // not set
        golden.extend_from_slice(&[0x00, 0x00, 0x13, 0x88]); // page size 5000
        golden.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]); // timestamp
        round_trip(
            &golden,
            &Query {
                query: "SELECT ?".into(),
                params: QueryParameters {
                    values: BoundValues::Positional(vec![BoundValue::Bytes(vec![0x2A]), BoundValue::Null, BoundValue::Unset]),
                    page_size: Some(5000),
                    default_timestamp: Some(7),
                    ..QueryParameters::with_consistency(Consistency::One)
                },
            },
        );
    }

    #[test]
    fn the_smallest_long_as_default_timestamp_is_refused_as_cassandra_does() {
        let mut body = b"\x00\x00\x00\x01x\x00\x01\x20".to_vec(); // ONE, default timestamp
        body.extend_from_slice(&i64::MIN.to_be_bytes());
        let err = Query::decode(&mut Reader::new(&body)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Out of bound timestamp, must be in [-9223372036854775807, 9223372036854775807] (got -9223372036854775808)"
        );
        let mut body = b"\x00\x00\x00\x01x\x00\x01\x20".to_vec();
        body.extend_from_slice(&(i64::MIN + 1).to_be_bytes());
        assert_eq!(
            Query::decode(&mut Reader::new(&body)).unwrap().params.default_timestamp,
            Some(i64::MIN + 1)
        );
    }

    #[test]
    fn named_values_are_preceded_by_their_names() {
        let golden = b"\x00\x00\x00\x02x=\x00\x04\x5B\x00\x01\x00\x01k\x00\x00\x00\x01\x05\x00\x00\x00\x02\xAB\xCD\x00\x09";
        // flags 0x5B = values | skip metadata | paging state | serial | names
        round_trip(
            golden,
            &Query {
                query: "x=".into(),
                params: QueryParameters {
                    values: BoundValues::Named(vec![("k".into(), BoundValue::Bytes(vec![5]))]),
                    skip_metadata: true,
                    paging_state: Some(vec![0xAB, 0xCD]),
                    serial_consistency: Some(Consistency::LocalSerial),
                    ..QueryParameters::with_consistency(Consistency::Quorum)
                },
            },
        );
    }

    #[test]
    fn a_value_count_larger_than_the_body_is_refused_before_allocating() {
        let body = b"\x00\x00\x00\x01x\x00\x01\x01\xFF\xFF";
        let err = Query::decode(&mut Reader::new(body)).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "bound values",
                needed: 65535 * 4,
                available: 0
            }
        );
    }

    #[test]
    fn an_unknown_consistency_is_reported() {
        let body = b"\x00\x00\x00\x01x\x00\x63\x00";
        let err = Query::decode(&mut Reader::new(body)).unwrap_err();
        assert_eq!(err.to_string(), "unknown consistency level 0x0063");
    }
}
