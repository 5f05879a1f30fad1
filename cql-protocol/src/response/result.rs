//! RESULT (spec 4.2.5): Void, Rows, Set_keyspace, Prepared and Schema_change, with
//! the rows and prepared metadata they carry. Cells stay raw `[bytes]`; turning
//! them into values is `value`'s job.

use crate::error::{Context, DecodeError};
use crate::option::{read_option, write_option};
use crate::response::SchemaChange;
use crate::types::ColumnType;
use crate::wire::{write_bytes, write_int, write_short, write_short_bytes, write_string, Reader};

const KIND_VOID: i32 = 0x0001;
const KIND_ROWS: i32 = 0x0002;
const KIND_SET_KEYSPACE: i32 = 0x0003;
const KIND_PREPARED: i32 = 0x0004;
const KIND_SCHEMA_CHANGE: i32 = 0x0005;

const FLAG_GLOBAL_TABLES_SPEC: i32 = 0x0001;
const FLAG_HAS_MORE_PAGES: i32 = 0x0002;
const FLAG_NO_METADATA: i32 = 0x0004;

/// How many rows a result with zero columns may claim. Such rows take no bytes on
/// the wire, so the body cannot bound their count; nothing real sends this many.
pub const MAX_ROWS_WITHOUT_COLUMNS: usize = 65_536;

#[derive(Debug, Clone, PartialEq)]
pub enum ResultBody {
    Void,
    Rows(Rows),
    SetKeyspace(String),
    Prepared(Prepared),
    SchemaChange(SchemaChange),
}

impl ResultBody {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.read_int().context("result kind")? {
            KIND_VOID => Ok(ResultBody::Void),
            KIND_ROWS => Ok(ResultBody::Rows(Rows::decode(r)?)),
            KIND_SET_KEYSPACE => Ok(ResultBody::SetKeyspace(r.read_string().context("keyspace name")?)),
            KIND_PREPARED => Ok(ResultBody::Prepared(Prepared::decode(r)?)),
            KIND_SCHEMA_CHANGE => Ok(ResultBody::SchemaChange(SchemaChange::decode(r)?)),
            kind => Err(DecodeError::UnknownResultKind { kind }),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ResultBody::Void => write_int(out, KIND_VOID),
            ResultBody::Rows(rows) => {
                write_int(out, KIND_ROWS);
                rows.encode(out);
            }
            ResultBody::SetKeyspace(keyspace) => {
                write_int(out, KIND_SET_KEYSPACE);
                write_string(out, keyspace);
            }
            ResultBody::Prepared(prepared) => {
                write_int(out, KIND_PREPARED);
                prepared.encode(out);
            }
            ResultBody::SchemaChange(change) => {
                write_int(out, KIND_SCHEMA_CHANGE);
                change.encode(out);
            }
        }
    }
}

/// `(<ks_name><table_name>)?<name><type>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub keyspace: String,
    pub table: String,
    pub name: String,
    pub ty: ColumnType,
}

/// The keyspace and table every column shares, if there are columns and they do.
fn global_table_spec(columns: &[ColumnSpec]) -> Option<(&str, &str)> {
    let first = columns.first()?;
    columns
        .iter()
        .all(|c| c.keyspace == first.keyspace && c.table == first.table)
        .then_some((first.keyspace.as_str(), first.table.as_str()))
}

fn len_as_int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn read_count(r: &mut Reader<'_>, what: &'static str) -> Result<usize, DecodeError> {
    let n = r.read_int().context(what)?;
    usize::try_from(n).map_err(|_| DecodeError::NegativeLength {
        what,
        length: i64::from(n),
    })
}

/// Reads `[<global_table_spec>?<col_spec_1>...<col_spec_n>]`.
fn read_column_specs(r: &mut Reader<'_>, count: usize, global: bool) -> Result<Vec<ColumnSpec>, DecodeError> {
    let table_spec = if global {
        Some((
            r.read_string().context("global keyspace name")?,
            r.read_string().context("global table name")?,
        ))
    } else {
        None
    };
    // A column spec is at least a [string] name and an [option] id, plus two
    // [string]s of table spec when there is no global one.
    r.check_room(count, if global { 4 } else { 8 }, "column specs")?;
    let mut columns = Vec::with_capacity(count);
    for _ in 0..count {
        let (keyspace, table) = match &table_spec {
            Some((ks, table)) => (ks.clone(), table.clone()),
            None => (
                r.read_string().context("column keyspace name")?,
                r.read_string().context("column table name")?,
            ),
        };
        let name = r.read_string().context("column name")?;
        let ty = read_option(r)?;
        columns.push(ColumnSpec { keyspace, table, name, ty });
    }
    Ok(columns)
}

fn write_column_specs(out: &mut Vec<u8>, columns: &[ColumnSpec], global: bool) {
    if global {
        if let Some((keyspace, table)) = global_table_spec(columns) {
            write_string(out, keyspace);
            write_string(out, table);
        }
    }
    for c in columns {
        if !global {
            write_string(out, &c.keyspace);
            write_string(out, &c.table);
        }
        write_string(out, &c.name);
        write_option(out, &c.ty);
    }
}

/// Rows `<metadata>` (4.2.5.2), also a Prepared result's `<result_metadata>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsMetadata {
    /// Empty when `no_metadata`.
    pub columns: Vec<ColumnSpec>,
    /// Columns per row; equals `columns.len()` unless `no_metadata`.
    pub column_count: usize,
    /// Present iff there are more pages (Has_more_pages).
    pub paging_state: Option<Vec<u8>>,
    /// No_metadata: only the count is sent (the client asked to skip metadata).
    pub no_metadata: bool,
}

impl RowsMetadata {
    /// Full metadata for these columns, no paging.
    pub fn new(columns: Vec<ColumnSpec>) -> Self {
        RowsMetadata {
            column_count: columns.len(),
            columns,
            paging_state: None,
            no_metadata: false,
        }
    }

    /// No_metadata with zero columns: a Prepared result for a non-SELECT.
    pub fn empty() -> Self {
        RowsMetadata {
            columns: Vec::new(),
            column_count: 0,
            paging_state: None,
            no_metadata: true,
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.read_int().context("rows metadata flags")?;
        let column_count = read_count(r, "column count")?;
        let paging_state = if flags & FLAG_HAS_MORE_PAGES != 0 {
            r.read_bytes().context("paging state")?.map(<[u8]>::to_vec)
        } else {
            None
        };
        let no_metadata = flags & FLAG_NO_METADATA != 0;
        let columns = if no_metadata {
            Vec::new()
        } else {
            read_column_specs(r, column_count, flags & FLAG_GLOBAL_TABLES_SPEC != 0)?
        };
        Ok(RowsMetadata {
            columns,
            column_count,
            paging_state,
            no_metadata,
        })
    }

    /// Uses Global_tables_spec when every column shares one keyspace and table.
    /// With `no_metadata` only `column_count` is written, otherwise `columns.len()`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let global = !self.no_metadata && global_table_spec(&self.columns).is_some();
        let mut flags = 0;
        if global {
            flags |= FLAG_GLOBAL_TABLES_SPEC;
        }
        if self.paging_state.is_some() {
            flags |= FLAG_HAS_MORE_PAGES;
        }
        if self.no_metadata {
            flags |= FLAG_NO_METADATA;
        }
        write_int(out, flags);
        let count = if self.no_metadata { self.column_count } else { self.columns.len() };
        write_int(out, len_as_int(count));
        if let Some(state) = &self.paging_state {
            write_bytes(out, Some(state));
        }
        if !self.no_metadata {
            write_column_specs(out, &self.columns, global);
        }
    }
}

/// A Rows result: metadata, then `<rows_count>` rows of `[bytes]` cells (`None`
/// for null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub metadata: RowsMetadata,
    pub rows: Vec<Vec<Option<Vec<u8>>>>,
}

impl Rows {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let metadata = RowsMetadata::decode(r)?;
        let row_count = read_count(r, "row count")?;
        let columns = metadata.column_count;
        if columns == 0 {
            if row_count > MAX_ROWS_WITHOUT_COLUMNS {
                return Err(DecodeError::TooLong {
                    what: "row count of a result without columns",
                    length: row_count as u64,
                    max: MAX_ROWS_WITHOUT_COLUMNS as u64,
                });
            }
        } else {
            // Every cell is at least a 4-byte [bytes] length.
            r.check_room(row_count.saturating_mul(columns), 4, "rows")?;
        }
        let mut rows = Vec::with_capacity(row_count);
        for _ in 0..row_count {
            let mut row = Vec::with_capacity(columns);
            for _ in 0..columns {
                row.push(r.read_bytes().context("cell")?.map(<[u8]>::to_vec));
            }
            rows.push(row);
        }
        Ok(Rows { metadata, rows })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        self.metadata.encode(out);
        write_int(out, len_as_int(self.rows.len()));
        for row in &self.rows {
            for cell in row {
                write_bytes(out, cell.as_deref());
            }
        }
    }
}

/// A Prepared result's `<metadata>`: the bind markers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreparedMetadata {
    pub columns: Vec<ColumnSpec>,
    /// Bind marker index of each partition key column, in key order.
    pub pk_indexes: Vec<u16>,
}

impl PreparedMetadata {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.read_int().context("prepared metadata flags")?;
        let column_count = read_count(r, "bind marker count")?;
        let pk_count = read_count(r, "partition key index count")?;
        r.check_room(pk_count, 2, "partition key indexes")?;
        let mut pk_indexes = Vec::with_capacity(pk_count);
        for _ in 0..pk_count {
            pk_indexes.push(r.read_short().context("partition key index")?);
        }
        let columns = read_column_specs(r, column_count, flags & FLAG_GLOBAL_TABLES_SPEC != 0)?;
        Ok(PreparedMetadata { columns, pk_indexes })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let global = global_table_spec(&self.columns).is_some();
        write_int(out, if global { FLAG_GLOBAL_TABLES_SPEC } else { 0 });
        write_int(out, len_as_int(self.columns.len()));
        write_int(out, len_as_int(self.pk_indexes.len()));
        for i in &self.pk_indexes {
            write_short(out, *i);
        }
        write_column_specs(out, &self.columns, global);
    }
}

/// A Prepared result (4.2.5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub id: Vec<u8>,
    pub metadata: PreparedMetadata,
    pub result_metadata: RowsMetadata,
}

impl Prepared {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = r.read_short_bytes().context("prepared statement id")?.to_vec();
        let metadata = PreparedMetadata::decode(r)?;
        let result_metadata = RowsMetadata::decode(r)?;
        Ok(Prepared {
            id,
            metadata,
            result_metadata,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_short_bytes(out, &self.id);
        self.metadata.encode(out);
        self.result_metadata.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{SchemaChangeTarget, SchemaChangeType};

    fn round_trip(golden: &[u8], result: &ResultBody) {
        let mut out = Vec::new();
        result.encode(&mut out);
        assert_eq!(out, golden);
        let mut r = Reader::new(golden);
        assert_eq!(&ResultBody::decode(&mut r).unwrap(), result);
        assert!(r.is_empty());
    }

    fn column(keyspace: &str, table: &str, name: &str, ty: ColumnType) -> ColumnSpec {
        ColumnSpec {
            keyspace: keyspace.into(),
            table: table.into(),
            name: name.into(),
            ty,
        }
    }

    #[test]
    fn a_void_result_is_just_its_kind() {
        round_trip(&[0, 0, 0, 1], &ResultBody::Void);
    }

    #[test]
    fn a_set_keyspace_result_names_the_keyspace() {
        round_trip(b"\x00\x00\x00\x03\x00\x02ks", &ResultBody::SetKeyspace("ks".into()));
    }

    #[test]
    fn a_rows_result_with_one_table_uses_the_global_table_spec() {
        let mut golden = vec![0, 0, 0, 2]; // Rows
        golden.extend_from_slice(&[0, 0, 0, 1]); // Global_tables_spec
        golden.extend_from_slice(&[0, 0, 0, 2]); // two columns
        golden.extend_from_slice(b"\x00\x02ks\x00\x01t");
        golden.extend_from_slice(b"\x00\x01k\x00\x09\x00\x01v\x00\x0D");
        golden.extend_from_slice(&[0, 0, 0, 2]); // two rows
        golden.extend_from_slice(b"\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x02hi");
        golden.extend_from_slice(b"\x00\x00\x00\x04\x00\x00\x00\x02\xFF\xFF\xFF\xFF");
        round_trip(
            &golden,
            &ResultBody::Rows(Rows {
                metadata: RowsMetadata::new(vec![
                    column("ks", "t", "k", ColumnType::Int),
                    column("ks", "t", "v", ColumnType::Varchar),
                ]),
                rows: vec![
                    vec![Some(vec![0, 0, 0, 1]), Some(b"hi".to_vec())],
                    vec![Some(vec![0, 0, 0, 2]), None],
                ],
            }),
        );
    }

    #[test]
    fn a_rows_result_across_tables_specs_each_column() {
        let mut golden = vec![0, 0, 0, 2];
        golden.extend_from_slice(&[0, 0, 0, 2]); // Has_more_pages
        golden.extend_from_slice(&[0, 0, 0, 2]);
        golden.extend_from_slice(b"\x00\x00\x00\x01\x07"); // paging state
        golden.extend_from_slice(b"\x00\x01a\x00\x01t\x00\x01x\x00\x02");
        golden.extend_from_slice(b"\x00\x01b\x00\x01t\x00\x01y\x00\x04");
        golden.extend_from_slice(&[0, 0, 0, 0]); // no rows
        round_trip(
            &golden,
            &ResultBody::Rows(Rows {
                metadata: RowsMetadata {
                    paging_state: Some(vec![7]),
                    ..RowsMetadata::new(vec![
                        column("a", "t", "x", ColumnType::Bigint),
                        column("b", "t", "y", ColumnType::Boolean),
                    ])
                },
                rows: vec![],
            }),
        );
    }

    #[test]
    fn a_rows_result_without_metadata_sends_only_the_count() {
        let golden = b"\x00\x00\x00\x02\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x2A";
        round_trip(
            golden,
            &ResultBody::Rows(Rows {
                metadata: RowsMetadata {
                    column_count: 1,
                    ..RowsMetadata::empty()
                },
                rows: vec![vec![Some(vec![0x2A])]],
            }),
        );
    }

    #[test]
    fn a_prepared_result_lists_partition_key_indexes() {
        let mut golden = vec![0, 0, 0, 4]; // Prepared
        golden.extend_from_slice(b"\x00\x02\xAB\xCD"); // id
        golden.extend_from_slice(&[0, 0, 0, 1]); // Global_tables_spec
        golden.extend_from_slice(&[0, 0, 0, 2]); // two bind markers
        golden.extend_from_slice(&[0, 0, 0, 2, 0, 1, 0, 0]); // pk indexes [1, 0]
        golden.extend_from_slice(b"\x00\x02ks\x00\x01t");
        golden.extend_from_slice(b"\x00\x01a\x00\x09\x00\x01b\x00\x0C");
        golden.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0]); // result metadata: No_metadata, 0
        round_trip(
            &golden,
            &ResultBody::Prepared(Prepared {
                id: vec![0xAB, 0xCD],
                metadata: PreparedMetadata {
                    columns: vec![column("ks", "t", "a", ColumnType::Int), column("ks", "t", "b", ColumnType::Uuid)],
                    pk_indexes: vec![1, 0],
                },
                result_metadata: RowsMetadata::empty(),
            }),
        );
    }

    #[test]
    fn a_schema_change_result_for_a_table_has_keyspace_and_name() {
        round_trip(
            b"\x00\x00\x00\x05\x00\x07UPDATED\x00\x05TABLE\x00\x02ks\x00\x01t",
            &ResultBody::SchemaChange(SchemaChange {
                change: SchemaChangeType::Updated,
                target: SchemaChangeTarget::Table {
                    keyspace: "ks".into(),
                    name: "t".into(),
                },
            }),
        );
    }

    #[test]
    fn huge_row_and_column_counts_are_refused_before_allocating() {
        // No_metadata, i32::MAX columns, i32::MAX rows, nothing else.
        let body = b"\x00\x00\x00\x02\x00\x00\x00\x04\x7F\xFF\xFF\xFF\x7F\xFF\xFF\xFF";
        let err = ResultBody::decode(&mut Reader::new(body)).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "rows",
                needed: (i32::MAX as usize).pow(2) * 4,
                available: 0
            }
        );
        // Full metadata claiming i32::MAX columns.
        let body = b"\x00\x00\x00\x02\x00\x00\x00\x00\x7F\xFF\xFF\xFF";
        let err = ResultBody::decode(&mut Reader::new(body)).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "column specs",
                needed: i32::MAX as usize * 8,
                available: 0
            }
        );
        // Zero columns, i32::MAX rows.
        let body = b"\x00\x00\x00\x02\x00\x00\x00\x04\x00\x00\x00\x00\x7F\xFF\xFF\xFF";
        let err = ResultBody::decode(&mut Reader::new(body)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row count of a result without columns is 2147483647 long, more than the limit of 65536"
        );
    }

    #[test]
    fn negative_counts_and_unknown_kinds_are_errors() {
        let body = b"\x00\x00\x00\x02\x00\x00\x00\x04\xFF\xFF\xFF\xFF";
        let err = ResultBody::decode(&mut Reader::new(body)).unwrap_err();
        assert_eq!(err.to_string(), "column count has a negative length (-1)");
        let err = ResultBody::decode(&mut Reader::new(&[0, 0, 0, 9])).unwrap_err();
        assert_eq!(err, DecodeError::UnknownResultKind { kind: 9 });
    }
}
