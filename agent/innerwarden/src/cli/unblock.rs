//! `innerwarden unblock ADDR`: lift a block before its TTL.

use std::process::ExitCode;

use super::Cli;
use crate::control::client::{self, block_on, describe};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address or CIDR prefix, as it was blocked.
    pub address: String,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    block_on(async {
        let agent = client::agent(&cli.bus).await?;
        match agent.unblock(&args.address).await {
            Ok(true) => {
                println!("unblocked {}", args.address);
                Ok(ExitCode::SUCCESS)
            }
            Ok(false) => {
                println!("{} was not blocked", args.address);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("innerwarden: unblock failed: {}", describe(&e));
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
