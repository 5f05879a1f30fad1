//! The key layout of the durable engine (format version [`LAYOUT_VERSION`], see
//! `docs/storage-format.md`): how one entry of a partition (partition deletion,
//! range tombstone, row marker, row deletion, cell, collection cell, collection
//! deletion) becomes a key that sorts by ring position, then entry kind and
//! clustering, then column and cell path, then newest write first. Pure byte
//! functions; entry values are `codec`'s, and what is written when is `mod.rs`'s.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::ops::Bound;

use crate::storage::key::{decode_partition_position, encode_partition_position};
use crate::storage::PartitionPosition;

/// The version of the key and value layout described in `docs/storage-format.md`.
pub const LAYOUT_VERSION: u8 = 1;

/// Bytes after the entry's component: the inverted timestamp and the write id.
pub const SUFFIX_LEN: usize = 16;

const KIND_PARTITION: u8 = 0x00;
const KIND_STATIC: u8 = 0x01;
const KIND_ROW: u8 = 0x02;

const PARTITION_DELETION: u8 = 0x00;
const PARTITION_RANGE_TOMBSTONE: u8 = 0x01;

const ROW_MARKER: u8 = 0x00;
const ROW_DELETION: u8 = 0x01;
const ROW_COLUMN: u8 = 0x02;

const COLUMN_DELETION: u8 = 0x00;
const COLUMN_SIMPLE: u8 = 0x01;
const COLUMN_ELEMENT: u8 = 0x02;

const BOUND_UNBOUNDED: u8 = 0x00;
const BOUND_INCLUDED: u8 = 0x01;
const BOUND_EXCLUDED: u8 = 0x02;

/// Which row of a partition an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowId {
    Static,
    Clustering(Vec<u8>),
}

/// What an entry of a row is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowPart {
    Marker,
    Deletion,
    /// The deletion of a whole collection column (`c = [...]` writes one).
    ColumnDeletion(String),
    Cell(String),
    Element(String, Vec<u8>),
}

/// One entry of a partition, without its timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    PartitionDeletion,
    RangeTombstone { start: Bound<Vec<u8>>, end: Bound<Vec<u8>> },
    Row { row: RowId, part: RowPart },
}

/// A decoded key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey {
    pub position: PartitionPosition,
    pub component: Component,
    pub timestamp: i64,
    pub write_id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("key ends inside {what}")]
    Truncated { what: &'static str },
    #[error("malformed key: {reason}")]
    Malformed { reason: &'static str },
}

/// The bytes every key of a partition starts with.
pub fn partition_prefix(position: &PartitionPosition) -> Vec<u8> {
    encode_partition_position(position.token, &position.key)
}

/// The first key of the partitions of `token` (no partition key sorts lower).
pub fn token_start(token: i64) -> Vec<u8> {
    ((token as u64) ^ (1 << 63)).to_be_bytes().to_vec()
}

/// The prefix of every row entry of a partition (clustering rows, not static).
pub fn rows_prefix(position: &PartitionPosition) -> Vec<u8> {
    let mut out = partition_prefix(position);
    out.push(KIND_ROW);
    out
}

/// The first key at or after every row whose clustering bytes are at least
/// `clustering` (as a byte string; rows with it as a prefix included).
pub fn row_lower_bound(position: &PartitionPosition, clustering: &[u8]) -> Vec<u8> {
    let mut out = rows_prefix(position);
    write_escaped_body(&mut out, clustering);
    out
}

/// Encodes everything of the key but the suffix.
pub fn encode_component(position: &PartitionPosition, component: &Component) -> Vec<u8> {
    let mut out = partition_prefix(position);
    match component {
        Component::PartitionDeletion => out.extend_from_slice(&[KIND_PARTITION, PARTITION_DELETION]),
        Component::RangeTombstone { start, end } => {
            out.extend_from_slice(&[KIND_PARTITION, PARTITION_RANGE_TOMBSTONE]);
            write_bound(&mut out, start);
            write_bound(&mut out, end);
        }
        Component::Row { row, part } => {
            match row {
                RowId::Static => out.push(KIND_STATIC),
                RowId::Clustering(c) => {
                    out.push(KIND_ROW);
                    write_escaped(&mut out, c);
                }
            }
            match part {
                RowPart::Marker => out.push(ROW_MARKER),
                RowPart::Deletion => out.push(ROW_DELETION),
                RowPart::ColumnDeletion(name) => column(&mut out, name, COLUMN_DELETION),
                RowPart::Cell(name) => column(&mut out, name, COLUMN_SIMPLE),
                RowPart::Element(name, path) => {
                    column(&mut out, name, COLUMN_ELEMENT);
                    write_escaped(&mut out, path);
                }
            }
        }
    }
    out
}

/// The prefix of a collection column's elements in a row: the range a
/// collection deletion shadows.
pub fn elements_prefix(position: &PartitionPosition, row: &RowId, name: &str) -> Vec<u8> {
    let mut out = encode_component(
        position,
        &Component::Row {
            row: row.clone(),
            part: RowPart::Marker,
        },
    );
    out.pop();
    column(&mut out, name, COLUMN_ELEMENT);
    out
}

/// The prefix shared by every entry of a row.
pub fn row_prefix(position: &PartitionPosition, row: &RowId) -> Vec<u8> {
    let mut out = encode_component(
        position,
        &Component::Row {
            row: row.clone(),
            part: RowPart::Marker,
        },
    );
    out.pop();
    out
}

fn column(out: &mut Vec<u8>, name: &str, tag: u8) {
    out.push(ROW_COLUMN);
    write_escaped(out, name.as_bytes());
    out.push(tag);
}

/// The full key: component, then the timestamp inverted (newest first), then the
/// write id that keeps two writes of one cell at one timestamp apart.
pub fn encode_key(position: &PartitionPosition, component: &Component, timestamp: i64, write_id: u64) -> Vec<u8> {
    let mut out = encode_component(position, component);
    push_suffix(&mut out, timestamp, write_id);
    out
}

pub fn push_suffix(out: &mut Vec<u8>, timestamp: i64, write_id: u64) {
    out.extend_from_slice(&(!((timestamp as u64) ^ (1 << 63))).to_be_bytes());
    out.extend_from_slice(&write_id.to_be_bytes());
}

/// Splits a key into the bytes naming its entry (equal for every version of one
/// cell) and its (timestamp, write id).
pub fn split_suffix(key: &[u8]) -> Result<(&[u8], i64, u64), LayoutError> {
    let at = key
        .len()
        .checked_sub(SUFFIX_LEN)
        .ok_or(LayoutError::Truncated { what: "the timestamp" })?;
    let (component, suffix) = key.split_at(at);
    let (ts, id) = suffix.split_at(8);
    let ts = u64::from_be_bytes(ts.try_into().map_err(|_| LayoutError::Truncated { what: "the timestamp" })?);
    let id = u64::from_be_bytes(id.try_into().map_err(|_| LayoutError::Truncated { what: "the write id" })?);
    Ok((component, ((!ts) ^ (1 << 63)) as i64, id))
}

pub fn decode_key(key: &[u8]) -> Result<EntryKey, LayoutError> {
    let (component_bytes, timestamp, write_id) = split_suffix(key)?;
    let mut input = component_bytes;
    let (token, pk) = decode_partition_position(&mut input).map_err(|_| LayoutError::Malformed {
        reason: "bad partition position",
    })?;
    let mut r = Reader { rest: input };
    let component = match r.byte("the entry kind")? {
        KIND_PARTITION => match r.byte("the partition entry kind")? {
            PARTITION_DELETION => Component::PartitionDeletion,
            PARTITION_RANGE_TOMBSTONE => {
                let start = r.bound()?;
                let end = r.bound()?;
                Component::RangeTombstone { start, end }
            }
            _ => {
                return Err(LayoutError::Malformed {
                    reason: "unknown partition entry kind",
                })
            }
        },
        KIND_STATIC => Component::Row {
            row: RowId::Static,
            part: r.row_part()?,
        },
        KIND_ROW => {
            let clustering = r.escaped("the clustering")?;
            Component::Row {
                row: RowId::Clustering(clustering),
                part: r.row_part()?,
            }
        }
        _ => {
            return Err(LayoutError::Malformed {
                reason: "unknown entry kind",
            })
        }
    };
    if !r.rest.is_empty() {
        return Err(LayoutError::Malformed {
            reason: "bytes left after the entry",
        });
    }
    Ok(EntryKey {
        position: PartitionPosition { token, key: pk },
        component,
        timestamp,
        write_id,
    })
}

fn write_bound(out: &mut Vec<u8>, bound: &Bound<Vec<u8>>) {
    match bound {
        Bound::Unbounded => out.push(BOUND_UNBOUNDED),
        Bound::Included(b) => {
            out.push(BOUND_INCLUDED);
            write_escaped(out, b);
        }
        Bound::Excluded(b) => {
            out.push(BOUND_EXCLUDED);
            write_escaped(out, b);
        }
    }
}

/// As `key::write_escaped`: 0x00 becomes 0x00 0xFF, then the terminator 0x00 0x01.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    write_escaped_body(out, bytes);
    out.extend_from_slice(&[0x00, 0x01]);
}

fn write_escaped_body(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0x00 {
            out.push(0xFF);
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, LayoutError> {
        let (&b, rest) = self.rest.split_first().ok_or(LayoutError::Truncated { what })?;
        self.rest = rest;
        Ok(b)
    }

    fn escaped(&mut self, what: &'static str) -> Result<Vec<u8>, LayoutError> {
        let mut out = Vec::new();
        loop {
            match self.byte(what)? {
                0x00 => match self.byte(what)? {
                    0xFF => out.push(0x00),
                    0x01 => return Ok(out),
                    _ => return Err(LayoutError::Malformed { reason: "bad escape" }),
                },
                b => out.push(b),
            }
        }
    }

    fn bound(&mut self) -> Result<Bound<Vec<u8>>, LayoutError> {
        match self.byte("a range tombstone bound")? {
            BOUND_UNBOUNDED => Ok(Bound::Unbounded),
            BOUND_INCLUDED => Ok(Bound::Included(self.escaped("a range tombstone bound")?)),
            BOUND_EXCLUDED => Ok(Bound::Excluded(self.escaped("a range tombstone bound")?)),
            _ => Err(LayoutError::Malformed {
                reason: "unknown bound kind",
            }),
        }
    }

    fn row_part(&mut self) -> Result<RowPart, LayoutError> {
        match self.byte("the row entry kind")? {
            ROW_MARKER => Ok(RowPart::Marker),
            ROW_DELETION => Ok(RowPart::Deletion),
            ROW_COLUMN => {
                let name = String::from_utf8(self.escaped("a column name")?).map_err(|_| LayoutError::Malformed {
                    reason: "column name is not UTF-8",
                })?;
                match self.byte("the column entry kind")? {
                    COLUMN_DELETION => Ok(RowPart::ColumnDeletion(name)),
                    COLUMN_SIMPLE => Ok(RowPart::Cell(name)),
                    COLUMN_ELEMENT => Ok(RowPart::Element(name, self.escaped("a cell path")?)),
                    _ => Err(LayoutError::Malformed {
                        reason: "unknown column entry kind",
                    }),
                }
            }
            _ => Err(LayoutError::Malformed {
                reason: "unknown row entry kind",
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pos(token: i64, key: &[u8]) -> PartitionPosition {
        PartitionPosition { token, key: key.to_vec() }
    }

    fn row(c: &[u8], part: RowPart) -> Component {
        Component::Row {
            row: RowId::Clustering(c.to_vec()),
            part,
        }
    }

    fn components() -> Vec<Component> {
        vec![
            Component::PartitionDeletion,
            Component::RangeTombstone {
                start: Bound::Unbounded,
                end: Bound::Excluded(vec![0, 1]),
            },
            Component::RangeTombstone {
                start: Bound::Included(vec![0, 0]),
                end: Bound::Unbounded,
            },
            Component::Row {
                row: RowId::Static,
                part: RowPart::Cell("s".into()),
            },
            row(b"", RowPart::Marker),
            row(&[0], RowPart::Deletion),
            row(&[0, 0xFF], RowPart::ColumnDeletion("c\0x".into())),
            row(&[1], RowPart::Cell("v".into())),
            row(&[1], RowPart::Element("m".into(), vec![0, 0, 1])),
        ]
    }

    #[test]
    fn every_entry_kind_round_trips() {
        for c in components() {
            for ts in [i64::MIN, -1, 0, 1, i64::MAX] {
                let p = pos(-7, b"k\0ey");
                let key = encode_key(&p, &c, ts, 42);
                let decoded = decode_key(&key).unwrap();
                assert_eq!(
                    decoded,
                    EntryKey {
                        position: p,
                        component: c.clone(),
                        timestamp: ts,
                        write_id: 42
                    }
                );
            }
        }
    }

    #[test]
    fn the_newest_version_of_a_cell_sorts_first() {
        let p = pos(3, b"k");
        let c = row(&[1], RowPart::Cell("v".into()));
        let keys: Vec<_> = [i64::MAX, 5, 0, -5, i64::MIN].iter().map(|&ts| encode_key(&p, &c, ts, 0)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
    }

    #[test]
    fn partition_entries_then_static_then_rows_in_clustering_order() {
        let p = pos(3, b"k");
        let order = [
            Component::PartitionDeletion,
            Component::RangeTombstone {
                start: Bound::Included(vec![5]),
                end: Bound::Unbounded,
            },
            Component::Row {
                row: RowId::Static,
                part: RowPart::Marker,
            },
            row(&[0], RowPart::Marker),
            row(&[0], RowPart::Deletion),
            row(&[0], RowPart::ColumnDeletion("a".into())),
            row(&[0], RowPart::Element("a".into(), vec![9])),
            row(&[0], RowPart::Cell("b".into())),
            row(&[0, 0], RowPart::Marker),
            row(&[0, 1], RowPart::Marker),
            row(&[1], RowPart::Marker),
        ];
        let keys: Vec<_> = order.iter().map(|c| encode_key(&p, c, 0, 0)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
    }

    #[test]
    fn a_truncated_or_garbled_key_is_an_error_not_a_panic() {
        let key = encode_key(&pos(1, b"k"), &row(&[1], RowPart::Element("m".into(), vec![1])), 5, 0);
        for len in 0..key.len() {
            assert!(decode_key(&key[..len]).is_err(), "prefix of {len} bytes decoded");
        }
    }

    proptest! {
        #[test]
        fn partitions_sort_in_ring_order(a in any::<i64>(), b in any::<i64>(), ka in proptest::collection::vec(any::<u8>(), 0..4), kb in proptest::collection::vec(any::<u8>(), 0..4), ca in proptest::collection::vec(any::<u8>(), 0..4), cb in proptest::collection::vec(any::<u8>(), 0..4)) {
            let (pa, pb) = (pos(a, &ka), pos(b, &kb));
            let x = encode_key(&pa, &row(&ca, RowPart::Marker), 1, 0);
            let y = encode_key(&pb, &row(&cb, RowPart::Marker), 1, 0);
            let expected = (pa, ca).cmp(&(pb, cb));
            prop_assert_eq!(x.cmp(&y), expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = decode_key(&bytes);
        }
    }
}
