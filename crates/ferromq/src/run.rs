//! `ferromq broker`: load the configuration, recover the store, serve until a signal.

use crate::config::{parse_address, Config, ConfigError};
use anyhow::Context;
use broker::journal_store::{JournalStore, JournalStoreConfig};
use broker::memory_store::MemoryStore;
use broker::{Broker, BrokerConfig, Core, Store};
use server::{OpenWireListener, OpenWireSettings, StompListener, StompSettings};
use std::path::PathBuf;
use std::sync::Arc;
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
    /// Console HOST:PORT (overrides console.bind; not served yet).
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
    let store: Arc<dyn Store> = match config.persistence.kind.as_str() {
        "memory" => Arc::new(MemoryStore::new(core.clone())),
        _ => {
            let dir = config.broker.data_dir.join("journal");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create data directory {}", dir.display()))?;
            let mut journal = journal::JournalConfig::new(&dir);
            journal.segment_size = config.persistence.journal.segment_size.0;
            journal.sync = config.persistence.journal.sync;
            journal.max_record_size =
                u32::try_from(config.broker.max_frame_size.0 + (1 << 20)).unwrap_or(u32::MAX);
            let store_config = JournalStoreConfig {
                snapshot_bytes: config.persistence.journal.snapshot_bytes.0,
                store_limit: config.broker.store_limit.0,
                ..JournalStoreConfig::new(journal)
            };
            let machine = core.clone();
            let store = tokio::task::block_in_place(|| JournalStore::open(store_config, machine))
                .with_context(|| format!("cannot open the journal in {}", dir.display()))?;
            Arc::new(store)
        }
    };
    let broker = Broker::new(
        BrokerConfig {
            name: config.broker.name.clone(),
            memory_limit: usize::try_from(config.broker.memory_limit.0).unwrap_or(usize::MAX),
            max_redeliveries: config.broker.max_redeliveries,
        },
        core,
        store,
    );

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let stomp_addr = parse_address(&config.listeners.stomp).map_err(ConfigError)?;
    let listener = StompListener::bind(&stomp_addr)
        .await
        .with_context(|| format!("cannot listen for STOMP on {stomp_addr}"))?;
    let bound = listener.local_addr()?;
    let mut settings = StompSettings::default();
    settings.limits.max_frame_size =
        usize::try_from(config.broker.max_frame_size.0).unwrap_or(usize::MAX);
    let stomp_task = tokio::spawn(listener.run(broker.clone(), settings, shutdown_rx.clone()));
    tracing::info!(address = %bound, "STOMP listener started");
    let openwire_addr = parse_address(&config.listeners.openwire).map_err(ConfigError)?;
    let openwire = OpenWireListener::bind(&openwire_addr)
        .await
        .with_context(|| format!("cannot listen for OpenWire on {openwire_addr}"))?;
    let openwire_bound = openwire.local_addr()?;
    let openwire_settings = OpenWireSettings {
        max_frame_size: usize::try_from(config.broker.max_frame_size.0).unwrap_or(usize::MAX),
        broker_url: format!("tcp://{openwire_bound}"),
        ..OpenWireSettings::default()
    };
    let openwire_task =
        tokio::spawn(openwire.run(broker.clone(), openwire_settings, shutdown_rx.clone()));
    tracing::info!(address = %openwire_bound, "OpenWire listener started");
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
    let _ = stomp_task.await;
    let _ = openwire_task.await;
    tokio::task::block_in_place(|| broker.shutdown());
    tracing::info!("broker stopped");
    Ok(())
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
