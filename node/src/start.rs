//! How a node starts and runs until it is stopped: opens its storage and
//! identity, starts internode messaging, builds the services in order (schema,
//! coordinator, auth, query processor), starts the background jobs (hint
//! replay, metrics, gossip, the movement service), then serves CQL until
//! Ctrl-C (or until it has decommissioned). The binary parses flags and
//! installs logging; everything from the config on is here.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use crate::auth::store::RoleStore;
use crate::auth::Auth;
use crate::cluster::view::ClusterView;
use crate::config::{CommitLogSyncMode, NodeConfig};
use crate::coordinator::Coordinator;
use crate::jobs::{Jobs, Stop};
use crate::movement;
use crate::query::QueryProcessor;
use crate::schema_service::SchemaService;
use crate::storage::durable::{CommitLogSync, DurableEngine, DurableOptions};
use crate::storage::StorageEngine;
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
        commit_failure_policy: config.commit_failure_policy,
        ..DurableOptions::default()
    };
    let engine =
        DurableEngine::open(&storage_dir, options).with_context(|| format!("cannot open the storage in {}", storage_dir.display()))?;
    tracing::info!(dir = %storage_dir.display(), sync = ?config.commitlog_sync, "storage open");
    // Local secondary indexes are kept on every write the node applies.
    let indexing = Arc::new(crate::index::IndexingEngine::new(Arc::new(engine)));
    let engine: Arc<dyn StorageEngine> = indexing.clone();
    let (info, bootstrapped) =
        crate::schema_load::identity(engine.as_ref(), info).map_err(|e| anyhow::anyhow!("cannot read this node's identity: {e}"))?;
    // Internode messaging first: the coordinator is built with it. Peers are
    // served from the storage alone, as always.
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
    let (tracing, trace_batches) = crate::trace::Tracing::new(config.address);
    let hints_dir = config.data_dir.join("hints");
    let hint_store = Arc::new(
        crate::coordinator::hint_store::HintStore::open(&hints_dir)
            .with_context(|| format!("cannot open the hints in {}", hints_dir.display()))?,
    );
    let handler = Arc::new(
        crate::replica::ReplicaHandler::new(engine.clone(), info.host_id)
            .with_tracing(tracing.clone())
            .with_hints(config.address, hint_store.clone()),
    );
    let messaging =
        crate::internode::Messaging::start_with_tls(internode_listener, config.address, peer_auth.clone(), handler, peer_tls.clone()).await;
    // The services, each built from the handles it needs, in order.
    let (events, _) = tokio::sync::broadcast::channel(256);
    let schema =
        Arc::new(SchemaService::open(engine.clone(), info.clone(), events.clone()).map_err(|e| anyhow::anyhow!("cannot start: {e}"))?);
    indexing.set_schema(&schema);
    let view = Arc::new(ClusterView::new(info.clone()));
    let coordinator = Arc::new(Coordinator::new(
        config.address,
        engine.clone(),
        view,
        Some(messaging),
        config.timeouts(),
        hint_store.clone(),
        config.hint_policy(),
    ));
    match crate::coordinator::hints::migrate_legacy(engine.as_ref(), &hint_store) {
        Ok(0) => {}
        Ok(n) => tracing::info!(hints = n, "moved the hints of the legacy system.hints table into hint files"),
        Err(e) => tracing::warn!(error = %e, "cannot move the hints of the legacy system.hints table"),
    }
    let auth = Arc::new(Auth::new(
        config.auth(),
        RoleStore::new(coordinator.clone(), schema.clone()),
        config.address,
    ));
    let (movement_handle, movement_requests) = movement::channel();
    let queries = Arc::new(QueryProcessor::new(
        schema.clone(),
        coordinator.clone(),
        auth.clone(),
        movement_handle.clone(),
        crate::nodetool::LocalTools {
            engine: engine.clone(),
            view: coordinator.view.clone(),
            schema: schema.clone(),
            tracing: tracing.clone(),
        },
        info.clone(),
        crate::query::QueryLimits {
            prepared_cache_bytes: (config.prepared_statements_cache_size_mb as usize) << 20,
            batch: crate::query::batch_guard::BatchLimits {
                fail_bytes: (config.batch_size_fail_threshold_in_kb as usize) << 10,
                warn_bytes: (config.batch_size_warn_threshold_in_kb as usize) << 10,
                unlogged_partitions_warn: config.unlogged_batch_across_partitions_warn_threshold as usize,
            },
        },
    ));
    let join = should_join(&config, bootstrapped.as_deref(), join)?;
    if join {
        tracing::info!("this node joins the ring: it streams its ranges before it owns them");
        coordinator.view.set_local_status(crate::cluster::peers::JOINING);
    } else if bootstrapped.is_none() {
        crate::system::write_bootstrapped(engine.as_ref(), &schema.snapshot(), movement::bootstrap::COMPLETED)
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
    let cluster_services = crate::cluster::Services {
        coordinator: coordinator.clone(),
        schema: schema.clone(),
        engine: engine.clone(),
        node: info.clone(),
        events: events.clone(),
        movement: movement_handle,
    };
    crate::cluster::write_local_status(&cluster_services);
    let cluster = crate::cluster::ClusterConfig {
        tls: peer_tls.clone(),
        auth: peer_auth,
        address: config.address,
        gossip_port: config.gossip_port,
        seeds: config.seeds.clone(),
        interval: std::time::Duration::from_millis(config.gossip_interval_ms),
        phi_convict_threshold: config.phi_convict_threshold,
    };
    let mut jobs = Jobs::new();
    jobs.spawn("hint replay", {
        let coordinator = coordinator.clone();
        |stop| coordinator.replay_hints(stop)
    });
    jobs.spawn("batchlog replay", {
        let (coordinator, schema) = (coordinator.clone(), schema.clone());
        |stop| coordinator.replay_batches(schema, stop)
    });
    jobs.spawn("trace writer", {
        let (coordinator, schema, port) = (coordinator.clone(), schema.clone(), config.internode_port);
        move |stop| crate::trace::writer::run(trace_batches, coordinator, schema, port, stop)
    });
    jobs.spawn("metrics", {
        let (queries, schema, engine) = (queries.clone(), schema.clone(), engine.clone());
        |stop| record_metrics(queries, schema, engine, stop)
    });
    if auth.login_required() {
        let auth = auth.clone();
        jobs.spawn("default superuser", |stop| {
            crate::auth::statements::default_superuser_task(auth, stop)
        });
    }
    let collector = crate::metrics::node::NodeCollector::new(queries.clone(), engine.clone(), schema.clone(), coordinator.view.clone());
    if let Some(listener) = crate::metrics::endpoint::bind(&config).await? {
        jobs.spawn("metrics endpoint", |stop| crate::metrics::endpoint::run(listener, collector, stop));
    }
    jobs.spawn("gossip", |stop| {
        crate::cluster::run(gossip_listener, cluster_services, cluster, stop)
    });
    let (exit_tx, mut exit_rx) = tokio::sync::watch::channel(false);
    let movement_services = Arc::new(movement::Services {
        coordinator,
        schema,
        engine,
        node: info.clone(),
    });
    let movement_config = config.movement();
    jobs.spawn("movement", {
        let services = movement_services.clone();
        move |stop| movement::serve(services, movement_config, movement_requests, exit_tx, stop)
    });
    if join {
        jobs.spawn("bootstrap", move |_| movement::bootstrap::join(movement_services, movement_config));
    }
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = exit_rx.wait_for(|left| *left) => tracing::info!("decommissioned: stopping"),
        }
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
    let handles = crate::connection::Handles {
        queries,
        auth,
        events,
        tracing,
    };
    crate::server::run(
        listener,
        handles,
        config.max_frame_bytes,
        tls,
        config.connection_limits(),
        config.request_limits(),
        shutdown,
    )
    .await;
    jobs.stop(std::time::Duration::from_secs(2)).await;
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

/// Keeps `system.coordinator_metrics` current: every second, when a count moved.
async fn record_metrics(queries: Arc<QueryProcessor>, schema: Arc<SchemaService>, engine: Arc<dyn StorageEngine>, mut stop: Stop) {
    let mut last = Vec::new();
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.stopped() => return,
            _ = ticker.tick() => {}
        }
        let metrics = queries.metrics();
        if metrics == last {
            continue;
        }
        if let Err(e) = crate::system::write_metrics(engine.as_ref(), &schema.snapshot(), &metrics) {
            tracing::warn!(error = %e, "cannot write system.coordinator_metrics");
        }
        last = metrics;
    }
}
