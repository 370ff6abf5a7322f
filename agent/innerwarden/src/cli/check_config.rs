//! `innerwarden check-config`: the same validation the agent does at start, without starting.

use std::process::ExitCode;

use anyhow::Context;
use innerwarden_core::engine::Engine;

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
    let mut engine = Engine::new(&cfg.detectors);
    if let Some(sigma) =
        crate::sigma_rules::build(&cfg.detectors.sigma).context("detectors.sigma.dir")?
    {
        println!(
            "sigma: {} rules loaded from {}",
            sigma.len(),
            cfg.detectors.sigma.dir.display()
        );
        engine.add_detector(Box::new(sigma));
    }
    let on = engine.detector_ids();
    println!(
        "configuration OK ({}): state_dir {}, detectors: {}",
        cli.config.display(),
        cfg.agent.state_dir.display(),
        on.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
