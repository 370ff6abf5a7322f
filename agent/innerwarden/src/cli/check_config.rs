//! `innerwarden check-config`: the same validation the agent does at start, without starting.

use std::process::ExitCode;

use super::{Cli, load_config};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the effective configuration (defaults filled in) as TOML.
    #[arg(long)]
    pub print: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    if args.print {
        print!("{}", toml::to_string_pretty(&cfg)?);
    }
    let engine = crate::correlation::engine(&cfg)?;
    let on = engine.detector_ids();
    println!(
        "configuration OK ({}): state_dir {}, detectors: {}",
        cli.config.display(),
        cfg.agent.state_dir.display(),
        on.join(", ")
    );
    println!(
        "correlation rules: {}",
        engine.correlator().rule_ids().len()
    );
    Ok(ExitCode::SUCCESS)
}
