//! The `[option]` codec for column types (spec section 4.2.5.2): an id `[short]`,
//! then nothing for native types, a `[string]` class name for custom types, and
//! nested options for list, map, set, UDT and tuple. The type tree itself lives in
//! `types`.

use crate::error::{Context, DecodeError};
use crate::types::ColumnType;
use crate::wire::{write_count, write_short, write_string, Reader};

/// How deeply collection, UDT and tuple types may nest before decoding gives up:
/// far more than any schema uses, and small enough that recursion stays shallow.
pub const MAX_OPTION_DEPTH: usize = 32;

/// Reads one `[option]` describing a column type.
pub fn read_option(r: &mut Reader<'_>) -> Result<ColumnType, DecodeError> {
    read_option_at(r, 0)
}

fn read_option_at(r: &mut Reader<'_>, depth: usize) -> Result<ColumnType, DecodeError> {
    if depth >= MAX_OPTION_DEPTH {
        return Err(DecodeError::TooDeep { max: MAX_OPTION_DEPTH });
    }
    let id = r.read_short().context("[option] id")?;
    let inner = |r: &mut Reader<'_>| read_option_at(r, depth + 1).map(Box::new);
    Ok(match id {
        0x0000 => ColumnType::Custom(r.read_string().context("custom type class name")?),
        0x0001 => ColumnType::Ascii,
        0x0002 => ColumnType::Bigint,
        0x0003 => ColumnType::Blob,
        0x0004 => ColumnType::Boolean,
        0x0005 => ColumnType::Counter,
        0x0006 => ColumnType::Decimal,
        0x0007 => ColumnType::Double,
        0x0008 => ColumnType::Float,
        0x0009 => ColumnType::Int,
        0x000B => ColumnType::Timestamp,
        0x000C => ColumnType::Uuid,
        0x000D => ColumnType::Varchar,
        0x000E => ColumnType::Varint,
        0x000F => ColumnType::Timeuuid,
        0x0010 => ColumnType::Inet,
        0x0011 => ColumnType::Date,
        0x0012 => ColumnType::Time,
        0x0013 => ColumnType::Smallint,
        0x0014 => ColumnType::Tinyint,
        0x0015 => ColumnType::Duration,
        0x0020 => ColumnType::List(inner(r)?),
        0x0021 => {
            let key = inner(r)?;
            let value = inner(r)?;
            ColumnType::Map(key, value)
        }
        0x0022 => ColumnType::Set(inner(r)?),
        0x0030 => {
            let keyspace = r.read_string().context("UDT keyspace")?;
            let name = r.read_string().context("UDT name")?;
            let n = usize::from(r.read_short().context("UDT field count")?);
            // A field is at least a [string] name and an [option] id.
            r.check_room(n, 4, "UDT fields")?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                let field = r.read_string().context("UDT field name")?;
                fields.push((field, read_option_at(r, depth + 1)?));
            }
            ColumnType::Udt { keyspace, name, fields }
        }
        0x0031 => {
            let n = usize::from(r.read_short().context("tuple arity")?);
            r.check_room(n, 2, "tuple component types")?;
            let mut types = Vec::with_capacity(n);
            for _ in 0..n {
                types.push(read_option_at(r, depth + 1)?);
            }
            ColumnType::Tuple(types)
        }
        id => return Err(DecodeError::UnknownTypeId { id }),
    })
}

/// Writes one `[option]`. UDTs and tuples with more than 65535 members are cut to
/// 65535, the most a `[short]` count can say.
pub fn write_option(out: &mut Vec<u8>, ty: &ColumnType) {
    write_short(out, ty.id());
    match ty {
        ColumnType::Custom(class) => write_string(out, class),
        ColumnType::List(inner) | ColumnType::Set(inner) => write_option(out, inner),
        ColumnType::Map(key, value) => {
            write_option(out, key);
            write_option(out, value);
        }
        ColumnType::Udt { keyspace, name, fields } => {
            write_string(out, keyspace);
            write_string(out, name);
            let n = write_count(out, fields.len());
            for (field, ty) in fields.iter().take(n) {
                write_string(out, field);
                write_option(out, ty);
            }
        }
        ColumnType::Tuple(types) => {
            let n = write_count(out, types.len());
            for ty in types.iter().take(n) {
                write_option(out, ty);
            }
        }
        ColumnType::Ascii
        | ColumnType::Bigint
        | ColumnType::Blob
        | ColumnType::Boolean
        | ColumnType::Counter
        | ColumnType::Decimal
        | ColumnType::Double
        | ColumnType::Float
        | ColumnType::Int
        | ColumnType::Timestamp
        | ColumnType::Uuid
        | ColumnType::Varchar
        | ColumnType::Varint
        | ColumnType::Timeuuid
        | ColumnType::Inet
        | ColumnType::Date
        | ColumnType::Time
        | ColumnType::Smallint
        | ColumnType::Tinyint
        | ColumnType::Duration => {}
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::wire::strategies::string;
    use proptest::prelude::*;

    pub fn column_type() -> impl Strategy<Value = ColumnType> {
        let leaf = prop_oneof![
            string().prop_map(ColumnType::Custom),
            proptest::sample::select(vec![
                ColumnType::Ascii,
                ColumnType::Bigint,
                ColumnType::Blob,
                ColumnType::Boolean,
                ColumnType::Counter,
                ColumnType::Decimal,
                ColumnType::Double,
                ColumnType::Float,
                ColumnType::Int,
                ColumnType::Timestamp,
                ColumnType::Uuid,
                ColumnType::Varchar,
                ColumnType::Varint,
                ColumnType::Timeuuid,
                ColumnType::Inet,
                ColumnType::Date,
                ColumnType::Time,
                ColumnType::Smallint,
                ColumnType::Tinyint,
                ColumnType::Duration,
            ]),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|t| ColumnType::List(Box::new(t))),
                inner.clone().prop_map(|t| ColumnType::Set(Box::new(t))),
                (inner.clone(), inner.clone()).prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v))),
                (string(), string(), proptest::collection::vec((string(), inner.clone()), 0..4))
                    .prop_map(|(keyspace, name, fields)| ColumnType::Udt { keyspace, name, fields }),
                proptest::collection::vec(inner, 0..4).prop_map(ColumnType::Tuple),
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::column_type;
    use super::*;
    use proptest::prelude::*;

    fn encoded(ty: &ColumnType) -> Vec<u8> {
        let mut out = Vec::new();
        write_option(&mut out, ty);
        out
    }

    #[test]
    fn a_native_type_is_just_its_id() {
        assert_eq!(encoded(&ColumnType::Int), [0x00, 0x09]);
        assert_eq!(encoded(&ColumnType::Varchar), [0x00, 0x0D]);
        assert_eq!(read_option(&mut Reader::new(&[0x00, 0x14])).unwrap(), ColumnType::Tinyint);
    }

    #[test]
    fn a_map_of_text_to_list_of_int_nests_its_options() {
        let ty = ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::List(Box::new(ColumnType::Int))));
        let bytes = [0x00, 0x21, 0x00, 0x0D, 0x00, 0x20, 0x00, 0x09];
        assert_eq!(encoded(&ty), bytes);
        assert_eq!(read_option(&mut Reader::new(&bytes)).unwrap(), ty);
    }

    #[test]
    fn a_udt_carries_keyspace_name_and_named_fields() {
        let ty = ColumnType::Udt {
            keyspace: "ks".into(),
            name: "addr".into(),
            fields: vec![("zip".into(), ColumnType::Int)],
        };
        let bytes = b"\x00\x30\x00\x02ks\x00\x04addr\x00\x01\x00\x03zip\x00\x09";
        assert_eq!(encoded(&ty), bytes);
        assert_eq!(read_option(&mut Reader::new(bytes)).unwrap(), ty);
    }

    #[test]
    fn a_tuple_and_a_custom_type_round_trip_from_spec_bytes() {
        let bytes = b"\x00\x31\x00\x02\x00\x01\x00\x00\x00\x03a.B";
        let ty = ColumnType::Tuple(vec![ColumnType::Ascii, ColumnType::Custom("a.B".into())]);
        assert_eq!(read_option(&mut Reader::new(bytes)).unwrap(), ty);
        assert_eq!(encoded(&ty), bytes);
    }

    #[test]
    fn an_unknown_type_id_is_an_error() {
        let err = read_option(&mut Reader::new(&[0x00, 0x0A])).unwrap_err();
        assert_eq!(err, DecodeError::UnknownTypeId { id: 0x0A });
        assert_eq!(err.to_string(), "unknown column type id 0x000A");
    }

    #[test]
    fn types_nested_too_deep_are_refused() {
        let bytes: Vec<u8> = std::iter::repeat_n([0x00, 0x20], 10_000).flatten().collect();
        let err = read_option(&mut Reader::new(&bytes)).unwrap_err();
        assert_eq!(err, DecodeError::TooDeep { max: MAX_OPTION_DEPTH });
        let mut ty = ColumnType::Int;
        for _ in 0..MAX_OPTION_DEPTH - 1 {
            ty = ColumnType::List(Box::new(ty));
        }
        assert_eq!(read_option(&mut Reader::new(&encoded(&ty))).unwrap(), ty);
    }

    #[test]
    fn a_udt_claiming_many_fields_is_refused_before_allocating() {
        let bytes = b"\x00\x30\x00\x00\x00\x00\xFF\xFF";
        let err = read_option(&mut Reader::new(bytes)).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "UDT fields",
                needed: 65535 * 4,
                available: 0
            }
        );
    }

    proptest! {
        #[test]
        fn every_column_type_round_trips(ty in column_type()) {
            let bytes = encoded(&ty);
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(read_option(&mut r).unwrap(), ty);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn read_option_never_panics(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = read_option(&mut Reader::new(&input));
        }

        #[test]
        fn read_option_never_panics_on_mutated_types(
            ty in column_type(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = encoded(&ty);
            for (i, b) in edits {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
            let _ = read_option(&mut Reader::new(&bytes));
        }
    }
}
