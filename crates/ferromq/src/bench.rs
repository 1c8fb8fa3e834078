//! `ferromq bench`: the load generator (STOMP for now).

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Broker STOMP address HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:61613")]
    stomp: String,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("bench against {} is not implemented yet", args.stomp)
}
