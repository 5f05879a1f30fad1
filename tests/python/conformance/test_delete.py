"""DELETE as Cassandra answers it: rows, partitions, ranges of rows, cells,
static columns, conditions and timestamps."""

import pytest
from cassandra import InvalidRequest


@pytest.fixture
def grid(db):
    t = db.table("k int, c int, v int, s int static, PRIMARY KEY (k, c)")
    for k in (1, 2):
        db.execute(f"INSERT INTO {t} (k, s) VALUES ({k}, {k * 10})")
        for c in range(4):
            db.execute(f"INSERT INTO {t} (k, c, v) VALUES ({k}, {c}, {c})")
    return t


def test_a_row_delete_leaves_the_others_and_the_static(db, grid):
    db.execute(f"DELETE FROM {grid} WHERE k = 1 AND c = 2")
    assert db.rows(f"SELECT k, c, v, s FROM {grid} WHERE k = 1") == [(1, 0, 0, 10), (1, 1, 1, 10), (1, 3, 3, 10)]


@pytest.mark.parametrize("where,left", [
    ("c > 1", [0, 1]),
    ("c >= 1 AND c < 3", [0, 3]),
    ("c <= 0", [1, 2, 3]),
    ("c IN (0, 3)", [1, 2]),
])
def test_a_range_delete_removes_only_its_rows(db, grid, where, left):
    db.execute(f"DELETE FROM {grid} WHERE k = 1 AND {where}")
    assert [c for (c,) in db.rows(f"SELECT c FROM {grid} WHERE k = 1")] == left
    assert len(db.rows(f"SELECT c FROM {grid} WHERE k = 2")) == 4


def test_a_partition_delete_removes_its_rows_and_its_static(db, grid):
    db.execute(f"DELETE FROM {grid} WHERE k = 1")
    assert db.rows(f"SELECT * FROM {grid} WHERE k = 1") == []
    assert db.rows(f"SELECT DISTINCT k, s FROM {grid}") == [(2, 20)]


def test_deleting_the_static_column_leaves_it_unreadable(db, grid):
    db.execute(f"DELETE s FROM {grid} WHERE k = 1")
    assert {s for (s,) in db.rows(f"SELECT s FROM {grid} WHERE k = 1")} == {None}
    assert db.sorted_rows(f"SELECT DISTINCT k, s FROM {grid}") == [(1, None), (2, 20)]


def test_a_partition_with_only_a_static_row_is_listed_with_nulls(db):
    t = db.table("k int, c int, v int, s int static, PRIMARY KEY (k, c)")
    db.execute(f"INSERT INTO {t} (k, s) VALUES (1, 5)")
    assert db.rows(f"SELECT * FROM {t}") == [(1, None, 5, None)]
    db.execute(f"DELETE s FROM {t} WHERE k = 1")
    assert db.rows(f"SELECT * FROM {t}") == []


def test_a_cell_delete_leaves_the_row(db, grid):
    db.execute(f"DELETE v FROM {grid} WHERE k = 1 AND c = 0")
    assert db.rows(f"SELECT c, v FROM {grid} WHERE k = 1 AND c = 0") == [(0, None)]


def test_a_delete_with_an_older_timestamp_does_not_remove_a_newer_write(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1) USING TIMESTAMP 100")
    db.execute(f"DELETE FROM {t} USING TIMESTAMP 50 WHERE k = 1")
    assert db.rows(f"SELECT v FROM {t}") == [(1,)]
    db.execute(f"DELETE FROM {t} USING TIMESTAMP 100 WHERE k = 1")
    assert db.rows(f"SELECT v FROM {t}") == []


def test_a_delete_with_in_on_the_partition_key(db, grid):
    db.execute(f"DELETE FROM {grid} WHERE k IN (1, 2)")
    assert db.rows(f"SELECT * FROM {grid}") == []


def test_conditional_deletes(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1)")
    assert db.rows(f"DELETE FROM {t} WHERE k = 1 IF v = 2") == [(False, 1)]
    assert db.rows(f"DELETE FROM {t} WHERE k = 2 IF EXISTS") == [(False,)]
    assert db.rows(f"DELETE FROM {t} WHERE k = 1 IF EXISTS") == [(True,)]
    assert db.rows(f"SELECT * FROM {t}") == []


def test_an_insert_after_a_delete_with_a_newer_timestamp_is_visible(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1)")
    db.execute(f"DELETE FROM {t} WHERE k = 1")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 2)")
    assert db.rows(f"SELECT v FROM {t}") == [(2,)]


REFUSALS = [
    ("k int PRIMARY KEY, v int", "DELETE FROM {t}", None),
    ("k int PRIMARY KEY, v int", "DELETE FROM {t} WHERE v = 1", "Some partition key parts are missing: k"),
    ("k int PRIMARY KEY, v int", "DELETE k FROM {t} WHERE k = 1",
     "Invalid identifier k for deletion (should not be a PRIMARY KEY part)"),
    ("k int PRIMARY KEY, v int", "DELETE nope FROM {t} WHERE k = 1", "Undefined column name nope"),
    ("k int PRIMARY KEY, v int", "DELETE FROM {t} WHERE k > 1",
     "Only EQ and IN relation are supported on the partition key (unless you use the token() function or allow filtering)"),
    ("k int, c int, v int, PRIMARY KEY (k, c)", "DELETE v FROM {t} WHERE k = 1 AND c > 1",
     "Range deletions are not supported for specific columns"),
    ("k int PRIMARY KEY, v int", "DELETE v[1] FROM {t} WHERE k = 1", "Invalid element deletion of non collection column v"),
    ("k int, c int, v int, PRIMARY KEY (k, c)", "DELETE FROM {t} WHERE k = 1 AND c > 1 IF EXISTS",
     "DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions"),
]


@pytest.mark.parametrize("columns,statement,message", REFUSALS, ids=[s for _, s, _ in REFUSALS])
def test_delete_refusals_carry_cassandras_words(db, columns, statement, message):
    from cassandra.protocol import SyntaxException
    t = db.shared_table(columns)
    if message is None:
        with pytest.raises(SyntaxException):
            db.execute(statement.format(t=t))
    else:
        db.refused(statement.format(t=t), InvalidRequest, message)
