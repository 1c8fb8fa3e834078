//! The web console: started by `ferromq broker`, and `ferromq console hash-password` to
//! make a `[[console.users]] password_hash`.

use crate::config::{parse_address, Config, ConfigError};
use anyhow::Context;
use broker::Broker;
use cluster::ReplicatedStore;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(clap::Args)]
pub struct ConsoleArgs {
    #[command(subcommand)]
    command: ConsoleCommand,
}

#[derive(clap::Subcommand)]
enum ConsoleCommand {
    /// Print an argon2 hash of a password (read from standard input) for
    /// `[[console.users]] password_hash`.
    HashPassword,
}

pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    match args.command {
        ConsoleCommand::HashPassword => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!password.is_empty(), "the password is empty");
            println!("{}", console::hash_password(password)?);
            Ok(())
        }
    }
}

/// Starts the console on `console.bind`; it shows this node's role (master or slave in
/// replicated mode) and serves on slaves too.
pub async fn start(
    config: &Config,
    broker: &Broker,
    replicated: Option<Arc<ReplicatedStore>>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let role: console::RoleFn = match replicated {
        Some(store) => {
            Arc::new(move || if store.is_leader() { "master" } else { "slave" }.to_string())
        }
        None => Arc::new(|| "master".to_string()),
    };
    if config.console.users.is_empty() && config.persistence.kind == "replicated" {
        tracing::warn!("no [[console.users]] configured: each node generates its own console password; configure the users for a cluster");
    }
    let settings = console::ConsoleSettings {
        bind: parse_address(&config.console.bind).map_err(ConfigError)?,
        users: config
            .console
            .users
            .iter()
            .map(|u| console::UserEntry {
                name: u.name.clone(),
                password_hash: u.password_hash.clone(),
            })
            .collect(),
        data_dir: config.broker.data_dir.clone(),
        role,
    };
    Ok(console::start(settings, broker.clone(), shutdown).await?)
}
