"""LIMIT, PER PARTITION LIMIT, DISTINCT and paging with small page sizes, as
Cassandra answers them: the first rows in the order Cassandra returns them,
never a row twice or missed across pages."""

import pytest
from cassandra import InvalidRequest


@pytest.fixture
def grid(db):
    """k in 0..4, c in 0..4, with a static s = k."""
    def make():
        t = db.table("k int, c int, v int, s int static, PRIMARY KEY (k, c)")
        prepared = db.session.prepare(f"INSERT INTO {t} (k, c, v, s) VALUES (?, ?, ?, ?)")
        for k in range(5):
            for c in range(5):
                db.session.execute(prepared, (k, c, k * 10 + c, k))
        return t

    return db.shared('test_select_limits.py:grid', make)


def everything(db, t):
    return db.rows(f"SELECT k, c FROM {t}", fetch_size=0)


def test_limit_returns_the_first_rows_in_token_order(db, grid):
    assert db.rows(f"SELECT k, c FROM {grid} LIMIT 7") == everything(db, grid)[:7]


def test_limit_in_one_partition(db, grid):
    assert db.rows(f"SELECT c FROM {grid} WHERE k = 2 LIMIT 2") == [(0,), (1,)]
    assert db.rows(f"SELECT c FROM {grid} WHERE k = 2 ORDER BY c DESC LIMIT 2") == [(4,), (3,)]


def test_per_partition_limit_keeps_the_first_rows_of_each_partition(db, grid):
    got = db.rows(f"SELECT k, c FROM {grid} PER PARTITION LIMIT 2")
    assert got == [(k, c) for (k, c) in everything(db, grid) if c < 2]


def test_per_partition_limit_with_limit(db, grid):
    expected = [(k, c) for (k, c) in everything(db, grid) if c < 2][:3]
    assert db.rows(f"SELECT k, c FROM {grid} PER PARTITION LIMIT 2 LIMIT 3") == expected


def test_per_partition_limit_with_limit_and_small_pages(db, grid):
    expected = [(k, c) for (k, c) in everything(db, grid) if c < 3][:8]
    assert db.rows(f"SELECT k, c FROM {grid} PER PARTITION LIMIT 3 LIMIT 8", fetch_size=2) == expected


def test_per_partition_limit_with_in(db, grid):
    assert db.sorted_rows(f"SELECT k, c FROM {grid} WHERE k IN (1, 3) PER PARTITION LIMIT 1") == [(1, 0), (3, 0)]


def test_per_partition_limit_with_a_clustering_slice(db, grid):
    assert db.rows(f"SELECT c FROM {grid} WHERE k = 1 AND c > 1 PER PARTITION LIMIT 2") == [(2,), (3,)]


@pytest.mark.parametrize("fetch_size", [1, 2, 3, 7, 24, 25, 26])
def test_paging_returns_every_row_once_in_order(db, grid, fetch_size):
    assert db.rows(f"SELECT k, c FROM {grid}", fetch_size=fetch_size) == everything(db, grid)


@pytest.mark.parametrize("fetch_size", [1, 2, 4])
def test_paging_within_one_partition_forward_and_reversed(db, grid, fetch_size):
    assert db.rows(f"SELECT c FROM {grid} WHERE k = 3", fetch_size=fetch_size) == [(c,) for c in range(5)]
    assert db.rows(f"SELECT c FROM {grid} WHERE k = 3 ORDER BY c DESC", fetch_size=fetch_size) == \
        [(c,) for c in range(4, -1, -1)]


def test_paging_with_a_limit_stops_at_the_limit(db, grid):
    assert db.rows(f"SELECT k, c FROM {grid} LIMIT 11", fetch_size=4) == everything(db, grid)[:11]


def test_paging_over_an_in_query(db, grid):
    assert db.sorted_rows(f"SELECT k, c FROM {grid} WHERE k IN (0, 4, 2)", fetch_size=2) == \
        [(k, c) for k in (0, 2, 4) for c in range(5)]


def test_paging_with_filtering(db, grid):
    assert db.sorted_rows(f"SELECT k, c FROM {grid} WHERE v > 21 AND c < 3 ALLOW FILTERING", fetch_size=2) == \
        [(k, c) for k in (2, 3, 4) for c in range(3) if k * 10 + c > 21]


def test_distinct_lists_each_partition_and_its_static(db, grid):
    assert db.sorted_rows(f"SELECT DISTINCT k, s FROM {grid}") == [(k, k) for k in range(5)]
    assert len(db.rows(f"SELECT DISTINCT k FROM {grid}", fetch_size=2)) == 5
    assert len(db.rows(f"SELECT DISTINCT k FROM {grid} LIMIT 3")) == 3


def test_distinct_and_per_partition_limit_pass_over_deleted_first_rows(db):
    """Replicas are asked for one row (DISTINCT) or n rows (PER PARTITION
    LIMIT) of each partition; where those rows are deleted the read goes on
    inside that partition, and a partition without live rows is left out."""
    t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
    insert = db.session.prepare(f"INSERT INTO {t} (k, c, v) VALUES (?, ?, ?)")
    delete = db.session.prepare(f"DELETE FROM {t} WHERE k = ? AND c = ?")
    for k in range(5):
        for c in range(30):
            db.session.execute(insert, (k, c, c))
    for k, deleted in [(1, range(25)), (3, range(25)), (4, range(30))]:
        for c in deleted:
            db.session.execute(delete, (k, c))
    assert db.sorted_rows(f"SELECT DISTINCT k FROM {t}") == [(k,) for k in range(4)]
    assert len(db.rows(f"SELECT DISTINCT k FROM {t}", fetch_size=1)) == 4
    first = {0: 0, 1: 25, 2: 0, 3: 25}
    assert db.sorted_rows(f"SELECT k, c FROM {t} PER PARTITION LIMIT 2") == sorted(
        (k, c) for k, c0 in first.items() for c in (c0, c0 + 1))
    assert db.sorted_rows(f"SELECT k, c FROM {t} PER PARTITION LIMIT 1", fetch_size=3) == sorted(first.items())


def test_count_counts_across_pages(db, grid):
    assert db.rows(f"SELECT count(*) FROM {grid}", fetch_size=3) == [(25,)]
    assert db.rows(f"SELECT count(*) FROM {grid} WHERE k = 1") == [(5,)]
    assert db.rows(f"SELECT count(*) FROM {grid} LIMIT 3") == [(25,)]


def test_a_bound_limit(db, grid):
    prepared = db.session.prepare(f"SELECT c FROM {grid} WHERE k = 0 LIMIT ?")
    assert [tuple(r) for r in db.session.execute(prepared, (2,))] == [(0,), (1,)]


REFUSALS = [
    ("SELECT * FROM {t} LIMIT 0", "LIMIT must be strictly positive"),
    ("SELECT * FROM {t} LIMIT -1", "LIMIT must be strictly positive"),
    ("SELECT * FROM {t} PER PARTITION LIMIT 0", "PER PARTITION LIMIT must be strictly positive"),
    ("SELECT DISTINCT c FROM {t}",
     "SELECT DISTINCT queries must only request partition key columns and/or static columns (not c)"),
    ("SELECT DISTINCT k FROM {t} PER PARTITION LIMIT 1", "PER PARTITION LIMIT is not allowed with SELECT DISTINCT queries"),
    ("SELECT DISTINCT s FROM {t}", "SELECT DISTINCT queries must request all the partition key columns (missing k)"),
]


@pytest.mark.parametrize("statement,message", REFUSALS, ids=[s for s, _ in REFUSALS])
def test_limit_refusals_carry_cassandras_words(db, statement, message):
    t = db.shared_table("k int, c int, v int, s int static, PRIMARY KEY (k, c)")
    db.refused(statement.format(t=t), InvalidRequest, message)
