//! `innerwarden feedback ID benign|malicious`: tell the running agent whether an incident was
//! a real attack. The verdict is audited, stored, and the next retrain learns from it.

use std::process::ExitCode;

use super::Cli;
use crate::control::client::{self, block_on, describe};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verdict {
    /// A false positive: this pattern is normal here.
    Benign,
    /// A true positive.
    Malicious,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The incident (see `innerwarden incidents`).
    pub incident: i64,
    pub verdict: Verdict,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let verdict = match args.verdict {
        Verdict::Benign => "benign",
        Verdict::Malicious => "malicious",
    };
    block_on(async {
        let agent = client::agent(&cli.bus).await?;
        match agent.feedback(args.incident, verdict).await {
            Ok(id) => {
                println!(
                    "recorded: incident {} is {verdict} (feedback {id}); the model learns it at the next retrain",
                    args.incident
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("innerwarden: feedback failed: {}", describe(&e));
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
