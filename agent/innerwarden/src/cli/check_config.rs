//! `innerwarden check-config`: the same validation the agent does at start, without starting.

use std::process::ExitCode;

use anyhow::Context;

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
    let engine = crate::rules_dir::engine(&cfg)
        .with_context(|| format!("configuration {}", cli.config.display()))?;
    let on: Vec<&str> = engine
        .detector_ids()
        .into_iter()
        .filter(|id| *id != "rules")
        .collect();
    println!(
        "configuration OK ({}): state_dir {}, detectors: {}; rules: {} active (rules dir {})",
        cli.config.display(),
        cfg.agent.state_dir.display(),
        on.join(", "),
        engine.rule_ids().len(),
        cfg.detectors.rules.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
