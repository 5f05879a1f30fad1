//! CQL native protocol targets: the frame header and what follows it, each
//! request body, compressed bodies, SASL PLAIN tokens, bound values by their
//! `[option]` type, literals by their column type, and the CQL statement parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cql_protocol::compression::{compress_frame, Compression};
use cql_protocol::cql::ast::Statement;
use cql_protocol::cql::parse_statement;
use cql_protocol::frame::{decode_request, FrameHeader, Opcode, RequestFrame, DEFAULT_MAX_FRAME_LEN, FLAG_COMPRESSION, HEADER_LEN};
use cql_protocol::option::{read_option, write_option};
use cql_protocol::request::{
    AuthResponse, Batch, BatchStatement, BatchTarget, BatchType, BoundValue, BoundValues, Execute, Prepare, Query, QueryParameters,
    Register, Request, Startup,
};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use cql_protocol::wire::{Consistency, Reader};
use node::auth::sasl::parse_plain;
use node::query::from_json::from_json_function;
use node::query::literal::{evaluate, Binds};
use num_bigint::BigInt;
use uuid::Uuid;

use crate::target::{Decode, Seeds, Target};

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "cql-frame",
            about: "a request frame: header, body length check, decompression, custom payload, body by opcode",
            seeds: frame_seeds,
            decode: decode_frame,
            dictionary: &[],
        },
        body("cql-startup", Opcode::Startup),
        body("cql-options", Opcode::Options),
        body("cql-query", Opcode::Query),
        body("cql-prepare", Opcode::Prepare),
        body("cql-execute", Opcode::Execute),
        body("cql-register", Opcode::Register),
        body("cql-batch", Opcode::Batch),
        body("cql-auth-response", Opcode::AuthResponse),
        Target {
            name: "cql-literal",
            about: "a literal in CQL text evaluated as a value of a column type (chosen by the first byte)",
            seeds: literal_seeds,
            decode: decode_literal,
            dictionary: CQL_WORDS,
        },
        Target {
            name: "cql-json",
            about: "a JSON text as fromJson() and INSERT JSON read it into a column type (chosen by the first byte)",
            seeds: json_seeds,
            decode: decode_json,
            dictionary: JSON_WORDS,
        },
        Target {
            name: "sasl-plain",
            about: "the SASL PLAIN token of an AUTH_RESPONSE: authzid, user, password",
            seeds: || vec![b"\0cassandra\0cassandra".to_vec(), b"admin\0bob\0s3cret".to_vec()],
            decode: |input| parse_plain(Some(input)).is_ok(),
            dictionary: &[b"\0"],
        },
        Target {
            name: "cql-lz4",
            about: "an LZ4-compressed frame body (length prefix, block)",
            seeds: || bodies().iter().map(|b| Compression::Lz4.compress(b)).collect(),
            decode: |input| Compression::Lz4.decompress(input, DEFAULT_MAX_FRAME_LEN as usize).is_ok(),
            dictionary: &[],
        },
        Target {
            name: "cql-snappy",
            about: "a Snappy-compressed frame body",
            seeds: || bodies().iter().map(|b| Compression::Snappy.compress(b)).collect(),
            decode: |input| Compression::Snappy.decompress(input, DEFAULT_MAX_FRAME_LEN as usize).is_ok(),
            dictionary: &[],
        },
        Target {
            name: "cql-value",
            about: "a bound value as its column type reads it: an [option] type, then the value's bytes",
            seeds: value_seeds,
            decode: decode_value,
            dictionary: &[],
        },
        Target {
            name: "cql-parser",
            about: "CQL statement text (QUERY and PREPARE bodies), parsed, printed, and parsed back to the same statement",
            seeds: || STATEMENTS.iter().map(|s| s.as_bytes().to_vec()).collect(),
            decode: decode_statement,
            dictionary: CQL_WORDS,
        },
    ]
}

fn body(name: &'static str, opcode: Opcode) -> Target {
    // A fn pointer cannot capture the opcode, so each opcode gets its own pair.
    let (seeds, decode): (Seeds, Decode) = match opcode {
        Opcode::Startup => (|| seeds_of(Opcode::Startup), |b| Request::decode(Opcode::Startup, b).is_ok()),
        Opcode::Options => (|| seeds_of(Opcode::Options), |b| Request::decode(Opcode::Options, b).is_ok()),
        Opcode::Query => (|| seeds_of(Opcode::Query), |b| Request::decode(Opcode::Query, b).is_ok()),
        Opcode::Prepare => (|| seeds_of(Opcode::Prepare), |b| Request::decode(Opcode::Prepare, b).is_ok()),
        Opcode::Execute => (|| seeds_of(Opcode::Execute), |b| Request::decode(Opcode::Execute, b).is_ok()),
        Opcode::Register => (|| seeds_of(Opcode::Register), |b| Request::decode(Opcode::Register, b).is_ok()),
        Opcode::Batch => (|| seeds_of(Opcode::Batch), |b| Request::decode(Opcode::Batch, b).is_ok()),
        _ => (
            || seeds_of(Opcode::AuthResponse),
            |b| Request::decode(Opcode::AuthResponse, b).is_ok(),
        ),
    };
    Target {
        name,
        about: match opcode {
            Opcode::Startup => "a STARTUP body: a [string map] of options",
            Opcode::Options => "an OPTIONS body (empty; trailing bytes ignored)",
            Opcode::Query => "a QUERY body: [long string] and query parameters",
            Opcode::Prepare => "a PREPARE body: a [long string]",
            Opcode::Execute => "an EXECUTE body: [short bytes] id and query parameters",
            Opcode::Register => "a REGISTER body: a [string list] of event types",
            Opcode::Batch => "a BATCH body: type, statements with values, consistency, flags",
            _ => "an AUTH_RESPONSE body: [bytes] token",
        },
        seeds,
        decode,
        dictionary: &[],
    }
}

fn seeds_of(opcode: Opcode) -> Vec<Vec<u8>> {
    requests()
        .iter()
        .filter(|r| r.opcode() == opcode)
        .map(|r| {
            let mut out = Vec::new();
            r.encode(&mut out);
            out
        })
        .collect()
}

fn bodies() -> Vec<Vec<u8>> {
    requests()
        .iter()
        .map(|r| {
            let mut out = Vec::new();
            r.encode(&mut out);
            out
        })
        .collect()
}

/// What the server does with a frame once it has read it: the header, the body
/// length against the limit, decompression when the flag is set (LZ4 on even
/// streams, Snappy on odd ones, standing for what STARTUP negotiated), the body.
fn decode_frame(input: &[u8]) -> bool {
    let Ok(mut header) = FrameHeader::decode(input) else {
        return false;
    };
    let Ok(len) = header.body_len(DEFAULT_MAX_FRAME_LEN) else {
        return false;
    };
    // The server reads exactly the stated length; what follows is the next frame.
    let Some(body) = input.get(HEADER_LEN..HEADER_LEN.saturating_add(len)) else {
        return false;
    };
    if header.flags & FLAG_COMPRESSION != 0 {
        let compression = if header.stream % 2 == 0 {
            Compression::Lz4
        } else {
            Compression::Snappy
        };
        let Ok(plain) = compression.decompress(body, DEFAULT_MAX_FRAME_LEN as usize) else {
            return false;
        };
        header.flags &= !FLAG_COMPRESSION;
        return decode_request(&header, &plain).is_ok();
    }
    decode_request(&header, body).is_ok()
}

fn frame_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, request) in requests().into_iter().enumerate() {
        let frame = RequestFrame {
            tracing: i % 3 == 1,
            custom_payload: (i % 4 == 2).then(|| vec![("k".to_string(), Some(vec![1, 2])), ("n".to_string(), None)]),
            request,
        };
        let stream = i as i16;
        let bytes = frame.encode(stream);
        if i % 2 == 0 {
            out.push(compress_frame(&bytes, Compression::Lz4));
        } else if i % 5 == 0 {
            out.push(compress_frame(&bytes, Compression::Snappy));
        }
        out.push(bytes);
    }
    out
}

fn params(values: BoundValues) -> QueryParameters {
    QueryParameters {
        consistency: Consistency::LocalQuorum,
        values,
        skip_metadata: true,
        page_size: Some(5000),
        paging_state: Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 7]),
        serial_consistency: Some(Consistency::LocalSerial),
        default_timestamp: Some(1_700_000_000_000_000),
    }
}

fn plain() -> QueryParameters {
    QueryParameters {
        consistency: Consistency::One,
        values: BoundValues::None,
        skip_metadata: false,
        page_size: None,
        paging_state: None,
        serial_consistency: None,
        default_timestamp: None,
    }
}

fn positional() -> BoundValues {
    BoundValues::Positional(vec![
        BoundValue::Bytes(7i32.to_be_bytes().to_vec()),
        BoundValue::Null,
        BoundValue::Unset,
        BoundValue::Bytes(b"text".to_vec()),
    ])
}

fn requests() -> Vec<Request> {
    vec![
        Request::Startup(Startup {
            options: vec![("CQL_VERSION".into(), "3.0.0".into())],
        }),
        Request::Startup(Startup {
            options: vec![
                ("CQL_VERSION".into(), "3.4.5".into()),
                ("COMPRESSION".into(), "lz4".into()),
                ("DRIVER_NAME".into(), "fuzz".into()),
            ],
        }),
        Request::Options,
        Request::Query(Query {
            query: "SELECT * FROM system.local".into(),
            params: plain(),
        }),
        Request::Query(Query {
            query: "INSERT INTO ks.t (k, a, b, c) VALUES (?, ?, ?, ?)".into(),
            params: params(positional()),
        }),
        Request::Query(Query {
            query: "SELECT * FROM ks.t WHERE k = :k".into(),
            params: params(BoundValues::Named(vec![("k".into(), BoundValue::Bytes(vec![0, 0, 0, 1]))])),
        }),
        Request::Prepare(Prepare {
            query: "SELECT a, b FROM ks.t WHERE k = ? AND c > ?".into(),
        }),
        Request::Prepare(Prepare { query: String::new() }),
        Request::Execute(Execute {
            id: vec![0xab; 16],
            params: params(positional()),
        }),
        Request::Execute(Execute {
            id: vec![1, 2, 3],
            params: plain(),
        }),
        Request::Register(Register {
            events: vec!["TOPOLOGY_CHANGE".into(), "STATUS_CHANGE".into(), "SCHEMA_CHANGE".into()],
        }),
        Request::Batch(Batch {
            kind: BatchType::Logged,
            statements: vec![
                BatchStatement {
                    target: BatchTarget::Query("INSERT INTO ks.t (k) VALUES (?)".into()),
                    values: positional(),
                },
                BatchStatement {
                    target: BatchTarget::Prepared(vec![9; 16]),
                    values: BoundValues::Positional(vec![]),
                },
            ],
            consistency: Consistency::Quorum,
            serial_consistency: Some(Consistency::Serial),
            default_timestamp: Some(42),
        }),
        Request::Batch(Batch {
            kind: BatchType::Counter,
            statements: vec![BatchStatement {
                target: BatchTarget::Query("UPDATE ks.c SET n = n + 1 WHERE k = 1".into()),
                values: BoundValues::Named(vec![("k".into(), BoundValue::Null)]),
            }],
            consistency: Consistency::One,
            serial_consistency: None,
            default_timestamp: None,
        }),
        Request::AuthResponse(AuthResponse {
            token: Some(b"\0cassandra\0cassandra".to_vec()),
        }),
        Request::AuthResponse(AuthResponse { token: None }),
    ]
}

fn decode_value(input: &[u8]) -> bool {
    let mut r = Reader::new(input);
    let Ok(ty) = read_option(&mut r) else {
        return false;
    };
    Value::deserialize(&ty, r.rest()).is_ok()
}

fn value_seeds() -> Vec<Vec<u8>> {
    let udt = ColumnType::Udt {
        keyspace: "ks".into(),
        name: "address".into(),
        fields: vec![("street".into(), ColumnType::Varchar), ("zip".into(), ColumnType::Int)],
    };
    let cases: Vec<(ColumnType, Value)> = vec![
        (ColumnType::Ascii, Value::Ascii("abc".into())),
        (ColumnType::Bigint, Value::Bigint(-5)),
        (ColumnType::Blob, Value::Blob(vec![0, 1, 2])),
        (ColumnType::Boolean, Value::Boolean(true)),
        (ColumnType::Counter, Value::Counter(9)),
        (
            ColumnType::Decimal,
            Value::Decimal {
                unscaled: BigInt::from(-12345),
                scale: 3,
            },
        ),
        (ColumnType::Double, Value::Double(1.5)),
        (ColumnType::Float, Value::Float(-2.25)),
        (ColumnType::Int, Value::Int(1 << 20)),
        (ColumnType::Timestamp, Value::Timestamp(1_700_000_000_000)),
        (ColumnType::Uuid, Value::Uuid(Uuid::from_u128(0x1234))),
        (ColumnType::Varchar, Value::Text("héllo".into())),
        (ColumnType::Varint, Value::Varint(BigInt::from(u64::MAX) * 3)),
        (
            ColumnType::Timeuuid,
            Value::Timeuuid(Uuid::from_u128(0x1000_0000_0000_1000_8000_0000_0000_0001)),
        ),
        (ColumnType::Inet, Value::Inet(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)))),
        (ColumnType::Inet, Value::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST))),
        (ColumnType::Date, Value::Date(1 << 31)),
        (ColumnType::Time, Value::Time(3_600_000_000_000)),
        (ColumnType::Smallint, Value::Smallint(-3)),
        (ColumnType::Tinyint, Value::Tinyint(4)),
        (
            ColumnType::Duration,
            Value::Duration {
                months: 1,
                days: 2,
                nanoseconds: 3,
            },
        ),
        (
            ColumnType::List(Box::new(ColumnType::Int)),
            Value::List(vec![Value::Int(1), Value::Int(2)]),
        ),
        (
            ColumnType::Set(Box::new(ColumnType::Varchar)),
            Value::Set(vec![Value::Text("a".into()), Value::Text("b".into())]),
        ),
        (
            ColumnType::Map(
                Box::new(ColumnType::Varchar),
                Box::new(ColumnType::List(Box::new(ColumnType::Bigint))),
            ),
            Value::Map(vec![(Value::Text("k".into()), Value::List(vec![Value::Bigint(1)]))]),
        ),
        (
            ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar, ColumnType::Boolean]),
            Value::Tuple(vec![Some(Value::Int(1)), None, Some(Value::Boolean(false))]),
        ),
        (
            udt.clone(),
            Value::Udt(vec![
                ("street".into(), Some(Value::Text("Main".into()))),
                ("zip".into(), Some(Value::Int(12345))),
            ]),
        ),
        (
            ColumnType::List(Box::new(udt)),
            Value::List(vec![Value::Udt(vec![("street".into(), None), ("zip".into(), Some(Value::Int(1)))])]),
        ),
    ];
    cases
        .into_iter()
        .map(|(ty, value)| {
            let mut out = Vec::new();
            write_option(&mut out, &ty);
            out.extend_from_slice(&value.to_bytes());
            out
        })
        .collect()
}

/// The column types a literal is evaluated as, with a literal of each.
fn literal_cases() -> Vec<(ColumnType, &'static str)> {
    vec![
        (ColumnType::Int, "42"),
        (ColumnType::Bigint, "-9223372036854775808"),
        (ColumnType::Varint, "123456789012345678901234567890"),
        (ColumnType::Decimal, "-1.5e10"),
        (ColumnType::Double, "NaN"),
        (ColumnType::Float, "-Infinity"),
        (ColumnType::Varchar, "'héllo'"),
        (ColumnType::Ascii, "$$abc$$"),
        (ColumnType::Blob, "0xcafe"),
        (ColumnType::Boolean, "true"),
        (ColumnType::Uuid, "123e4567-e89b-12d3-a456-426614174000"),
        (ColumnType::Timeuuid, "50554d6e-29bb-11e5-b345-feff819cdc9f"),
        (ColumnType::Timestamp, "'2024-01-02 03:04:05.678+0100'"),
        (ColumnType::Timestamp, "1700000000000"),
        (ColumnType::Date, "'2024-01-02'"),
        (ColumnType::Time, "'12:34:56.789012345'"),
        (ColumnType::Inet, "'::1'"),
        (ColumnType::Duration, "1y2mo3w4d5h6m7s8ms9us10ns"),
        (ColumnType::Duration, "P1Y2M3DT4H5M6S"),
        (ColumnType::Smallint, "-32768"),
        (ColumnType::Tinyint, "127"),
        (ColumnType::Counter, "5"),
        (ColumnType::List(Box::new(ColumnType::Int)), "[1, 2, 3]"),
        (ColumnType::Set(Box::new(ColumnType::Varchar)), "{'a', 'b'}"),
        (
            ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Timestamp)),
            "{'a': '2024-01-02', 'b': 0}",
        ),
        (ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar]), "(1, 'a')"),
        (
            ColumnType::Udt {
                keyspace: "ks".into(),
                name: "u".into(),
                fields: vec![("a".into(), ColumnType::Int), ("b".into(), ColumnType::Varchar)],
            },
            "{a: 1, b: 'x'}",
        ),
    ]
}

/// Column types with a JSON text of each, as a client would send it.
fn json_cases() -> Vec<(ColumnType, &'static str)> {
    vec![
        (ColumnType::Int, "42"),
        (ColumnType::Bigint, "\"-9223372036854775808\""),
        (ColumnType::Varint, "123456789012345678901234567890"),
        (ColumnType::Decimal, "-1.50e10"),
        (ColumnType::Double, "\"NaN\""),
        (ColumnType::Varchar, "\"h\\u00e9llo\""),
        (ColumnType::Blob, "\"0xcafe\""),
        (ColumnType::Boolean, "true"),
        (ColumnType::Uuid, "\"123e4567-e89b-12d3-a456-426614174000\""),
        (ColumnType::Timestamp, "\"2024-01-02 03:04:05.678Z\""),
        (ColumnType::Date, "\"2024-01-02\""),
        (ColumnType::Time, "\"12:34:56.789012345\""),
        (ColumnType::Inet, "\"::1\""),
        (ColumnType::Duration, "\"1y2mo3w\""),
        (ColumnType::List(Box::new(ColumnType::Int)), "[1, 2, 3]"),
        (ColumnType::Set(Box::new(ColumnType::Varchar)), "[\"a\", \"b\"]"),
        (
            ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::Timestamp)),
            "{\"1\": \"2024-01-02\", \"2\": 1700000000000}",
        ),
        (ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar]), "[1, \"a\"]"),
        (
            ColumnType::Udt {
                keyspace: "ks".into(),
                name: "u".into(),
                fields: vec![("a".into(), ColumnType::Int), ("B".into(), ColumnType::Varchar)],
            },
            "{\"a\": 1, \"\\\"B\\\"\": \"x\"}",
        ),
    ]
}

const JSON_WORDS: &[&[u8]] = &[
    b"null", b"true", b"[", b"]", b"{", b"}", b"\"", b"\\u", b"e-", b"1E+400", b",", b":",
];

/// Seeds of a target whose input is a selector byte (which case's column
/// type) followed by text: each case's own text under its own selector.
fn typed_text_seeds(cases: &[(ColumnType, &str)]) -> Vec<Vec<u8>> {
    cases
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            let mut out = vec![i as u8];
            out.extend_from_slice(text.as_bytes());
            out
        })
        .collect()
}

/// An input of such a target: the column type its first byte picks among
/// the cases, and the rest as text.
fn typed_text(input: &[u8], cases: &[(ColumnType, &str)]) -> Option<(ColumnType, String)> {
    let (selector, text) = input.split_first()?;
    let (ty, _) = cases.get(usize::from(*selector) % cases.len().max(1))?;
    Some((ty.clone(), String::from_utf8_lossy(text).into_owned()))
}

fn json_seeds() -> Vec<Vec<u8>> {
    typed_text_seeds(&json_cases())
}

/// The JSON is read as `fromJson()` reads it into a value of the chosen type
/// (INSERT JSON reads each member the same way).
fn decode_json(input: &[u8]) -> bool {
    let Some((ty, text)) = typed_text(input, &json_cases()) else {
        return false;
    };
    from_json_function(&text, &ty, "k").is_ok()
}

fn literal_seeds() -> Vec<Vec<u8>> {
    typed_text_seeds(&literal_cases())
}

/// The literal is read as the value of an INSERT, as a client would write it.
fn decode_literal(input: &[u8]) -> bool {
    let Some((ty, text)) = typed_text(input, &literal_cases()) else {
        return false;
    };
    let Ok(Statement::Insert(insert)) = parse_statement(&format!("INSERT INTO t (k) VALUES ({text})")) else {
        return false;
    };
    let Some(term) = insert.values.first() else {
        return false;
    };
    evaluate(term, &ty, &Binds::default(), "k").is_ok()
}

fn decode_statement(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let Ok(statement) = parse_statement(&text) else {
        return false;
    };
    // Printing is part of what a parsed statement goes through (DESCRIBE,
    // schema events), and `cql::print` promises its output parses back to the
    // same statement: a broken promise is a finding too.
    let printed = statement.to_string();
    let again = parse_statement(&printed);
    assert!(
        again.as_ref() == Ok(&statement),
        "{text:?} printed as {printed:?}, which parses as {again:?}"
    );
    true
}

const STATEMENTS: &[&str] = &[
    "SELECT * FROM system.local",
    "SELECT a, b AS x, writetime(c), ttl(c), token(k) FROM ks.t WHERE k = ? AND c >= 3 AND c < 10 ORDER BY c DESC LIMIT 10 ALLOW FILTERING",
    "SELECT count(*) FROM t WHERE k IN (1, 2, 3) PER PARTITION LIMIT 2",
    "SELECT JSON k, v FROM ks.t WHERE token(k) > token(?)",
    "SELECT DISTINCT k FROM t WHERE (c1, c2) > (1, 'a')",
    "SELECT v, s FROM t WHERE m CONTAINS KEY 'x' AND l CONTAINS 5",
    "INSERT INTO ks.t (k, a, b) VALUES (1, 'text', 0x00ff) IF NOT EXISTS USING TTL 86400 AND TIMESTAMP 123",
    "INSERT INTO t JSON '{\"k\": 1, \"v\": [1, 2]}' DEFAULT UNSET",
    "INSERT INTO t (k, m, s, l, tu, u) VALUES (?, {'a': 1, 'b': 2}, {1, 2}, [1.5, -2e10], (1, 'x'), {f1: 1, f2: 'y'})",
    "UPDATE ks.t USING TTL 10 SET a = a + 1, l = l + [1], m['k'] = 'v', s = s - {2} WHERE k = 1 AND c = 2 IF a = 3 AND b IN (1, 2)",
    "UPDATE t SET counter = counter - 5 WHERE k = :k IF EXISTS",
    "DELETE a, m['k'], l[0] FROM ks.t USING TIMESTAMP 5 WHERE k = 1 AND c > 2 IF a != null",
    "BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (k) VALUES (1); DELETE FROM t WHERE k = 2; APPLY BATCH",
    "BEGIN COUNTER BATCH UPDATE c SET n = n + 1 WHERE k = 1; APPLY BATCH;",
    "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} AND durable_writes = true",
    "CREATE TABLE ks.t (k int, c text, v map<text, frozen<list<int>>>, s int STATIC, PRIMARY KEY ((k, k2), c, d)) WITH CLUSTERING ORDER BY (c DESC, d ASC) AND gc_grace_seconds = 10 AND comment = 'x'",
    "CREATE TABLE t (k uuid PRIMARY KEY, t tuple<int, text>, u frozen<address>, d duration, n counter)",
    "CREATE TYPE IF NOT EXISTS ks.address (street text, zip int)",
    "CREATE ROLE alice WITH PASSWORD = 'secret' AND LOGIN = true AND SUPERUSER = false",
    "ALTER TABLE ks.t ADD (x int, y set<text>)",
    "ALTER TABLE t DROP x",
    "ALTER TABLE t WITH default_time_to_live = 3600",
    "ALTER KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "ALTER ROLE alice WITH PASSWORD = 'other'",
    "DROP TABLE IF EXISTS ks.t",
    "DROP KEYSPACE ks",
    "DROP TYPE ks.address",
    "DROP ROLE IF EXISTS alice",
    "TRUNCATE TABLE ks.t",
    "USE \"MyKeyspace\"",
    "GRANT SELECT ON KEYSPACE ks TO alice",
    "REVOKE ALL PERMISSIONS ON ALL KEYSPACES FROM bob",
    "LIST ROLES OF alice",
    "LIST ALL PERMISSIONS",
    "DESCRIBE KEYSPACES",
    "DESCRIBE TABLE ks.t",
    "SELECT * FROM t WHERE k = 1 AND c = 123e4567-e89b-12d3-a456-426614174000 AND d = -Infinity AND e = NaN AND f = true",
    "SELECT * FROM t WHERE k = 'it''s' AND b = $$dollar $ quoted$$ AND c = -0.5e-3 AND d = 1h30m",
    "-- a comment\nSELECT /* block */ k FROM t; // trailing",
];

const CQL_WORDS: &[&[u8]] = &[
    b"SELECT ",
    b"FROM ",
    b"WHERE ",
    b" AND ",
    b"INSERT INTO ",
    b"VALUES ",
    b"UPDATE ",
    b"SET ",
    b"DELETE ",
    b"BEGIN BATCH ",
    b"APPLY BATCH",
    b"CREATE TABLE ",
    b"CREATE KEYSPACE ",
    b"WITH ",
    b"PRIMARY KEY ",
    b"frozen<",
    b"map<",
    b"list<",
    b"set<",
    b"tuple<",
    b">",
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b";",
    b"?",
    b":n",
    b"'",
    b"\"",
    b"$$",
    b"--",
    b"/*",
    b"*/",
    b"token(",
    b"IF ",
    b"IN ",
    b"CONTAINS ",
    b"KEY ",
    b"LIMIT ",
    b"USING TTL ",
    b"TIMESTAMP ",
    b"0x",
    b"-",
    b"1e",
    b"..",
    b"123e4567-e89b-12d3-a456-426614174000",
    b"9223372036854775808",
    b"NaN",
    b"Infinity",
    b"null",
    b"JSON ",
];
