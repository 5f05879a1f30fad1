//! Messaging between real sockets on loopback: each test runs its nodes on its
//! own 127.0.6x.y addresses at port 7000, as nodes do, with a hard timeout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

use super::frame::{Frame, Hello, Kind};
use super::*;
use crate::storage::memory::MemoryEngine;
use crate::storage::ReadLimits;
use crate::storage::{Mutation, PartitionPosition, PartitionSelection, ReadCommand, Row, StorageEngine};

const PORT: u16 = 7000;
const TABLE: Uuid = Uuid::from_u128(0x1e);
const LIMIT: Duration = Duration::from_secs(20);

/// A replica serving verbs from a memory engine; pings can be made slow.
struct Replica {
    engine: MemoryEngine,
    slow: AtomicBool,
    seen_from: Mutex<Vec<IpAddr>>,
    tracing: Option<Arc<crate::trace::Tracing>>,
}

impl Replica {
    fn new() -> Arc<Replica> {
        let engine = MemoryEngine::new();
        engine.create_table(TABLE).unwrap();
        Arc::new(Replica {
            engine,
            slow: AtomicBool::new(false),
            seen_from: Mutex::default(),
            tracing: None,
        })
    }

    /// A replica that records traced verbs through `tracing`.
    fn traced(tracing: Arc<crate::trace::Tracing>) -> Arc<Replica> {
        let engine = MemoryEngine::new();
        engine.create_table(TABLE).unwrap();
        Arc::new(Replica {
            engine,
            slow: AtomicBool::new(false),
            seen_from: Mutex::default(),
            tracing: Some(tracing),
        })
    }
}

impl Handler for Replica {
    fn handle(&self, from: IpAddr, verb: Verb) -> Reply {
        self.seen_from.lock().unwrap().push(from);
        match verb {
            Verb::Mutate { mutations } => match self.engine.apply_all(mutations) {
                Ok(()) => Reply::Ack,
                Err(e) => Reply::Failed { message: e.to_string() },
            },
            Verb::Read { command, limits } => match self.engine.read_raw(&command, limits) {
                Ok(partitions) => Reply::Data { partitions },
                Err(e) => Reply::Failed { message: e.to_string() },
            },
            verb @ (Verb::Truncate { .. }
            | Verb::ReadDigest { .. }
            | Verb::StreamRead { .. }
            | Verb::StreamPush { .. }
            | Verb::PaxosPrepare { .. }
            | Verb::PaxosPropose { .. }
            | Verb::PaxosCommit { .. }
            | Verb::CounterLead { .. }
            | Verb::Traced { .. }
            | Verb::Validate { .. }
            | Verb::Hint { .. }
            | Verb::RepairPrepare { .. }
            | Verb::ValidatePartitions { .. }
            | Verb::RepairFinalize { .. }) => crate::replica::local_reply(&self.engine, verb),
            Verb::Ping => {
                if self.slow.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(600));
                }
                Reply::Pong
            }
        }
    }

    /// A slow replica sleeps in its handler, as a disk wait would.
    fn blocks(&self, _verb: &Verb) -> bool {
        self.slow.load(Ordering::SeqCst)
    }

    fn tracing(&self) -> Option<&Arc<crate::trace::Tracing>> {
        self.tracing.as_ref()
    }
}

fn ip(c: u8, d: u8) -> IpAddr {
    // 127.2.x.x: clear of the integration tests (127.0.x.x) that run at the same time.
    IpAddr::V4(Ipv4Addr::new(127, 2, c, d))
}

/// Binds the internode port, retrying while a stopped node's listener closes.
async fn listen(address: IpAddr) -> TcpListener {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(SocketAddr::new(address, PORT)).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind {address}:{PORT}");
}

async fn node(address: IpAddr, cluster: &str, replica: Arc<Replica>) -> Arc<Messaging> {
    node_with(address, PeerAuth::new(cluster, None), replica).await
}

async fn node_with(address: IpAddr, auth: PeerAuth, replica: Arc<Replica>) -> Arc<Messaging> {
    Messaging::start(listen(address).await, address, auth, replica).await
}

fn with_secret(secret: &str) -> PeerAuth {
    PeerAuth::new("test", Some(crate::peer_auth::ClusterSecret::new(secret).unwrap()))
}

/// A raw peer's side of the handshake with a node that has no secret: our
/// hello, the node's hello, a proof of zeros, the node's proof. The node's hello.
async fn raw_handshake(s: &mut TcpStream, cluster: &str, claimed: IpAddr) -> Hello {
    s.write_all(&Hello::new(cluster, claimed).encode()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0; 256];
    let (hello, used) = loop {
        if let Some(parsed) = Hello::parse(&got).unwrap() {
            break parsed;
        }
        let n = s.read(&mut buf).await.unwrap();
        assert_ne!(n, 0, "closed during the handshake");
        got.extend_from_slice(&buf[..n]);
    };
    s.write_all(&[0; crate::peer_auth::TAG_LEN]).await.unwrap();
    while got.len() < used + crate::peer_auth::TAG_LEN {
        let n = s.read(&mut buf).await.unwrap();
        assert_ne!(n, 0, "closed before the node's proof");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got.len(), used + crate::peer_auth::TAG_LEN, "nothing after the proof");
    hello
}

fn position(i: u32) -> PartitionPosition {
    PartitionPosition {
        token: i64::from(i),
        key: i.to_be_bytes().to_vec(),
    }
}

fn write(i: u32) -> Mutation {
    let mut m = Mutation::new(TABLE, position(i));
    let marker = crate::storage::Cell::live(i64::from(i), Vec::new(), 0, 0);
    m.rows.push((
        vec![1],
        Row {
            marker: Some(marker),
            ..Row::default()
        },
    ));
    m.static_row = Some(Row {
        deletion: Some(crate::storage::DeletionTime {
            timestamp: i64::from(i),
            local_deletion_time: 0,
        }),
        ..Row::default()
    });
    m
}

fn read_of(i: u32) -> Verb {
    Verb::Read {
        command: ReadCommand {
            index: None,
            table: TABLE,
            partitions: PartitionSelection::Keys(vec![position(i)]),
            slices: vec![],
            reversed: false,
            resume: None,
        },
        limits: ReadLimits::NONE,
    }
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_traced_verb_is_answered_and_the_replica_records_its_events_under_the_session() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip) = (ip(70, 1), ip(70, 2));
        let (tracing, mut batches) = crate::trace::Tracing::new(b_ip);
        let b_replica = Replica::traced(tracing);
        let a = node(a_ip, "test", Replica::new()).await;
        let _b = node(b_ip, "test", b_replica.clone()).await;
        let session = crate::trace::timeuuid();
        let verb = Verb::Mutate { mutations: vec![write(3)] }.traced(session).unwrap();
        let answering = tokio::spawn(async move { a.send(b_ip, verb, SECOND * 5).await });
        // The replica answers only once its events are queued and written;
        // here nobody writes them, so it waits its bounded while.
        let batch = batches.recv().await.unwrap();
        assert_eq!((batch.session, batch.source), (session, b_ip));
        let activities: Vec<&str> = batch.events.iter().map(|e| e.activity.as_str()).collect();
        assert_eq!(
            activities,
            [
                format!("MUTATION message received from /{a_ip}"),
                format!("Enqueuing response to /{a_ip}")
            ]
        );
        batch.done.unwrap().send(()).unwrap();
        assert_eq!(answering.await.unwrap(), Ok(Reply::Ack));
        assert_eq!(
            b_replica.engine.read_raw(&ReadCommand::all(TABLE), ReadLimits::NONE).unwrap(),
            vec![write(3)]
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn two_nodes_exchange_mutations_reads_and_pings() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip) = (ip(60, 1), ip(60, 2));
        let (a_replica, b_replica) = (Replica::new(), Replica::new());
        let a = node(a_ip, "test", a_replica.clone()).await;
        let b = node(b_ip, "test", b_replica.clone()).await;
        assert_eq!(a.send(b_ip, Verb::Ping, SECOND).await, Ok(Reply::Pong));
        assert_eq!(
            a.send(b_ip, Verb::Mutate { mutations: vec![write(7)] }, SECOND).await,
            Ok(Reply::Ack)
        );
        assert_eq!(
            a.send(b_ip, read_of(7), SECOND).await,
            Ok(Reply::Data {
                partitions: vec![write(7)]
            })
        );
        assert_eq!(
            b.send(a_ip, read_of(7), SECOND).await,
            Ok(Reply::Data { partitions: vec![] }),
            "the write went to b only"
        );
        let unknown = Verb::Mutate {
            mutations: vec![Mutation::new(Uuid::from_u128(99), position(1))],
        };
        let Ok(Reply::Failed { message }) = a.send(b_ip, unknown, SECOND).await else {
            panic!("a write to an unknown table must fail on the replica");
        };
        assert!(message.contains("does not exist"), "{message}");
        assert_eq!(*b_replica.seen_from.lock().unwrap(), vec![a_ip; 4], "b's handler sees a's address");
        // To itself, a node's handler answers without a socket.
        assert_eq!(a.send(a_ip, Verb::Ping, SECOND).await, Ok(Reply::Pong));
        assert_eq!(a_replica.seen_from.lock().unwrap().first(), Some(&b_ip));
        assert_eq!(a.connections_accepted(), 1, "only b's connection to a");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn many_concurrent_requests_share_one_connection() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip) = (ip(61, 1), ip(61, 2));
        let a = node(a_ip, "test", Replica::new()).await;
        let b = node(b_ip, "test", Replica::new()).await;
        let n = 300;
        let writes = (0..n).map(|i| a.send(b_ip, Verb::Mutate { mutations: vec![write(i)] }, 5 * SECOND));
        for reply in futures::future::join_all(writes).await {
            assert_eq!(reply, Ok(Reply::Ack));
        }
        let reads = (0..n).map(|i| {
            let a = a.clone();
            async move { (i, a.send(b_ip, read_of(i), 5 * SECOND).await) }
        });
        for (i, reply) in futures::future::join_all(reads).await {
            assert_eq!(
                reply,
                Ok(Reply::Data {
                    partitions: vec![write(i)]
                }),
                "request {i}"
            );
        }
        assert_eq!(b.connections_accepted(), 1);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_slow_handler_times_out_and_the_connection_stays_usable() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip) = (ip(62, 1), ip(62, 2));
        let b_replica = Replica::new();
        let a = node(a_ip, "test", Replica::new()).await;
        let b = node(b_ip, "test", b_replica.clone()).await;
        b_replica.slow.store(true, Ordering::SeqCst);
        let after = Duration::from_millis(100);
        assert_eq!(
            a.send(b_ip, Verb::Ping, after).await,
            Err(MessagingError::Timeout { to: b_ip, after })
        );
        b_replica.slow.store(false, Ordering::SeqCst);
        // The late pong arrives for a request nobody waits on any more, and is dropped.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(a.send(b_ip, Verb::Ping, SECOND).await, Ok(Reply::Pong));
        assert_eq!(b.connections_accepted(), 1);
        // Locally too.
        a.shutdown();
        let local = Replica::new();
        local.slow.store(true, Ordering::SeqCst);
        let c = node(ip(62, 3), "test", local).await;
        assert_eq!(
            c.send(ip(62, 3), Verb::Ping, after).await,
            Err(MessagingError::Timeout { to: ip(62, 3), after })
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_peer_that_does_not_listen_is_unreachable() {
    tokio::time::timeout(LIMIT, async {
        let a = node(ip(63, 1), "test", Replica::new()).await;
        let to = ip(63, 9);
        match a.send(to, Verb::Ping, SECOND).await {
            Err(MessagingError::Unreachable { to: got, reason }) => {
                assert_eq!(got, to);
                assert!(reason.to_lowercase().contains("refused"), "{reason}");
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn messaging_reconnects_after_the_peer_restarts() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip) = (ip(64, 1), ip(64, 2));
        let a = node(a_ip, "test", Replica::new()).await;
        let b = node(b_ip, "test", Replica::new()).await;
        assert_eq!(a.send(b_ip, Verb::Ping, SECOND).await, Ok(Reply::Pong));
        drop(b);
        // While b is down, requests fail fast (the connection closed, and connecting is refused).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let down = a.send(b_ip, Verb::Ping, SECOND).await;
        assert!(
            matches!(down, Err(MessagingError::Unreachable { to, .. }) if to == b_ip),
            "{down:?}"
        );
        let b = node(b_ip, "test", Replica::new()).await;
        assert_eq!(a.send(b_ip, Verb::Ping, SECOND).await, Ok(Reply::Pong));
        assert_eq!(b.connections_accepted(), 1);
    })
    .await
    .unwrap();
}

/// Reads until the peer closes the connection; fails the test if it stays open.
async fn closed_by_peer(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(5 * SECOND, stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the connection was not closed");
    got
}

#[tokio::test]
async fn garbage_from_a_peer_closes_its_connection_not_the_node() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip) = (ip(65, 1), ip(65, 2));
        let a = node(a_ip, "test", Replica::new()).await;
        let b_replica = Replica::new();
        let _b = node(b_ip, "test", b_replica.clone()).await;
        let b_addr = SocketAddr::new(b_ip, PORT);
        // Not our protocol at all: closed without an answer.
        let mut s = TcpStream::connect(b_addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!(closed_by_peer(&mut s).await, Vec::<u8>::new());
        // A good handshake, then frames that are not: a bad payload, an oversized length, a response.
        let bad_frames: [Vec<u8>; 3] = [
            Frame {
                request_id: 1,
                kind: Kind::Request,
                payload: vec![0xFF; 10],
            }
            .encode(),
            vec![0xFF, 0xFF, 0xFF, 0xF0, 0, 0, 0],
            Frame {
                request_id: 1,
                kind: Kind::Response,
                payload: vec![3],
            }
            .encode(),
        ];
        for bad in bad_frames {
            let mut s = TcpStream::connect(b_addr).await.unwrap();
            let hello = raw_handshake(&mut s, "test", ip(65, 3)).await;
            assert_eq!((hello.cluster_name.as_str(), hello.address), ("test", b_ip));
            s.write_all(&bad).await.unwrap();
            assert_eq!(closed_by_peer(&mut s).await, Vec::<u8>::new(), "closed without an answer");
        }
        // A good request on a raw connection is answered.
        let mut s = TcpStream::connect(b_addr).await.unwrap();
        raw_handshake(&mut s, "test", ip(65, 3)).await;
        s.write_all(&message::encode(5, Kind::Request, &Verb::Ping).unwrap()).await.unwrap();
        let mut buf = vec![0; 64];
        let mut got = Vec::new();
        while got.len() < 14 {
            let n = s.read(&mut buf).await.unwrap();
            assert_ne!(n, 0, "closed before the pong");
            got.extend_from_slice(&buf[..n]);
        }
        let (frame, _) = Frame::parse(&got).unwrap().unwrap();
        assert_eq!((frame.request_id, frame.kind), (5, Kind::Response));
        assert_eq!(message::decode::<Reply>(&frame.payload).unwrap(), Reply::Pong);
        // The node itself is fine.
        assert_eq!(a.send(b_ip, Verb::Ping, SECOND).await, Ok(Reply::Pong));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_hello_of_another_version_is_answered_with_ours_and_closed() {
    tokio::time::timeout(LIMIT, async {
        let b_ip = ip(66, 2);
        let _b = node(b_ip, "test", Replica::new()).await;
        let mut s = TcpStream::connect(SocketAddr::new(b_ip, PORT)).await.unwrap();
        s.write_all(b"RSTI\x0cfuture hello").await.unwrap();
        let got = closed_by_peer(&mut s).await;
        let (hello, used) = Hello::parse(&got).unwrap().unwrap();
        assert_eq!((hello.cluster_name.as_str(), hello.address, used), ("test", b_ip, got.len()));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_peer_of_another_cluster_is_refused() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip) = (ip(67, 1), ip(67, 2));
        let b_replica = Replica::new();
        let a = node(a_ip, "one", Replica::new()).await;
        let _b = node(b_ip, "two", b_replica.clone()).await;
        match a.send(b_ip, Verb::Ping, SECOND).await {
            Err(MessagingError::Protocol { to, reason }) => {
                assert_eq!(to, b_ip);
                assert!(reason.contains("another cluster"), "{reason}");
            }
            other => panic!("expected a protocol error, got {other:?}"),
        }
        assert!(
            b_replica.seen_from.lock().unwrap().is_empty(),
            "b served a request from another cluster"
        );
        // Refused on b's side too: a raw client claiming cluster "one" is closed
        // without learning anything.
        let mut s = TcpStream::connect(SocketAddr::new(b_ip, PORT)).await.unwrap();
        s.write_all(&Hello::new("one", a_ip).encode()).await.unwrap();
        s.write_all(&message::encode(1, Kind::Request, &Verb::Ping).unwrap()).await.unwrap();
        assert_eq!(closed_by_peer(&mut s).await, Vec::<u8>::new());
        assert!(b_replica.seen_from.lock().unwrap().is_empty());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_garbage_response_fails_the_waiting_requests_as_protocol_errors() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, fake_ip) = (ip(68, 1), ip(68, 2));
        let a = node(a_ip, "test", Replica::new()).await;
        // A fake peer: handshakes properly, then answers the first request with garbage.
        let fake = listen(fake_ip).await;
        let server = tokio::spawn(async move {
            let (mut s, _) = fake.accept().await.unwrap();
            s.write_all(&Hello::new("test", fake_ip).encode()).await.unwrap();
            let mut buf = vec![0; 4096];
            let mut got = Vec::new();
            // Wait for the hello and the proof, answer with a proof (no secret), then wait for both requests.
            let proof = crate::peer_auth::TAG_LEN;
            while Hello::parse(&got).ok().flatten().is_none_or(|(_, n)| got.len() < n + proof) {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(&[0; crate::peer_auth::TAG_LEN]).await.unwrap();
            while Hello::parse(&got)
                .ok()
                .flatten()
                .is_none_or(|(_, n)| got.len() < n + proof + 2 * 14)
            {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(
                &Frame {
                    request_id: 1,
                    kind: Kind::Response,
                    payload: vec![0xEE; 3],
                }
                .encode(),
            )
            .await
            .unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
        });
        let (first, second) = tokio::join!(a.send(fake_ip, Verb::Ping, 5 * SECOND), a.send(fake_ip, Verb::Ping, 5 * SECOND));
        for reply in [first, second] {
            assert!(
                matches!(&reply, Err(MessagingError::Protocol { to, .. }) if *to == fake_ip),
                "{reply:?}"
            );
        }
        server.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn only_peers_holding_the_cluster_secret_are_served() {
    tokio::time::timeout(LIMIT, async {
        let (a_ip, b_ip, c_ip, d_ip) = (ip(69, 1), ip(69, 2), ip(69, 3), ip(69, 4));
        let b_replica = Replica::new();
        let a = node_with(a_ip, with_secret("the secret of cluster test"), Replica::new()).await;
        let _b = node_with(b_ip, with_secret("the secret of cluster test"), b_replica.clone()).await;
        assert_eq!(a.send(b_ip, Verb::Ping, SECOND).await, Ok(Reply::Pong), "same secret");

        let c = node_with(c_ip, with_secret("a guess at the secret of test"), Replica::new()).await;
        let d = node(d_ip, "test", Replica::new()).await;
        for (stranger, name) in [(&c, "another secret"), (&d, "no secret")] {
            match stranger.send(b_ip, Verb::Ping, SECOND).await {
                Err(MessagingError::Protocol { to, .. }) => assert_eq!(to, b_ip, "{name}"),
                other => panic!("{name}: expected a protocol error, got {other:?}"),
            }
        }
        // The other way round: b refuses a stranger that answers its dial.
        assert!(matches!(b_send(&_b, c_ip).await, Err(MessagingError::Protocol { .. })));
        assert!(matches!(b_send(&_b, d_ip).await, Err(MessagingError::Protocol { .. })));
        let seen = b_replica.seen_from.lock().unwrap().clone();
        assert_eq!(seen, vec![a_ip], "b served only its fellow member");

        // A raw stranger that sends a request right after its hello gets b's hello and nothing else.
        let mut s = TcpStream::connect(SocketAddr::new(b_ip, PORT)).await.unwrap();
        s.write_all(&Hello::new("test", a_ip).encode()).await.unwrap();
        s.write_all(&[0; crate::peer_auth::TAG_LEN]).await.unwrap();
        s.write_all(&message::encode(1, Kind::Request, &Verb::Ping).unwrap()).await.unwrap();
        let got = closed_by_peer(&mut s).await;
        let (_, used) = Hello::parse(&got).unwrap().unwrap();
        assert_eq!(used, got.len(), "no proof and no pong for a stranger");
        assert_eq!(b_replica.seen_from.lock().unwrap().len(), 1);
    })
    .await
    .unwrap();
}

async fn b_send(b: &Messaging, to: IpAddr) -> Result<Reply, MessagingError> {
    b.send(to, Verb::Ping, SECOND).await
}
