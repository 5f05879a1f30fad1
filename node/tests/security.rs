//! What a stranger who reaches a cluster's internode and gossip ports can do
//! without the cluster secret: nothing. Real nodes on loopback, the scylla
//! driver to look at them, and forged frames built with the node's own encoders
//! (well-formed, but signed with the wrong secret).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gossip::{Ack2, ApplicationState, EndpointState, HeartbeatState, Message, VersionedValue};
use node::cluster::wire::{self, Frame, Kind};
use node::peer_auth::{ClusterSecret, PeerAuth};
use node::schema_events::{self, SchemaEvent};
use scylla::client::session::Session;
use tokio::io::AsyncWriteExt;

use common::{within, TestCluster, CLUSTER_SECRET};

const GOSSIP_PORT: u16 = 9044;

async fn pinned(address: IpAddr) -> anyhow::Result<Session> {
    tools::status::connect(&address.to_string(), common::CQL_PORT).await
}

async fn peers(session: &Session) -> anyhow::Result<BTreeSet<IpAddr>> {
    let rows = session
        .query_unpaged("SELECT peer FROM system.peers", ())
        .await?
        .into_rows_result()?;
    Ok(rows.rows::<(IpAddr,)>()?.map(|r| r.map(|(p,)| p)).collect::<Result<_, _>>()?)
}

async fn cluster_status(session: &Session) -> anyhow::Result<BTreeMap<IpAddr, String>> {
    let rows = session
        .query_unpaged("SELECT peer, state FROM system.cluster_status", ())
        .await?
        .into_rows_result()?;
    Ok(rows.rows::<(IpAddr, String)>()?.collect::<Result<_, _>>()?)
}

/// Sends one gossip-port frame as `auth` signs it, as a node does.
async fn send_frame(to: IpAddr, frame: Frame, auth: &PeerAuth) -> anyhow::Result<()> {
    let mut stream = tokio::net::TcpStream::connect(SocketAddr::new(to, GOSSIP_PORT)).await?;
    stream.write_all(&wire::encode(&frame, auth)).await?;
    stream.shutdown().await?;
    Ok(())
}

/// A gossip ACK2 announcing a NORMAL node at `fake` that owns a few tokens.
fn fake_node_announcement(fake: IpAddr) -> anyhow::Result<Vec<u8>> {
    let mut state = EndpointState::new(HeartbeatState {
        generation: 1_900_000_000,
        version: 50,
    });
    for (version, (key, value)) in [
        (ApplicationState::HostId, uuid::Uuid::new_v4().to_string()),
        (ApplicationState::Tokens, "-100,0,100".to_string()),
        (ApplicationState::Dc, "datacenter1".to_string()),
        (ApplicationState::Rack, "rack1".to_string()),
        (ApplicationState::NativeAddress, fake.to_string()),
        (ApplicationState::NativePort, "9042".to_string()),
        (ApplicationState::Status, "NORMAL".to_string()),
    ]
    .into_iter()
    .enumerate()
    {
        state.states.insert(key, VersionedValue::new(value, 2 + version as i32));
    }
    let states = BTreeMap::from([(SocketAddr::new(fake, GOSSIP_PORT), state)]);
    Ok(Message::Ack2(Ack2 { states }).encode()?)
}

/// A schema event dropping `keyspace`, stamped `ahead` of now.
fn drop_keyspace(keyspace: &str, ahead: Duration) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_micros();
    schema_events::encode(&[SchemaEvent {
        timestamp: now + ahead.as_micros() as i64,
        node: uuid::Uuid::new_v4(),
        keyspace: None,
        statement: format!("DROP KEYSPACE {keyspace}"),
    }])
}

async fn wait_for(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if check().await.unwrap_or(false) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{what} within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_without_the_cluster_secret_joins_nothing_and_changes_nothing() {
    within(Duration::from_secs(150), async {
        let mut cluster = TestCluster::start(2).await;
        let (one, two) = (cluster.address(1), cluster.address(2));
        let session = pinned(one).await?;
        wait_for(Duration::from_secs(30), "the two members see each other", async || {
            Ok(cluster_status(&session).await?.get(&two).map(String::as_str) == Some("UN"))
        })
        .await?;
        session
            .query_unpaged(
                "CREATE KEYSPACE guarded WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
                (),
            )
            .await?;
        session
            .query_unpaged("CREATE TABLE guarded.t (k int PRIMARY KEY, v text)", ())
            .await?;
        session.query_unpaged("INSERT INTO guarded.t (k, v) VALUES (1, 'kept')", ()).await?;

        // A whole node with a guessed secret, seeded on the members.
        let stranger = cluster
            .add_nodes(1, Some("cluster_secret = \"a guess at the cluster's secret\"\n"))
            .await[0];
        let stranger = cluster.address(stranger);

        // Forged gossip, well-formed but signed with a guess: a fake NORMAL node
        // and a DROP KEYSPACE from the far future, claiming to come from node 2.
        let guess = PeerAuth::new("Test Cluster", Some(ClusterSecret::new("another guess at the secret")?));
        let fake = IpAddr::from([127, 0, 255, 77]);
        let claimed_sender = SocketAddr::new(two, GOSSIP_PORT);
        let forged = [
            (Kind::Gossip, fake_node_announcement(fake)?),
            (Kind::SchemaEvents, drop_keyspace("guarded", Duration::from_secs(365 * 86_400))),
        ];
        for (kind, payload) in forged {
            let frame = Frame {
                kind,
                sender: claimed_sender,
                payload,
            };
            send_frame(one, frame, &guess).await.context("send a forged frame")?;
        }
        // A member's own secret does not make a schema change from the future acceptable.
        let member = PeerAuth::new("Test Cluster", Some(ClusterSecret::new(CLUSTER_SECRET)?));
        let from_the_future = Frame {
            kind: Kind::SchemaEvents,
            sender: claimed_sender,
            payload: drop_keyspace("guarded", Duration::from_secs(86_400)),
        };
        send_frame(one, from_the_future, &member).await?;

        // The stranger gossips at the seeds every round; give it time.
        tokio::time::sleep(Duration::from_secs(6)).await;
        for k in [1, 2] {
            let session = pinned(cluster.address(k)).await?;
            let status = cluster_status(&session).await?;
            assert!(!status.contains_key(&stranger), "node {k} lists the stranger: {status:?}");
            assert!(!status.contains_key(&fake), "node {k} lists the forged node: {status:?}");
            let peers = peers(&session).await?;
            let expected: BTreeSet<IpAddr> = [one, two].into_iter().filter(|a| *a != cluster.address(k)).collect();
            assert_eq!(peers, expected, "node {k}'s system.peers");
            let rows = session
                .query_unpaged("SELECT v FROM guarded.t WHERE k = 1", ())
                .await
                .with_context(|| format!("node {k} lost the keyspace"))?
                .into_rows_result()?;
            let (v,): (String,) = rows.single_row()?;
            assert_eq!(v, "kept");
        }
        let stranger_session = pinned(stranger).await?;
        let seen = cluster_status(&stranger_session).await?;
        assert!(
            seen.get(&one).is_none_or(|s| s != "UN"),
            "the stranger was let in by node 1: {seen:?}"
        );

        let log = cluster.node(1).log_tail(2000);
        assert!(log.contains("does not hold this cluster's secret"), "node 1 says why it refused");
        assert!(
            log.contains("refusing a schema change stamped"),
            "node 1 says why it refused the change"
        );
        Ok(())
    })
    .await;
}
