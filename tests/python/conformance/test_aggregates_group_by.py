"""Aggregates and GROUP BY as Cassandra answers them: count, sum, avg, min,
max over types, GROUP BY on partition-key and clustering prefixes, with
LIMIT, PER PARTITION LIMIT and paging, and the refusals."""

import datetime
from decimal import Decimal

import pytest
from cassandra import InvalidRequest


@pytest.fixture
def sales(db):
    """k in 1..3, c1 in 0..1, c2 in 0..2, v = k + c1 + c2."""
    def make():
        t = db.table("k int, c1 int, c2 int, v int, d double, s int static, PRIMARY KEY (k, c1, c2)")
        prepared = db.session.prepare(f"INSERT INTO {t} (k, c1, c2, v, d, s) VALUES (?, ?, ?, ?, ?, ?)")
        for k in (1, 2, 3):
            for c1 in (0, 1):
                for c2 in (0, 1, 2):
                    db.session.execute(prepared, (k, c1, c2, k + c1 + c2, (k + c1 + c2) / 2, k))
        return t

    return db.shared('test_aggregates_group_by.py:sales', make)


def test_aggregates_over_a_partition(db, sales):
    assert db.rows(f"SELECT count(*), count(v), sum(v), avg(v), min(v), max(v) FROM {sales} WHERE k = 2") == \
        [(6, 6, 2 * 6 + 3 + 6, (2 * 6 + 3 + 6) // 6, 2, 5)]
    assert db.rows(f"SELECT sum(d), avg(d) FROM {sales} WHERE k = 1") == [(7.5, 1.25)]


def test_aggregates_over_no_rows(db, sales):
    assert db.rows(f"SELECT count(*), sum(v), avg(v), min(v), max(v) FROM {sales} WHERE k = 99") == \
        [(0, 0, 0, None, None)]


def test_an_aggregate_beside_a_column_takes_the_first_rows_value(db, sales):
    assert db.rows(f"SELECT k, c2, max(v) FROM {sales} WHERE k = 3") == [(3, 0, 6)]


def test_integer_sum_and_avg_stay_in_the_column_type(db):
    t = db.table("k int, c int, v int, w tinyint, PRIMARY KEY (k, c)")
    db.execute(f"INSERT INTO {t} (k, c, v, w) VALUES (1, 1, 1, 100)")
    db.execute(f"INSERT INTO {t} (k, c, v, w) VALUES (1, 2, 2, 100)")
    assert db.rows(f"SELECT avg(v) FROM {t}") == [(1,)]
    assert db.rows(f"SELECT sum(w) FROM {t}") == [(-56,)]


@pytest.mark.parametrize("cql_type,values,low,high", [
    ("text", ["b", "a", "c"], "a", "c"),
    ("timestamp", ["'2020-01-02'", "'2019-05-05'"], datetime.datetime(2019, 5, 5), datetime.datetime(2020, 1, 2)),
    ("decimal", ["1.5", "-2"], Decimal("-2"), Decimal("1.5")),
    ("boolean", ["true", "false"], False, True),
    ("uuid", ["00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000001"], None, None),
    ("date", ["'2020-01-02'", "'2019-05-05'"], None, None),
    ("frozen<list<int>>", ["[1, 2]", "[1]", "[0, 9]"], [0, 9], [1, 2]),
])
def test_min_and_max_over_comparable_types(db, cql_type, values, low, high):
    t = db.table(f"k int, c int, v {cql_type}, PRIMARY KEY (k, c)")
    for i, value in enumerate(values):
        literal = f"'{value}'" if cql_type == "text" else value
        db.execute(f"INSERT INTO {t} (k, c, v) VALUES (0, {i}, {literal})")
    [(mn, mx)] = db.rows(f"SELECT min(v), max(v) FROM {t} WHERE k = 0")
    if low is not None:
        assert (mn, mx) == (low, high)
    else:
        assert str(mn) < str(mx)


def test_group_by_partition_key(db, sales):
    assert db.rows(f"SELECT k, count(*), sum(v) FROM {sales} GROUP BY k", fetch_size=0) == \
        [(k, 6, 6 * k + 9) for (k,) in db.rows(f"SELECT DISTINCT k FROM {sales}")]


def test_group_by_a_clustering_prefix(db, sales):
    assert db.rows(f"SELECT k, c1, count(*), max(v) FROM {sales} WHERE k = 1 GROUP BY k, c1") == \
        [(1, 0, 3, 3), (1, 1, 3, 4)]
    assert db.rows(f"SELECT c1, c2, count(*) FROM {sales} WHERE k = 1 GROUP BY c1, c2") == \
        [(c1, c2, 1) for c1 in (0, 1) for c2 in (0, 1, 2)]


def test_group_by_with_a_reversed_order(db, sales):
    assert db.rows(f"SELECT c1, count(*) FROM {sales} WHERE k = 1 GROUP BY c1 ORDER BY c1 DESC") == [(1, 3), (0, 3)]


def test_group_by_with_limit_counts_groups(db, sales):
    groups = db.rows(f"SELECT k, c1, count(*) FROM {sales} GROUP BY k, c1", fetch_size=0)
    assert len(groups) == 6
    assert db.rows(f"SELECT k, c1, count(*) FROM {sales} GROUP BY k, c1 LIMIT 4") == groups[:4]


def test_group_by_with_per_partition_limit_counts_groups(db, sales):
    groups = db.rows(f"SELECT k, c1, count(*) FROM {sales} GROUP BY k, c1", fetch_size=0)
    assert db.rows(f"SELECT k, c1, count(*) FROM {sales} GROUP BY k, c1 PER PARTITION LIMIT 1") == \
        [g for g in groups if g[1] == 0]


@pytest.mark.parametrize("fetch_size", [1, 2, 5])
def test_group_by_pages_by_group(db, sales, fetch_size):
    expected = db.rows(f"SELECT k, c1, count(*), sum(v) FROM {sales} GROUP BY k, c1", fetch_size=0)
    assert db.rows(f"SELECT k, c1, count(*), sum(v) FROM {sales} GROUP BY k, c1", fetch_size=fetch_size) == expected


def test_group_by_without_aggregate_returns_the_first_row_of_each_group(db, sales):
    assert db.rows(f"SELECT k, c1, c2 FROM {sales} WHERE k = 2 GROUP BY c1") == [(2, 0, 0), (2, 1, 0)]


def test_group_by_with_in_on_the_partition_key(db, sales):
    assert db.sorted_rows(f"SELECT k, count(*) FROM {sales} WHERE k IN (1, 3) GROUP BY k") == [(1, 6), (3, 6)]


def test_group_by_with_filtering(db, sales):
    got = db.sorted_rows(f"SELECT k, count(*) FROM {sales} WHERE v > 4 GROUP BY k ALLOW FILTERING")
    assert got == [(2, 1), (3, 3)]


def test_count_with_an_alias_and_count_one(db, sales):
    result = db.execute(f"SELECT count(*) AS n, count(1) FROM {sales} WHERE k = 1")
    assert result.column_names[0] == "n"
    assert [tuple(r) for r in result] == [(6, 6)]


def test_the_column_names_of_aggregates(db, sales):
    result = db.execute(f"SELECT count(*), max(v), sum(v) FROM {sales} WHERE k = 1")
    assert result.column_names == ["count", "system.max(v)", "system.sum(v)"]


# AggregateFcts.all(): sum and avg are declared for these types, in this order.
NUMBERS = ["tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "varint", "counter"]

REFUSALS = [
    ("SELECT v, count(*) FROM {t} GROUP BY v", "Group by is currently only supported on the columns of the PRIMARY KEY, got v"),
    ("SELECT count(*) FROM {t} GROUP BY c1", "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"),
    ("SELECT count(*) FROM {t} WHERE k = 1 GROUP BY c2", "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"),
    ("SELECT count(*) FROM {t} GROUP BY nope", "Undefined column name nope"),
    ("SELECT sum(t) FROM {t}", "Invalid call to function sum, none of its type signatures match (known type signatures: "
     + ", ".join(f"system.sum : ({n}) -> {n}" for n in NUMBERS) + ")"),
    ("SELECT avg(t) FROM {t}", "Invalid call to function avg, none of its type signatures match (known type signatures: "
     + ", ".join(f"system.avg : ({n}) -> {n}" for n in NUMBERS) + ")"),
    ("SELECT max(nope) FROM {t}", "Undefined column name nope"),
    ("SELECT nope(v) FROM {t}", "Unknown function 'nope'"),
]


@pytest.mark.parametrize("statement,message", REFUSALS, ids=[s for s, _ in REFUSALS])
def test_aggregate_refusals_carry_cassandras_words(db, statement, message):
    t = db.shared_table("k int, c1 int, c2 int, v int, t text, PRIMARY KEY (k, c1, c2)")
    db.refused(statement.format(t=t), InvalidRequest, message)
