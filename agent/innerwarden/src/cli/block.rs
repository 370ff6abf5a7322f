//! `innerwarden block ADDR [--ttl 1h] [--reason ...]`: ask the running agent to block an address
//! or prefix. The block expires by itself after the TTL.

use std::process::ExitCode;
use std::time::Duration;

use super::Cli;
use super::duration::parse_duration;
use crate::control::client::{self, block_on, describe};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address or CIDR prefix (192.0.2.7, 2001:db8::/64).
    pub address: String,
    /// How long the block lasts: 90s, 15m, 1h, 2d.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ttl: Duration,
    /// Why (kept in the audit record).
    #[arg(long, default_value = "manual block from the command line")]
    pub reason: String,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    block_on(async {
        let agent = client::agent(&cli.bus).await?;
        match agent
            .block(&args.address, args.ttl.as_secs(), &args.reason)
            .await
        {
            Ok(id) => {
                println!(
                    "blocked {} for {}s (action {id})",
                    args.address,
                    args.ttl.as_secs()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("innerwarden: block failed: {}", describe(&e));
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
