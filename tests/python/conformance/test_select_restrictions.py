"""SELECT restrictions as Cassandra answers them: partition key equality and
IN (deduplicated, empty), clustering slices, multi-column relations on mixed
ASC/DESC clustering orders, token ranges, filtering, CONTAINS, and the
refusals of restrictions Cassandra does not serve."""

import pytest
from cassandra import InvalidRequest

from .conftest import FILTERING


@pytest.fixture
def grid(db):
    """k in 0..3, c in 0..3, v = 10 * k + c."""
    def make():
        t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
        prepared = db.session.prepare(f"INSERT INTO {t} (k, c, v) VALUES (?, ?, ?)")
        for k in range(4):
            for c in range(4):
                db.session.execute(prepared, (k, c, 10 * k + c))
        return t

    return db.shared('test_select_restrictions.py:grid', make)


@pytest.fixture
def mixed(db):
    """Two clustering columns, c1 ASC and c2 DESC, c1 and c2 in 0..2."""
    def make():
        t = db.table("k int, c1 int, c2 int, v int, PRIMARY KEY (k, c1, c2)",
                     "CLUSTERING ORDER BY (c1 ASC, c2 DESC)")
        prepared = db.session.prepare(f"INSERT INTO {t} (k, c1, c2, v) VALUES (0, ?, ?, 0)")
        for c1 in range(3):
            for c2 in range(3):
                db.session.execute(prepared, (c1, c2))
        return t

    return db.shared('test_select_restrictions.py:mixed', make)


def test_partition_key_equality(db, grid):
    assert db.rows(f"SELECT c, v FROM {grid} WHERE k = 2") == [(0, 20), (1, 21), (2, 22), (3, 23)]


def test_partition_key_in_returns_each_partition_once(db, grid):
    assert db.sorted_rows(f"SELECT k, c FROM {grid} WHERE k IN (1, 3) AND c = 0") == [(1, 0), (3, 0)]
    assert db.rows(f"SELECT k, c FROM {grid} WHERE k IN (1, 1) AND c = 0") == [(1, 0)]


def test_an_empty_in_returns_no_rows(db, grid):
    assert db.rows(f"SELECT * FROM {grid} WHERE k IN ()") == []
    assert db.rows(f"SELECT * FROM {grid} WHERE k = 1 AND c IN ()") == []


def test_a_duplicated_clustering_in_returns_the_row_once(db, grid):
    assert db.rows(f"SELECT c FROM {grid} WHERE k = 1 AND c IN (2, 0, 2)") == [(0,), (2,)]


def test_a_bound_in_list_returns_each_partition_once(db, grid):
    prepared = db.session.prepare(f"SELECT k FROM {grid} WHERE k IN ? AND c = 1")
    assert sorted(tuple(r) for r in db.session.execute(prepared, ([2, 2, 0],))) == [(0,), (2,)]
    assert list(db.session.execute(prepared, ([],))) == []


@pytest.mark.parametrize("where,expected", [
    ("c = 2", [2]),
    ("c > 1", [2, 3]),
    ("c >= 1", [1, 2, 3]),
    ("c < 2", [0, 1]),
    ("c <= 2", [0, 1, 2]),
    ("c > 0 AND c < 3", [1, 2]),
    ("c >= 1 AND c <= 1", [1]),
    ("c > 2 AND c < 1", []),
    ("c IN (3, 1)", [1, 3]),
])
def test_clustering_restrictions(db, grid, where, expected):
    assert [c for (c,) in db.rows(f"SELECT c FROM {grid} WHERE k = 1 AND {where}")] == expected


MIXED = [
    ("(c1, c2) > (1, 0)", [(1, 2), (1, 1), (2, 2), (2, 1), (2, 0)]),
    ("(c1, c2) >= (1, 1)", [(1, 2), (1, 1), (2, 2), (2, 1), (2, 0)]),
    ("(c1, c2) < (1, 1)", [(0, 2), (0, 1), (0, 0), (1, 0)]),
    ("(c1, c2) <= (1, 1)", [(0, 2), (0, 1), (0, 0), (1, 1), (1, 0)]),
    ("(c1, c2) > (0, 1) AND (c1, c2) < (2, 1)", [(0, 2), (1, 2), (1, 1), (1, 0), (2, 0)]),
    ("(c1) > (1)", [(2, 2), (2, 1), (2, 0)]),
    ("c1 = 1 AND c2 > 0", [(1, 2), (1, 1)]),
    ("(c1, c2) = (2, 1)", [(2, 1)]),
    ("(c1, c2) IN ((2, 1), (0, 0))", [(0, 0), (2, 1)]),
]


@pytest.mark.parametrize("where,expected", MIXED, ids=[w for w, _ in MIXED])
def test_multi_column_relations_on_mixed_clustering_orders(db, mixed, where, expected):
    assert db.rows(f"SELECT c1, c2 FROM {mixed} WHERE k = 0 AND {where}") == expected


def test_a_multi_column_slice_in_reverse_order(db, mixed):
    assert db.rows(f"SELECT c1, c2 FROM {mixed} WHERE k = 0 AND (c1, c2) > (1, 0) ORDER BY c1 DESC") == \
        [(2, 0), (2, 1), (2, 2), (1, 1), (1, 2)]


def test_token_ranges_split_the_table(db, grid):
    everything = db.sorted_rows(f"SELECT k, c FROM {grid}")
    [(t1,)] = db.rows(f"SELECT token(k) FROM {grid} WHERE k = 1 LIMIT 1")
    low = db.rows(f"SELECT k, c FROM {grid} WHERE token(k) <= {t1}")
    high = db.rows(f"SELECT k, c FROM {grid} WHERE token(k) > token(1)")
    assert sorted(low + high) == everything and (1, 0) in low


def test_rows_come_in_token_order_across_partitions(db, grid):
    tokens = [t for (t,) in db.rows(f"SELECT token(k) FROM {grid}")]
    assert tokens == sorted(tokens)


def test_filtering_needs_allow_filtering(db, grid):
    db.refused(f"SELECT * FROM {grid} WHERE v = 21", InvalidRequest, FILTERING)
    assert db.rows(f"SELECT k, c FROM {grid} WHERE v = 21 ALLOW FILTERING") == [(2, 1)]
    db.refused(f"SELECT * FROM {grid} WHERE c = 1", InvalidRequest, FILTERING)
    assert db.sorted_rows(f"SELECT k FROM {grid} WHERE c = 1 AND v > 20 ALLOW FILTERING") == [(2,), (3,)]
    assert db.rows(f"SELECT c FROM {grid} WHERE k = 1 AND v > 11 ALLOW FILTERING") == [(2,), (3,)]


def test_a_partial_composite_partition_key_needs_allow_filtering(db):
    t = db.table("a int, b int, v int, PRIMARY KEY ((a, b))")
    db.execute(f"INSERT INTO {t} (a, b, v) VALUES (1, 2, 3)")
    db.refused(f"SELECT * FROM {t} WHERE a = 1", InvalidRequest, FILTERING)
    assert db.rows(f"SELECT v FROM {t} WHERE a = 1 ALLOW FILTERING") == [(3,)]
    assert db.rows(f"SELECT v FROM {t} WHERE a = 1 AND b = 2") == [(3,)]


def test_contains_and_contains_key_filter_collections(db):
    t = db.table("k int PRIMARY KEY, s set<int>, m map<text, int>")
    db.execute(f"INSERT INTO {t} (k, s, m) VALUES (1, {{1, 2}}, {{'a': 1}})")
    db.execute(f"INSERT INTO {t} (k, s, m) VALUES (2, {{2, 3}}, {{'b': 1}})")
    db.refused(f"SELECT k FROM {t} WHERE s CONTAINS 2", InvalidRequest, FILTERING)
    assert db.sorted_rows(f"SELECT k FROM {t} WHERE s CONTAINS 2 ALLOW FILTERING") == [(1,), (2,)]
    assert db.rows(f"SELECT k FROM {t} WHERE s CONTAINS 3 ALLOW FILTERING") == [(2,)]
    assert db.rows(f"SELECT k FROM {t} WHERE m CONTAINS KEY 'a' ALLOW FILTERING") == [(1,)]
    assert db.sorted_rows(f"SELECT k FROM {t} WHERE m CONTAINS 1 ALLOW FILTERING") == [(1,), (2,)]
    assert db.rows(f"SELECT k FROM {t} WHERE m['b'] = 1 ALLOW FILTERING") == [(2,)]


def test_a_static_column_filter(db):
    t = db.table("k int, c int, s int static, PRIMARY KEY (k, c)")
    db.execute(f"INSERT INTO {t} (k, c, s) VALUES (1, 1, 5)")
    db.execute(f"INSERT INTO {t} (k, c, s) VALUES (2, 1, 6)")
    assert db.rows(f"SELECT k FROM {t} WHERE s = 6 ALLOW FILTERING") == [(2,)]


def test_a_select_of_a_missing_partition_is_empty(db, grid):
    assert db.rows(f"SELECT * FROM {grid} WHERE k = 99") == []


REFUSALS = [
    ("SELECT * FROM {t} WHERE k > 1",
     "Only EQ and IN relation are supported on the partition key (unless you use the token() function or allow filtering)"),
    ("SELECT * FROM {t} WHERE k = 1 AND c2 = 1",
     'PRIMARY KEY column "c2" cannot be restricted as preceding column "c1" is not restricted'),
    ("SELECT * FROM {t} WHERE k = 1 AND c1 > 1 AND c2 = 1",
     'Clustering column "c2" cannot be restricted (preceding column "c1" is restricted by a non-EQ relation)'),
    ("SELECT * FROM {t} WHERE k = 1 AND c1 > 1 AND c1 > 2",
     "More than one restriction was found for the start bound on c1"),
    ("SELECT * FROM {t} WHERE k = 1 AND c1 < 1 AND c1 <= 2",
     "More than one restriction was found for the end bound on c1"),
    ("SELECT * FROM {t} WHERE k = 1 AND c1 = 1 AND c1 = 2",
     "c1 cannot be restricted by more than one relation if it includes an Equal"),
    ("SELECT * FROM {t} WHERE k = 1 AND nope = 1", "Undefined column name nope"),
    ("SELECT * FROM {t} WHERE k = null", "Invalid null value in condition for column k"),
    ("SELECT * FROM {t} WHERE k = 1 AND (c2, c1) > (1, 1)",
     "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: (c2, c1)"),
    ("SELECT * FROM {t} WHERE k = 1 AND (c1, v) > (1, 1)",
     "Multi-column relations can only be applied to clustering columns but was applied to: v"),
    ("SELECT * FROM {t} WHERE token(k) > 0 AND token(k) > 1",
     "More than one restriction was found for the start bound on k"),
    ("SELECT * FROM {t} WHERE v CONTAINS 1 ALLOW FILTERING", "Cannot use CONTAINS on non-collection column v"),
    ("SELECT * FROM {t} WHERE k = 'a'", 'Invalid STRING constant (a) for "k" of type int'),
]


@pytest.mark.parametrize("statement,message", REFUSALS, ids=[s for s, _ in REFUSALS])
def test_restriction_refusals_carry_cassandras_words(db, statement, message):
    t = db.shared_table("k int, c1 int, c2 int, v int, PRIMARY KEY (k, c1, c2)")
    db.refused(statement.format(t=t), InvalidRequest, message)
