"""INSERT as Cassandra answers it: upserts, IF NOT EXISTS, TTL and timestamps,
ties between writes of one timestamp, and the refusals a new user meets."""

import pytest
from cassandra import InvalidRequest


def test_an_inserted_row_reads_back_and_a_second_insert_overwrites_it(db):
    t = db.table("k int PRIMARY KEY, a text, b int")
    db.execute(f"INSERT INTO {t} (k, a, b) VALUES (1, 'x', 10)")
    db.execute(f"INSERT INTO {t} (k, a) VALUES (1, 'y')")
    assert db.rows(f"SELECT k, a, b FROM {t} WHERE k = 1") == [(1, "y", 10)]


def test_an_insert_of_the_primary_key_alone_makes_a_row_of_nulls(db):
    t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
    db.execute(f"INSERT INTO {t} (k, c) VALUES (1, 2)")
    assert db.rows(f"SELECT * FROM {t}") == [(1, 2, None)]


def test_an_update_alone_makes_no_row_once_its_cells_are_deleted_but_an_insert_does(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"UPDATE {t} SET v = 1 WHERE k = 1")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (2, 1)")
    db.execute(f"DELETE v FROM {t} WHERE k = 1")
    db.execute(f"DELETE v FROM {t} WHERE k = 2")
    assert db.rows(f"SELECT * FROM {t}") == [(2, None)]


def test_insert_if_not_exists_applies_once_and_then_returns_the_existing_row(db):
    t = db.table("k int PRIMARY KEY, v text")
    assert db.rows(f"INSERT INTO {t} (k, v) VALUES (1, 'a') IF NOT EXISTS") == [(True,)]
    assert db.rows(f"INSERT INTO {t} (k, v) VALUES (1, 'b') IF NOT EXISTS") == [(False, 1, "a")]
    assert db.rows(f"SELECT v FROM {t} WHERE k = 1") == [("a",)]


def test_using_ttl_sets_the_cells_ttl_and_using_timestamp_their_writetime(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1) USING TTL 1000 AND TIMESTAMP 12345")
    [(ttl, wt)] = db.rows(f"SELECT ttl(v), writetime(v) FROM {t} WHERE k = 1")
    assert 990 <= ttl <= 1000 and wt == 12345


def test_a_write_with_an_older_timestamp_loses(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 2) USING TIMESTAMP 20")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1) USING TIMESTAMP 10")
    assert db.rows(f"SELECT v FROM {t} WHERE k = 1") == [(2,)]


@pytest.mark.parametrize("first,second", [("'a'", "'b'"), ("'b'", "'a'")])
def test_two_writes_of_one_timestamp_keep_the_greater_value_whatever_their_order(db, first, second):
    t = db.table("k int PRIMARY KEY, v text")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, {first}) USING TIMESTAMP 100")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, {second}) USING TIMESTAMP 100")
    assert db.rows(f"SELECT v FROM {t} WHERE k = 1") == [("b",)]


@pytest.mark.parametrize("expiring_first", [True, False])
def test_of_two_writes_of_one_timestamp_the_expiring_cell_wins(db, expiring_first):
    t = db.table("k int PRIMARY KEY, v text")
    writes = [f"INSERT INTO {t} (k, v) VALUES (1, 'a') USING TIMESTAMP 100 AND TTL 5000",
              f"INSERT INTO {t} (k, v) VALUES (1, 'a') USING TIMESTAMP 100"]
    for w in writes if expiring_first else reversed(writes):
        db.execute(w)
    [(ttl,)] = db.rows(f"SELECT ttl(v) FROM {t} WHERE k = 1")
    assert ttl is not None and ttl > 4900


def test_of_two_expiring_writes_of_one_timestamp_the_later_expiry_wins(db):
    t = db.table("k int PRIMARY KEY, v text")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 'a') USING TIMESTAMP 100 AND TTL 9000")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 'a') USING TIMESTAMP 100 AND TTL 3000")
    [(ttl,)] = db.rows(f"SELECT ttl(v) FROM {t} WHERE k = 1")
    assert ttl > 8900


def test_a_ttl_of_zero_means_no_expiry(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1) USING TTL 0")
    assert db.rows(f"SELECT v, ttl(v) FROM {t} WHERE k = 1") == [(1, None)]


def test_a_table_default_ttl_applies_to_an_insert_without_one(db):
    t = db.table("k int PRIMARY KEY, v int", "default_time_to_live = 500")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1)")
    [(ttl,)] = db.rows(f"SELECT ttl(v) FROM {t} WHERE k = 1")
    assert 490 <= ttl <= 500


def test_insert_with_bound_values_and_a_null_regular_column(db):
    t = db.table("k int PRIMARY KEY, v text, w int")
    prepared = db.session.prepare(f"INSERT INTO {t} (k, v, w) VALUES (?, ?, ?)")
    db.session.execute(prepared, (1, None, 3))
    assert db.rows(f"SELECT * FROM {t}") == [(1, None, 3)]


REFUSALS = [
    ("k int, c int, v int, PRIMARY KEY (k, c)", "INSERT INTO {t} (c, v) VALUES (1, 1)",
     "Some partition key parts are missing: k"),
    ("k int, c int, v int, PRIMARY KEY (k, c)", "INSERT INTO {t} (k, v) VALUES (1, 1)",
     "Some clustering keys are missing: c"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, nope) VALUES (1, 1)", "Undefined column name nope"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v) VALUES (1)", "Unmatched column names/values"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v, v) VALUES (1, 1, 2)", "The column names contains duplicates"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v) VALUES (1, 'abc')",
     'Invalid STRING constant (abc) for "v" of type int'),
    ("k int PRIMARY KEY, v text", "INSERT INTO {t} (k, v) VALUES (1, 12)",
     'Invalid INTEGER constant (12) for "v" of type text'),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v) VALUES (null, 1)",
     "Invalid null value in condition for column k"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v) VALUES (1, 1) USING TTL -1",
     "A TTL must be greater or equal to 0, but was -1"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v) VALUES (1, 1) USING TTL 630720001",
     "ttl is too large. requested (630720001) maximum (630720000)"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v) VALUES (1, 1) USING TIMESTAMP -9223372036854775808",
     "Out of bound timestamp, must be in [-9223372036854775807, 9223372036854775807]"),
    ("k int PRIMARY KEY, n counter", "INSERT INTO {t} (k, n) VALUES (1, 1)",
     "INSERT statements are not allowed on counter tables, use UPDATE instead"),
    ("k int PRIMARY KEY, v int", "INSERT INTO {t} (k, v) VALUES (1, 1) IF NOT EXISTS USING TIMESTAMP 5",
     "Cannot provide custom timestamp for conditional updates"),
]


@pytest.mark.parametrize("columns,statement,message", REFUSALS, ids=[m for _, _, m in REFUSALS])
def test_insert_refusals_carry_cassandras_words(db, columns, statement, message):
    t = db.shared_table(columns)
    db.refused(statement.format(t=t), InvalidRequest, message)


def test_a_partition_key_over_65535_bytes_is_refused_and_nothing_is_written(db):
    t = db.table("k text PRIMARY KEY, v int")
    db.refused(f"INSERT INTO {t} (k, v) VALUES (%s, 1)", InvalidRequest,
               "Key length of 70000 is longer than maximum of 65535", args=("x" * 70000,))
    assert db.rows(f"SELECT count(*) FROM {t}") == [(0,)]


def test_a_clustering_key_over_65535_bytes_is_refused(db):
    t = db.table("k int, c text, v int, PRIMARY KEY (k, c)")
    db.refused(f"INSERT INTO {t} (k, c, v) VALUES (1, %s, 1)", InvalidRequest,
               "Key length of 70000 is longer than maximum of 65535", args=("x" * 70000,))


def test_a_non_ascii_string_is_refused_in_an_ascii_column(db):
    t = db.table("k int PRIMARY KEY, a ascii")
    with pytest.raises(InvalidRequest):
        db.execute(f"INSERT INTO {t} (k, a) VALUES (1, 'é')")
    db.execute(f"INSERT INTO {t} (k, a) VALUES (1, 'plain')")
    assert db.rows(f"SELECT a FROM {t}") == [("plain",)]
