//! The `ferromq` binary: `broker` runs a broker; `produce`, `consume`, `browse` and `bench`
//! talk to one; `cluster status` asks the nodes of a replicated cluster for their state;
//! `console hash-password` makes a console user's password hash.

mod bench;
mod client_cmds;
mod cluster_cmd;
mod config;
mod console_cmd;
mod run;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferromq",
    version,
    about = "An ActiveMQ Classic compatible message broker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a broker (embedded defaults without --config).
    Broker(run::BrokerArgs),
    /// Send messages.
    Produce(client_cmds::ProduceArgs),
    /// Receive messages.
    Consume(client_cmds::ConsumeArgs),
    /// List a queue's messages without consuming them (OpenWire).
    Browse(client_cmds::BrowseArgs),
    /// Measure throughput and latency against a running broker.
    Bench(bench::BenchArgs),
    /// Inspect a replicated cluster (`cluster status --config FILE`).
    Cluster(cluster_cmd::ClusterArgs),
    /// Web console helpers (`console hash-password`).
    Console(console_cmd::ConsoleArgs),
}

/// Exit code for configuration errors.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Broker(args) => run::run(args).await,
            Command::Produce(args) => client_cmds::produce(args).await,
            Command::Consume(args) => client_cmds::consume(args).await,
            Command::Browse(args) => client_cmds::browse(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Cluster(args) => cluster_cmd::run(args).await,
            Command::Console(args) => console_cmd::run(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(c) = e.downcast_ref::<config::ConfigError>() {
                eprintln!("error: {c}");
                return ExitCode::from(EXIT_CONFIG);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
