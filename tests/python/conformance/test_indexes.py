"""Secondary indexes as Cassandra answers them: queries by indexed regular,
clustering, partition-key, static and collection columns without ALLOW
FILTERING, upkeep under updates and deletes, and the refusals."""

import pytest
from cassandra import InvalidRequest

from .conftest import FILTERING


@pytest.fixture
def people(db):
    t = db.table("k int, c int, city text, tags set<text>, attrs map<text, text>, PRIMARY KEY (k, c)")
    rows = [(1, 1, "paris", {"a"}, {"x": "1"}), (1, 2, "rome", {"a", "b"}, {"y": "2"}),
            (2, 1, "paris", {"b"}, {"x": "2"}), (3, 1, "oslo", set(), {})]
    prepared = db.session.prepare(f"INSERT INTO {t} (k, c, city, tags, attrs) VALUES (?, ?, ?, ?, ?)")
    for r in rows:
        db.session.execute(prepared, r)
    return t


def test_a_regular_column_index(db, people):
    db.execute(f"CREATE INDEX ON {people} (city)")
    assert db.sorted_rows(f"SELECT k, c FROM {people} WHERE city = 'paris'") == [(1, 1), (2, 1)]
    assert db.rows(f"SELECT k, c FROM {people} WHERE city = 'nowhere'") == []


def test_an_index_with_a_partition_restriction(db, people):
    db.execute(f"CREATE INDEX ON {people} (city)")
    assert db.rows(f"SELECT c FROM {people} WHERE k = 1 AND city = 'rome'") == [(2,)]


def test_an_index_follows_updates_and_deletes(db, people):
    db.execute(f"CREATE INDEX ON {people} (city)")
    db.execute(f"UPDATE {people} SET city = 'rome' WHERE k = 2 AND c = 1")
    db.execute(f"DELETE FROM {people} WHERE k = 1 AND c = 2")
    assert db.sorted_rows(f"SELECT k, c FROM {people} WHERE city = 'rome'") == [(2, 1)]
    assert db.rows(f"SELECT k, c FROM {people} WHERE city = 'paris'") == [(1, 1)]


def test_set_values_map_keys_and_map_entries_indexes(db, people):
    db.execute(f"CREATE INDEX ON {people} (tags)")
    db.execute(f"CREATE INDEX ON {people} (keys(attrs))")
    assert db.sorted_rows(f"SELECT k, c FROM {people} WHERE tags CONTAINS 'b'") == [(1, 2), (2, 1)]
    assert db.sorted_rows(f"SELECT k, c FROM {people} WHERE attrs CONTAINS KEY 'x'") == [(1, 1), (2, 1)]
    t = db.table("k int PRIMARY KEY, m map<text, int>")
    db.execute(f"INSERT INTO {t} (k, m) VALUES (1, {{'a': 1}})")
    db.execute(f"CREATE INDEX ON {t} (entries(m))")
    assert db.rows(f"SELECT k FROM {t} WHERE m['a'] = 1") == [(1,)]


def test_a_clustering_column_index(db, people):
    db.execute(f"CREATE INDEX ON {people} (c)")
    assert db.sorted_rows(f"SELECT k, c FROM {people} WHERE c = 2") == [(1, 2)]


def test_an_index_query_pages(db):
    t = db.table("k int PRIMARY KEY, v int")
    for k in range(30):
        db.execute(f"INSERT INTO {t} (k, v) VALUES ({k}, {k % 3})")
    db.execute(f"CREATE INDEX ON {t} (v)")
    assert db.sorted_rows(f"SELECT k FROM {t} WHERE v = 1", fetch_size=4) == [(k,) for k in range(30) if k % 3 == 1]
    assert len(db.rows(f"SELECT k FROM {t} WHERE v = 1 LIMIT 3")) == 3


def test_an_index_with_another_relation_needs_allow_filtering(db, people):
    db.execute(f"CREATE INDEX ON {people} (city)")
    db.refused(f"SELECT k FROM {people} WHERE city = 'paris' AND tags CONTAINS 'a'", InvalidRequest, FILTERING)
    assert db.rows(f"SELECT k, c FROM {people} WHERE city = 'paris' AND tags CONTAINS 'a' ALLOW FILTERING") == [(1, 1)]


def test_a_named_index_is_dropped_by_name(db, people):
    name = db.name("ix")
    db.execute(f"CREATE INDEX {name} ON {people} (city)")
    db.execute(f"DROP INDEX {name}")
    db.refused(f"SELECT k FROM {people} WHERE city = 'paris'", InvalidRequest, FILTERING)


REFUSALS = [
    ("CREATE INDEX ON {t} (nope)", "Undefined column name nope in table conf.{t}"),
    ("CREATE INDEX ON {t} (k)", "Cannot create secondary index on the only partition key column k"),
    ("CREATE INDEX ON {t} (keys(tags))", "Cannot create index on keys of column tags with non-map type"),
    ("CREATE INDEX ON {t} (full(tags))", "full() indexes can only be created on frozen collections"),
    ("DROP INDEX nope", "Index 'conf.nope' doesn't exist"),
    ("CREATE INDEX ON nowhere (v)", "Table 'nowhere' doesn't exist"),
]


@pytest.mark.parametrize("statement,message", REFUSALS, ids=[s for s, _ in REFUSALS])
def test_index_refusals_carry_cassandras_words(db, statement, message):
    t = db.shared_table("k int PRIMARY KEY, c int, tags set<text>")
    db.refused(statement.format(t=t), InvalidRequest, message.format(t=t))


def test_a_second_index_of_the_same_name_is_refused(db):
    t = db.table("k int PRIMARY KEY, a int, b int")
    name = db.name("ix")
    db.execute(f"CREATE INDEX {name} ON {t} (a)")
    db.refused(f"CREATE INDEX {name} ON {t} (b)", InvalidRequest, f"Index '{name}' already exists")
    db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {t} (b)")
