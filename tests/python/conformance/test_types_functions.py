"""Types and functions as Cassandra answers them: each CQL type written and read
back through the driver, literal formats of dates, times and timestamps, the
typeAsBlob / blobAsType family, time functions, CAST, token, writetime and ttl,
nested frozen collections ordered by value, and out-of-range values."""

import datetime
import uuid
from decimal import Decimal
from ipaddress import ip_address

import pytest
from cassandra import InvalidRequest
from cassandra.util import Duration, OrderedMapSerializedKey


VALUES = [
    ("int", -2147483648),
    ("bigint", 9223372036854775807),
    ("smallint", -32768),
    ("tinyint", 127),
    ("varint", -(10 ** 30)),
    ("decimal", Decimal("-12345.678900")),
    ("float", 1.5),
    ("double", 2.5e300),
    ("boolean", False),
    ("text", "héllo ✓"),
    ("ascii", "plain"),
    ("blob", b"\x00\xff"),
    ("timestamp", datetime.datetime(2001, 2, 3, 4, 5, 6, 789000)),
    ("date", datetime.date(1, 1, 1)),
    ("time", datetime.time(23, 59, 59, 999999)),
    ("uuid", uuid.UUID("01234567-89ab-cdef-0123-456789abcdef")),
    ("timeuuid", uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3")),
    ("inet", "::1"),
    ("duration", Duration(1, 2, 3)),
    ("list<text>", ["b", "a", "b"]),
    ("set<int>", {3, 1, 2}),
    ("map<int, text>", {2: "b", 1: "a"}),
    ("tuple<int, text, boolean>", (1, "x", None)),
    ("frozen<map<text, frozen<list<int>>>>", {"a": [1, 2]}),
]


@pytest.mark.parametrize("cql_type,value", VALUES, ids=[t for t, _ in VALUES])
def test_each_type_reads_back_what_was_written(db, cql_type, value):
    t = db.shared_table(f"k int PRIMARY KEY, v {cql_type}")
    prepared = db.session.prepare(f"INSERT INTO {t} (k, v) VALUES (1, ?)")
    db.session.execute(prepared, (value,))
    [(got,)] = db.rows(f"SELECT v FROM {t}")
    if cql_type == "date":
        got = got.date()
    elif cql_type == "time":
        got = got.time()
    elif isinstance(got, OrderedMapSerializedKey) or cql_type.startswith("frozen<map"):
        got = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in got.items()}
    elif cql_type.startswith("set"):
        got = set(got)
    elif cql_type == "inet":
        got = str(ip_address(got))
    assert got == value


@pytest.mark.parametrize("literal,expected", [
    ("'2011-02-03'", datetime.datetime(2011, 2, 3)),
    ("'2011-02-03 04:05+0000'", datetime.datetime(2011, 2, 3, 4, 5)),
    ("'2011-02-03T04:05:06.789+0100'", datetime.datetime(2011, 2, 3, 3, 5, 6, 789000)),
    ("'2011-02-03 04:05:06Z'", datetime.datetime(2011, 2, 3, 4, 5, 6)),
    ("1299038700000", datetime.datetime(2011, 3, 2, 4, 5)),
    ("'1299038700000'", datetime.datetime(2011, 3, 2, 4, 5)),
])
def test_timestamp_literals(db, literal, expected):
    t = db.shared_table("k int PRIMARY KEY, v timestamp")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, {literal})")
    assert db.rows(f"SELECT v FROM {t}") == [(expected,)]


@pytest.mark.parametrize("literal,expected", [
    ("'2011-02-03'", datetime.date(2011, 2, 3)),
    ("'2147483648'", datetime.date(1970, 1, 1)),
    ("'2147483771'", datetime.date(1970, 5, 4)),
    ("2147483649", datetime.date(1970, 1, 2)),
])
def test_date_literals_including_days_as_a_number_in_a_string(db, literal, expected):
    t = db.shared_table("k int PRIMARY KEY, v date")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, {literal})")
    [(got,)] = db.rows(f"SELECT v FROM {t}")
    assert got.date() == expected


@pytest.mark.parametrize("literal,expected", [
    ("'08:12:54'", datetime.time(8, 12, 54)),
    ("'08:12:54.123'", datetime.time(8, 12, 54, 123000)),
    ("'08:12:54.123456'", datetime.time(8, 12, 54, 123456)),
])
def test_time_literals(db, literal, expected):
    t = db.shared_table("k int PRIMARY KEY, v time")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, {literal})")
    [(got,)] = db.rows(f"SELECT v FROM {t}")
    assert got.time() == expected


BLOB_FUNCTIONS = [
    ("intAsBlob(1)", b"\x00\x00\x00\x01"),
    ("bigintAsBlob(1)", b"\x00" * 7 + b"\x01"),
    ("textAsBlob('ab')", b"ab"),
    ("booleanAsBlob(true)", b"\x01"),
    ("varcharAsBlob('é')", "é".encode()),
]


@pytest.mark.parametrize("call,expected", BLOB_FUNCTIONS, ids=[c for c, _ in BLOB_FUNCTIONS])
def test_type_as_blob_functions(db, call, expected):
    t = db.shared_table("k int PRIMARY KEY")
    db.execute(f"INSERT INTO {t} (k) VALUES (1)")
    assert db.rows(f"SELECT {call} FROM {t}") == [(expected,)]


@pytest.mark.parametrize("call,expected", [
    ("blobAsInt(0x00000007)", 7),
    ("blobAsText(0x6869)", "hi"),
    ("blobAsBigint(bigintAsBlob(-3))", -3),
    ("blobAsBoolean(0x00)", False),
    ("blobAsDouble(doubleAsBlob(1.25))", 1.25),
])
def test_blob_as_type_functions(db, call, expected):
    t = db.shared_table("k int PRIMARY KEY")
    db.execute(f"INSERT INTO {t} (k) VALUES (1)")
    assert db.rows(f"SELECT {call} FROM {t}") == [(expected,)]


def test_blob_as_type_refuses_a_wrong_length(db):
    t = db.shared_table("k int PRIMARY KEY")
    db.execute(f"INSERT INTO {t} (k) VALUES (1)")
    db.refused(f"SELECT blobAsInt(0x0001) FROM {t}", InvalidRequest,
               "In call to function system.blobasint, value 0x0001 is not a valid binary representation for type int")


def test_time_conversion_functions(db):
    t = db.table("k int PRIMARY KEY, ts timestamp, d date, u timeuuid")
    db.execute(f"INSERT INTO {t} (k, ts, d, u) VALUES (1, '2020-03-04 05:06:07.008Z', '2020-03-04', "
               "d2177dd0-eaa2-11de-a572-001b779c76e3)")
    [row] = db.rows(f"SELECT toDate(ts), toTimestamp(d), toUnixTimestamp(ts), toUnixTimestamp(d), "
                    f"toTimestamp(u), toDate(u), toUnixTimestamp(u), dateOf(u), unixTimestampOf(u) FROM {t}")
    u_time = datetime.datetime(2009, 12, 17, 12, 0, 0)  # d2177dd0-eaa2-11de is 2009-12-17
    assert row[0].date() == datetime.date(2020, 3, 4)
    assert row[1] == datetime.datetime(2020, 3, 4)
    assert row[2] == 1583298367008
    assert row[3] == 1583280000000
    assert row[4].date() == u_time.date() and row[7] == row[4]
    assert row[5].date() == u_time.date()
    assert row[6] == row[8] and abs(row[6] / 1000 - row[4].replace(tzinfo=datetime.timezone.utc).timestamp()) < 1


def test_current_time_functions_and_generators(db):
    t = db.table("k int PRIMARY KEY, u timeuuid, v uuid")
    db.execute(f"INSERT INTO {t} (k, u, v) VALUES (1, now(), uuid())")
    [(u, v)] = db.rows(f"SELECT u, v FROM {t}")
    assert u.version == 1 and v.version == 4
    [(ts, d, n, ut)] = db.rows(f"SELECT currentTimestamp(), currentDate(), currentTimeUUID(), currentTime() FROM {t}")
    now = datetime.datetime.utcnow()
    assert abs((ts - now).total_seconds()) < 60 and d.date() in (now.date(), (now - datetime.timedelta(days=1)).date())
    assert n.version == 1


@pytest.mark.parametrize("call,expected", [
    ("CAST(i AS text)", "3"),
    ("CAST(i AS bigint)", 3),
    ("CAST(i AS double)", 3.0),
    ("CAST(d AS int)", 2),
    ("CAST(d AS text)", "2.75"),
    ("CAST(ts AS date)", None),
    ("CAST(b AS text)", "true"),
])
def test_cast(db, call, expected):
    t = db.shared_table("k int PRIMARY KEY, i int, d double, ts timestamp, b boolean")
    db.execute(f"INSERT INTO {t} (k, i, d, ts, b) VALUES (1, 3, 2.75, '2020-01-02 03:04:05Z', true)")
    [(got,)] = db.rows(f"SELECT {call} FROM {t}")
    if expected is None:
        assert got.date() == datetime.date(2020, 1, 2)
    else:
        assert got == expected


def test_cast_column_name(db):
    t = db.table("k int PRIMARY KEY, i int")
    db.execute(f"INSERT INTO {t} (k, i) VALUES (1, 3)")
    assert db.execute(f"SELECT CAST(i AS text) FROM {t}").column_names == ["cast(i as text)"]


def test_writetime_ttl_and_token(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1) USING TIMESTAMP 42 AND TTL 1000")
    [(wt, ttl, tok)] = db.rows(f"SELECT writetime(v), ttl(v), token(k) FROM {t}")
    assert wt == 42 and 990 <= ttl <= 1000
    assert tok == -4069959284402364209  # Murmur3 of int 1, as Cassandra computes it


def test_a_frozen_set_inside_a_collection_is_ordered_by_value(db):
    t = db.table("k int PRIMARY KEY, s set<frozen<set<int>>>, m map<frozen<set<int>>, int>")
    db.execute(f"INSERT INTO {t} (k, s, m) VALUES (1, {{{{3, 1}}, {{2}}, {{1, 3}}}}, {{{{2, 1}}: 1}})")
    db.execute(f"UPDATE {t} SET m = m + {{{{1, 2}}: 5}} WHERE k = 1")
    assert db.rows(f"SELECT toJson(s), toJson(m) FROM {t}") == [('[[1, 3], [2]]', '{"[1, 2]": 5}')]


def test_a_frozen_map_as_a_clustering_key_is_ordered_by_value(db):
    t = db.table("k int, c frozen<map<int, text>>, PRIMARY KEY (k, c)")
    db.execute(f"INSERT INTO {t} (k, c) VALUES (1, {{2: 'b', 1: 'a'}})")
    db.execute(f"INSERT INTO {t} (k, c) VALUES (1, {{1: 'a', 2: 'b'}})")
    db.execute(f"INSERT INTO {t} (k, c) VALUES (1, {{0: 'z'}})")
    assert [dict(c) for (c,) in db.rows(f"SELECT c FROM {t} WHERE k = 1")] == [{0: "z"}, {1: "a", 2: "b"}]


REFUSALS = [
    ("v int", "2147483648", "Unable to make int from '2147483648'"),
    ("v timestamp", "'abc'", "Unable to parse a date/time from 'abc'"),
    ("v date", "'abc'", "Unable to coerce 'abc' to a formatted date (long)"),
    ("v date", "'-5877641-06-22'", "Input date -5877641-06-22 is less than min supported date -5877641-06-23T00:00Z"),
    ("v date", "'+5881580-07-12'", "Input date +5881580-07-12 is greater than max supported date +5881580-07-11T00:00Z"),
    ("v date", "'99999999999999999999'", "Unable to make unsigned int (for date) from: '99999999999999999999'"),
    ("v time", "'25:00:00'", "(TimeType) Unable to coerce '25:00:00' to a formatted time (long)"),
    ("v time", "'12:30'", "(TimeType) Unable to coerce '12:30' to a formatted time (long)"),
    ("v duration", "1h1h", "Invalid duration. The hours are specified multiple times"),
    ("v duration", "1h30s2m", "Invalid duration. The seconds should be after minutes"),
    ("v duration", "178956971y", "Invalid duration. The total number of months must be less or equal to 2147483647"),
    ("v blob", "'ab'", 'Invalid STRING constant (ab) for "v" of type blob'),
    ("v boolean", "1", 'Invalid INTEGER constant (1) for "v" of type boolean'),
    ("v list<int>", "{1}", "Invalid set literal for v of type list<int>"),
    ("v map<text, int>", "{'a': 'b'}", 'Invalid map literal for v: value \'b\' is not of type int'),
    ("v tuple<int, int>", "(1, 2, 3)", "Invalid tuple literal for v: too many elements. Type tuple<int, int> expects 2 but got 3"),
]


@pytest.mark.parametrize("column,literal,message", REFUSALS, ids=[f"{c}={lit}" for c, lit, _ in REFUSALS])
def test_bad_literals_are_refused_with_cassandras_words(db, column, literal, message):
    t = db.shared_table(f"k int PRIMARY KEY, {column}")
    db.refused(f"INSERT INTO {t} (k, v) VALUES (1, {literal})", InvalidRequest, message)
