//! Malformed input on the CQL port, written as raw bytes over TCP with no driver in
//! the way: wrong protocol versions, oversized and negative lengths, unknown opcodes,
//! truncated bodies and invalid UTF-8. The node must answer each with an ERROR frame
//! (protocol error, code 0x000A) as Cassandra does, allocate nothing for a length it
//! refuses, and keep serving afterwards. Before login the bounds are tighter: small
//! frames only, a deadline, and few idle connections per address. The frame writer
//! here is deliberately tiny and independent of the server's codec.

mod common;

use std::time::Duration;

use anyhow::{bail, ensure, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{within_timeout, TestNode};

const V4_REQUEST: u8 = 0x04;
const V4_RESPONSE: u8 = 0x84;

const OP_ERROR: u8 = 0x00;
const OP_STARTUP: u8 = 0x01;
const OP_READY: u8 = 0x02;
const OP_OPTIONS: u8 = 0x05;
const OP_SUPPORTED: u8 = 0x06;
const OP_QUERY: u8 = 0x07;
const OP_RESULT: u8 = 0x08;

const FLAG_TRACING: u8 = 0x02;
const FLAG_CUSTOM_PAYLOAD: u8 = 0x04;
const FLAG_WARNING: u8 = 0x08;

const PROTOCOL_ERROR: i32 = 0x000A;
const CONSISTENCY_ONE: u16 = 0x0001;

/// How long to wait for any one response frame.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Response bodies in these tests are small; anything bigger is a broken frame.
const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

/// A frame header (version, flags, stream, opcode, length) followed by `body`.
fn frame(version: u8, stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let length = i32::try_from(body.len()).expect("small test body");
    header(version, stream, opcode, length)
        .into_iter()
        .chain(body.iter().copied())
        .collect()
}

/// A bare header announcing `length` body bytes, which may be a lie.
fn header(version: u8, stream: i16, opcode: u8, length: i32) -> Vec<u8> {
    let mut out = vec![version, 0x00];
    out.extend_from_slice(&stream.to_be_bytes());
    out.push(opcode);
    out.extend_from_slice(&length.to_be_bytes());
    out
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn startup_body() -> Vec<u8> {
    let mut body = 1u16.to_be_bytes().to_vec();
    write_string(&mut body, "CQL_VERSION");
    write_string(&mut body, "3.0.0");
    body
}

/// A QUERY body: [long string] query, [consistency], [byte] flags (none).
fn query_body(query: &[u8]) -> Vec<u8> {
    let mut body = (query.len() as i32).to_be_bytes().to_vec();
    body.extend_from_slice(query);
    body.extend_from_slice(&CONSISTENCY_ONE.to_be_bytes());
    body.push(0x00);
    body
}

#[derive(Debug)]
struct Response {
    version: u8,
    flags: u8,
    stream: i16,
    opcode: u8,
    body: Vec<u8>,
}

/// A cursor over a response body, reading the spec's notation.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        ensure!(self.bytes.len() >= n, "body too short: need {n} bytes, have {}", self.bytes.len());
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn read_short(&mut self) -> anyhow::Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn read_int(&mut self) -> anyhow::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn read_string(&mut self) -> anyhow::Result<String> {
        let n = self.read_short()? as usize;
        Ok(String::from_utf8(self.take(n)?.to_vec())?)
    }
    fn read_string_list(&mut self) -> anyhow::Result<Vec<String>> {
        let n = self.read_short()?;
        (0..n).map(|_| self.read_string()).collect()
    }
    fn read_string_multimap(&mut self) -> anyhow::Result<Vec<(String, Vec<String>)>> {
        let n = self.read_short()?;
        (0..n).map(|_| Ok((self.read_string()?, self.read_string_list()?))).collect()
    }
    fn skip_bytes_map(&mut self) -> anyhow::Result<()> {
        let n = self.read_short()?;
        for _ in 0..n {
            self.read_string()?;
            let len = self.read_int()?;
            if len > 0 {
                self.take(len as usize)?;
            }
        }
        Ok(())
    }
}

impl Response {
    /// The body after the optional tracing id, warnings and custom payload.
    fn payload(&self) -> anyhow::Result<Reader<'_>> {
        let mut r = Reader { bytes: &self.body };
        if self.flags & FLAG_TRACING != 0 {
            r.take(16)?;
        }
        if self.flags & FLAG_WARNING != 0 {
            r.read_string_list()?;
        }
        if self.flags & FLAG_CUSTOM_PAYLOAD != 0 {
            r.skip_bytes_map()?;
        }
        Ok(r)
    }

    /// The (code, message) of an ERROR frame.
    fn error(&self) -> anyhow::Result<(i32, String)> {
        ensure!(
            self.opcode == OP_ERROR,
            "expected an ERROR frame, got opcode {:#04x}: {self:?}",
            self.opcode
        );
        let mut r = self.payload()?;
        Ok((r.read_int()?, r.read_string()?))
    }
}

async fn connect(node: &TestNode) -> anyhow::Result<TcpStream> {
    let stream = tokio::time::timeout(READ_TIMEOUT, TcpStream::connect(node.socket_addr()))
        .await
        .context("connect timed out")?
        .context("connect")?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn send(conn: &mut TcpStream, bytes: &[u8]) -> anyhow::Result<()> {
    conn.write_all(bytes).await.context("write to the node")?;
    conn.flush().await?;
    Ok(())
}

async fn read_response(conn: &mut TcpStream) -> anyhow::Result<Response> {
    let read = async {
        let mut head = [0u8; 9];
        conn.read_exact(&mut head).await.context("read a response header")?;
        let length = i32::from_be_bytes([head[5], head[6], head[7], head[8]]);
        ensure!(
            (0..=MAX_RESPONSE_BODY as i32).contains(&length),
            "response length {length} out of range"
        );
        let mut body = vec![0u8; length as usize];
        conn.read_exact(&mut body).await.context("read a response body")?;
        Ok(Response {
            version: head[0],
            flags: head[1],
            stream: i16::from_be_bytes([head[2], head[3]]),
            opcode: head[4],
            body,
        })
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(response) => response,
        Err(_) => bail!("no response within {READ_TIMEOUT:?}"),
    }
}

/// Sends one request frame and reads one response frame.
async fn exchange(conn: &mut TcpStream, request: &[u8]) -> anyhow::Result<Response> {
    send(conn, request).await?;
    read_response(conn).await
}

/// Asserts `response` is a v4 protocol error on `stream`, and returns its message.
fn assert_protocol_error(response: &Response, stream: i16) -> anyhow::Result<String> {
    let (code, message) = response.error()?;
    assert_eq!(response.version, V4_RESPONSE, "response version: {response:?}");
    assert_eq!(response.stream, stream, "response stream id: {response:?}");
    assert_eq!(code, PROTOCOL_ERROR, "error code (message {message:?})");
    Ok(message)
}

/// OPTIONS must get SUPPORTED, listing CQL_VERSION and COMPRESSION.
async fn assert_answers_options(conn: &mut TcpStream, stream: i16) -> anyhow::Result<()> {
    let response = exchange(conn, &frame(V4_REQUEST, stream, OP_OPTIONS, &[])).await?;
    assert_eq!(
        (response.version, response.stream, response.opcode),
        (V4_RESPONSE, stream, OP_SUPPORTED),
        "OPTIONS gets SUPPORTED: {response:?}"
    );
    let options = response.payload()?.read_string_multimap()?;
    let keys: Vec<&str> = options.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"CQL_VERSION"), "SUPPORTED keys {keys:?}");
    assert!(keys.contains(&"COMPRESSION"), "SUPPORTED keys {keys:?}");
    Ok(())
}

/// A connection that has done STARTUP and may send queries.
async fn ready_connection(node: &TestNode) -> anyhow::Result<TcpStream> {
    let mut conn = connect(node).await?;
    let response = exchange(&mut conn, &frame(V4_REQUEST, 1, OP_STARTUP, &startup_body())).await?;
    assert_eq!(
        (response.version, response.stream, response.opcode),
        (V4_RESPONSE, 1, OP_READY),
        "STARTUP gets READY: {response:?}"
    );
    Ok(conn)
}

async fn check_valid_handshake_and_query(node: &TestNode) -> anyhow::Result<()> {
    let mut conn = connect(node).await?;
    assert_answers_options(&mut conn, 0).await?;
    let response = exchange(&mut conn, &frame(V4_REQUEST, 1, OP_STARTUP, &startup_body())).await?;
    assert_eq!((response.stream, response.opcode), (1, OP_READY), "{response:?}");
    let query = query_body(b"SELECT release_version FROM system.local");
    let response = exchange(&mut conn, &frame(V4_REQUEST, 2, OP_QUERY, &query)).await?;
    assert_eq!((response.stream, response.opcode), (2, OP_RESULT), "{response:?}");
    let kind = response.payload()?.read_int()?;
    assert_eq!(kind, 0x0002, "RESULT kind Rows");
    Ok(())
}

async fn check_unsupported_versions(node: &TestNode) -> anyhow::Result<()> {
    // v5 as the scylla driver sends it; 0x42 and 0x41 as the DataStax drivers probe.
    for (version, stream) in [(0x05u8, 0x0102i16), (0x42, 0), (0x41, 7)] {
        let mut conn = connect(node).await?;
        let response = exchange(&mut conn, &frame(version, stream, OP_STARTUP, &startup_body())).await?;
        let message = assert_protocol_error(&response, stream)?;
        let expected = format!("Invalid or unsupported protocol version ({version}); supported versions are (4/v4)");
        assert!(message.contains(&expected), "message {message:?} lacks {expected:?}");
    }
    Ok(())
}

/// VmPeak of a process in kB: the most address space it ever had reserved, so an
/// allocation sized by a hostile length shows even if never touched.
fn vm_peak_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmPeak:"))
        .context("VmPeak in /proc/<pid>/status")?;
    let kb = line.split_whitespace().nth(1).context("VmPeak value")?.parse()?;
    Ok(kb)
}

async fn check_oversized_lengths(node: &TestNode) -> anyhow::Result<()> {
    let before = vm_peak_kb(node.pid())?;
    for (length, stream) in [(0x7FFF_FFFFi32, 5i16), (-1, 6), (256 * 1024 * 1024 + 1, 7)] {
        let mut conn = connect(node).await?;
        // Only the header: a node that waits for the announced body never answers.
        let response = exchange(&mut conn, &header(V4_REQUEST, stream, OP_QUERY, length)).await?;
        assert_protocol_error(&response, stream).with_context(|| format!("announced body length {length}"))?;
    }
    let after = vm_peak_kb(node.pid())?;
    assert!(
        after.saturating_sub(before) < 1024 * 1024,
        "VmPeak grew from {before} kB to {after} kB: a refused length was allocated"
    );
    let mut conn = connect(node).await?;
    assert_answers_options(&mut conn, 1).await
}

async fn check_unknown_opcode(node: &TestNode) -> anyhow::Result<()> {
    let mut conn = connect(node).await?;
    let response = exchange(&mut conn, &frame(V4_REQUEST, 3, 0x42, &[])).await?;
    assert_protocol_error(&response, 3)?;
    assert_answers_options(&mut conn, 4).await?;
    // With a body, which the node must skip to stay in step with the stream.
    let response = exchange(&mut conn, &frame(V4_REQUEST, 5, 0x42, b"hello")).await?;
    assert_protocol_error(&response, 5)?;
    assert_answers_options(&mut conn, 6).await
}

async fn check_truncated_query_bodies(node: &TestNode) -> anyhow::Result<()> {
    let full = query_body(b"SELECT release_version FROM system.local");
    // The long string announces 100 bytes but the body ends after 10 of them.
    let mut string_cut = 100i32.to_be_bytes().to_vec();
    string_cut.extend_from_slice(b"SELECT rel");
    let cases: [(&str, Vec<u8>); 4] = [
        ("string cut short", string_cut),
        ("no consistency", full[..full.len() - 3].to_vec()),
        ("half a consistency", full[..full.len() - 2].to_vec()),
        ("empty body", Vec::new()),
    ];
    for (stream, (what, body)) in (10i16..).zip(cases) {
        let mut conn = ready_connection(node).await?;
        let response = exchange(&mut conn, &frame(V4_REQUEST, stream, OP_QUERY, &body)).await?;
        assert_protocol_error(&response, stream).with_context(|| format!("QUERY body: {what}"))?;
    }
    Ok(())
}

async fn check_invalid_utf8(node: &TestNode) -> anyhow::Result<()> {
    let mut conn = ready_connection(node).await?;
    let body = query_body(b"SELECT \xff\xfe FROM system.local");
    let response = exchange(&mut conn, &frame(V4_REQUEST, 20, OP_QUERY, &body)).await?;
    assert_protocol_error(&response, 20)?;
    Ok(())
}

#[tokio::test]
async fn the_raw_frame_writer_completes_a_valid_v4_handshake_and_query() {
    let node = TestNode::start().await;
    within_timeout(check_valid_handshake_and_query(&node)).await;
}

#[tokio::test]
async fn a_v5_frame_gets_a_v4_protocol_error_with_the_same_stream_id() {
    let node = TestNode::start().await;
    within_timeout(check_unsupported_versions(&node)).await;
}

#[tokio::test]
async fn a_length_over_256_mib_gets_a_protocol_error_and_allocates_nothing() {
    let node = TestNode::start().await;
    within_timeout(check_oversized_lengths(&node)).await;
}

#[tokio::test]
async fn an_unknown_opcode_gets_a_protocol_error_and_the_connection_still_answers_options() {
    let node = TestNode::start().await;
    within_timeout(check_unknown_opcode(&node)).await;
}

#[tokio::test]
async fn a_truncated_query_body_gets_a_protocol_error() {
    let node = TestNode::start().await;
    within_timeout(check_truncated_query_bodies(&node)).await;
}

#[tokio::test]
async fn a_query_with_invalid_utf8_gets_a_protocol_error() {
    let node = TestNode::start().await;
    within_timeout(check_invalid_utf8(&node)).await;
}

#[tokio::test]
async fn a_driver_session_still_works_after_every_kind_of_bad_input() {
    let mut node = TestNode::start().await;
    within_timeout(async {
        check_unsupported_versions(&node).await?;
        check_oversized_lengths(&node).await?;
        check_unknown_opcode(&node).await?;
        check_truncated_query_bodies(&node).await?;
        check_invalid_utf8(&node).await?;
        Ok(())
    })
    .await;
    assert!(node.is_running(), "the node survived the bad input");
    within_timeout(async {
        assert_serves_a_driver(&node).await?;
        Ok(())
    })
    .await;
}

/// The node's resident memory, from /proc.
fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS line")?;
    Ok(kb * 1024)
}

/// A short QUERY with a large answer (every column of every system table).
fn large_answer_query() -> Vec<u8> {
    frame(V4_REQUEST, 2, OP_QUERY, &query_body(b"SELECT * FROM system_schema.columns"))
}

/// Pipelines `frames` queries on a connection that never reads, in the
/// background, until `limit` has passed.
fn pipeline_without_reading(conn: TcpStream, frames: usize, limit: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let query = large_answer_query();
        let (_read_half, mut write_half) = conn.into_split();
        let deadline = tokio::time::Instant::now() + limit;
        for _ in 0..frames {
            if !matches!(tokio::time::timeout_at(deadline, write_half.write_all(&query)).await, Ok(Ok(()))) {
                break;
            }
        }
        tokio::time::sleep_until(deadline).await;
    })
}

#[tokio::test]
async fn a_client_that_never_reads_cannot_push_the_node_past_its_bounds() {
    let node = TestNode::start_with_config("native_transport_max_requests_per_connection = 64\n").await;
    within_timeout(async {
        let mut probe = ready_connection(&node).await?;
        let answer = exchange(&mut probe, &large_answer_query()).await?;
        let conn = ready_connection(&node).await?;
        // 20000 queries whose answers add up to gigabytes, never read: the node
        // answers at most 64 of them beyond what the socket buffers hold, then
        // stops reading, so once those are full its memory stays flat however
        // long the client goes on (unbounded, it grew by megabytes a second).
        let client = pipeline_without_reading(conn, 20_000, Duration::from_secs(16));
        tokio::time::sleep(Duration::from_secs(6)).await;
        let filled = rss_bytes(node.pid())?;
        tokio::time::sleep(Duration::from_secs(8)).await;
        let grown = rss_bytes(node.pid())?.saturating_sub(filled);
        assert!(
            grown < 8 << 20,
            "the node grew by {} MiB in 8 s for a client that sends queries with {} byte answers and never reads",
            grown >> 20,
            answer.body.len()
        );
        // The node still serves everyone else.
        assert_answers_options(&mut probe, 7).await?;
        client.abort();
        Ok(())
    })
    .await;
}

fn startup_with_compression(name: &str) -> Vec<u8> {
    let mut body = 2u16.to_be_bytes().to_vec();
    write_string(&mut body, "CQL_VERSION");
    write_string(&mut body, "3.0.0");
    write_string(&mut body, "COMPRESSION");
    write_string(&mut body, name);
    body
}

/// A frame whose body is compressed with `c`, the COMPRESSION flag set.
fn compressed_frame(c: cql_protocol::compression::Compression, stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut out = frame(V4_REQUEST, stream, opcode, &c.compress(body));
    out[1] |= 0x01;
    out
}

#[tokio::test]
async fn compressed_frames_are_understood_and_a_corrupt_one_gets_a_protocol_error() {
    use cql_protocol::compression::Compression;
    let node = TestNode::start().await;
    within_timeout(async {
        for c in [Compression::Lz4, Compression::Snappy] {
            let mut conn = connect(&node).await?;
            let ready = exchange(&mut conn, &frame(V4_REQUEST, 1, OP_STARTUP, &startup_with_compression(c.name()))).await?;
            assert_eq!(ready.opcode, OP_READY, "{c:?}: STARTUP gets READY: {ready:?}");
            let query = query_body(b"SELECT * FROM system.local");
            let rows = exchange(&mut conn, &compressed_frame(c, 3, OP_QUERY, &query)).await?;
            assert_eq!((rows.stream, rows.flags & 0x01), (3, 0x01), "{c:?}: a compressed answer: {rows:?}");
            let plain = c.decompress(&rows.body, 1 << 20)?;
            let kind = i32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]]);
            assert_eq!((rows.opcode, kind), (OP_RESULT, 2), "{c:?}: a Rows result");
            // A body that does not decompress: a protocol error, and the connection goes on.
            let mut corrupt = frame(V4_REQUEST, 4, OP_QUERY, &[0xFF, 0xFF, 0xFF, 0x7F, 0x01, 0x02]);
            corrupt[1] |= 0x01;
            let refused = exchange(&mut conn, &corrupt).await?;
            let message = if refused.flags & 0x01 != 0 {
                let body = c.decompress(&refused.body, 1 << 20)?;
                Response {
                    body,
                    flags: refused.flags & !0x01,
                    ..refused
                }
                .error()?
            } else {
                refused.error()?
            };
            assert_eq!(message.0, PROTOCOL_ERROR, "{c:?}: {message:?}");
            let again = exchange(&mut conn, &compressed_frame(c, 5, OP_QUERY, &query)).await?;
            assert_eq!((again.stream, again.opcode), (5, OP_RESULT), "{c:?}: still serving");
        }
        let mut conn = connect(&node).await?;
        let refused = exchange(&mut conn, &frame(V4_REQUEST, 1, OP_STARTUP, &startup_with_compression("zstd"))).await?;
        let message = assert_protocol_error(&refused, 1)?;
        assert!(message.contains("Unknown compression algorithm: zstd"), "{message}");
        Ok(())
    })
    .await;
}

/// Waits up to `limit` for the node to close `conn`, reading (and dropping)
/// whatever it still sends.
async fn assert_closed_within(conn: &mut TcpStream, limit: Duration) -> anyhow::Result<()> {
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    ensure!(closed.is_ok(), "the node kept the connection open for more than {limit:?}");
    Ok(())
}

const OP_AUTHENTICATE: u8 = 0x03;
const OP_AUTH_RESPONSE: u8 = 0x0F;
const OVERLOADED: i32 = 0x1001;

#[tokio::test]
async fn a_200_mib_frame_before_login_is_refused_and_closed_without_reading_its_body() {
    let node = TestNode::start().await;
    within_timeout(async {
        let before = vm_peak_kb(node.pid())?;
        for opcode in [OP_QUERY, OP_STARTUP, OP_OPTIONS] {
            let mut conn = connect(&node).await?;
            let response = exchange(&mut conn, &header(V4_REQUEST, 9, opcode, 200 << 20)).await?;
            let message = assert_protocol_error(&response, 9)?;
            assert_eq!(
                message, "frame body is 209715200 long, more than the limit of 65536 before authentication",
                "opcode {opcode:#04x}"
            );
            assert_closed_within(&mut conn, Duration::from_secs(2)).await?;
        }
        // Just over the bound, right after an OPTIONS: still before login.
        let mut conn = connect(&node).await?;
        assert_answers_options(&mut conn, 1).await?;
        let response = exchange(&mut conn, &header(V4_REQUEST, 2, OP_STARTUP, 64 * 1024 + 1)).await?;
        assert_protocol_error(&response, 2)?;
        assert_closed_within(&mut conn, Duration::from_secs(2)).await?;
        let after = vm_peak_kb(node.pid())?;
        assert!(
            after.saturating_sub(before) < 64 * 1024,
            "VmPeak grew from {before} kB to {after} kB for bodies that were never read"
        );
        // The node serves a new connection, and after READY larger frames are fine.
        let mut conn = ready_connection(&node).await?;
        let mut query = b"SELECT release_version FROM system.local".to_vec();
        query.resize(100 * 1024, b' ');
        let response = exchange(&mut conn, &frame(V4_REQUEST, 3, OP_QUERY, &query_body(&query))).await?;
        assert_eq!(
            (response.stream, response.opcode),
            (3, OP_RESULT),
            "a 100 KiB query after READY: {response:?}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn with_passwords_frames_stay_small_until_auth_success() {
    let node = TestNode::start_with_config("authenticator = \"PasswordAuthenticator\"\npassword_hash_cost = 4\n").await;
    within_timeout(async {
        let mut conn = connect(&node).await?;
        let response = exchange(&mut conn, &frame(V4_REQUEST, 1, OP_STARTUP, &startup_body())).await?;
        assert_eq!((response.stream, response.opcode), (1, OP_AUTHENTICATE), "{response:?}");
        let response = exchange(&mut conn, &header(V4_REQUEST, 2, OP_AUTH_RESPONSE, 100 * 1024)).await?;
        let message = assert_protocol_error(&response, 2)?;
        assert!(message.contains("more than the limit of 65536 before authentication"), "{message}");
        assert_closed_within(&mut conn, Duration::from_secs(2)).await
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_does_not_log_in_is_closed_at_the_deadline() {
    let node = TestNode::start_with_config("native_transport_auth_timeout_ms = 1000\n").await;
    within_timeout(async {
        let started = tokio::time::Instant::now();
        let mut silent = connect(&node).await?;
        let mut asked = connect(&node).await?;
        assert_answers_options(&mut asked, 1).await?;
        let mut ready = ready_connection(&node).await?;
        // The silent one is told why, on stream 0, and closed.
        let response = read_response(&mut silent).await?;
        let waited = started.elapsed();
        let message = assert_protocol_error(&response, 0)?;
        assert!(message.contains("native_transport_auth_timeout_ms"), "{message}");
        assert!(
            (Duration::from_millis(900)..Duration::from_secs(4)).contains(&waited),
            "closed after {waited:?}, the deadline is 1 s"
        );
        assert_closed_within(&mut silent, Duration::from_secs(2)).await?;
        // OPTIONS is no login: that one goes too.
        let response = read_response(&mut asked).await?;
        assert_protocol_error(&response, 0)?;
        assert_closed_within(&mut asked, Duration::from_secs(2)).await?;
        // One that got READY has no deadline.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_answers_options(&mut ready, 2).await
    })
    .await;
}

/// A connection from `source` (a loopback address of the test's own) to `node`.
async fn connect_from(source: std::net::IpAddr, node: &TestNode) -> anyhow::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::new(source, 0))?;
    let stream = tokio::time::timeout(READ_TIMEOUT, socket.connect(node.socket_addr()))
        .await
        .context("connect timed out")??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[tokio::test]
async fn idle_connections_that_never_log_in_do_not_keep_a_client_out() {
    // Twelve connections in all; before the bound of four not logged in per
    // address, twenty idle ones from one address held all twelve.
    let node = TestNode::start_with_config(
        "native_transport_max_concurrent_connections = 12\n\
         native_transport_max_unauthenticated_connections_per_ip = 4\n\
         native_transport_auth_timeout_ms = 30000\n",
    )
    .await;
    within_timeout(async {
        // The idle client's address is the node's own, so it differs from the
        // driver's (127.0.0.1).
        let mut idle = Vec::new();
        for _ in 0..20 {
            idle.push(connect_from(node.address, &node).await?);
        }
        let (mut held, mut refused) = (Vec::new(), 0);
        for (stream, mut conn) in (1i16..).zip(idle) {
            let response = exchange(&mut conn, &frame(V4_REQUEST, stream, OP_OPTIONS, &[])).await?;
            if response.opcode == OP_SUPPORTED {
                held.push(conn);
                continue;
            }
            let (code, message) = response.error()?;
            assert_eq!(code, OVERLOADED, "{message}");
            let expected = format!(
                "Too many connections from {} that have not logged in: at most 4 per client address",
                node.address
            );
            assert!(message.contains(&expected), "{message}");
            refused += 1;
        }
        assert_eq!(
            (held.len(), refused),
            (4, 16),
            "four idle connections are served, the others refused"
        );
        assert_serves_a_driver(&node).await?;
        // The idle ones are still there: they did not get out of the way.
        for (stream, conn) in (100i16..).zip(held.iter_mut()) {
            assert_answers_options(conn, stream).await?;
        }
        Ok(())
    })
    .await;
}

/// A driver session on `node` reads `system.local`: the node still serves.
async fn assert_serves_a_driver(node: &TestNode) -> anyhow::Result<()> {
    let session = node.session().await?;
    let (version,): (String,) = session
        .query_unpaged("SELECT release_version FROM system.local", ())
        .await?
        .into_rows_result()?
        .single_row()?;
    assert!(!version.is_empty());
    Ok(())
}

/// A connection that got a slot, on a node that serves one per address: a
/// connection closed a moment ago (the harness's port probe, or the one before)
/// may hold it until the node has seen the close.
async fn the_one_connection(node: &TestNode, within: Duration) -> anyhow::Result<TcpStream> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut conn = connect(node).await?;
        let response = exchange(&mut conn, &frame(V4_REQUEST, 1, OP_OPTIONS, &[])).await?;
        if response.opcode == OP_SUPPORTED {
            return Ok(conn);
        }
        let (code, message) = response.error()?;
        assert_eq!(code, OVERLOADED, "{message}");
        ensure!(
            tokio::time::Instant::now() < deadline,
            "a closed connection still holds the slot after {within:?}: {message}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_registered_connection_gives_its_slot_back_when_it_closes() {
    const OP_REGISTER: u8 = 0x0B;
    let node = TestNode::start_with_config("native_transport_max_concurrent_connections_per_ip = 1\n").await;
    within_timeout(async {
        let mut conn = the_one_connection(&node, Duration::from_secs(3)).await?;
        let response = exchange(&mut conn, &frame(V4_REQUEST, 2, OP_STARTUP, &startup_body())).await?;
        assert_eq!((response.stream, response.opcode), (2, OP_READY), "{response:?}");
        let mut events = 1u16.to_be_bytes().to_vec();
        write_string(&mut events, "SCHEMA_CHANGE");
        let response = exchange(&mut conn, &frame(V4_REQUEST, 3, OP_REGISTER, &events)).await?;
        assert_eq!((response.stream, response.opcode), (3, OP_READY), "{response:?}");
        drop(conn);
        // No event comes; the slot must come back all the same.
        the_one_connection(&node, Duration::from_secs(3)).await?;
        Ok(())
    })
    .await;
}
