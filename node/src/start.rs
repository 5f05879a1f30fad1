//! How a node starts and runs until it is stopped: opens its storage and
//! identity, builds the executor and the coordinator, starts internode
//! messaging, hint replay, gossip and the movement service, then serves CQL
//! until Ctrl-C (or until it has decommissioned). The binary parses flags and
//! installs logging; everything from the config on is here.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use crate::config::{CommitLogSyncMode, NodeConfig};
use crate::query::Executor;
use crate::storage::durable::{CommitLogSync, DurableEngine, DurableOptions};
use crate::system::NodeInfo;

/// Runs a node with `config`; `join` asks it to bootstrap even as a seed.
pub async fn run(config: NodeConfig, join: bool) -> anyhow::Result<()> {
    let peer_auth = config.peer_auth()?;
    match (peer_auth.secret.is_some(), config.internode_encryption.enabled) {
        (true, _) => tracing::info!("peers prove they hold the cluster secret on the internode and gossip ports"),
        (false, true) => tracing::info!("peers prove membership with node certificates of the cluster's authority"),
        (false, false) => tracing::warn!(
            "internode_authentication = \"none\": whoever reaches ports {} and {} of this node is taken for a member of the cluster \
             (set cluster_secret or turn on [internode_encryption])",
            config.internode_port,
            config.gossip_port
        ),
    }
    let mut rng = rand::thread_rng();
    let info = NodeInfo {
        cluster_name: config.cluster_name.clone(),
        address: config.address,
        native_port: config.native_port,
        host_id: uuid::Uuid::new_v4(),
        data_center: config.data_center.clone(),
        rack: config.rack.clone(),
        tokens: crate::token::random_tokens(config.num_tokens, &mut rng),
    };
    let storage_dir = config.data_dir.join("data");
    let options = DurableOptions {
        sync: match config.commitlog_sync {
            CommitLogSyncMode::Periodic => CommitLogSync::Periodic {
                period: std::time::Duration::from_millis(config.commitlog_sync_period_ms),
            },
            CommitLogSyncMode::Batch => CommitLogSync::Batch,
        },
        cache_bytes: config.cache_size_mb << 20,
        memtable_bytes: config.memtable_space_mb << 20,
        ..DurableOptions::default()
    };
    let engine =
        DurableEngine::open(&storage_dir, options).with_context(|| format!("cannot open the storage in {}", storage_dir.display()))?;
    tracing::info!(dir = %storage_dir.display(), sync = ?config.commitlog_sync, "storage open");
    let engine: Arc<dyn crate::storage::StorageEngine> = Arc::new(engine);
    let (info, bootstrapped) =
        crate::schema_load::identity(engine.as_ref(), info).map_err(|e| anyhow::anyhow!("cannot read this node's identity: {e}"))?;
    // Internode messaging first: the coordinator is built with it. Until the
    // executor exists, peers are served from the storage alone, as always.
    let peer_tls = if config.internode_encryption.enabled {
        tracing::info!("mutual TLS on the internode and gossip ports");
        Some(crate::tls::PeerTls::new(&config.internode_encryption).context("cannot set up TLS between nodes ([internode_encryption])")?)
    } else {
        None
    };
    let internode_addr = SocketAddr::new(config.address, config.internode_port);
    let internode_listener = tokio::net::TcpListener::bind(internode_addr)
        .await
        .with_context(|| format!("cannot listen for internode messages on {internode_addr}"))?;
    let handler = Arc::new(crate::replica::ReplicaHandler::new(engine.clone(), info.host_id));
    let messaging =
        crate::internode::Messaging::start_with_tls(internode_listener, config.address, peer_auth.clone(), handler, peer_tls.clone()).await;
    let executor = Executor::new(
        engine,
        info.clone(),
        bootstrapped,
        crate::auth::Auth::new(config.auth()),
        Some(messaging),
        config.timeouts(),
    )
    .map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    let executor = Arc::new(executor);
    let join = should_join(&config, executor.bootstrapped.as_deref(), join)?;
    if join {
        tracing::info!("this node joins the ring: it streams its ranges before it owns them");
        executor.coordinator.view.set_local_status(crate::cluster::peers::JOINING);
    } else if executor.bootstrapped.is_none() {
        let schema = executor.schema.snapshot();
        crate::system::write_bootstrapped(executor.engine.as_ref(), &schema, crate::movement::bootstrap::COMPLETED)
            .map_err(|e| anyhow::anyhow!("cannot write system.local: {e}"))?;
    }
    let addr = SocketAddr::new(config.address, config.native_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for CQL on {addr}"))?;
    tracing::info!(%addr, host_id = %info.host_id, cluster = %info.cluster_name, "rustica node serving CQL");
    let gossip_addr = SocketAddr::new(config.address, config.gossip_port);
    let gossip_listener = tokio::net::TcpListener::bind(gossip_addr)
        .await
        .with_context(|| format!("cannot listen for gossip on {gossip_addr}"))?;
    crate::cluster::write_local_status(&executor);
    let cluster = crate::cluster::ClusterConfig {
        tls: peer_tls.clone(),
        auth: peer_auth,
        address: config.address,
        gossip_port: config.gossip_port,
        seeds: config.seeds.clone(),
        interval: std::time::Duration::from_millis(config.gossip_interval_ms),
        phi_convict_threshold: config.phi_convict_threshold,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(executor.coordinator.clone().replay_hints(stop_rx.clone()));
    if executor.auth.login_required() {
        tokio::spawn(crate::auth::statements::default_superuser_task(executor.clone(), stop_rx.clone()));
    }
    crate::metrics::endpoint::start(&config, executor.clone(), stop_rx.clone()).await?;
    let mut gossip_stop = stop_rx.clone();
    let gossip = tokio::spawn(crate::cluster::run(gossip_listener, executor.clone(), cluster, async move {
        let _ = gossip_stop.changed().await;
    }));
    let (exit_tx, mut exit_rx) = tokio::sync::watch::channel(false);
    if let Some(requests) = executor.take_node_requests() {
        tokio::spawn(crate::movement::serve(executor.clone(), config.movement(), requests, exit_tx));
    }
    if join {
        tokio::spawn(crate::movement::bootstrap::join(executor.clone(), config.movement()));
    }
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = exit_rx.wait_for(|left| *left) => tracing::info!("decommissioned: stopping"),
        }
        let _ = stop_tx.send(true);
    };
    let tls = if config.client_encryption.enabled {
        let server_config = config
            .client_encryption
            .server_config()
            .context("cannot set up TLS for the client port ([client_encryption])")?;
        tracing::info!(optional = config.client_encryption.optional, "TLS on the client port");
        Some(crate::server::ClientTls {
            acceptor: tokio_rustls::TlsAcceptor::from(server_config),
            optional: config.client_encryption.optional,
        })
    } else {
        None
    };
    crate::server::run(
        listener,
        executor,
        config.max_frame_bytes,
        tls,
        config.connection_limits(),
        config.request_limits(),
        shutdown,
    )
    .await;
    let _ = gossip.await;
    Ok(())
}

/// Whether this start joins the ring by bootstrap: a new node that is not a
/// seed (or is told `--join`), and a node whose earlier join did not finish.
fn should_join(config: &NodeConfig, bootstrapped: Option<&str>, asked: bool) -> anyhow::Result<bool> {
    use crate::movement::bootstrap::{COMPLETED, DECOMMISSIONED, IN_PROGRESS};
    match bootstrapped {
        Some(DECOMMISSIONED) => anyhow::bail!(
            "this node was decommissioned and has left the ring; to join again, start it with an empty data directory ({})",
            config.data_dir.display()
        ),
        Some(COMPLETED) => Ok(false),
        Some(IN_PROGRESS) => Ok(true),
        _ => Ok(asked || (config.auto_bootstrap && !config.is_seed())),
    }
}
