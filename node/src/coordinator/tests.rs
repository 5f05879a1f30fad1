//! The coordinator against replicas: without sockets (data centres whose peers
//! are down) and over real internode messaging on loopback (127.0.9.x and
//! 127.0.10.x, port 7000), where one replica can be made slow. Hard timeouts.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cql_protocol::wire::Consistency;
use tokio::net::TcpListener;
use uuid::Uuid;

use super::*;
use crate::cluster::peers::{PeerInfo, NORMAL};
use crate::coordinator::hints::HintPolicy;
use crate::internode::Handler;
use crate::replica::local_reply;
use crate::ring::Ring;
use crate::storage::{PartitionPosition, Row, Visit};
use crate::system::NodeInfo;

const TABLE: Uuid = Uuid::from_u128(0xc0);
const LIMIT: Duration = Duration::from_secs(30);

fn ip(c: u8, d: u8) -> IpAddr {
    // 127.2.x.x: clear of the integration and Python tests (127.0.x.x).
    IpAddr::from([127, 2, c, d])
}

fn engine() -> Arc<MemoryEngine> {
    let engine = MemoryEngine::new();
    engine.create_table(TABLE).unwrap();
    Arc::new(engine)
}

fn node_info(address: IpAddr, dc: &str, token: i64) -> NodeInfo {
    NodeInfo {
        cluster_name: "test".into(),
        address,
        native_port: 9042,
        host_id: Uuid::new_v4(),
        data_center: dc.into(),
        rack: "rack1".into(),
        tokens: vec![token],
    }
}

fn peer(address: IpAddr, dc: &str, token: i64) -> PeerInfo {
    PeerInfo {
        address,
        host_id: Some(Uuid::new_v4()),
        tokens: vec![token],
        data_center: dc.into(),
        rack: "rack1".into(),
        native_address: Some(address),
        native_port: 9042,
        schema_version: None,
        release_version: "test".into(),
        status: NORMAL.into(),
        load: 0,
        removals: Vec::new(),
    }
}

fn position(i: u32) -> PartitionPosition {
    PartitionPosition {
        token: i64::from(i),
        key: i.to_be_bytes().to_vec(),
    }
}

fn mutation(i: u32) -> Mutation {
    mutation_at(i, 1)
}

fn mutation_at(i: u32, timestamp: i64) -> Mutation {
    let mut m = Mutation::new(TABLE, position(i));
    m.rows.push((
        vec![1],
        Row {
            marker: Some(crate::storage::Cell::live(timestamp, Vec::new(), 0, 0)),
            ..Row::default()
        },
    ));
    m
}

fn holds(engine: &dyn StorageEngine, i: u32) -> bool {
    let command = ReadCommand {
        index: None,
        table: TABLE,
        partitions: PartitionSelection::Keys(vec![position(i)]),
        slices: Vec::new(),
        reversed: false,
        resume: None,
    };
    !engine.read_raw(&command, ReadLimits::NONE).unwrap().is_empty()
}

fn hint_store() -> Arc<hint_store::HintStore> {
    Arc::new(hint_store::HintStore::temporary())
}

fn network(dcs: &[(&str, usize)]) -> Strategy {
    Strategy::Network {
        rf_by_dc: dcs.iter().map(|(dc, rf)| (dc.to_string(), *rf)).collect(),
    }
}

/// A coordinator in dc1 (127.0.0.1 alone there) whose dc2 peers are down.
fn coordinator_with_dc2_down() -> (Coordinator, Arc<MemoryEngine>) {
    coordinator_with_dc2_down_under(HintPolicy::default())
}

fn coordinator_with_dc2_down_under(policy: HintPolicy) -> (Coordinator, Arc<MemoryEngine>) {
    let local = ip(0, 1);
    let view = Arc::new(ClusterView::new(node_info(local, "dc1", 0)));
    view.update(peer(ip(0, 2), "dc2", 100), false);
    view.update(peer(ip(0, 3), "dc2", 200), false);
    let engine = engine();
    (
        Coordinator::new(local, engine.clone(), view, None, Timeouts::default(), hint_store(), policy),
        engine,
    )
}

#[tokio::test]
async fn no_hints_with_hinted_handoff_off_nor_for_a_node_down_past_the_window() {
    let off = HintPolicy {
        enabled: false,
        ..HintPolicy::default()
    };
    let past_window = HintPolicy {
        window: Duration::ZERO,
        ..HintPolicy::default()
    };
    for (policy, hints_expected) in [(HintPolicy::default(), 1), (off, 0), (past_window, 0)] {
        let (c, _) = coordinator_with_dc2_down_under(policy);
        tokio::time::sleep(Duration::from_millis(2)).await;
        // Token 1 has its dc2 replica on 127.2.0.2 (token 100), which is down.
        c.write(
            &network(&[("dc1", 1), ("dc2", 1)]),
            vec![mutation(1)],
            Consistency::LocalOne,
            "SIMPLE",
        )
        .await
        .unwrap();
        let stored = c.hint_store().pending(ip(0, 2)).unwrap().len();
        assert_eq!(stored, hints_expected, "{policy:?}");
    }
}

#[tokio::test]
async fn the_hints_for_a_node_that_left_the_ring_are_dropped() {
    let (c, _) = coordinator_with_dc2_down();
    c.hint_store().store(ip(0, 2), &mutation(1)).unwrap();
    c.hint_store().store(ip(0, 3), &mutation(2)).unwrap();
    let mut left = peer(ip(0, 2), "dc2", 100);
    left.status = crate::cluster::peers::LEFT.into();
    c.view.update(left, false);
    c.drop_hints_of_departed_nodes();
    assert!(c.hint_store().pending(ip(0, 2)).unwrap().is_empty());
    assert_eq!(
        c.hint_store().pending(ip(0, 3)).unwrap().len(),
        1,
        "a node still in the ring keeps its hints"
    );
}

#[tokio::test]
async fn local_quorum_writes_need_only_the_local_data_centre() {
    let (c, engine) = coordinator_with_dc2_down();
    let s = network(&[("dc1", 1), ("dc2", 2)]);
    c.write(&s, vec![mutation(1)], Consistency::LocalQuorum, "SIMPLE").await.unwrap();
    c.write(&s, vec![mutation(2)], Consistency::LocalOne, "SIMPLE").await.unwrap();
    assert!(holds(engine.as_ref(), 1) && holds(engine.as_ref(), 2));
    assert_eq!(
        c.write(&s, vec![mutation(3)], Consistency::Quorum, "SIMPLE").await,
        Err(QueryError::Unavailable {
            consistency: Consistency::Quorum,
            required: 2,
            alive: 1,
        }),
        "QUORUM counts every data centre"
    );
}

#[tokio::test]
async fn each_quorum_writes_are_unavailable_when_a_data_centre_has_no_quorum() {
    let (c, _) = coordinator_with_dc2_down();
    let s = network(&[("dc1", 1), ("dc2", 2)]);
    assert_eq!(
        c.write(&s, vec![mutation(1)], Consistency::EachQuorum, "SIMPLE").await,
        Err(QueryError::Unavailable {
            consistency: Consistency::EachQuorum,
            required: 2,
            alive: 0,
        })
    );
}

#[tokio::test]
async fn local_one_is_unavailable_where_the_local_data_centre_has_no_replica() {
    let (c, _) = coordinator_with_dc2_down();
    let s = network(&[("dc2", 2)]);
    let err = Err(QueryError::Unavailable {
        consistency: Consistency::LocalOne,
        required: 1,
        alive: 0,
    });
    assert_eq!(c.write(&s, vec![mutation(1)], Consistency::LocalOne, "SIMPLE").await, err.clone());
    let read = ReadCommand {
        index: None,
        table: TABLE,
        partitions: PartitionSelection::Keys(vec![position(1)]),
        slices: Vec::new(),
        reversed: false,
        resume: None,
    };
    assert_eq!(
        c.fetch(&s, Consistency::LocalOne, 1, &read, Duration::from_secs(1), ReadLimits::NONE)
            .await
            .map(|_| ()),
        err,
        "reads count the same way"
    );
}

#[test]
fn sub_ranges_cover_the_ring_in_order_with_their_owners() {
    let topo = Topology {
        ring: Ring::new([("127.0.0.1".parse().unwrap(), vec![-10, 10])]),
        ..Topology::default()
    };
    let r = sub_ranges(&topo, Bound::Unbounded, Bound::Unbounded);
    assert_eq!(
        r,
        vec![
            (Bound::Unbounded, Bound::Included(-10), -10),
            (Bound::Excluded(-10), Bound::Included(10), 10),
            (Bound::Excluded(10), Bound::Unbounded, -10)
        ]
    );
    let part = sub_ranges(&topo, Bound::Excluded(0), Bound::Included(20));
    assert_eq!(
        part,
        vec![
            (Bound::Excluded(0), Bound::Included(10), 10),
            (Bound::Excluded(10), Bound::Included(20), -10)
        ]
    );
}

/// A replica serving from its own engine; writes can be made slow.
struct Replica {
    engine: Arc<MemoryEngine>,
    write_delay_ms: AtomicU64,
}

impl Handler for Replica {
    fn handle(&self, _from: IpAddr, verb: Verb) -> Reply {
        if matches!(verb, Verb::Mutate { .. }) {
            std::thread::sleep(Duration::from_millis(self.write_delay_ms.load(Ordering::SeqCst)));
        }
        local_reply(self.engine.as_ref(), verb)
    }

    /// A slow write sleeps: off the async threads, as a disk wait would be.
    fn blocks(&self, verb: &Verb) -> bool {
        matches!(verb, Verb::Mutate { .. })
    }
}

async fn listen(address: IpAddr) -> TcpListener {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind((address, 7000)).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind {address}:7000");
}

/// Three nodes of dc1 on 127.0.`c`.1-3; the coordinator is node 1. Returns it,
/// the replicas (node 1 first) and their messaging services (kept alive).
async fn three_nodes(c: u8) -> (Coordinator, Vec<Arc<Replica>>, Vec<Arc<Messaging>>) {
    three_nodes_within(c, Timeouts::default()).await
}

/// `three_nodes` with the coordinator's `timeouts`.
async fn three_nodes_within(c: u8, timeouts: Timeouts) -> (Coordinator, Vec<Arc<Replica>>, Vec<Arc<Messaging>>) {
    let addresses = [ip(c, 1), ip(c, 2), ip(c, 3)];
    let view = Arc::new(ClusterView::new(node_info(addresses[0], "dc1", -100)));
    view.update(peer(addresses[1], "dc1", 0), true);
    view.update(peer(addresses[2], "dc1", 100), true);
    let mut replicas = Vec::new();
    let mut services = Vec::new();
    for address in addresses {
        let replica = Arc::new(Replica {
            engine: engine(),
            write_delay_ms: AtomicU64::new(0),
        });
        services.push(
            Messaging::start(
                listen(address).await,
                address,
                crate::peer_auth::PeerAuth::new("test", None),
                replica.clone(),
            )
            .await,
        );
        replicas.push(replica);
    }
    let coordinator = Coordinator::new(
        addresses[0],
        replicas[0].engine.clone(),
        view,
        Some(services[0].clone()),
        timeouts,
        hint_store(),
        HintPolicy::default(),
    );
    (coordinator, replicas, services)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_write_answers_without_waiting_for_a_slow_replica() {
    tokio::time::timeout(LIMIT, async {
        let (c, replicas, _services) = three_nodes(9).await;
        replicas[2].write_delay_ms.store(1_500, Ordering::SeqCst);
        let start = Instant::now();
        c.write(&Strategy::Simple { rf: 3 }, vec![mutation(1)], Consistency::Quorum, "SIMPLE")
            .await
            .unwrap();
        let took = start.elapsed();
        assert!(took < Duration::from_millis(1_000), "QUORUM waited {took:?} for the slow replica");
        assert!(!holds(replicas[2].engine.as_ref(), 1), "the slow replica is still writing");
        // The third write goes on in the background.
        while !holds(replicas[2].engine.as_ref(), 1) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(holds(replicas[0].engine.as_ref(), 1) && holds(replicas[1].engine.as_ref(), 1));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_timeout_reports_its_acks_and_the_late_replica_gets_a_hint() {
    tokio::time::timeout(LIMIT, async {
        let timeouts = Timeouts {
            write: Duration::from_millis(300),
            ..Timeouts::default()
        };
        let (c, replicas, _services) = three_nodes_within(10, timeouts).await;
        replicas[2].write_delay_ms.store(1_000, Ordering::SeqCst);
        let start = Instant::now();
        let result = c
            .write(&Strategy::Simple { rf: 3 }, vec![mutation(1)], Consistency::All, "SIMPLE")
            .await;
        assert_eq!(
            result,
            Err(QueryError::WriteTimeout {
                consistency: Consistency::All,
                received: 2,
                block_for: 3,
                write_type: "SIMPLE".into(),
            })
        );
        let took = start.elapsed();
        assert!(took < Duration::from_millis(900), "the configured 300 ms timeout took {took:?}");
        let late = ip(10, 3);
        let start = Instant::now();
        while c.hint_store().pending(late).unwrap().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(5), "no hint for the late replica");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let hinted = c.hint_store().pending(late).unwrap();
        assert_eq!(hinted.into_iter().map(|h| h.mutation).collect::<Vec<_>>(), vec![mutation(1)]);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncate_empties_the_table_on_every_node_and_is_unavailable_with_one_down() {
    tokio::time::timeout(LIMIT, async {
        let (c, replicas, _services) = three_nodes(11).await;
        for r in &replicas {
            r.engine.apply(mutation(1)).unwrap();
        }
        c.truncate(&Strategy::Simple { rf: 1 }, TABLE).await.unwrap();
        for (k, r) in replicas.iter().enumerate() {
            assert!(!holds(r.engine.as_ref(), 1), "node {} still holds the row", k + 1);
        }
        // A late write from before the TRUNCATE (a hint, say) stays out; a
        // newer one goes in.
        for r in &replicas {
            r.engine.apply(mutation(1)).unwrap();
            r.engine
                .apply(mutation_at(2, crate::storage::truncation::now_micros() + 1))
                .unwrap();
            assert!(!holds(r.engine.as_ref(), 1), "a write older than the TRUNCATE came back");
        }
        c.view.update(peer(ip(11, 3), "dc1", 100), false);
        assert_eq!(
            c.truncate(&Strategy::Simple { rf: 1 }, TABLE).await,
            Err(QueryError::Unavailable {
                consistency: Consistency::All,
                required: 3,
                alive: 2,
            })
        );
        assert!(replicas.iter().all(|r| holds(r.engine.as_ref(), 2)), "nothing was truncated");
    })
    .await
    .unwrap();
}

fn merged_answer(fetched: Fetched) -> MemoryEngine {
    match fetched {
        Fetched::Merged(engine) => engine,
        Fetched::Local => panic!("a QUORUM read was answered by the local replica alone"),
    }
}

fn metric(c: &Coordinator, name: &str) -> i64 {
    c.metrics().into_iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_read_takes_data_from_one_replica_and_digests_from_the_others_until_they_disagree() {
    tokio::time::timeout(LIMIT, async {
        let (c, replicas, _services) = three_nodes(12).await;
        let strategy = Strategy::Simple { rf: 3 };
        c.write(&strategy, vec![mutation(1)], Consistency::All, "SIMPLE").await.unwrap();
        let command = ReadCommand {
            index: None,
            table: TABLE,
            partitions: PartitionSelection::Keys(vec![position(1)]),
            slices: Vec::new(),
            reversed: false,
            resume: None,
        };
        let timeout = Duration::from_secs(2);
        let merged = merged_answer(
            c.fetch(&strategy, Consistency::Quorum, 1, &command, timeout, ReadLimits::NONE)
                .await
                .unwrap()
                .0,
        );
        assert!(holds(&merged, 1));
        assert_eq!((metric(&c, "digest_reads"), metric(&c, "digest_mismatches")), (1, 0));

        // Node 3 (the replica read after node 1, by ring order from token 1) alone
        // gets a newer write: its digest differs, so the read falls back to full
        // data from each, answers the newest, and repairs node 1.
        let mut newer = mutation(1);
        if let Some((_, row)) = newer.rows.first_mut() {
            row.marker = Some(crate::storage::Cell::live(2, Vec::new(), 0, 0));
        }
        replicas[2].engine.apply(newer.clone()).unwrap();
        let merged = merged_answer(
            c.fetch(&strategy, Consistency::Quorum, 1, &command, timeout, ReadLimits::NONE)
                .await
                .unwrap()
                .0,
        );
        assert_eq!(metric(&c, "digest_mismatches"), 1);
        assert_eq!(
            merged.read_raw(&command, ReadLimits::NONE).unwrap(),
            replicas[2].engine.read_raw(&command, ReadLimits::NONE).unwrap()
        );
        assert_eq!(
            replicas[0].engine.read_raw(&command, ReadLimits::NONE).unwrap(),
            replicas[2].engine.read_raw(&command, ReadLimits::NONE).unwrap(),
            "the stale replica was repaired"
        );
        c.fetch(&strategy, Consistency::Quorum, 1, &command, timeout, ReadLimits::NONE)
            .await
            .unwrap();
        assert_eq!(
            (metric(&c, "digest_reads"), metric(&c, "digest_mismatches")),
            (2, 1),
            "they agree again"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hint_stored_before_a_truncate_and_replayed_after_it_does_not_bring_the_row_back() {
    tokio::time::timeout(LIMIT, async {
        let (c, replicas, _services) = three_nodes(12).await;
        let target = ip(12, 3);
        let written = crate::storage::truncation::now_micros();
        c.hint_store().store(target, &mutation_at(1, written)).unwrap();
        c.hint_store().store(target, &mutation_at(2, written)).unwrap();
        c.truncate(&Strategy::Simple { rf: 1 }, TABLE).await.unwrap();
        let send = |hint: super::hint_file::Hint| {
            let c = &c;
            async move {
                c.send(
                    target,
                    Verb::Mutate {
                        mutations: vec![hint.mutation],
                    },
                    LIMIT,
                )
                .await
            }
        };
        let replayed = replay_to(c.hint_store(), target, send).await.unwrap();
        assert_eq!(
            replayed,
            Replayed { sent: 2, complete: true },
            "the replica acknowledged both hints"
        );
        assert!(
            !holds(replicas[2].engine.as_ref(), 1) && !holds(replicas[2].engine.as_ref(), 2),
            "a truncated row came back"
        );
        assert!(c.hint_store().targets().is_empty(), "the delivered file is deleted");
    })
    .await
    .unwrap();
}

#[test]
fn hints_left_in_the_legacy_system_hints_table_move_into_hint_files() {
    use cql_protocol::value::Value;
    let engine = engine();
    engine.create_table(hints::legacy_hints_table()).unwrap();
    let target = ip(0, 7);
    let key = Value::Inet(target).to_bytes();
    let mut legacy = Mutation::new(
        hints::legacy_hints_table(),
        PartitionPosition {
            token: crate::token::murmur3_token(&key),
            key,
        },
    );
    for i in 0..2u32 {
        let mut clustering = Vec::new();
        let id = Value::Timeuuid(uuid::Uuid::now_v1(&[0, 0, 0, 0, 0, 1]));
        crate::storage::key::encode_component(&mut clustering, &cql_protocol::types::ColumnType::Timeuuid, &id, false).unwrap();
        let mut row = Row::default();
        let bytes = postcard::to_stdvec(&mutation(i)).unwrap();
        row.columns.insert(
            "mutation".into(),
            crate::storage::ColumnData::Simple(crate::storage::Cell::live(1_700_000_000_000_000, bytes, 0, 0)),
        );
        legacy.rows.push((clustering, row));
    }
    engine.apply(legacy).unwrap();
    let store = hint_store();
    assert_eq!(hints::migrate_legacy(engine.as_ref(), &store).unwrap(), 2);
    let moved = store.pending(target).unwrap();
    let mut mutations: Vec<Mutation> = moved.iter().map(|h| h.mutation.clone()).collect();
    mutations.sort_by_key(|m| m.position.token);
    assert_eq!(mutations, vec![mutation(0), mutation(1)]);
    assert_eq!(moved[0].created_at, 1_700_000_000_000, "the hint keeps its age (milliseconds)");
    assert_eq!(
        hints::migrate_legacy(engine.as_ref(), &store).unwrap(),
        0,
        "the table is empty after"
    );
}

/// A partition with a row (marker at `timestamp`) at each clustering byte.
fn rows_at(partition: u32, clusterings: impl IntoIterator<Item = u8>, timestamp: i64) -> Mutation {
    let mut m = Mutation::new(TABLE, position(partition));
    for c in clusterings {
        m.rows.push((
            vec![c],
            Row {
                marker: Some(crate::storage::Cell::live(timestamp, Vec::new(), 0, 0)),
                ..Row::default()
            },
        ));
    }
    m
}

/// A partition with these rows deleted at `timestamp`.
fn deletions_at(partition: u32, clusterings: impl IntoIterator<Item = u8>, timestamp: i64) -> Mutation {
    let mut m = Mutation::new(TABLE, position(partition));
    for c in clusterings {
        m.rows.push((
            vec![c],
            Row {
                deletion: Some(crate::storage::DeletionTime {
                    timestamp,
                    local_deletion_time: 1,
                }),
                ..Row::default()
            },
        ));
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_in_small_rounds_trusts_each_merge_only_as_far_as_every_answer_reached() {
    tokio::time::timeout(LIMIT, async {
        let (c, replicas, _services) = three_nodes(13).await;
        let strategy = Strategy::Simple { rf: 3 };
        // Node 1 missed the odd rows; nodes 2 and 3 hold every row, and
        // deleted rows 10 to 19 later. Each answer of 3 rows ends elsewhere,
        // so trusting any answer past the earliest end would skip rows or
        // bring deleted ones back.
        replicas[0].engine.apply(rows_at(1, (0..40).step_by(2), 1)).unwrap();
        for r in &replicas[1..] {
            r.engine.apply(rows_at(1, 0..40, 1)).unwrap();
            r.engine.apply(deletions_at(1, 10..20, 2)).unwrap();
        }
        let command = ReadCommand {
            index: None,
            table: TABLE,
            partitions: PartitionSelection::Keys(vec![position(1)]),
            slices: Vec::new(),
            reversed: false,
            resume: None,
        };
        let expected: Vec<u8> = (0..10).chain(20..40).collect();
        for reversed in [false, true] {
            let command = ReadCommand {
                reversed,
                ..command.clone()
            };
            let mut seen = Vec::new();
            c.read(&strategy, Consistency::All, &command, Want::rows(3), 0, &mut |_, row| {
                if let Some((clustering, _)) = row {
                    seen.push(clustering[0]);
                }
                Visit::Continue
            })
            .await
            .unwrap();
            let mut want = expected.clone();
            if reversed {
                want.reverse();
            }
            assert_eq!(seen, want, "reversed: {reversed}");
        }
        // A visitor that stops early stops the rounds: the first live rows after 10.
        let mut seen = Vec::new();
        c.read(&strategy, Consistency::All, &command, Want::rows(2), 0, &mut |_, row| {
            if let Some((clustering, _)) = row {
                if clustering[0] >= 9 {
                    seen.push(clustering[0]);
                }
            }
            if seen.len() == 2 {
                Visit::Stop
            } else {
                Visit::Continue
            }
        })
        .await
        .unwrap();
        assert_eq!(seen, vec![9, 20]);
        // The reads repaired node 1 as far as they went.
        assert!(replicas[0]
            .engine
            .read_raw(&command, ReadLimits::NONE)
            .unwrap()
            .iter()
            .all(|m| m.rows.iter().any(|(c, _)| c == &vec![1])));
    })
    .await
    .unwrap();
}

/// DISTINCT and PER PARTITION LIMIT read one or a few rows of each partition
/// per round; a partition whose first rows another replica deleted is read
/// on from its cut, and the partitions after it are not read twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_partition_limit_reads_on_only_in_partitions_whose_first_rows_were_deleted() {
    tokio::time::timeout(LIMIT, async {
        let (c, replicas, _services) = three_nodes(14).await;
        let strategy = Strategy::Simple { rf: 3 };
        // Every node holds rows 0..10 of partitions 1..=5; nodes 2 and 3
        // deleted all but rows 5 and 6 of partitions 2 and 4 later.
        for r in &replicas {
            for p in 1..=5 {
                r.engine.apply(rows_at(p, 0..10, 1)).unwrap();
            }
        }
        for r in &replicas[1..] {
            for p in [2, 4] {
                r.engine.apply(deletions_at(p, (0..5).chain(7..10), 2)).unwrap();
            }
        }
        let command = ReadCommand::all(TABLE);
        for (reversed, per_partition, expected) in [
            (false, 1, vec![(1, 0), (2, 5), (3, 0), (4, 5), (5, 0)]),
            (true, 1, vec![(1, 9), (2, 6), (3, 9), (4, 6), (5, 9)]),
            (
                false,
                2,
                vec![(1, 0), (1, 1), (2, 5), (2, 6), (3, 0), (3, 1), (4, 5), (4, 6), (5, 0), (5, 1)],
            ),
        ] {
            let command = ReadCommand {
                reversed,
                ..command.clone()
            };
            let want = Want {
                rows: Some(100),
                per_partition: Some(per_partition),
            };
            let mut seen = Vec::new();
            let mut taken = 0;
            c.read(&strategy, Consistency::All, &command, want, 0, &mut |pv, row| {
                if let Some((clustering, _)) = row {
                    seen.push((pv.position.token, clustering[0]));
                    taken += 1;
                }
                if taken == per_partition {
                    taken = 0;
                    Visit::NextPartition
                } else {
                    Visit::Continue
                }
            })
            .await
            .unwrap();
            assert_eq!(seen, expected, "reversed {reversed}, {per_partition} per partition");
        }
    })
    .await
    .unwrap();
}
