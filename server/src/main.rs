//! The `pgfleet` command: `pgfleet serve` runs the console and control plane.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pgfleet::config::Config;

#[derive(Parser)]
#[command(name = "pgfleet", version, about = "PostgreSQL databases, followers and forks for a team")]
struct Cli {
    /// Where pgfleet keeps its metadata and databases.
    #[arg(long, global = true, env = "PGFLEET_HOME", default_value = ".pgfleet")]
    home: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the console and the control plane.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PGFLEET_LISTEN", default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// The built console; defaults to this checkout's target/site.
        #[arg(long, env = "PGFLEET_SITE_ROOT")]
        site_root: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    pgfleet::telemetry::init();
    match cli.command {
        Command::Serve { listen, site_root } => {
            let mut config = Config::new(cli.home);
            config.listen = listen;
            if let Some(dir) = site_root {
                config.site_root = dir;
            }
            let running = pgfleet::serve::start(config).await.context("pgfleet could not start")?;
            running.stop_on(pgfleet::serve::termination_signal());
            running.wait().await.context("pgfleet stopped with an error")?;
        }
    }
    Ok(())
}
