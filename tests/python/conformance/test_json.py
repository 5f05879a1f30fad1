"""JSON as Cassandra answers it: SELECT JSON and toJson() with Cassandra's text
for every type, INSERT JSON with DEFAULT NULL / DEFAULT UNSET, fromJson(), and
the refusals of bad JSON."""

import json

import pytest
from cassandra import FunctionFailure, InvalidRequest


def json_of(db, query):
    [(text,)] = db.rows(query)
    return text


TYPES = [
    ("int", "-5", "-5"),
    ("bigint", "9223372036854775807", "9223372036854775807"),
    ("smallint", "7", "7"),
    ("tinyint", "-1", "-1"),
    ("varint", "123456789012345678901234567890", "123456789012345678901234567890"),
    ("decimal", "1.50", "1.50"),
    ("float", "1.5", "1.5"),
    ("double", "-0.25", "-0.25"),
    ("boolean", "true", "true"),
    ("text", "'a\"b'", '"a\\"b"'),
    ("ascii", "'abc'", '"abc"'),
    ("blob", "0x0102ff", '"0x0102ff"'),
    ("timestamp", "'2014-01-01 12:15:45Z'", '"2014-01-01 12:15:45.000Z"'),
    ("date", "'2014-01-01'", '"2014-01-01"'),
    ("time", "'00:00:00.000000123'", '"00:00:00.000000123"'),
    ("uuid", "01234567-0123-0123-0123-0123456789ab", '"01234567-0123-0123-0123-0123456789ab"'),
    ("timeuuid", "d2177dd0-eaa2-11de-a572-001b779c76e3", '"d2177dd0-eaa2-11de-a572-001b779c76e3"'),
    ("inet", "'127.0.0.1'", '"127.0.0.1"'),
    ("duration", "1h2m", '"1h2m"'),
    ("list<int>", "[3, 1, 3]", "[3, 1, 3]"),
    ("set<text>", "{'b', 'a'}", '["a", "b"]'),
    ("map<text, int>", "{'b': 2, 'a': 1}", '{"a": 1, "b": 2}'),
    ("map<int, boolean>", "{2: true, 1: false}", '{"1": false, "2": true}'),
    ("tuple<int, text>", "(1, 'x')", '[1, "x"]'),
    ("frozen<list<set<int>>>", "[{2, 1}]", "[[1, 2]]"),
]


@pytest.mark.parametrize("cql_type,literal,expected", TYPES, ids=[t for t, _, _ in TYPES])
def test_select_json_writes_each_type_as_cassandra_does(db, cql_type, literal, expected):
    t = db.shared_table(f"k int PRIMARY KEY, v {cql_type}")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, {literal})")
    assert json_of(db, f"SELECT JSON k, v FROM {t}") == f'{{"k": 1, "v": {expected}}}'
    assert json_of(db, f"SELECT toJson(v) FROM {t}") == expected


@pytest.mark.parametrize("cql_type,literal,expected", TYPES, ids=[t for t, _, _ in TYPES])
def test_insert_json_reads_back_cassandras_own_text(db, cql_type, literal, expected):
    t = db.shared_table(f"k int PRIMARY KEY, v {cql_type}")
    db.execute(f"INSERT INTO {t} JSON %s", (f'{{"k": 1, "v": {expected}}}',))
    assert json_of(db, f"SELECT JSON v FROM {t}") == f'{{"v": {expected}}}'


def test_select_json_names_columns_by_alias_and_nulls_as_null(db):
    t = db.table("k int PRIMARY KEY, v text, w int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 'a')")
    assert json_of(db, f"SELECT JSON k AS key, v, w FROM {t}") == '{"key": 1, "v": "a", "w": null}'
    assert json_of(db, f"SELECT JSON * FROM {t}") == '{"k": 1, "v": "a", "w": null}'


def test_select_json_column_is_named_json(db):
    t = db.shared_table("k int PRIMARY KEY")
    db.execute(f"INSERT INTO {t} (k) VALUES (1)")
    result = db.execute(f"SELECT JSON * FROM {t}")
    assert result.column_names == ["[json]"]


def test_select_json_of_a_udt(db):
    ty = db.name("ty")
    db.execute(f"CREATE TYPE {ty} (a int, b text)")
    t = db.table(f"k int PRIMARY KEY, u frozen<{ty}>")
    db.execute(f"INSERT INTO {t} (k, u) VALUES (1, {{a: 1}})")
    assert json_of(db, f"SELECT JSON u FROM {t}") == '{"u": {"a": 1, "b": null}}'


def test_select_json_of_a_function_takes_its_alias(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 3) USING TIMESTAMP 7")
    assert json_of(db, f"SELECT JSON writetime(v) AS wt FROM {t} WHERE k = 1") == '{"wt": 7}'


def test_select_json_of_an_aggregate(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 3)")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (2, 5)")
    assert json_of(db, f"SELECT JSON count(*) FROM {t}") == '{"count": 2}'
    assert json_of(db, f"SELECT JSON sum(v) FROM {t}") == '{"system.sum(v)": 8}'
    assert json_of(db, f"SELECT JSON max(v), min(v) FROM {t}") == '{"system.max(v)": 5, "system.min(v)": 3}'
    assert json_of(db, f"SELECT JSON count(*) AS total, sum(v) AS s FROM {t}") == '{"total": 2, "s": 8}'


def test_select_json_of_an_aggregate_over_no_rows(db):
    t = db.table("k int PRIMARY KEY, v int")
    assert json_of(db, f"SELECT JSON count(*), sum(v), max(v) FROM {t}") == (
        '{"count": 0, "system.sum(v)": 0, "system.max(v)": null}')


def test_select_json_groups_as_group_by_does(db):
    t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
    for k, c in [(0, 0), (0, 1), (1, 0)]:
        db.execute(f"INSERT INTO {t} (k, c, v) VALUES ({k}, {c}, {k + c})")
    rows = sorted(text for (text,) in db.rows(f"SELECT JSON k, count(*) FROM {t} GROUP BY k"))
    assert rows == ['{"k": 0, "count": 2}', '{"k": 1, "count": 1}']


def test_select_json_quotes_case_sensitive_names(db):
    t = db.table('k int PRIMARY KEY, "Foo" int')
    db.execute(f'INSERT INTO {t} (k, "Foo") VALUES (0, 0)')
    assert json_of(db, f"SELECT JSON * FROM {t}") == '{"k": 0, "\\"Foo\\"": 0}'
    assert json_of(db, f'SELECT JSON k, "Foo" AS foo FROM {t}') == '{"k": 0, "foo": 0}'
    assert json_of(db, f'SELECT JSON k, "Foo" AS "Bar" FROM {t}') == '{"k": 0, "\\"Bar\\"": 0}'


EXACT_NUMBERS = [
    ("varint", "-98765432109876543210987654321"),
    ("decimal", "123456789012345678901234567890.000100"),
    ("decimal", "-0.0010"),
    ("map<varint, decimal>", '{"18446744073709551616": 2.50}'),
]


@pytest.mark.parametrize("cql_type,json_value", EXACT_NUMBERS, ids=[v for _, v in EXACT_NUMBERS])
def test_insert_json_and_from_json_read_numbers_exactly(db, cql_type, json_value):
    t = db.table(f"k int PRIMARY KEY, v {cql_type}")
    db.execute(f"INSERT INTO {t} JSON %s", (f'{{"k": 1, "v": {json_value}}}',))
    db.execute(f"INSERT INTO {t} (k, v) VALUES (2, fromJson(%s))", (json_value,))
    for k in (1, 2):
        assert json_of(db, f"SELECT toJson(v) FROM {t} WHERE k = {k}") == json_value


def test_insert_json_default_null_and_default_unset(db):
    t = db.table("k int PRIMARY KEY, v text, w int")
    db.execute(f"INSERT INTO {t} (k, v, w) VALUES (1, 'a', 1)")
    db.execute(f"""INSERT INTO {t} JSON '{{"k": 1, "v": "b"}}' DEFAULT UNSET""")
    assert db.rows(f"SELECT v, w FROM {t}") == [("b", 1)]
    db.execute(f"""INSERT INTO {t} JSON '{{"k": 1, "v": "c"}}'""")
    assert db.rows(f"SELECT v, w FROM {t}") == [("c", None)]
    db.execute(f"""INSERT INTO {t} JSON '{{"k": 1, "w": 5}}' DEFAULT NULL""")
    assert db.rows(f"SELECT v, w FROM {t}") == [(None, 5)]


def test_insert_json_bound_and_with_quoted_names(db):
    t = db.table('k int PRIMARY KEY, "Caps" int')
    prepared = db.session.prepare(f"INSERT INTO {t} JSON ?")
    db.session.execute(prepared, (json.dumps({"k": 1, '"Caps"': 2}),))
    assert db.rows(f"SELECT * FROM {t}") == [(1, 2)]


def test_insert_json_accepts_numbers_as_strings_and_ttl(db):
    t = db.table("k int PRIMARY KEY, v bigint, ts timestamp")
    db.execute(f"""INSERT INTO {t} JSON '{{"k": "1", "v": "12", "ts": "1000"}}' USING TTL 100""")
    [(k, v, ttl)] = db.rows(f"SELECT k, v, ttl(v) FROM {t}")
    assert (k, v) == (1, 12) and 90 <= ttl <= 100
    assert json_of(db, f"SELECT JSON ts FROM {t}") == '{"ts": "1970-01-01 00:00:01.000Z"}'


def test_from_json_in_an_insert_and_an_update(db):
    t = db.table("k int PRIMARY KEY, l list<int>, m map<text, int>")
    db.execute(f"""INSERT INTO {t} (k, l) VALUES (1, fromJson('[1, 2]'))""")
    db.execute(f"""UPDATE {t} SET m = fromJson('{{"a": 1}}') WHERE k = 1""")
    assert db.rows(f"SELECT l, m FROM {t}") == [([1, 2], {"a": 1})]


REFUSALS = [
    ("""INSERT INTO {t} JSON '{{"k": 1, "nope": 2}}'""", "JSON values map contains unrecognized column: nope"),
    ("""INSERT INTO {t} JSON 'not json'""", "Could not decode JSON string as a map: "),
    ("""INSERT INTO {t} JSON '[1]'""", "Could not decode JSON string as a map: "),
    ("""INSERT INTO {t} JSON '{{"k": 1, "v": "x"}}'""", "Error decoding JSON value for v: Unable to make int from 'x'"),
    ("""INSERT INTO {t} JSON '{{"k": 1, "v": 1.5}}'""", "Error decoding JSON value for v: "),
]


@pytest.mark.parametrize("statement,message", REFUSALS, ids=[s for s, _ in REFUSALS])
def test_json_refusals_carry_cassandras_words(db, statement, message):
    t = db.shared_table("k int PRIMARY KEY, v int")
    db.refused(statement.format(t=t), InvalidRequest, message)


def test_a_timestamp_takes_a_long_number_but_not_an_int_sized_one(db):
    # Jackson decodes 3000000000 to a Long, which TimestampType takes, and 1000 to an Integer, which it refuses.
    t = db.table("k int PRIMARY KEY, ts timestamp")
    db.execute(f"""INSERT INTO {t} JSON '{{"k": 1, "ts": 3000000000}}'""")
    assert json_of(db, f"SELECT JSON ts FROM {t}") == '{"ts": "1970-02-04 17:20:00.000Z"}'
    db.refused(f"""INSERT INTO {t} JSON '{{"k": 1, "ts": 1000}}'""", InvalidRequest,
               "Error decoding JSON value for ts: Expected a long or a datestring representation of a timestamp "
               "value, but got a Integer: 1000")


EVERY_TYPE = ("k int PRIMARY KEY, ti tinyint, si smallint, i int, b bigint, vi varint, f float, db double, "
              "de decimal, bo boolean, a ascii, tx text, bl blob, u uuid, tu timeuuid, ts timestamp, d date, "
              "tm time, ip inet, l list<int>, s set<text>, m map<int, text>, tp tuple<int, text>")

# Each type's own refusal of a JSON value of the wrong kind or text (Cassandra's fromJSONObject).
TYPE_REFUSALS = [
    ('"ti": 1.0', "ti: Unable to make byte from '1.0'"),
    ('"ti": 128', "ti: Unable to make byte from '128'"),
    ('"ti": true', "ti: Expected a byte value, but got a Boolean: true"),
    ('"si": [1]', "si: Expected a short value, but got a ArrayList: [1]"),
    ('"i": 2147483648', "i: Expected an int value, but got a Long: 2147483648"),
    ('"i": 123.456', "i: Expected an int value, but got a Double: 123.456"),
    ('"i": "1.5"', "i: Unable to make int from '1.5'"),
    ('"b": 9223372036854775808', "b: Expected a bigint value, but got a BigInteger: 9223372036854775808"),
    ('"b": "x"', "b: Unable to make long from 'x'"),
    ('"vi": 1.5', "vi: Value '1.5' is not a valid representation of a varint value"),
    ('"f": {"a": 1}', "f: Expected a float value, but got a LinkedHashMap: {a=1}"),
    ('"db": "inf"', "db: Unable to make double from 'inf'"),
    ('"de": "xyzz"', "de: Value 'xyzz' is not a valid representation of a decimal value"),
    ('"bo": 1', "bo: Expected a boolean value, but got a Integer: 1"),
    ('"bo": "yes"', "bo: Unable to make boolean from 'yes'"),
    ('"a": 1e3', "a: Expected an ascii string, but got a Double: 1000.0"),
    ('"tx": 5', "tx: Expected a UTF-8 string, but got a Integer: 5"),
    ('"bl": "cafe"', "bl: Value 'cafe' is not a valid blob representation: "
                     "String representation of blob is missing 0x prefix: cafe"),
    ('"bl": "0xabc"', "bl: Value '0xabc' is not a valid blob representation: cannot parse 'abc' as hex bytes"),
    ('"u": 123', "u: Expected a string representation of a uuid, but got a Integer: 123"),
    ('"u": "6bddc89a564411e497fc56847afe9799"', "u: Unable to make UUID from '6bddc89a564411e497fc56847afe9799'"),
    ('"tu": "6bddc89a-5644-41e4-97fc-56847afe9799"', "tu: TimeUUID supports only version 1 UUIDs"),
    ('"ts": 123.456', "ts: Expected a long or a datestring representation of a timestamp value, but got a Double: 123.456"),
    ('"ts": "abcd"', "ts: Unable to parse a date/time from 'abcd'"),
    ('"d": 123', "d: Expected a string representation of a date value, but got a Integer: 123"),
    ('"tm": 123', "tm: Expected a string representation of a time value, but got a Integer: 123"),
    ('"ip": "1.2.3"', "ip: Unable to make inet address from '1.2.3'"),
    ('"l": {"a": 1}', "l: Expected a list, but got a LinkedHashMap: {a=1}"),
    ('"l": [1, null]', "l: Invalid null element in list"),
    ('"l": ["abc"]', "l: Unable to make int from 'abc'"),
    ('"s": 5', "s: Expected a list (representing a set), but got a Integer: 5"),
    ('"m": [1]', "m: Expected a map, but got a ArrayList: [1]"),
    ('"m": {"x": "a"}', "m: Unable to make int from 'x'"),
    ('"m": {"1": null}', "m: Invalid null value in map"),
    ('"tp": [1, "a", 2]', "tp: Tuple contains extra items (expected 2): [1, a, 2]"),
    ('"tp": [1]', "tp: Tuple is missing items (expected 2): [1]"),
    ('"tp": true', "tp: Expected a list representation of a tuple, but got a Boolean: true"),
]


@pytest.mark.parametrize("member,message", TYPE_REFUSALS, ids=[m for m, _ in TYPE_REFUSALS])
def test_insert_json_refuses_a_wrong_value_in_its_types_words(db, member, message):
    t = db.shared_table(EVERY_TYPE)
    db.refused(f"INSERT INTO {t} JSON %s", InvalidRequest, f"Error decoding JSON value for {message}",
               args=(f'{{"k": 1, {member}}}',))


def test_insert_json_reads_strings_and_numbers_as_cassandra_does(db):
    t = db.shared_table(EVERY_TYPE)
    db.execute(f"INSERT INTO {t} JSON %s", ('{"k": 2, "ti": "-5", "si": 7, "f": " 2.5f ", "bo": "", '
                                           '"l": "[1, 2]", "m": {"1": "a"}, "tm": "123", "d": "2147483648"}',))
    assert json_of(db, f"SELECT JSON ti, si, f, bo, l, m, tm, d FROM {t} WHERE k = 2") == (
        '{"ti": -5, "si": 7, "f": 2.5, "bo": false, "l": [1, 2], "m": {"1": "a"}, '
        '"tm": "00:00:00.000000123", "d": "1970-01-01"}')


def test_insert_json_refuses_a_bad_duration_without_the_decoding_prefix(db):
    # Duration.from throws InvalidRequestException, which Json.parseJson does not wrap.
    t = db.shared_table("k int PRIMARY KEY, du duration")
    error = db.refused(f"""INSERT INTO {t} JSON '{{"k": 1, "du": "3x"}}'""", InvalidRequest,
                       "Unable to convert '3x' to a duration")
    assert "Error decoding JSON value" not in str(error)
    db.refused(f"""INSERT INTO {t} JSON '{{"k": 1, "du": "1d2w"}}'""", InvalidRequest,
               "Invalid duration. The days should be after weeks")
    db.refused(f"""INSERT INTO {t} JSON '{{"k": 1, "du": 12}}'""", InvalidRequest,
               "Error decoding JSON value for du: Expected a string representation of a duration, but got a Integer: 12")


def test_insert_json_refuses_an_unknown_field_of_a_user_type(db):
    ty = db.name("ty")
    db.execute(f"CREATE TYPE {ty} (a int, b text)")
    t = db.table(f"k int PRIMARY KEY, u frozen<{ty}>")
    db.refused(f"""INSERT INTO {t} JSON '{{"k": 1, "u": {{"a": 1, "c": 2}}}}'""", InvalidRequest,
               f"Error decoding JSON value for u: Unknown field 'c' in value of user defined type {ty}")
    db.refused(f"""INSERT INTO {t} JSON '{{"k": 1, "u": [1]}}'""", InvalidRequest,
               "Error decoding JSON value for u: Expected a map, but got a ArrayList: [1]")
    db.execute(f"""INSERT INTO {t} JSON '{{"k": 1, "u": "{{\\"A\\": 3}}"}}'""")
    assert json_of(db, f"SELECT JSON u FROM {t}") == '{"u": {"a": 3, "b": null}}'


FROM_JSON_FAILURES = [
    ("bigint", "123.456", "Expected a bigint value, but got a Double: 123.456"),
    ("int", "2147483648", "Expected an int value, but got a Long: 2147483648"),
    ("timestamp", "123", "Expected a long or a datestring representation of a timestamp value, but got a Integer: 123"),
    ("list<int>", '{"a": 1}', "Expected a list, but got a LinkedHashMap: {a=1}"),
    ("int", '"x"', "Unable to make int from 'x'"),
]


@pytest.mark.parametrize("cql_type,json_value,message", FROM_JSON_FAILURES,
                         ids=[f"{t}={v}" for t, v, _ in FROM_JSON_FAILURES])
def test_from_json_fails_as_a_function_in_its_types_words(db, cql_type, json_value, message):
    t = db.shared_table(f"k int PRIMARY KEY, v {cql_type}")
    db.refused(f"INSERT INTO {t} (k, v) VALUES (1, fromJson(%s))", FunctionFailure,
               "execution of 'system.fromjson[text]' failed: ", args=(json_value,))
    db.refused(f"INSERT INTO {t} (k, v) VALUES (1, fromJson(%s))", FunctionFailure, message, args=(json_value,))


def test_from_json_of_text_that_is_not_json_names_the_function(db):
    t = db.shared_table("k int PRIMARY KEY, v int")
    db.refused(f"INSERT INTO {t} (k, v) VALUES (1, fromJson('xyz'))", FunctionFailure,
               "execution of 'system.fromjson[text]' failed: Could not decode JSON string 'xyz': ")
