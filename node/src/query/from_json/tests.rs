//! The JSON each type takes and refuses, with Cassandra's messages.

#![allow(clippy::unwrap_used)]

use super::*;

fn read(json: &str, ty: &ColumnType) -> Result<Term, Refusal> {
    term(&json_text::parse(json).unwrap(), ty)
}

/// The message of a MarshalException the JSON draws from type `ty`.
fn refused(json: &str, ty: &ColumnType) -> String {
    match read(json, ty) {
        Err(Refusal::Marshal(message)) => message,
        other => panic!("{json} as {ty:?}: {other:?}"),
    }
}

fn integer(text: &str) -> Result<Term, Refusal> {
    Ok(Term::Integer(text.into()))
}

fn float(text: &str) -> Result<Term, Refusal> {
    Ok(Term::Float(text.into()))
}

fn list(t: ColumnType) -> ColumnType {
    ColumnType::List(Box::new(t))
}

#[test]
fn tinyint_and_smallint_read_any_number_through_its_java_text() {
    use ColumnType::{Smallint, Tinyint};
    assert_eq!(read("5", &Tinyint), integer("5"));
    assert_eq!(read("\"-128\"", &Tinyint), integer("-128"));
    assert_eq!(read("\"+7\"", &Smallint), integer("7"));
    assert_eq!(read("-32768", &Smallint), integer("-32768"));
    assert_eq!(refused("128", &Tinyint), "Unable to make byte from '128'");
    assert_eq!(refused("1.0", &Tinyint), "Unable to make byte from '1.0'");
    assert_eq!(refused("\"xyzz\"", &Tinyint), "Unable to make byte from 'xyzz'");
    assert_eq!(refused("\" 1\"", &Tinyint), "Unable to make byte from ' 1'");
    assert_eq!(refused("true", &Tinyint), "Expected a byte value, but got a Boolean: true");
    assert_eq!(refused("32768", &Smallint), "Unable to make short from '32768'");
    assert_eq!(refused("1e2", &Smallint), "Unable to make short from '100.0'");
    assert_eq!(refused("[1]", &Smallint), "Expected a short value, but got a ArrayList: [1]");
}

#[test]
fn int_takes_only_integer_class_numbers_and_strings() {
    use ColumnType::Int;
    assert_eq!(read("-2147483648", &Int), integer("-2147483648"));
    assert_eq!(read("\"2147483647\"", &Int), integer("2147483647"));
    assert_eq!(refused("2147483648", &Int), "Expected an int value, but got a Long: 2147483648");
    assert_eq!(refused("123.456", &Int), "Expected an int value, but got a Double: 123.456");
    assert_eq!(refused("1.0", &Int), "Expected an int value, but got a Double: 1.0");
    assert_eq!(
        refused("9223372036854775808", &Int),
        "Expected an int value, but got a BigInteger: 9223372036854775808"
    );
    assert_eq!(refused("false", &Int), "Expected an int value, but got a Boolean: false");
    assert_eq!(refused("{\"a\": 1}", &Int), "Expected an int value, but got a LinkedHashMap: {a=1}");
    assert_eq!(refused("\"notanint\"", &Int), "Unable to make int from 'notanint'");
    assert_eq!(refused("\"2147483648\"", &Int), "Unable to make int from '2147483648'");
    assert_eq!(refused("\"1.5\"", &Int), "Unable to make int from '1.5'");
}

#[test]
fn bigint_takes_integer_and_long_numbers_and_strings() {
    use ColumnType::Bigint;
    assert_eq!(read("5", &Bigint), integer("5"));
    assert_eq!(read("9223372036854775807", &Bigint), integer("9223372036854775807"));
    assert_eq!(read("\"-9223372036854775808\"", &Bigint), integer("-9223372036854775808"));
    assert_eq!(
        refused("9223372036854775808", &Bigint),
        "Expected a bigint value, but got a BigInteger: 9223372036854775808"
    );
    assert_eq!(refused("123.456", &Bigint), "Expected a bigint value, but got a Double: 123.456");
    assert_eq!(
        refused("[1, \"a\"]", &Bigint),
        "Expected a bigint value, but got a ArrayList: [1, a]"
    );
    assert_eq!(
        refused("\"9223372036854775808\"", &Bigint),
        "Unable to make long from '9223372036854775808'"
    );
}

#[test]
fn varint_reads_the_java_text_of_anything() {
    use ColumnType::Varint;
    assert_eq!(
        read("123456789012345678901234567890", &Varint),
        integer("123456789012345678901234567890")
    );
    assert_eq!(read("\"+12\"", &Varint), integer("12"));
    assert_eq!(read("\"-12\"", &Varint), integer("-12"));
    for (json, printed) in [
        ("123123.123", "123123.123"),
        ("1.0", "1.0"),
        ("\"xyzz\"", "xyzz"),
        ("\"\"", ""),
        ("\"1_000\"", "1_000"),
        ("\"-+1\"", "-+1"),
        ("true", "true"),
        ("[1]", "[1]"),
    ] {
        assert_eq!(
            refused(json, &Varint),
            format!("Value '{printed}' is not a valid representation of a varint value")
        );
    }
}

#[test]
fn float_and_double_take_any_number_and_java_floating_text() {
    use ColumnType::{Double, Float};
    assert_eq!(read("1.5", &Double), float("1.5"));
    assert_eq!(read("2147483648", &Double), float("2147483648"));
    assert_eq!(read("\"1e3\"", &Double), float("1000"));
    assert_eq!(read("\" -2.5d \"", &Double), float("-2.5"));
    assert_eq!(read("\"NaN\"", &Double), float("NaN"));
    assert_eq!(read("\"-Infinity\"", &Double), float("-inf"));
    assert_eq!(read("\".5\"", &Float), float("0.5"));
    assert_eq!(read("\"5.f\"", &Float), float("5"));
    assert_eq!(read("1e39", &Float), float("inf"), "narrowed as Java's floatValue narrows");
    assert_eq!(read("0.1", &Float), float("0.1"));
    for bad in ["inf", "nan", "infinity", "", ".", "1e", "0x10", "1,5", "--1"] {
        assert_eq!(
            refused(&format!("\"{bad}\""), &Double),
            format!("Unable to make double from '{bad}'")
        );
        assert_eq!(refused(&format!("\"{bad}\""), &Float), format!("Unable to make float from '{bad}'"));
    }
    assert_eq!(refused("true", &Float), "Expected a float value, but got a Boolean: true");
    assert_eq!(refused("{}", &Double), "Expected a double value, but got a LinkedHashMap: {}");
}

#[test]
fn decimal_keeps_a_numbers_text_and_reads_strings_as_big_decimal() {
    use ColumnType::Decimal;
    assert_eq!(read("1.50", &Decimal), float("1.50"));
    assert_eq!(read("-1.23E-12", &Decimal), float("-1.23E-12"));
    assert_eq!(read("\"+.50\"", &Decimal), float("0.50"));
    assert_eq!(read("\"7.\"", &Decimal), float("7"));
    assert_eq!(read("\"1E+5\"", &Decimal), float("1e5"));
    for (json, printed) in [
        ("\"xyzz\"", "xyzz"),
        ("\" 1\"", " 1"),
        ("true", "true"),
        ("[1]", "[1]"),
        ("\"1e\"", "1e"),
    ] {
        assert_eq!(
            refused(json, &Decimal),
            format!("Value '{printed}' is not a valid representation of a decimal value")
        );
    }
}

#[test]
fn boolean_takes_booleans_and_strings_in_any_case() {
    use ColumnType::Boolean;
    assert_eq!(read("true", &Boolean), Ok(Term::Boolean(true)));
    assert_eq!(read("\"TRUE\"", &Boolean), Ok(Term::Boolean(true)));
    assert_eq!(read("\"False\"", &Boolean), Ok(Term::Boolean(false)));
    assert_eq!(read("\"\"", &Boolean), Ok(Term::Boolean(false)), "Cassandra reads \"\" as false");
    assert_eq!(refused("\"yes\"", &Boolean), "Unable to make boolean from 'yes'");
    assert_eq!(refused("123", &Boolean), "Expected a boolean value, but got a Integer: 123");
}

#[test]
fn text_types_take_only_strings() {
    use ColumnType::{Ascii, Varchar};
    assert_eq!(read("\"abc\"", &Ascii), Ok(Term::String("abc".into())));
    assert_eq!(read("\"é\"", &Varchar), Ok(Term::String("é".into())));
    assert_eq!(refused("5", &Varchar), "Expected a UTF-8 string, but got a Integer: 5");
    assert_eq!(refused("1e3", &Ascii), "Expected an ascii string, but got a Double: 1000.0");
    assert_eq!(
        refused("\"aé\"", &Ascii),
        "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = 1"
    );
    assert_eq!(
        refused("\"a\u{1F600}\"", &Ascii),
        "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = 2"
    );
}

#[test]
fn blob_takes_a_0x_string_of_hex_digits() {
    use ColumnType::Blob;
    assert_eq!(read("\"0xCAfe\"", &Blob), Ok(Term::Blob(vec![0xca, 0xfe])));
    assert_eq!(read("\"0x\"", &Blob), Ok(Term::Blob(vec![])));
    assert_eq!(
        refused("\"cafe\"", &Blob),
        "Value 'cafe' is not a valid blob representation: String representation of blob is missing 0x prefix: cafe"
    );
    assert_eq!(
        refused("\"0xabc\"", &Blob),
        "Value '0xabc' is not a valid blob representation: cannot parse 'abc' as hex bytes"
    );
    assert_eq!(
        refused("\"0x+f\"", &Blob),
        "Value '0x+f' is not a valid blob representation: cannot parse '+f' as hex bytes"
    );
    assert_eq!(
        refused("123", &Blob),
        "Value '123' is not a valid blob representation: class java.lang.Integer cannot be cast to class \
         java.lang.String (java.lang.Integer and java.lang.String are in module java.base of loader 'bootstrap')"
    );
    assert!(refused("[1]", &Blob).contains("class java.util.ArrayList cannot be cast"));
}

#[test]
fn uuids_are_strings_of_the_hyphenated_form() {
    use ColumnType::{Timeuuid, Uuid};
    let v4 = "6BDDC89A-5644-41E4-97FC-56847AFE9799";
    let v1 = "6bddc89a-5644-11e4-97fc-56847afe9799";
    assert_eq!(
        read(&format!("\"{v4}\""), &Uuid),
        Ok(Term::Uuid(uuid::Uuid::parse_str(v4).unwrap()))
    );
    assert_eq!(
        read(&format!("\"{v1}\""), &Timeuuid),
        Ok(Term::Uuid(uuid::Uuid::parse_str(v1).unwrap()))
    );
    let simple = "6bddc89a564411e497fc56847afe9799";
    assert_eq!(
        refused(&format!("\"{simple}\""), &Uuid),
        format!("Unable to make UUID from '{simple}'")
    );
    assert_eq!(
        refused(&format!("\"{{{v1}}}\""), &Uuid),
        format!("Unable to make UUID from '{{{v1}}}'")
    );
    assert_eq!(
        refused("123", &Uuid),
        "Expected a string representation of a uuid, but got a Integer: 123"
    );
    assert_eq!(refused("\"xyz\"", &Timeuuid), "Unknown timeuuid representation: xyz");
    assert_eq!(refused(&format!("\"{v4}\""), &Timeuuid), "TimeUUID supports only version 1 UUIDs");
    assert_eq!(
        refused("[]", &Timeuuid),
        "Expected a string representation of a timeuuid, but got a ArrayList: []"
    );
}

#[test]
fn timestamp_takes_long_numbers_and_strings_but_not_integer_ones() {
    use ColumnType::Timestamp;
    assert_eq!(read("123123123123", &Timestamp), integer("123123123123"));
    assert_eq!(read("\"1000\"", &Timestamp), integer("1000"));
    assert_eq!(read("\"1970-01-01 00:00:01Z\"", &Timestamp), integer("1000"));
    let wrong = "Expected a long or a datestring representation of a timestamp value, but got a";
    assert_eq!(refused("123", &Timestamp), format!("{wrong} Integer: 123"));
    assert_eq!(refused("123.456", &Timestamp), format!("{wrong} Double: 123.456"));
    assert_eq!(refused("true", &Timestamp), format!("{wrong} Boolean: true"));
    assert_eq!(refused("\"abcd\"", &Timestamp), "Unable to parse a date/time from 'abcd'");
    assert_eq!(
        refused("\"99999999999999999999\"", &Timestamp),
        "Unable to make long (for date) from: '99999999999999999999'"
    );
}

#[test]
fn date_and_time_take_only_strings() {
    use ColumnType::{Date, Time};
    assert_eq!(read("\"1970-01-02\"", &Date), integer(&((1u64 << 31) + 1).to_string()));
    assert_eq!(read("\"123\"", &Date), integer("123"));
    assert_eq!(
        refused("123", &Date),
        "Expected a string representation of a date value, but got a Integer: 123"
    );
    assert_eq!(refused("\"abc\"", &Date), "Unable to coerce 'abc' to a formatted date (long)");
    assert_eq!(read("\"00:00:01.000000002\"", &Time), integer("1000000002"));
    assert_eq!(read("\"123\"", &Time), integer("123"), "digits are nanoseconds");
    assert_eq!(
        refused("123", &Time),
        "Expected a string representation of a time value, but got a Integer: 123"
    );
    assert_eq!(
        refused("\"86400000000000\"", &Time),
        "Unable to make long (for time) from: '86400000000000'"
    );
    assert_eq!(refused("\"-1\"", &Time), "Unable to make long (for time) from: '-1'");
    assert_eq!(
        refused("\"noon\"", &Time),
        "(TimeType) Unable to coerce 'noon' to a formatted time (long)"
    );
}

#[test]
fn inet_and_duration_take_only_strings() {
    use ColumnType::{Duration, Inet};
    assert_eq!(read("\"::1\"", &Inet), Ok(Term::String("::1".into())));
    assert_eq!(refused("\"1.2.3\"", &Inet), "Unable to make inet address from '1.2.3'");
    assert_eq!(
        refused("1", &Inet),
        "Expected a string representation of an inet value, but got a Integer: 1"
    );
    assert_eq!(read("\"1h2m\"", &Duration), Ok(Term::Duration("1h2m".into())));
    assert_eq!(
        refused("12", &Duration),
        "Expected a string representation of a duration, but got a Integer: 12"
    );
    assert_eq!(
        read("\"3x\"", &Duration),
        Err(Refusal::Invalid("Unable to convert '3x' to a duration".into())),
        "the duration parser's refusal is an InvalidRequestException, not a MarshalException"
    );
}

#[test]
fn collections_take_their_json_or_a_string_holding_it() {
    let ints = list(ColumnType::Int);
    assert_eq!(
        read("[1, 2]", &ints),
        Ok(Term::List(vec![Term::Integer("1".into()), Term::Integer("2".into())]))
    );
    assert_eq!(read("\"[3]\"", &ints), Ok(Term::List(vec![Term::Integer("3".into())])));
    assert_eq!(refused("5", &ints), "Expected a list, but got a Integer: 5");
    assert_eq!(refused("\"5\"", &ints), "Expected a list, but got a Integer: 5");
    assert!(refused("\"[1,\"", &ints).starts_with("Error decoding JSON string: "));
    assert_eq!(refused("[1, null]", &ints), "Invalid null element in list");
    assert_eq!(refused("[\"abc\"]", &ints), "Unable to make int from 'abc'");
    let set = ColumnType::Set(Box::new(ColumnType::Varchar));
    assert_eq!(
        refused("{\"a\": 1}", &set),
        "Expected a list (representing a set), but got a LinkedHashMap: {a=1}"
    );
    assert_eq!(refused("[null]", &set), "Invalid null element in set");
    let map = ColumnType::Map(Box::new(ColumnType::Int), Box::new(list(ColumnType::Varchar)));
    assert_eq!(
        read("{\"1\": [\"a\"]}", &map),
        Ok(Term::Map(vec![(
            Term::Integer("1".into()),
            Term::List(vec![Term::String("a".into())])
        )]))
    );
    assert_eq!(
        refused("{\" 1\": []}", &map),
        "Unable to make int from ' 1'",
        "keys are read by fromString"
    );
    assert_eq!(refused("{\"1\": null}", &map), "Invalid null value in map");
    assert_eq!(refused("[1]", &map), "Expected a map, but got a ArrayList: [1]");
    let tuple_key = ColumnType::Map(
        Box::new(ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar])),
        Box::new(ColumnType::Boolean),
    );
    assert_eq!(
        read("{\"[0, \\\"a\\\"]\": true}", &tuple_key),
        Ok(Term::Map(vec![(
            Term::Tuple(vec![Term::Integer("0".into()), Term::String("a".into())]),
            Term::Boolean(true)
        )]))
    );
}

#[test]
fn tuples_take_a_list_of_exactly_their_size() {
    let pair = ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar]);
    assert_eq!(
        read("[1, null]", &pair),
        Ok(Term::Tuple(vec![Term::Integer("1".into()), Term::Null]))
    );
    assert_eq!(
        refused("[1, \"a\", 2]", &pair),
        "Tuple contains extra items (expected 2): [1, a, 2]"
    );
    assert_eq!(refused("[1]", &pair), "Tuple is missing items (expected 2): [1]");
    assert_eq!(
        refused("true", &pair),
        "Expected a list representation of a tuple, but got a Boolean: true"
    );
}

#[test]
fn user_types_take_an_object_of_their_fields() {
    let ty = ColumnType::Udt {
        keyspace: "ks".into(),
        name: "person".into(),
        fields: vec![("name".into(), ColumnType::Varchar), ("Age".into(), ColumnType::Int)],
    };
    assert_eq!(
        read("{\"NAME\": \"x\", \"\\\"Age\\\"\": 3}", &ty),
        Ok(Term::UserType(vec![
            ("name".into(), Term::String("x".into())),
            ("Age".into(), Term::Integer("3".into()))
        ]))
    );
    assert_eq!(read("{\"name\": null}", &ty), Ok(Term::UserType(vec![])));
    assert_eq!(
        refused("{\"age\": 3}", &ty),
        "Unknown field 'age' in value of user defined type person"
    );
    assert_eq!(refused("[1]", &ty), "Expected a map, but got a ArrayList: [1]");
    assert_eq!(
        refused("{\"name\": 1, \"nope\": 2}", &ty),
        "Expected a UTF-8 string, but got a Integer: 1",
        "fields are read before unknown members are looked for"
    );
}

#[test]
fn from_json_fails_as_a_function_in_cassandras_words() {
    let message = |text: &str, ty: &ColumnType| match from_json_function(text, ty, "v") {
        Err(QueryError::FunctionFailure { function, message, .. }) => {
            assert_eq!(function, "fromjson");
            message
        }
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(
        message("123.456", &ColumnType::Bigint),
        "execution of 'system.fromjson[text]' failed: org.apache.cassandra.serializers.MarshalException: \
         Expected a bigint value, but got a Double: 123.456"
    );
    assert!(
        message("xyz", &ColumnType::Int).starts_with("execution of 'system.fromjson[text]' failed: Could not decode JSON string 'xyz': ")
    );
    assert_eq!(
        message("\"1e3\"", &ColumnType::Int),
        "execution of 'system.fromjson[text]' failed: org.apache.cassandra.serializers.MarshalException: \
         Unable to make int from '1e3'"
    );
    assert_eq!(
        from_json_function("\"3x\"", &ColumnType::Duration, "v"),
        Err(QueryError::invalid("Unable to convert '3x' to a duration"))
    );
    assert_eq!(from_json_function("null", &ColumnType::Int, "v"), Ok(Evaluated::Null));
    assert_eq!(
        from_json_function("\"0x01\"", &ColumnType::Blob, "v"),
        Ok(Evaluated::Value(cql_protocol::value::Value::Blob(vec![1])))
    );
}
