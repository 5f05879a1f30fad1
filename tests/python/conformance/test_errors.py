"""Errors as Cassandra answers them: the driver exception class (so the error
code) and Cassandra's message for schema statements, missing keyspaces and
tables, replication settings, consistency and syntax."""

import pytest
from cassandra import AlreadyExists, ConsistencyLevel, InvalidRequest, Unavailable
from cassandra.policies import FallthroughRetryPolicy
from cassandra.protocol import ConfigurationException, SyntaxException
from cassandra.query import SimpleStatement


def test_creating_an_existing_keyspace_or_table_is_already_exists(db):
    ks = db.keyspace_name()
    db.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    with pytest.raises(AlreadyExists) as info:
        db.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    assert (info.value.keyspace, info.value.table) == (ks, "")
    db.execute(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    t = db.table("k int PRIMARY KEY")
    with pytest.raises(AlreadyExists) as info:
        db.execute(f"CREATE TABLE {t} (k int PRIMARY KEY)")
    assert (info.value.keyspace, info.value.table) == ("conf", t)
    db.execute(f"CREATE TABLE IF NOT EXISTS {t} (k int PRIMARY KEY)")
    db.execute(f"DROP KEYSPACE {ks}")


MISSING = [
    ("SELECT * FROM nope", "unconfigured table nope"),
    ("INSERT INTO nope (k) VALUES (1)", "unconfigured table nope"),
    ("SELECT * FROM nowhere.t", "Keyspace nowhere does not exist"),
    ("USE nowhere", "Keyspace 'nowhere' does not exist"),
    ("DROP KEYSPACE nowhere", "Keyspace 'nowhere' doesn't exist"),
    ("DROP TABLE nope", "Table 'conf.nope' doesn't exist"),
    ("ALTER TABLE nope ADD v int", "Table 'conf.nope' doesn't exist"),
    ("CREATE TABLE nowhere.t (k int PRIMARY KEY)", "Keyspace 'nowhere' doesn't exist"),
    ("TRUNCATE nope", "unconfigured table nope"),
    ("DROP TYPE nope", "Type 'conf.nope' doesn't exist"),
]


@pytest.mark.parametrize("statement,message", MISSING, ids=[s for s, _ in MISSING])
def test_a_missing_keyspace_or_table_is_named_as_cassandra_names_it(db, statement, message):
    db.refused(statement, InvalidRequest, message)


def test_if_exists_makes_drops_of_missing_things_quiet(db):
    db.execute("DROP KEYSPACE IF EXISTS nowhere")
    db.execute("DROP TABLE IF EXISTS nope")
    db.execute("DROP TYPE IF EXISTS nope")
    db.execute("DROP INDEX IF EXISTS nope")


REPLICATION = [
    ("{'class': 'NetworkTopologyStrategy', 'dc_nowhere': 3}",
     "Unrecognized strategy option {dc_nowhere} passed to NetworkTopologyStrategy for keyspace {ks}"),
    ("{'class': 'SimpleStrategy'}", "SimpleStrategy requires a replication_factor strategy option."),
    ("{'class': 'NoSuchStrategy', 'replication_factor': 1}", "Unable to find replication strategy class 'org.apache.cassandra.locator.NoSuchStrategy'"),
    ("{'class': 'SimpleStrategy', 'replication_factor': 1, 'nope': 2}", "Unrecognized strategy option {nope} passed to SimpleStrategy"),
    ("{'class': 'SimpleStrategy', 'replication_factor': -1}", "Replication factor must be non-negative; found -1"),
    ("{'class': 'SimpleStrategy', 'replication_factor': 'x'}", "Replication factor must be numeric; found x"),
]


@pytest.mark.parametrize("replication,message", REPLICATION, ids=[m.split(" ")[0] + str(i) for i, (_, m) in enumerate(REPLICATION)])
def test_bad_replication_is_a_configuration_exception(db, replication, message):
    ks = db.keyspace_name()
    db.refused(f"CREATE KEYSPACE {ks} WITH replication = {replication}", ConfigurationException, message.replace("{ks}", ks))


def test_a_keyspace_without_replication_is_refused(db):
    db.refused(f"CREATE KEYSPACE {db.keyspace_name()} WITH durable_writes = true", ConfigurationException,
               "Missing mandatory option 'replication'")


SCHEMA = [
    ("CREATE TABLE {n} (k int, v int)", InvalidRequest, "No PRIMARY KEY specifed for table '{n}' (exactly one required)"),
    ("CREATE TABLE conf.{n} (k int, v int)", InvalidRequest, "No PRIMARY KEY specifed for table 'conf.{n}' (exactly one required)"),
    ("CREATE TABLE {n} (k int PRIMARY KEY, v int, PRIMARY KEY (v))", InvalidRequest,
     "Multiple PRIMARY KEY specified for table '{n}' (exactly one required)"),
    ("CREATE TABLE {n} (k int PRIMARY KEY, v int, v text)", InvalidRequest, "Duplicate column 'v' declaration for table '{n}'"),
    ("CREATE TABLE {n} (k int, v int, PRIMARY KEY (nope))", InvalidRequest, "Unknown definition nope referenced in PRIMARY KEY"),
    ("CREATE TABLE {n} (k list<int> PRIMARY KEY)", InvalidRequest, "Invalid non-frozen collection type list<int> for PRIMARY KEY component k"),
    ("CREATE TABLE {n} (k int PRIMARY KEY, n counter, v int)", InvalidRequest, "Cannot mix counter and non counter columns in the same table"),
    ("CREATE TABLE {n} (k int PRIMARY KEY, s int static)", InvalidRequest,
     "Static columns are only useful (and thus allowed) if the table has at least one clustering column"),
    # Cassandra 5.0's words; 4.0/4.1 checked only the count here and said "Missing CLUSTERING ORDER for column c".
    ("CREATE TABLE {n} (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (k DESC)", InvalidRequest,
     "Only clustering key columns can be defined in CLUSTERING ORDER directive: [k] are not clustering columns"),
    ("CREATE TABLE {n} (k int, c int, d int, PRIMARY KEY (k, c, d)) WITH CLUSTERING ORDER BY (d DESC)", InvalidRequest,
     "Missing CLUSTERING ORDER for column c"),
    ("CREATE TABLE {n} (k int, c int, d int, PRIMARY KEY (k, c, d)) WITH CLUSTERING ORDER BY (d DESC, c ASC)",
     InvalidRequest, "The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns "
                     "(c must appear before d)"),
    ("CREATE TABLE {n} (k int PRIMARY KEY) WITH nope = 1", SyntaxException, "Unknown property 'nope'"),
    ("CREATE TABLE {n} (k int PRIMARY KEY, v nosuchtype)", InvalidRequest, "Unknown type conf.nosuchtype"),
]


@pytest.mark.parametrize("statement,error,message", SCHEMA, ids=[m for _, _, m in SCHEMA])
def test_bad_table_definitions_carry_cassandras_words(db, statement, error, message):
    n = db.name()
    db.refused(statement.format(n=n), error, message.format(n=n))


ALTER = [
    ("ALTER TABLE {t} ADD v text", "Column with name 'v' already exists"),
    ("ALTER TABLE {t} DROP k", "Cannot drop PRIMARY KEY part k"),
    ("ALTER TABLE {t} DROP nope", "Column nope was not found in table conf.{t}"),
    ("ALTER TABLE {t} RENAME v TO w", "Cannot rename non PRIMARY KEY column v"),
    ("ALTER TABLE {t} WITH nope = 1", "Unknown property 'nope'"),
]


@pytest.mark.parametrize("statement,message", ALTER, ids=[m for _, m in ALTER])
def test_bad_alters_carry_cassandras_words(db, statement, message):
    t = db.table("k int PRIMARY KEY, v int")
    error = SyntaxException if "property" in message else InvalidRequest
    db.refused(statement.format(t=t), error, message.format(t=t))


def test_alter_add_and_drop_then_select(db):
    t = db.table("k int PRIMARY KEY, v int")
    db.execute(f"INSERT INTO {t} (k, v) VALUES (1, 1)")
    db.execute(f"ALTER TABLE {t} ADD w text")
    db.execute(f"ALTER TABLE {t} DROP v")
    assert db.rows(f"SELECT * FROM {t}") == [(1, None)]


def test_a_type_in_use_cannot_be_dropped(db):
    ty = db.name("ty")
    db.execute(f"CREATE TYPE {ty} (a int)")
    t = db.table(f"k int PRIMARY KEY, u frozen<{ty}>")
    db.refused(f"DROP TYPE {ty}", InvalidRequest, f"Cannot drop user type 'conf.{ty}' as it is still used by tables {t}")
    outer = db.name("outer")
    db.execute(f"CREATE TYPE {outer} (x frozen<{ty}>)")
    db.execute(f"DROP TABLE {t}")
    db.refused(f"DROP TYPE {ty}", InvalidRequest,
               f"Cannot drop user type 'conf.{ty}' as it is still used by user types {outer}")
    db.execute(f"DROP TYPE {outer}")
    db.execute(f"DROP TYPE {ty}")


def test_creating_an_existing_type_is_an_invalid_request(db):
    ty = db.name("ty")
    db.execute(f"CREATE TYPE {ty} (a int)")
    db.refused(f"CREATE TYPE {ty} (b int)", InvalidRequest, f"A user type with name '{ty}' already exists")
    db.execute(f"CREATE TYPE IF NOT EXISTS {ty} (b int)")


def test_a_statement_without_a_keyspace_says_so(db):
    session = db.client.connect()
    try:
        with pytest.raises(InvalidRequest) as info:
            session.execute("SELECT * FROM t")
        assert "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename" in str(info.value)
    finally:
        session.shutdown()


@pytest.mark.parametrize("statement", ["SELEC * FROM t", "SELECT * FROM", "INSERT INTO t (k) VALUE (1)",
                                       "CREATE TABLE (k int PRIMARY KEY)", "SELECT * FROM t WHERE"])
def test_bad_syntax_is_a_syntax_exception(db, statement):
    with pytest.raises(SyntaxException):
        db.execute(statement)


def test_a_consistency_level_more_replicas_than_exist_is_unavailable(db):
    ks = db.keyspace_name()
    rf = len(db.nodes) + 2
    db.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}")
    db.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)")
    with pytest.raises(Unavailable) as info:
        db.session.execute(SimpleStatement(f"INSERT INTO {ks}.t (k, v) VALUES (1, 1)", consistency_level=ConsistencyLevel.ALL,
                                           retry_policy=FallthroughRetryPolicy()))
    assert "Cannot achieve consistency level ALL" in str(info.value)
    assert (info.value.required_replicas, info.value.alive_replicas) == (rf, len(db.nodes))
    db.execute(f"DROP KEYSPACE {ks}")


def test_serial_consistency_for_a_plain_write_is_refused(db):
    t = db.table("k int PRIMARY KEY, v int")
    with pytest.raises(InvalidRequest) as info:
        db.session.execute(SimpleStatement(f"INSERT INTO {t} (k, v) VALUES (1, 1)", consistency_level=ConsistencyLevel.SERIAL))
    assert "You must use conditional updates for serializable writes" in str(info.value)


def test_a_counter_table_refuses_a_default_ttl(db):
    db.refused(f"CREATE TABLE {db.name()} (k int PRIMARY KEY, n counter) WITH default_time_to_live = 5",
               InvalidRequest, "Cannot set default_time_to_live on a table with counters")
