use std::cmp::Ordering;
use std::net::IpAddr;

use num_bigint::BigInt;
use proptest::collection::vec;
use proptest::prelude::*;
use uuid::Uuid;

use super::literal::civil_from_days;
use super::{Value, ValueError, MAX_DEPTH, MAX_TIME_NANOS};
use crate::types::ColumnType;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn varint(v: i64) -> Value {
    Value::Varint(BigInt::from(v))
}

fn decimal(unscaled: i64, scale: i32) -> Value {
    Value::Decimal {
        unscaled: BigInt::from(unscaled),
        scale,
    }
}

fn udt_type(fields: Vec<(&str, ColumnType)>) -> ColumnType {
    ColumnType::Udt {
        keyspace: "ks".to_owned(),
        name: "address".to_owned(),
        fields: fields.into_iter().map(|(n, t)| (n.to_owned(), t)).collect(),
    }
}

/// Encodes, checks the bytes, and decodes them back to the same value.
fn assert_golden(ty: ColumnType, value: Value, expected: &str) {
    let bytes = value.to_bytes();
    assert_eq!(bytes, hex(expected), "encoding of {value:?}");
    assert_eq!(Value::deserialize(&ty, &bytes), Ok(value));
}

#[test]
fn every_fixed_size_type_has_its_spec_encoding() {
    assert_golden(ColumnType::Int, Value::Int(1), "00 00 00 01");
    assert_golden(ColumnType::Int, Value::Int(-2), "ff ff ff fe");
    assert_golden(ColumnType::Bigint, Value::Bigint(1), "00 00 00 00 00 00 00 01");
    assert_golden(ColumnType::Counter, Value::Counter(-1), "ff ff ff ff ff ff ff ff");
    assert_golden(ColumnType::Smallint, Value::Smallint(258), "01 02");
    assert_golden(ColumnType::Tinyint, Value::Tinyint(-128), "80");
    assert_golden(ColumnType::Boolean, Value::Boolean(true), "01");
    assert_golden(ColumnType::Boolean, Value::Boolean(false), "00");
    assert_golden(ColumnType::Double, Value::Double(1.5), "3f f8 00 00 00 00 00 00");
    assert_golden(ColumnType::Float, Value::Float(1.5), "3f c0 00 00");
    assert_golden(
        ColumnType::Timestamp,
        Value::Timestamp(1_704_164_645_678),
        "00 00 01 8c c8 20 db 2e",
    );
    assert_golden(ColumnType::Date, Value::Date(1 << 31), "80 00 00 00");
    assert_golden(ColumnType::Time, Value::Time(1_000_000_000), "00 00 00 00 3b 9a ca 00");
    let uuid = Uuid::parse_str("00112233-4455-1677-8899-aabbccddeeff").unwrap();
    assert_golden(ColumnType::Uuid, Value::Uuid(uuid), "00112233445516778899aabbccddeeff");
    assert_golden(ColumnType::Timeuuid, Value::Timeuuid(uuid), "00112233445516778899aabbccddeeff");
}

#[test]
fn a_nonzero_boolean_byte_other_than_one_decodes_as_true() {
    assert_eq!(Value::deserialize(&ColumnType::Boolean, &[0x7f]), Ok(Value::Boolean(true)));
}

#[test]
fn strings_and_blobs_are_their_bytes() {
    assert_golden(ColumnType::Ascii, Value::Ascii("hi".to_owned()), "68 69");
    assert_golden(ColumnType::Varchar, Value::Text("é".to_owned()), "c3 a9");
    assert_golden(ColumnType::Blob, Value::Blob(vec![0xca, 0xfe]), "ca fe");
    assert_golden(ColumnType::Varchar, Value::Text(String::new()), "");
    assert_golden(ColumnType::Blob, Value::Blob(Vec::new()), "");
}

#[test]
fn varints_use_the_spec_table_of_minimal_twos_complement() {
    for (v, expected) in [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "00 80"),
        (129, "00 81"),
        (-1, "ff"),
        (-128, "80"),
        (-129, "ff 7f"),
    ] {
        assert_golden(ColumnType::Varint, varint(v), expected);
    }
}

#[test]
fn a_decimal_is_its_scale_then_its_unscaled_varint() {
    assert_golden(ColumnType::Decimal, decimal(15, 1), "00 00 00 01 0f");
    assert_golden(ColumnType::Decimal, decimal(-1, -2), "ff ff ff fe ff");
}

#[test]
fn inet_is_four_or_sixteen_octets() {
    let v4: IpAddr = "1.2.3.4".parse().unwrap();
    let v6: IpAddr = "::1".parse().unwrap();
    assert_golden(ColumnType::Inet, Value::Inet(v4), "01 02 03 04");
    assert_golden(ColumnType::Inet, Value::Inet(v6), "00000000000000000000000000000001");
    assert_eq!(
        Value::deserialize(&ColumnType::Inet, &[1, 2, 3]),
        Err(ValueError::InvalidInetLength { got: 3 })
    );
}

#[test]
fn a_duration_is_three_zigzag_vints() {
    let duration = |months, days, nanoseconds| Value::Duration { months, days, nanoseconds };
    assert_golden(ColumnType::Duration, duration(1, 2, 3), "02 04 06");
    assert_golden(ColumnType::Duration, duration(-1, 0, -3), "01 00 05");
    // 64 zig-zags to 128, the first value needing a second byte.
    assert_golden(ColumnType::Duration, duration(64, 0, 0), "80 80 00 00");
    // One hour: 7_200_000_000_000 zig-zagged needs 43 bits, so 6 extra bytes.
    assert_golden(
        ColumnType::Duration,
        duration(0, 0, 3_600_000_000_000),
        "00 00 fc 06 8c 61 71 40 00",
    );
    assert_golden(ColumnType::Duration, duration(0, 0, i64::MIN), "00 00 ff ff ff ff ff ff ff ff ff");
}

#[test]
fn a_duration_with_mixed_signs_is_refused() {
    assert_eq!(
        Value::deserialize(&ColumnType::Duration, &hex("02 03 00")),
        Err(ValueError::DurationMixedSigns {
            months: 1,
            days: -2,
            nanoseconds: 0
        })
    );
}

#[test]
fn a_duration_whose_months_exceed_32_bits_is_refused() {
    let mut bytes = Vec::new();
    super::write_vint(&mut bytes, 1 << 40);
    bytes.extend_from_slice(&[0, 0]);
    assert_eq!(
        Value::deserialize(&ColumnType::Duration, &bytes),
        Err(ValueError::DurationOutOfRange {
            field: "months",
            value: 1 << 40
        })
    );
}

#[test]
fn a_list_of_ints_is_a_count_then_length_prefixed_elements() {
    assert_golden(
        ColumnType::List(Box::new(ColumnType::Int)),
        Value::List(vec![Value::Int(1), Value::Int(2)]),
        "00 00 00 02 00 00 00 04 00 00 00 01 00 00 00 04 00 00 00 02",
    );
    assert_golden(
        ColumnType::Set(Box::new(ColumnType::Tinyint)),
        Value::Set(vec![Value::Tinyint(7)]),
        "00 00 00 01 00 00 00 01 07",
    );
}

#[test]
fn a_map_alternates_keys_and_values() {
    assert_golden(
        ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Int)),
        Value::Map(vec![(Value::Text("a".to_owned()), Value::Int(1))]),
        "00 00 00 01 00 00 00 01 61 00 00 00 04 00 00 00 01",
    );
}

#[test]
fn collections_nest_inside_collections() {
    let ty = ColumnType::List(Box::new(ColumnType::Set(Box::new(ColumnType::Int))));
    assert_golden(
        ty,
        Value::List(vec![Value::Set(vec![Value::Int(1)]), Value::Set(vec![])]),
        "00 00 00 02  00 00 00 0c 00 00 00 01 00 00 00 04 00 00 00 01  00 00 00 04 00 00 00 00",
    );
}

#[test]
fn a_tuple_writes_each_element_as_bytes_with_null_as_minus_one() {
    assert_golden(
        ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar]),
        Value::Tuple(vec![Some(Value::Int(1)), None]),
        "00 00 00 04 00 00 00 01 ff ff ff ff",
    );
}

#[test]
fn a_udt_writes_its_fields_in_order() {
    let ty = udt_type(vec![("a", ColumnType::Int), ("b", ColumnType::Varchar)]);
    assert_golden(
        ty,
        Value::Udt(vec![
            ("a".to_owned(), Some(Value::Int(1))),
            ("b".to_owned(), Some(Value::Text("x".to_owned()))),
        ]),
        "00 00 00 04 00 00 00 01 00 00 00 01 78",
    );
}

#[test]
fn a_udt_value_missing_trailing_fields_decodes_them_as_null() {
    let ty = udt_type(vec![("a", ColumnType::Int), ("b", ColumnType::Varchar), ("c", ColumnType::Int)]);
    assert_eq!(
        Value::deserialize(&ty, &hex("00 00 00 04 00 00 00 01")),
        Ok(Value::Udt(vec![
            ("a".to_owned(), Some(Value::Int(1))),
            ("b".to_owned(), None),
            ("c".to_owned(), None),
        ]))
    );
}

#[test]
fn a_udt_value_with_more_fields_than_its_type_is_refused() {
    let ty = udt_type(vec![("a", ColumnType::Int)]);
    assert_eq!(
        Value::deserialize(&ty, &hex("00 00 00 04 00 00 00 01 ff ff ff ff")),
        Err(ValueError::TrailingBytes {
            type_name: "udt",
            extra: 4
        })
    );
}

#[test]
fn wrong_sizes_name_the_type_and_both_lengths() {
    assert_eq!(
        Value::deserialize(&ColumnType::Int, &[0, 0, 1]),
        Err(ValueError::WrongSize {
            type_name: "int",
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        Value::deserialize(&ColumnType::Bigint, &[0; 9]),
        Err(ValueError::WrongSize {
            type_name: "bigint",
            expected: 8,
            got: 9
        })
    );
    assert_eq!(
        Value::deserialize(&ColumnType::Uuid, &[0; 15]),
        Err(ValueError::WrongSize {
            type_name: "uuid",
            expected: 16,
            got: 15
        })
    );
    let message = Value::deserialize(&ColumnType::Int, &[0, 0, 1]).unwrap_err().to_string();
    assert_eq!(message, "expected 4 bytes for an int, got 3");
}

#[test]
fn empty_values_of_fixed_size_types_are_wrong_sizes() {
    for (ty, name, size) in [
        (ColumnType::Bigint, "bigint", 8),
        (ColumnType::Boolean, "boolean", 1),
        (ColumnType::Counter, "counter", 8),
        (ColumnType::Double, "double", 8),
        (ColumnType::Float, "float", 4),
        (ColumnType::Int, "int", 4),
        (ColumnType::Timestamp, "timestamp", 8),
        (ColumnType::Uuid, "uuid", 16),
        (ColumnType::Timeuuid, "timeuuid", 16),
        (ColumnType::Date, "date", 4),
        (ColumnType::Time, "time", 8),
        (ColumnType::Smallint, "smallint", 2),
        (ColumnType::Tinyint, "tinyint", 1),
    ] {
        assert_eq!(
            Value::deserialize(&ty, &[]),
            Err(ValueError::WrongSize {
                type_name: name,
                expected: size,
                got: 0
            })
        );
    }
}

#[test]
fn empty_varints_and_decimals_are_truncated() {
    assert_eq!(
        Value::deserialize(&ColumnType::Varint, &[]),
        Err(ValueError::Truncated {
            what: "varint",
            needed: 1,
            available: 0
        })
    );
    assert_eq!(
        Value::deserialize(&ColumnType::Decimal, &[0, 0]),
        Err(ValueError::Truncated {
            what: "decimal scale",
            needed: 4,
            available: 2
        })
    );
}

#[test]
fn non_ascii_bytes_in_ascii_are_refused_with_their_position() {
    assert_eq!(
        Value::deserialize(&ColumnType::Ascii, b"ab\xc3\xa9"),
        Err(ValueError::NotAscii { index: 2, byte: 0xc3 })
    );
}

#[test]
fn invalid_utf8_in_text_is_refused() {
    assert_eq!(
        Value::deserialize(&ColumnType::Varchar, b"a\xff"),
        Err(ValueError::InvalidUtf8 {
            type_name: "text",
            valid_up_to: 1
        })
    );
}

#[test]
fn a_time_outside_one_day_is_refused() {
    let bytes = (MAX_TIME_NANOS + 1).to_be_bytes();
    assert_eq!(
        Value::deserialize(&ColumnType::Time, &bytes),
        Err(ValueError::TimeOutOfRange {
            nanoseconds: MAX_TIME_NANOS + 1
        })
    );
}

#[test]
fn a_collection_count_larger_than_the_bytes_is_refused_before_allocating() {
    let ty = ColumnType::List(Box::new(ColumnType::Int));
    assert_eq!(
        Value::deserialize(&ty, &hex("7f ff ff ff 00 00 00 00")),
        Err(ValueError::Truncated {
            what: "list",
            needed: 0x7fff_ffff * 4,
            available: 4
        })
    );
    assert_eq!(
        Value::deserialize(&ty, &hex("ff ff ff fe")),
        Err(ValueError::NegativeLength { what: "list", length: -2 })
    );
}

#[test]
fn a_null_collection_element_is_refused() {
    let ty = ColumnType::Set(Box::new(ColumnType::Int));
    assert_eq!(
        Value::deserialize(&ty, &hex("00 00 00 01 ff ff ff ff")),
        Err(ValueError::NullElement { type_name: "set" })
    );
}

#[test]
fn an_element_longer_than_the_remaining_bytes_is_truncated() {
    let ty = ColumnType::List(Box::new(ColumnType::Blob));
    assert_eq!(
        Value::deserialize(&ty, &hex("00 00 00 01 00 00 00 09 01 02")),
        Err(ValueError::Truncated {
            what: "list",
            needed: 9,
            available: 2
        })
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let mut ty = ColumnType::Int;
    for _ in 0..=MAX_DEPTH {
        ty = ColumnType::List(Box::new(ty));
    }
    // An empty outer list never reaches the limit; a full chain of one-element lists does.
    let mut value = Value::Int(0);
    for _ in 0..=MAX_DEPTH {
        value = Value::List(vec![value]);
    }
    assert_eq!(
        Value::deserialize(&ty, &value.to_bytes()),
        Err(ValueError::TooDeep { limit: MAX_DEPTH })
    );
    let ColumnType::List(inner) = ty else { unreachable!() };
    let Value::List(mut items) = value else { unreachable!() };
    let inner_value = items.pop().unwrap();
    assert_eq!(Value::deserialize(&inner, &inner_value.to_bytes()), Ok(inner_value));
}

#[test]
fn custom_types_are_unsupported() {
    assert_eq!(
        Value::deserialize(&ColumnType::Custom("org.Foo".to_owned()), &[]),
        Err(ValueError::CustomTypeUnsupported {
            class: "org.Foo".to_owned()
        })
    );
}

#[test]
fn check_type_reports_a_mismatch_with_the_type_and_the_literal() {
    let ty = ColumnType::List(Box::new(ColumnType::Int));
    assert_eq!(Value::List(vec![Value::Int(1)]).check_type(&ty), Ok(()));
    assert_eq!(
        Value::List(vec![Value::Text("x".to_owned())]).check_type(&ty),
        Err(ValueError::Mismatch {
            expected: "int".to_owned(),
            value: "'x'".to_owned()
        })
    );
    assert_eq!(
        Value::Int(1).check_type(&ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Blob))),
        Err(ValueError::Mismatch {
            expected: "map<text, blob>".to_owned(),
            value: "1".to_owned()
        })
    );
}

#[test]
fn literals_print_the_way_cqlsh_does() {
    let cases = [
        (Value::Text("it's".to_owned()), "'it''s'"),
        (Value::Ascii(String::new()), "''"),
        (Value::Blob(vec![0xca, 0xfe]), "0xcafe"),
        (Value::Blob(vec![]), "0x"),
        (Value::Boolean(true), "true"),
        (Value::Int(-3), "-3"),
        (varint(12345678901234), "12345678901234"),
        (decimal(15, 1), "1.5"),
        (decimal(-5, 3), "-0.005"),
        (decimal(1, -3), "1E+3"),
        (decimal(123, 10), "1.23E-8"),
        (decimal(0, 2), "0.00"),
        (Value::Double(1.5), "1.5"),
        (Value::Double(f64::NAN), "NaN"),
        (Value::Double(f64::NEG_INFINITY), "-Infinity"),
        (Value::Float(f32::INFINITY), "Infinity"),
        (Value::Timestamp(1_704_164_645_678), "'2024-01-02 03:04:05.678000+0000'"),
        (Value::Timestamp(-1), "'1969-12-31 23:59:59.999000+0000'"),
        (Value::Timestamp(i64::MAX), "9223372036854775807"),
        (Value::Date(2_147_503_372), "'2024-01-02'"),
        (Value::Date(0), "'0'"),
        (Value::Time(11_045_000_000_000), "'03:04:05.000000000'"),
        (Value::Time(1), "'00:00:00.000000001'"),
        (Value::Inet("1.2.3.4".parse().unwrap()), "'1.2.3.4'"),
        (
            Value::Uuid(Uuid::parse_str("00112233-4455-1677-8899-AABBCCDDEEFF").unwrap()),
            "00112233-4455-1677-8899-aabbccddeeff",
        ),
        (
            Value::Duration {
                months: 1,
                days: 2,
                nanoseconds: 3 * 3_600_000_000_000,
            },
            "1mo2d3h",
        ),
        (
            Value::Duration {
                months: 14,
                days: 0,
                nanoseconds: 1_001_001,
            },
            "1y2mo1ms1us1ns",
        ),
        (
            Value::Duration {
                months: -1,
                days: 0,
                nanoseconds: -60_000_000_000,
            },
            "-1mo1m",
        ),
        (
            Value::Duration {
                months: 0,
                days: 0,
                nanoseconds: 0,
            },
            "0s",
        ),
        (Value::List(vec![Value::Int(1), Value::Int(2)]), "[1, 2]"),
        (Value::Set(vec![Value::Int(1), Value::Int(2)]), "{1, 2}"),
        (Value::Map(vec![(Value::Text("a".to_owned()), Value::Int(1))]), "{'a': 1}"),
        (
            Value::Tuple(vec![Some(Value::Int(1)), Some(Value::Text("a".to_owned())), None]),
            "(1, 'a', null)",
        ),
        (
            Value::Udt(vec![
                ("a".to_owned(), Some(Value::Int(1))),
                ("b".to_owned(), Some(Value::Text("x".to_owned()))),
                ("Odd".to_owned(), None),
            ]),
            "{a: 1, b: 'x', \"Odd\": null}",
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(value.cql_literal(), expected, "{value:?}");
    }
}

#[test]
fn civil_from_days_matches_known_dates() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(19_724), (2024, 1, 2));
    assert_eq!(civil_from_days(-719_162), (1, 1, 1));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
}

#[test]
fn compare_orders_numbers_numerically() {
    assert_eq!(Value::Int(-1).compare(&Value::Int(2)), Ordering::Less);
    assert_eq!(varint(-300).compare(&varint(2)), Ordering::Less);
    assert_eq!(decimal(15, 1).compare(&decimal(150, 2)), Ordering::Equal);
    assert_eq!(decimal(15, 1).compare(&decimal(2, 0)), Ordering::Less);
    assert_eq!(decimal(-15, 1).compare(&decimal(-2, 0)), Ordering::Greater);
    assert_eq!(decimal(1, -2_000_000_000).compare(&decimal(1, 2_000_000_000)), Ordering::Greater);
    assert_eq!(Value::Double(f64::NAN).compare(&Value::Double(f64::INFINITY)), Ordering::Greater);
    assert_eq!(Value::Double(-0.0).compare(&Value::Double(0.0)), Ordering::Less);
    assert_eq!(Value::Float(-f32::NAN).compare(&Value::Float(f32::NAN)), Ordering::Equal);
    assert_eq!(Value::Date(1).compare(&Value::Date(u32::MAX)), Ordering::Less);
}

#[test]
fn compare_orders_text_and_blobs_bytewise() {
    assert_eq!(Value::Text("B".to_owned()).compare(&Value::Text("a".to_owned())), Ordering::Less);
    assert_eq!(
        Value::Text("ab".to_owned()).compare(&Value::Text("a".to_owned())),
        Ordering::Greater
    );
    assert_eq!(Value::Blob(vec![0x7f]).compare(&Value::Blob(vec![0x80])), Ordering::Less);
    assert_eq!(Value::Boolean(false).compare(&Value::Boolean(true)), Ordering::Less);
}

#[test]
fn compare_orders_time_uuids_by_timestamp_before_bytes() {
    // time_low ff.. but time_hi 000: earlier than time_low 00.. with time_hi 001.
    let early = Uuid::parse_str("ffffffff-0000-1000-8000-000000000000").unwrap();
    let late = Uuid::parse_str("00000000-0000-1001-8000-000000000000").unwrap();
    assert_eq!(Value::Timeuuid(early).compare(&Value::Timeuuid(late)), Ordering::Less);
    assert_eq!(Value::Uuid(early).compare(&Value::Uuid(late)), Ordering::Less);
    // Same timestamp: the low half compares as signed bytes, so 0x80 sorts before 0x7f.
    let a = Uuid::parse_str("00000000-0000-1000-0080-000000000000").unwrap();
    let b = Uuid::parse_str("00000000-0000-1000-007f-000000000000").unwrap();
    assert_eq!(Value::Timeuuid(a).compare(&Value::Timeuuid(b)), Ordering::Less);
    assert_eq!(Value::Uuid(a).compare(&Value::Uuid(b)), Ordering::Greater);
}

#[test]
fn compare_orders_uuids_by_version_first() {
    let v4 = Uuid::parse_str("00000000-0000-4000-8000-000000000000").unwrap();
    let v1 = Uuid::parse_str("ffffffff-ffff-1fff-8000-000000000000").unwrap();
    assert_eq!(Value::Uuid(v1).compare(&Value::Uuid(v4)), Ordering::Less);
}

#[test]
fn compare_orders_collections_and_tuples_elementwise_with_null_first() {
    let list = |items: Vec<i32>| Value::List(items.into_iter().map(Value::Int).collect());
    assert_eq!(list(vec![1, 2]).compare(&list(vec![1, 3])), Ordering::Less);
    assert_eq!(list(vec![1]).compare(&list(vec![1, 0])), Ordering::Less);
    assert_eq!(list(vec![2]).compare(&list(vec![1, 9])), Ordering::Greater);
    let tuple = |a: Option<i32>| Value::Tuple(vec![a.map(Value::Int), Some(Value::Int(0))]);
    assert_eq!(tuple(None).compare(&tuple(Some(i32::MIN))), Ordering::Less);
    let map = |k: i32, v: i32| Value::Map(vec![(Value::Int(k), Value::Int(v))]);
    assert_eq!(map(1, 5).compare(&map(1, 4)), Ordering::Greater);
}

fn primitive_type() -> impl Strategy<Value = ColumnType> {
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
    ])
}

fn column_type() -> BoxedStrategy<ColumnType> {
    primitive_type()
        .prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|t| ColumnType::List(Box::new(t))),
                inner.clone().prop_map(|t| ColumnType::Set(Box::new(t))),
                (inner.clone(), inner.clone()).prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v))),
                vec(inner.clone(), 1..4).prop_map(ColumnType::Tuple),
                vec(inner, 1..4).prop_map(|types| ColumnType::Udt {
                    keyspace: "ks".to_owned(),
                    name: "u".to_owned(),
                    fields: types.into_iter().enumerate().map(|(i, t)| (format!("f{i}"), t)).collect(),
                }),
            ]
        })
        .boxed()
}

fn bigint() -> impl Strategy<Value = BigInt> {
    vec(any::<u8>(), 1..24).prop_map(|bytes| BigInt::from_signed_bytes_be(&bytes))
}

fn value_of(ty: &ColumnType) -> BoxedStrategy<Value> {
    match ty {
        ColumnType::Custom(_) => Just(Value::Blob(Vec::new())).boxed(),
        ColumnType::Ascii => "[\\x00-\\x7f]{0,12}".prop_map(Value::Ascii).boxed(),
        ColumnType::Bigint => any::<i64>().prop_map(Value::Bigint).boxed(),
        ColumnType::Blob => vec(any::<u8>(), 0..16).prop_map(Value::Blob).boxed(),
        ColumnType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        ColumnType::Counter => any::<i64>().prop_map(Value::Counter).boxed(),
        ColumnType::Decimal => (bigint(), any::<i32>())
            .prop_map(|(unscaled, scale)| Value::Decimal { unscaled, scale })
            .boxed(),
        ColumnType::Double => any::<f64>().prop_map(Value::Double).boxed(),
        ColumnType::Float => any::<f32>().prop_map(Value::Float).boxed(),
        ColumnType::Int => any::<i32>().prop_map(Value::Int).boxed(),
        ColumnType::Timestamp => any::<i64>().prop_map(Value::Timestamp).boxed(),
        ColumnType::Uuid => any::<[u8; 16]>().prop_map(|b| Value::Uuid(Uuid::from_bytes(b))).boxed(),
        ColumnType::Varchar => any::<String>().prop_map(Value::Text).boxed(),
        ColumnType::Varint => bigint().prop_map(Value::Varint).boxed(),
        ColumnType::Timeuuid => any::<[u8; 16]>().prop_map(|b| Value::Timeuuid(Uuid::from_bytes(b))).boxed(),
        ColumnType::Inet => prop_oneof![
            any::<[u8; 4]>().prop_map(|o| Value::Inet(IpAddr::from(o))),
            any::<[u8; 16]>().prop_map(|o| Value::Inet(IpAddr::from(o))),
        ]
        .boxed(),
        ColumnType::Date => any::<u32>().prop_map(Value::Date).boxed(),
        ColumnType::Time => (0..=MAX_TIME_NANOS).prop_map(Value::Time).boxed(),
        ColumnType::Smallint => any::<i16>().prop_map(Value::Smallint).boxed(),
        ColumnType::Tinyint => any::<i8>().prop_map(Value::Tinyint).boxed(),
        ColumnType::Duration => prop_oneof![
            (0..=i32::MAX, 0..=i32::MAX, 0..=i64::MAX),
            (i32::MIN..=0, i32::MIN..=0, i64::MIN..=0),
        ]
        .prop_map(|(months, days, nanoseconds)| Value::Duration { months, days, nanoseconds })
        .boxed(),
        ColumnType::List(element) => vec(value_of(element), 0..4).prop_map(Value::List).boxed(),
        ColumnType::Set(element) => vec(value_of(element), 0..4).prop_map(Value::Set).boxed(),
        ColumnType::Map(key, value) => vec((value_of(key), value_of(value)), 0..4).prop_map(Value::Map).boxed(),
        ColumnType::Tuple(types) => types
            .iter()
            .map(|t| proptest::option::of(value_of(t)))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        ColumnType::Udt { fields, .. } => {
            let names: Vec<String> = fields.iter().map(|(name, _)| name.clone()).collect();
            fields
                .iter()
                .map(|(_, t)| proptest::option::of(value_of(t)))
                .collect::<Vec<_>>()
                .prop_map(move |values| Value::Udt(names.iter().cloned().zip(values).collect()))
                .boxed()
        }
    }
}

fn typed_value() -> impl Strategy<Value = (ColumnType, Value)> {
    column_type().prop_flat_map(|ty| {
        let values = value_of(&ty);
        (Just(ty), values)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_value_round_trips_through_its_bytes((ty, value) in typed_value()) {
        let bytes = value.to_bytes();
        let decoded = Value::deserialize(&ty, &bytes).unwrap();
        // NaN != NaN, so compare the re-encoding (exact bits) and the printed form.
        prop_assert_eq!(decoded.to_bytes(), bytes);
        prop_assert_eq!(format!("{decoded:?}"), format!("{value:?}"));
        prop_assert_eq!(value.check_type(&ty), Ok(()));
        prop_assert_eq!(decoded.compare(&value), Ordering::Equal);
    }

    #[test]
    fn random_bytes_never_panic_the_decoder(ty in column_type(), bytes in vec(any::<u8>(), 0..64)) {
        let _ = Value::deserialize(&ty, &bytes);
    }

    #[test]
    fn corrupted_encodings_never_panic_the_decoder(
        (ty, value) in typed_value(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        mask in 1..=255_u8,
    ) {
        let mut bytes = value.to_bytes();
        if !bytes.is_empty() {
            let at = flip.index(bytes.len());
            bytes[at] ^= mask;
        }
        let _ = Value::deserialize(&ty, &bytes);
        let end = cut.index(bytes.len() + 1);
        let _ = Value::deserialize(&ty, &bytes[..end]);
    }

    #[test]
    fn literals_of_any_value_never_panic((_ty, value) in typed_value()) {
        prop_assert!(!value.cql_literal().is_empty());
    }

    #[test]
    fn decimal_comparison_matches_exact_rational_comparison(
        a in -1_000_000_i64..1_000_000, scale_a in -6_i32..6,
        b in -1_000_000_i64..1_000_000, scale_b in -6_i32..6,
    ) {
        // Both sides scaled to 10^-12 are exact integers.
        let exact = |v: i64, scale: i32| BigInt::from(v) * BigInt::from(10).pow((12 - scale) as u32);
        prop_assert_eq!(
            decimal(a, scale_a).compare(&decimal(b, scale_b)),
            exact(a, scale_a).cmp(&exact(b, scale_b))
        );
    }

    #[test]
    fn compare_is_antisymmetric_and_reflexive((_ty, a) in typed_value(), (_ty2, b) in typed_value()) {
        prop_assert_eq!(a.compare(&a), Ordering::Equal);
        prop_assert_eq!(a.compare(&b), b.compare(&a).reverse());
    }

    #[test]
    fn timestamps_print_the_same_date_as_civil_from_days(millis in -62_135_596_800_000_i64..253_402_300_799_999) {
        let literal = Value::Timestamp(millis).cql_literal();
        let (year, month, day) = civil_from_days(millis.div_euclid(86_400_000));
        prop_assert!(literal.starts_with(&format!("'{year:04}-{month:02}-{day:02} ")), "{}", literal);
        prop_assert_eq!(literal.len(), "'2024-01-02 03:04:05.678000+0000'".len());
    }
}

#[test]
fn normalizing_puts_sets_and_map_keys_in_cassandras_order_at_every_depth() {
    let ints = |v: &[i32]| v.iter().map(|i| Value::Int(*i)).collect::<Vec<_>>();
    let sent = Value::Map(vec![
        (Value::Set(ints(&[3, 1, 2])), Value::List(vec![Value::Set(ints(&[2, 1, 2]))])),
        (Value::Set(ints(&[1, 2, 3])), Value::List(vec![])),
        (Value::Set(ints(&[0])), Value::Tuple(vec![Some(Value::Set(ints(&[5, 4]))), None])),
    ]);
    let stored = Value::Map(vec![
        (Value::Set(ints(&[0])), Value::Tuple(vec![Some(Value::Set(ints(&[4, 5]))), None])),
        (Value::Set(ints(&[1, 2, 3])), Value::List(vec![Value::Set(ints(&[1, 2]))])),
    ]);
    assert_eq!(
        sent.normalized(),
        stored,
        "keys sorted and deduplicated (the first stays), inner sets too"
    );
    assert_eq!(
        Value::List(ints(&[3, 1])).normalized(),
        Value::List(ints(&[3, 1])),
        "a list keeps its order"
    );
}
