"""ORDER BY as Cassandra answers it: clustering order as declared, reversed,
with IN on the partition key (rows of all partitions merged in clustering
order), on tables whose clustering columns mix ASC and DESC, and the refusals."""

import pytest
from cassandra import InvalidRequest


@pytest.fixture
def mixed(db):
    def make():
        t = db.table("k int, c1 int, c2 text, v int, PRIMARY KEY (k, c1, c2)",
                     "CLUSTERING ORDER BY (c1 DESC, c2 ASC)")
        prepared = db.session.prepare(f"INSERT INTO {t} (k, c1, c2, v) VALUES (?, ?, ?, ?)")
        for k in (1, 2):
            for c1 in (1, 2):
                for c2 in ("a", "b"):
                    db.session.execute(prepared, (k, c1, c2, k))
        return t

    return db.shared('test_select_ordering.py:mixed', make)


def test_rows_follow_the_declared_clustering_order(db, mixed):
    assert db.rows(f"SELECT c1, c2 FROM {mixed} WHERE k = 1") == [(2, "a"), (2, "b"), (1, "a"), (1, "b")]


@pytest.mark.parametrize("order,expected", [
    ("c1 DESC", [(2, "a"), (2, "b"), (1, "a"), (1, "b")]),
    ("c1 DESC, c2 ASC", [(2, "a"), (2, "b"), (1, "a"), (1, "b")]),
    ("c1 ASC", [(1, "b"), (1, "a"), (2, "b"), (2, "a")]),
    ("c1 ASC, c2 DESC", [(1, "b"), (1, "a"), (2, "b"), (2, "a")]),
])
def test_order_by_forward_and_reversed(db, mixed, order, expected):
    assert db.rows(f"SELECT c1, c2 FROM {mixed} WHERE k = 1 ORDER BY {order}") == expected


MERGED_ASC = [(1, 1, "b"), (1, 1, "a"), (2, 1, "b"), (2, 1, "a"),
              (1, 2, "b"), (1, 2, "a"), (2, 2, "b"), (2, 2, "a")]


def test_order_by_with_in_on_the_partition_key_merges_the_partitions(db, mixed):
    # Rows of both partitions, each read in reversed clustering order, then
    # sorted by c1 alone (a stable sort: ties keep the partitions' order).
    assert db.rows(f"SELECT k, c1, c2 FROM {mixed} WHERE k IN (2, 1) ORDER BY c1 ASC", fetch_size=0) == MERGED_ASC


def test_order_by_with_in_sorts_by_every_ordering_column(db, mixed):
    got = db.rows(f"SELECT k, c1, c2 FROM {mixed} WHERE k IN (2, 1) ORDER BY c1 DESC, c2 ASC", fetch_size=0)
    assert got == [(1, 2, "a"), (2, 2, "a"), (1, 2, "b"), (2, 2, "b"),
                   (1, 1, "a"), (2, 1, "a"), (1, 1, "b"), (2, 1, "b")]


def test_order_by_with_in_and_a_clustering_restriction(db, mixed):
    got = db.rows(f"SELECT k, c1, c2 FROM {mixed} WHERE k IN (1, 2) AND c1 = 1 ORDER BY c1 ASC, c2 DESC", fetch_size=0)
    assert got == [(1, 1, "b"), (2, 1, "b"), (1, 1, "a"), (2, 1, "a")]


def test_order_by_with_in_and_a_limit_under_the_page_size_keeps_the_first_rows_of_the_merged_order(db, mixed):
    assert db.rows(f"SELECT k, c1, c2 FROM {mixed} WHERE k IN (1, 2) ORDER BY c1 ASC LIMIT 3") == MERGED_ASC[:3]


def test_order_by_with_in_is_refused_when_the_query_would_page(db, mixed):
    db.refused(f"SELECT k, c1, c2 FROM {mixed} WHERE k IN (1, 2) ORDER BY c1 ASC", InvalidRequest,
               "Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either "
               "remove the ORDER BY or the IN and sort client side, or disable paging for this query")


def test_a_reversed_slice_of_one_partition(db):
    t = db.table("k int, c int, PRIMARY KEY (k, c)")
    for c in range(10):
        db.execute(f"INSERT INTO {t} (k, c) VALUES (0, {c})")
    assert [c for (c,) in db.rows(f"SELECT c FROM {t} WHERE k = 0 AND c > 3 AND c <= 7 ORDER BY c DESC")] == [7, 6, 5, 4]
    assert [c for (c,) in db.rows(f"SELECT c FROM {t} WHERE k = 0 ORDER BY c DESC LIMIT 2")] == [9, 8]
    assert [c for (c,) in db.rows(f"SELECT c FROM {t} WHERE k = 0 ORDER BY c DESC", fetch_size=3)] == list(range(9, -1, -1))


def test_text_and_timeuuid_clustering_sort_as_cassandra_sorts_them(db):
    t = db.table("k int, c text, PRIMARY KEY (k, c)")
    for c in ("b", "B", "a", "ab", ""):
        db.execute(f"INSERT INTO {t} (k, c) VALUES (0, %s)", (c,))
    assert [c for (c,) in db.rows(f"SELECT c FROM {t} WHERE k = 0")] == ["", "B", "a", "ab", "b"]
    t2 = db.table("k int, c int, PRIMARY KEY (k, c)")
    for c in (3, -1, 0, -100):
        db.execute(f"INSERT INTO {t2} (k, c) VALUES (0, {c})")
    assert [c for (c,) in db.rows(f"SELECT c FROM {t2} WHERE k = 0")] == [-100, -1, 0, 3]


REFUSALS = [
    ("SELECT * FROM {t} ORDER BY c1 DESC", "ORDER BY is only supported when the partition key is restricted by an EQ or an IN."),
    ("SELECT * FROM {t} WHERE k = 1 ORDER BY v DESC",
     "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got v"),
    ("SELECT * FROM {t} WHERE k = 1 ORDER BY c2 DESC",
     "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY"),
    ("SELECT * FROM {t} WHERE k = 1 ORDER BY c1 ASC, c2 DESC", "Unsupported order by relation"),
    ("SELECT * FROM {t} WHERE k = 1 ORDER BY nope DESC", "Undefined column name nope"),
]


@pytest.mark.parametrize("statement,message", REFUSALS, ids=[s for s, _ in REFUSALS])
def test_order_by_refusals_carry_cassandras_words(db, statement, message):
    t = db.shared_table("k int, c1 int, c2 int, v int, PRIMARY KEY (k, c1, c2)")
    db.refused(statement.format(t=t), InvalidRequest, message)
