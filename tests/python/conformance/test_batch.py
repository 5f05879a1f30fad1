"""BATCH as Cassandra answers it: logged and unlogged batches across tables and
partitions, counter batches, batch timestamps, conditional batches on one
partition, and the refusals (mixed counters, conditions across partitions,
timestamps in two places, a batch over the size threshold)."""

import pytest
from cassandra import InvalidRequest
from cassandra.protocol import SyntaxException
from cassandra.query import BatchStatement, BatchType, SimpleStatement


def test_a_logged_batch_writes_every_statement_across_tables(db):
    a = db.table("k int PRIMARY KEY, v int")
    b = db.table("k int PRIMARY KEY, v text")
    db.execute(f"BEGIN BATCH INSERT INTO {a} (k, v) VALUES (1, 1); INSERT INTO {a} (k, v) VALUES (2, 2); "
               f"UPDATE {b} SET v = 'x' WHERE k = 1; DELETE FROM {a} WHERE k = 2; APPLY BATCH")
    assert db.rows(f"SELECT * FROM {a}") == [(1, 1)]
    assert db.rows(f"SELECT * FROM {b}") == [(1, "x")]


def test_an_unlogged_batch_of_bound_statements(db):
    t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
    prepared = db.session.prepare(f"INSERT INTO {t} (k, c, v) VALUES (?, ?, ?)")
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    for c in range(5):
        batch.add(prepared, (1, c, c * c))
    db.session.execute(batch)
    assert db.rows(f"SELECT c, v FROM {t} WHERE k = 1") == [(c, c * c) for c in range(5)]


def test_a_counter_batch(db):
    t = db.table("k int PRIMARY KEY, n counter")
    db.execute(f"BEGIN COUNTER BATCH UPDATE {t} SET n = n + 1 WHERE k = 1; UPDATE {t} SET n = n + 2 WHERE k = 1; "
               f"UPDATE {t} SET n = n - 5 WHERE k = 2; APPLY BATCH")
    assert db.sorted_rows(f"SELECT * FROM {t}") == [(1, 3), (2, -5)]
    db.execute(f"BEGIN UNLOGGED BATCH UPDATE {t} SET n = n + 1 WHERE k = 2; APPLY BATCH")
    assert db.sorted_rows(f"SELECT * FROM {t}") == [(1, 3), (2, -4)]


def test_a_batch_timestamp_applies_to_each_statement(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"BEGIN BATCH USING TIMESTAMP 1234 INSERT INTO {t} (k, v) VALUES (1, 1); "
               f"INSERT INTO {t} (k, v) VALUES (2, 2); APPLY BATCH")
    assert db.sorted_rows(f"SELECT k, writetime(v) FROM {t}") == [(1, 1234), (2, 1234)]


def test_statements_of_one_batch_share_a_timestamp_so_a_later_delete_does_not_win(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"BEGIN BATCH INSERT INTO {t} (k, v) VALUES (1, 1); DELETE FROM {t} WHERE k = 1; APPLY BATCH")
    # Same timestamp: the tombstone wins over the live cell.
    assert db.rows(f"SELECT * FROM {t}") == []


def test_a_conditional_batch_on_one_partition_applies_all_or_nothing(db):
    t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
    db.execute(f"INSERT INTO {t} (k, c, v) VALUES (1, 1, 1)")
    [applied] = db.rows(f"BEGIN BATCH UPDATE {t} SET v = 2 WHERE k = 1 AND c = 1 IF v = 1; "
                        f"INSERT INTO {t} (k, c, v) VALUES (1, 2, 2); APPLY BATCH")
    assert applied[0] is True
    [refused] = db.rows(f"BEGIN BATCH UPDATE {t} SET v = 3 WHERE k = 1 AND c = 1 IF v = 1; "
                        f"INSERT INTO {t} (k, c, v) VALUES (1, 3, 3); APPLY BATCH")
    assert refused[0] is False
    assert db.rows(f"SELECT c, v FROM {t} WHERE k = 1") == [(1, 2), (2, 2)]


def test_a_batch_with_list_appends_and_prepends_in_order(db):
    t = db.table("k int PRIMARY KEY, l list<text>")
    db.execute(f"BEGIN UNLOGGED BATCH UPDATE {t} SET l = l + ['a'] WHERE k = 1; UPDATE {t} SET l = ['b'] + l WHERE k = 1; "
               f"UPDATE {t} SET l = l + ['c'] WHERE k = 1; UPDATE {t} SET l = ['d'] + l WHERE k = 1; APPLY BATCH")
    assert db.rows(f"SELECT l FROM {t}") == [(["d", "b", "a", "c"],)]


def test_a_bound_batch_with_ttl(db):
    t = db.table("k int PRIMARY KEY, v int")
    batch = BatchStatement()
    batch.add(SimpleStatement(f"INSERT INTO {t} (k, v) VALUES (%s, %s) USING TTL 100"), (1, 1))
    db.session.execute(batch)
    [(ttl,)] = db.rows(f"SELECT ttl(v) FROM {t}")
    assert 90 <= ttl <= 100


REFUSALS = [
    ("BEGIN BATCH INSERT INTO {t} (k, v) VALUES (1, 1); UPDATE {c} SET n = n + 1 WHERE k = 1; APPLY BATCH",
     "Counter and non-counter mutations cannot exist in the same batch"),
    ("BEGIN COUNTER BATCH INSERT INTO {t} (k, v) VALUES (1, 1); APPLY BATCH",
     "Cannot include non-counter statement in a counter batch"),
    ("BEGIN BATCH UPDATE {c} SET n = n + 1 WHERE k = 1; APPLY BATCH",
     "Cannot include a counter statement in a logged batch"),
    ("BEGIN BATCH INSERT INTO {t} (k, v) VALUES (1, 1) IF NOT EXISTS; INSERT INTO {t} (k, v) VALUES (2, 1); APPLY BATCH",
     "Batch with conditions cannot span multiple partitions"),
    ("BEGIN BATCH USING TIMESTAMP 5 INSERT INTO {t} (k, v) VALUES (1, 1) USING TIMESTAMP 6; APPLY BATCH",
     "Timestamp must be set either on BATCH or individual statements"),
    ("BEGIN BATCH USING TIMESTAMP 5 INSERT INTO {t} (k, v) VALUES (1, 1) IF NOT EXISTS; APPLY BATCH",
     "Cannot provide custom timestamp for conditional BATCH"),
    ("BEGIN BATCH INSERT INTO {t} (k, v) VALUES (1, 1) IF NOT EXISTS; INSERT INTO {c} (k) VALUES (1) IF NOT EXISTS; APPLY BATCH",
     "Batch with conditions cannot span multiple tables"),
]


@pytest.mark.parametrize("statement,message", REFUSALS, ids=[m for _, m in REFUSALS])
def test_batch_refusals_carry_cassandras_words(db, statement, message):
    t = db.shared_table("k int PRIMARY KEY, v int")
    c = db.shared_table("k int PRIMARY KEY, n counter")
    if "{c} (k)" in statement:
        c = db.shared_table("k int PRIMARY KEY, w int")
    db.refused(statement.format(t=t, c=c), InvalidRequest, message)


def test_a_select_in_a_batch_is_a_syntax_error(db):
    t = db.table("k int PRIMARY KEY, v int")
    with pytest.raises(SyntaxException):
        db.execute(f"BEGIN BATCH SELECT * FROM {t}; APPLY BATCH")


def test_a_batch_over_the_size_threshold_is_refused(db):
    t = db.table("k int PRIMARY KEY, v text")
    big = "x" * 1024
    statements = "".join(f"INSERT INTO {t} (k, v) VALUES ({k}, '{big}'); " for k in range(60))
    db.refused(f"BEGIN UNLOGGED BATCH {statements}APPLY BATCH", InvalidRequest, "Batch too large")
    assert db.rows(f"SELECT count(*) FROM {t}") == [(0,)]
