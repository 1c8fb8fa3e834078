//! `ferromq broker`: load the configuration, recover the store, serve until a signal.

use crate::config::{parse_address, Config, ConfigError};
use anyhow::Context;
use broker::journal_store::{JournalStore, JournalStoreConfig};
use broker::memory_store::MemoryStore;
use broker::{Broker, BrokerConfig, Core, Store};
use cluster::{ClusterConfig, ReplicatedStore};
use server::{OpenWireListener, OpenWireSettings, StompListener, StompSettings};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(clap::Args)]
pub struct BrokerArgs {
    /// TOML configuration file (see ferromq.example.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (overrides broker.data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// STOMP listener HOST:PORT (overrides listeners.stomp).
    #[arg(long)]
    stomp: Option<String>,
    /// OpenWire listener HOST:PORT (overrides listeners.openwire).
    #[arg(long)]
    openwire: Option<String>,
    /// Web console HOST:PORT (overrides console.bind).
    #[arg(long)]
    console: Option<String>,
    /// Broker name (overrides broker.name).
    #[arg(long)]
    name: Option<String>,
}

fn load(args: &BrokerArgs) -> Result<Config, ConfigError> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("cannot read config file {}: {e}", path.display()))
            })?;
            Config::from_toml(&text, &path.display().to_string())?
        }
        None => Config::default(),
    };
    if let Some(d) = &args.data_dir {
        config.broker.data_dir = d.clone();
    }
    if let Some(s) = &args.stomp {
        config.listeners.stomp = s.clone();
    }
    if let Some(s) = &args.openwire {
        config.listeners.openwire = s.clone();
    }
    if let Some(s) = &args.console {
        config.console.bind = s.clone();
    }
    if let Some(n) = &args.name {
        config.broker.name = n.clone();
    }
    config.validate()?;
    Ok(config)
}

pub async fn run(args: BrokerArgs) -> anyhow::Result<()> {
    let config = load(&args)?;
    let started = std::time::Instant::now();
    let core = Core::new(
        config.broker.max_redeliveries,
        usize::try_from(config.broker.memory_limit.0).unwrap_or(usize::MAX),
    );
    let mut replicated: Option<Arc<ReplicatedStore>> = None;
    // Both journal-backed stores record their fsyncs here; the console shows it.
    let latency = Arc::new(journal::FsyncLatency::new());
    let (store, fsync_latency): (Arc<dyn Store>, _) = match config.persistence.kind.as_str() {
        "memory" => (Arc::new(MemoryStore::new(core.clone())), None),
        "replicated" => {
            let store = Arc::new(open_replicated(&config, &core, &latency).await?);
            replicated = Some(store.clone());
            (store, Some(latency))
        }
        _ => (
            Arc::new(open_journal(&config, &core, &latency)?),
            Some(latency),
        ),
    };
    let broker = Broker::new(
        BrokerConfig {
            name: config.broker.name.clone(),
            memory_limit: usize::try_from(config.broker.memory_limit.0).unwrap_or(usize::MAX),
            max_redeliveries: config.broker.max_redeliveries,
        },
        core.clone(),
        store,
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let console = crate::console_cmd::start(
        &config,
        &broker,
        replicated.clone(),
        fsync_latency,
        shutdown_rx.clone(),
    )
    .await?;
    let serving = match &replicated {
        // Only the master serves clients: listeners follow the role.
        Some(store) => tokio::spawn(serve_while_master(
            config.clone(),
            broker.clone(),
            core,
            store.clone(),
            shutdown_rx.clone(),
        )),
        None => {
            let tasks = start_listeners(&config, &broker, shutdown_rx.clone()).await?;
            tokio::spawn(async move {
                for t in tasks {
                    let _ = t.await;
                }
            })
        }
    };
    tracing::info!(
        name = %config.broker.name,
        data_dir = %config.broker.data_dir.display(),
        persistence = %config.persistence.kind,
        startup_ms = started.elapsed().as_millis() as u64,
        "broker started"
    );

    wait_for_signal().await?;
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    let _ = serving.await;
    let _ = console.await;
    if let Some(store) = &replicated {
        store.shutdown().await;
    }
    tokio::task::block_in_place(|| broker.shutdown());
    tracing::info!("broker stopped");
    Ok(())
}

fn open_journal(
    config: &Config,
    core: &Arc<Core>,
    fsync_latency: &Arc<journal::FsyncLatency>,
) -> anyhow::Result<JournalStore> {
    let dir = config.broker.data_dir.join("journal");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let store_config = JournalStoreConfig {
        snapshot_bytes: config.persistence.journal.snapshot_bytes.0,
        store_limit: config.broker.store_limit.0,
        ..JournalStoreConfig::new(journal_config(config, &dir, fsync_latency))
    };
    let machine = core.clone();
    tokio::task::block_in_place(|| JournalStore::open(store_config, machine))
        .with_context(|| format!("cannot open the journal in {}", dir.display()))
}

fn journal_config(
    config: &Config,
    dir: &std::path::Path,
    fsync_latency: &Arc<journal::FsyncLatency>,
) -> journal::JournalConfig {
    let mut journal = journal::JournalConfig::new(dir);
    journal.fsync_latency = Arc::clone(fsync_latency);
    journal.segment_size = config.persistence.journal.segment_size.0;
    journal.sync = config.persistence.journal.sync;
    journal.max_record_size =
        u32::try_from(config.broker.max_frame_size.0 + (1 << 20)).unwrap_or(u32::MAX);
    journal
}

async fn open_replicated(
    config: &Config,
    core: &Arc<Core>,
    fsync_latency: &Arc<journal::FsyncLatency>,
) -> anyhow::Result<ReplicatedStore> {
    let r = &config.persistence.replicated;
    let dir = config.broker.data_dir.join("raft");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let mut cluster = ClusterConfig::new(
        r.node_id,
        r.peer_map()?,
        journal_config(config, &dir, fsync_latency),
    );
    cluster.cluster_name = r.cluster_name.clone();
    cluster.heartbeat_interval = Duration::from_millis(r.heartbeat_interval.0);
    cluster.election_timeout_min = Duration::from_millis(r.election_timeout.0);
    cluster.election_timeout_max = Duration::from_millis(r.election_timeout.0 * 2);
    cluster.store_limit = config.broker.store_limit.0;
    let bind = parse_address(&r.bind).map_err(ConfigError)?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen for replication on {bind}"))?;
    tracing::info!(address = %bind, node_id = r.node_id, replicas = r.replicas, "replication listener started");
    let reset_core = core.clone();
    let reset: cluster::ResetHook = Arc::new(move || reset_core.reset());
    ReplicatedStore::start(cluster, listener, core.clone(), Some(reset))
        .await
        .context("cannot start the replicated store")
}

/// How often the master confirms it still has a quorum.
const QUORUM_CHECK_EVERY: Duration = Duration::from_millis(100);
/// How often the role is read from the Raft metrics (a cheap read): a new master starts
/// serving within this after its election (ARCHITECTURE decision 7).
const ROLE_POLL_EVERY: Duration = Duration::from_millis(5);

/// Starts the client listeners while this node is the master with a quorum behind it, and
/// stops them (closing every client connection) the moment it is not, so failover clients
/// move on to the new master at once.
async fn serve_while_master(
    config: Config,
    broker: Broker,
    core: Arc<Core>,
    store: Arc<ReplicatedStore>,
    mut shutdown: watch::Receiver<bool>,
) {
    // The master's lease: it serves while a quorum answered a check *sent* within this
    // window. It equals the followers' own lease (openraft's election_timeout_max, during
    // which a follower that heard from this leader votes for nobody else), so an isolated
    // master stops serving no later than the moment another node may be elected.
    // Checks overlap (one starts every QUORUM_CHECK_EVERY, each bounded by the lease), so
    // a slow answer under load does not age the lease by more than its own latency.
    let lease = Duration::from_millis(2 * config.persistence.replicated.election_timeout.0);
    let base = std::time::Instant::now();
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    // Milliseconds since `base` at which the newest answered check was sent.
    let confirmed_at = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut last_probe = std::time::Instant::now();
    let mut last_applied = 0u64;
    let mut serving: Option<(watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>)> = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tokio::time::sleep(ROLE_POLL_EVERY) => {}
        }
        let now = ms(base.elapsed());
        let master = if !store.is_leader() {
            false
        } else if serving.is_none() {
            // Just elected: serve once a quorum confirmed us and every committed entry is
            // applied here, so the first client sees every message and producer mark.
            let ready = matches!(
                tokio::time::timeout(lease, store.raft().ensure_linearizable()).await,
                Ok(Ok(_))
            );
            if ready {
                confirmed_at.fetch_max(now, Ordering::Release);
                last_applied = store.status().applied_index;
                last_probe = std::time::Instant::now();
            }
            ready
        } else {
            if last_probe.elapsed() >= QUORUM_CHECK_EVERY {
                last_probe = std::time::Instant::now();
                // Heartbeats a quorum; unlike ensure_linearizable it does not wait for
                // applies.
                let raft = store.raft().clone();
                let confirmed = confirmed_at.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(_)) = tokio::time::timeout(lease, raft.get_read_log_id()).await {
                        confirmed.fetch_max(now, Ordering::Release);
                    }
                });
            }
            // Under heavy load heartbeats queue behind large appends, but then entries keep
            // committing, which only a quorum's acks make possible: applied progress
            // confirms the quorum too (an isolated master's applied index stops within
            // the few entries it had in flight).
            let applied = store.status().applied_index;
            if applied > last_applied {
                last_applied = applied;
                confirmed_at.fetch_max(now, Ordering::Release);
            }
            now.saturating_sub(confirmed_at.load(Ordering::Acquire)) < ms(lease)
        };
        match (master, serving.is_some()) {
            (true, false) => {
                let (tx, rx) = watch::channel(false);
                match start_listeners(&config, &broker, rx).await {
                    Ok(tasks) => {
                        tracing::info!(
                            term = store.status().term,
                            "this node is the master: serving clients"
                        );
                        serving = Some((tx, tasks));
                    }
                    Err(e) => tracing::error!(error = %e, "cannot start the client listeners"),
                }
            }
            (false, true) => {
                tracing::warn!(leader = ?store.leader(), "no longer the master: closing client listeners and connections");
                if let Some((tx, tasks)) = serving.take() {
                    let _ = tx.send(true);
                    for t in tasks {
                        let _ = t.await;
                    }
                }
                core.step_down();
            }
            _ => {}
        }
    }
    if let Some((tx, tasks)) = serving.take() {
        let _ = tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Binds the STOMP and OpenWire listeners and runs them until `shutdown`.
async fn start_listeners(
    config: &Config,
    broker: &Broker,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let stomp_addr = parse_address(&config.listeners.stomp).map_err(ConfigError)?;
    let listener = StompListener::bind(&stomp_addr)
        .await
        .with_context(|| format!("cannot listen for STOMP on {stomp_addr}"))?;
    let bound = listener.local_addr()?;
    let mut settings = StompSettings::default();
    settings.limits.max_frame_size =
        usize::try_from(config.broker.max_frame_size.0).unwrap_or(usize::MAX);
    settings.max_per_connection = config.listeners.max_per_connection;
    let openwire_addr = parse_address(&config.listeners.openwire).map_err(ConfigError)?;
    let openwire = OpenWireListener::bind(&openwire_addr)
        .await
        .with_context(|| format!("cannot listen for OpenWire on {openwire_addr}"))?;
    let openwire_bound = openwire.local_addr()?;
    let host = if config.persistence.kind == "replicated" {
        config.persistence.replicated.hostname.clone()
    } else {
        openwire_bound.ip().to_string()
    };
    let openwire_settings = OpenWireSettings {
        max_frame_size: usize::try_from(config.broker.max_frame_size.0).unwrap_or(usize::MAX),
        broker_url: format!("tcp://{host}:{}", openwire_bound.port()),
        max_per_connection: config.listeners.max_per_connection,
        ..OpenWireSettings::default()
    };
    let stomp_task = tokio::spawn(listener.run(broker.clone(), settings, shutdown.clone()));
    tracing::info!(address = %bound, "STOMP listener started");
    let openwire_task = tokio::spawn(openwire.run(broker.clone(), openwire_settings, shutdown));
    tracing::info!(address = %openwire_bound, "OpenWire listener started");
    Ok(vec![stomp_task, openwire_task])
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
