//! `innerwarden mode [dry-run|enforce]`: show or switch the agent's response mode.

use std::process::ExitCode;

use super::Cli;
use crate::control::client::{self, block_on, describe};

/// The modes as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Record every decision, execute nothing.
    DryRun,
    /// Execute the enabled action kinds.
    Enforce,
}

impl ModeArg {
    /// The wire form (`dry_run`, `enforce`).
    pub fn wire(self) -> &'static str {
        match self {
            ModeArg::DryRun => "dry_run",
            ModeArg::Enforce => "enforce",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Switch to this mode; without it, print the current mode.
    pub mode: Option<ModeArg>,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    block_on(async {
        let agent = client::agent(&cli.bus).await?;
        let res = match args.mode {
            Some(m) => agent.set_mode(m.wire()).await.map(|()| m.wire().to_owned()),
            None => agent.get_mode().await,
        };
        match res {
            Ok(mode) => {
                println!("mode {mode}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("innerwarden: mode failed: {}", describe(&e));
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
