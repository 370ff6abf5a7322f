//! `innerwarden revert ID`: undo one action before its TTL — thaw and restore a quarantined
//! unit, lift a throttle, an exec deny, a block or a rate limit. IDs are those `innerwarden
//! actions` lists. A kill cannot be undone.

use std::process::ExitCode;

use super::Cli;
use crate::control::client::{self, block_on, describe};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The action's id, as `innerwarden actions` shows it.
    pub id: i64,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    block_on(async {
        let agent = client::agent(&cli.bus).await?;
        match agent.revert(args.id).await {
            Ok(true) => {
                println!("reverted action {}", args.id);
                Ok(ExitCode::SUCCESS)
            }
            Ok(false) => {
                println!(
                    "action {} is not in force (expired, reverted, dry-run or unknown)",
                    args.id
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("innerwarden: revert failed: {}", describe(&e));
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
