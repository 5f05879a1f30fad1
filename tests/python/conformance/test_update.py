"""UPDATE as Cassandra answers it: upserts, collections (lists, sets, maps,
prepends and appends, element updates), counters, UDT fields, conditions, and
the refusals of updates to the primary key or of counters set by value."""

import pytest
from cassandra import InvalidRequest
from cassandra.query import BatchStatement, SimpleStatement


def test_an_update_of_a_missing_row_creates_it(db):
    t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
    db.execute(f"UPDATE {t} SET v = 3 WHERE k = 1 AND c = 2")
    assert db.rows(f"SELECT * FROM {t}") == [(1, 2, 3)]


def test_an_update_with_in_on_the_partition_key_writes_every_partition(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"UPDATE {t} SET v = 7 WHERE k IN (1, 2, 3)")
    assert db.sorted_rows(f"SELECT * FROM {t}") == [(1, 7), (2, 7), (3, 7)]


def test_an_update_with_in_on_the_clustering_key_writes_every_row(db):
    t = db.table("k int, c int, v int, PRIMARY KEY (k, c)")
    db.execute(f"UPDATE {t} SET v = 7 WHERE k = 1 AND c IN (1, 2)")
    assert db.rows(f"SELECT * FROM {t}") == [(1, 1, 7), (1, 2, 7)]


LIST_CASES = [
    ("l = [1, 2]", [1, 2]),
    ("l = l + [4]", [1, 2, 3, 4]),
    ("l = [0] + l", [0, 1, 2, 3]),
    ("l = l - [2]", [1, 3]),
    ("l[1] = 9", [1, 9, 3]),
    ("l = []", None),
]


@pytest.mark.parametrize("assignment,expected", LIST_CASES, ids=[a for a, _ in LIST_CASES])
def test_list_updates(db, assignment, expected):
    t = db.shared_table("k int PRIMARY KEY, l list<int>")
    db.execute(f"INSERT INTO {t} (k, l) VALUES (1, [1, 2, 3])")
    db.execute(f"UPDATE {t} SET {assignment} WHERE k = 1")
    assert db.rows(f"SELECT l FROM {t} WHERE k = 1") == [(expected,)]


def test_a_list_element_deleted_by_index(db):
    t = db.table("k int PRIMARY KEY, l list<text>")
    db.execute(f"INSERT INTO {t} (k, l) VALUES (1, ['a', 'b', 'c'])")
    db.execute(f"DELETE l[1] FROM {t} WHERE k = 1")
    assert db.rows(f"SELECT l FROM {t}") == [(["a", "c"],)]


def test_a_list_index_out_of_bound_is_refused(db):
    t = db.table("k int PRIMARY KEY, l list<int>")
    db.execute(f"INSERT INTO {t} (k, l) VALUES (1, [1])")
    db.refused(f"UPDATE {t} SET l[5] = 1 WHERE k = 1", InvalidRequest, "List index 5 out of bound, list has size 1")


def test_several_prepends_in_one_batch_keep_the_order_of_the_statements(db):
    t = db.table("k int PRIMARY KEY, l list<int>")
    db.execute(f"INSERT INTO {t} (k, l) VALUES (1, [9])")
    db.execute(f"BEGIN BATCH UPDATE {t} SET l = [1] + l WHERE k = 1; UPDATE {t} SET l = [2] + l WHERE k = 1; "
               f"UPDATE {t} SET l = [3] + l WHERE k = 1; APPLY BATCH")
    assert db.rows(f"SELECT l FROM {t}") == [([3, 2, 1, 9],)]


def test_several_appends_in_one_batch_keep_the_order_of_the_statements(db):
    t = db.table("k int PRIMARY KEY, l list<int>")
    batch = BatchStatement()
    for x in (1, 2, 3):
        batch.add(SimpleStatement(f"UPDATE {t} SET l = l + [{x}] WHERE k = 1"))
    db.session.execute(batch)
    assert db.rows(f"SELECT l FROM {t}") == [([1, 2, 3],)]


SET_MAP_CASES = [
    ("s = s + {'c'}", "s", {"a", "b", "c"}),
    ("s = s - {'a'}", "s", {"b"}),
    ("s = {}", "s", None),
    ("m = m + {'z': 26}", "m", {"a": 1, "z": 26}),
    ("m['a'] = 5", "m", {"a": 5}),
    ("m = m - {'a'}", "m", None),
]


@pytest.mark.parametrize("assignment,column,expected", SET_MAP_CASES, ids=[a for a, _, _ in SET_MAP_CASES])
def test_set_and_map_updates(db, assignment, column, expected):
    t = db.shared_table("k int PRIMARY KEY, s set<text>, m map<text, int>")
    db.execute(f"INSERT INTO {t} (k, s, m) VALUES (1, {{'a', 'b'}}, {{'a': 1}})")
    db.execute(f"UPDATE {t} SET {assignment} WHERE k = 1")
    [(got,)] = db.rows(f"SELECT {column} FROM {t} WHERE k = 1")
    assert (dict(got) if isinstance(expected, dict) else (set(got) if got is not None else None)) == expected


def test_a_map_element_deleted_by_key(db):
    t = db.table("k int PRIMARY KEY, m map<text, int>")
    db.execute(f"INSERT INTO {t} (k, m) VALUES (1, {{'a': 1, 'b': 2}})")
    db.execute(f"DELETE m['a'] FROM {t} WHERE k = 1")
    assert db.rows(f"SELECT m FROM {t}") == [({"b": 2},)]


def test_counters_increment_decrement_and_start_from_nothing(db):
    t = db.table("k int PRIMARY KEY, n counter, m counter")
    db.execute(f"UPDATE {t} SET n = n + 5, m = m - 2 WHERE k = 1")
    db.execute(f"UPDATE {t} SET n = n - 1 WHERE k = 1")
    assert db.rows(f"SELECT n, m FROM {t} WHERE k = 1") == [(4, -2)]


def test_a_udt_field_updated_alone(db):
    ty = db.name("ty")
    db.execute(f"CREATE TYPE {ty} (a int, b text)")
    t = db.table(f"k int PRIMARY KEY, u {ty}")
    db.execute(f"INSERT INTO {t} (k, u) VALUES (1, {{a: 1, b: 'x'}})")
    db.execute(f"UPDATE {t} SET u.b = 'y' WHERE k = 1")
    [(u,)] = db.rows(f"SELECT u FROM {t}")
    assert (u.a, u.b) == (1, "y")


def test_conditional_updates_apply_or_return_the_current_values(db):
    t = db.table("k int PRIMARY KEY, v int, w text")
    db.execute(f"INSERT INTO {t} (k, v, w) VALUES (1, 1, 'a')")
    assert db.rows(f"UPDATE {t} SET v = 2 WHERE k = 1 IF v = 1") == [(True,)]
    assert db.rows(f"UPDATE {t} SET v = 3 WHERE k = 1 IF v = 1") == [(False, 2)]
    assert db.rows(f"UPDATE {t} SET v = 3 WHERE k = 1 IF v > 1 AND w = 'a'") == [(True,)]
    assert db.rows(f"UPDATE {t} SET v = 4 WHERE k = 2 IF EXISTS") == [(False,)]
    assert db.rows(f"UPDATE {t} SET v = 4 WHERE k = 1 IF EXISTS") == [(True,)]
    assert db.rows(f"SELECT v FROM {t} WHERE k = 1") == [(4,)]


def test_an_update_using_ttl_expires_only_the_cells_it_sets(db):
    t = db.table("k int PRIMARY KEY, v int, w int")
    db.execute(f"INSERT INTO {t} (k, v, w) VALUES (1, 1, 1)")
    db.execute(f"UPDATE {t} USING TTL 600 SET v = 2 WHERE k = 1")
    [(tv, tw)] = db.rows(f"SELECT ttl(v), ttl(w) FROM {t} WHERE k = 1")
    assert 590 <= tv <= 600 and tw is None


REFUSALS = [
    ("k int PRIMARY KEY, v int", "UPDATE {t} SET k = 2 WHERE k = 1", "PRIMARY KEY part k found in SET part"),
    ("k int PRIMARY KEY, v int", "UPDATE {t} SET v = 1", None),
    ("k int, c int, v int, PRIMARY KEY (k, c)", "UPDATE {t} SET v = 1 WHERE k = 1",
     "Some clustering keys are missing: c"),
    ("k int PRIMARY KEY, v int", "UPDATE {t} SET v = 1 WHERE v = 1", "Some partition key parts are missing: k"),
    ("k int PRIMARY KEY, n counter", "UPDATE {t} SET n = 5 WHERE k = 1",
     "Cannot set the value of counter column n (counters can only be incremented/decremented, not set)"),
    ("k int PRIMARY KEY, n counter", "UPDATE {t} USING TTL 5 SET n = n + 1 WHERE k = 1",
     "Cannot provide custom TTL for counter updates"),
    ("k int PRIMARY KEY, v int", "UPDATE {t} SET v = v + 1 WHERE k = 1", "Invalid operation (v = v + 1) for non counter column v"),
    ("k int PRIMARY KEY, v int", "UPDATE {t} SET nope = 1 WHERE k = 1", "Undefined column name nope"),
    ("k int PRIMARY KEY, v int", "UPDATE {t} SET v = 1 WHERE k = 1 IF nope = 1", "Undefined column name nope"),
    ("k int PRIMARY KEY, l list<int>", "UPDATE {t} SET l[null] = 1 WHERE k = 1", "Invalid null value for list index"),
    ("k int PRIMARY KEY, m map<text, int>", "UPDATE {t} SET m[null] = 1 WHERE k = 1", "Invalid null map key"),
    ("k int PRIMARY KEY, v int", "UPDATE {t} SET v['x'] = 1 WHERE k = 1",
     "Invalid operation (v['x'] = 1) for non collection column v"),
]


@pytest.mark.parametrize("columns,statement,message", REFUSALS, ids=[s for _, s, _ in REFUSALS])
def test_update_refusals_carry_cassandras_words(db, columns, statement, message):
    t = db.shared_table(columns)
    from cassandra.protocol import SyntaxException
    if message is None:
        with pytest.raises(SyntaxException):
            db.execute(statement.format(t=t))
    else:
        db.refused(statement.format(t=t), InvalidRequest, message)
