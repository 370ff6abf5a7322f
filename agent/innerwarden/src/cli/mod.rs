//! The command line: one file per subcommand behind the clap derive.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use innerwarden_core::config::Config;

use crate::control::client::BusChoice;

pub mod actions;
pub mod audit;
pub mod bench;
pub mod bench_detect;
pub mod bench_model;
pub mod block;
pub mod check_config;
pub mod duration;
pub mod events;
pub mod feedback;
pub mod incidents;
pub mod mode;
pub mod model;
pub mod release;
pub mod replay;
pub mod revert;
pub mod rules;
pub mod run;
pub mod sigma;
pub mod status;
pub mod table;
pub mod unblock;

/// Default configuration path; a missing file here means "documented defaults".
pub const DEFAULT_CONFIG: &str = "/etc/innerwarden/config.toml";

#[derive(Debug, Parser)]
#[command(
    name = "innerwarden",
    version,
    about = "Inner Warden: an autonomous EDR for Linux"
)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Override `agent.state_dir` (database, audit log, node key).
    #[arg(long, global = true)]
    pub state_dir: Option<PathBuf>,
    /// Bus of the running agent for client commands: system, session, or a D-Bus address
    /// (unix:path=/run/x).
    #[arg(long, global = true, default_value = "system")]
    pub bus: BusChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent: sensors, detection, SQLite and the audit log (dry-run by default).
    Run(run::Args),
    /// Agent status: asks the running agent over D-Bus, else reads the last status.json.
    Status(status::Args),
    /// Validate the configuration and print the effective settings.
    CheckConfig(check_config::Args),
    /// Feed JSONL events or raw auth-log lines through the pipeline.
    Replay(replay::Args),
    /// Show recent raw events from the store.
    Events(events::Args),
    /// Show incidents, or one incident with its findings.
    Incidents(incidents::Args),
    /// Audit log operations.
    Audit(audit::Args),
    /// Measurements (exec events/s, replay lines/s) next to a named peer.
    Bench(bench::Args),
    /// Block an address or prefix for a while (asks the running agent over D-Bus).
    Block(block::Args),
    /// Lift a block before its TTL (D-Bus).
    Unblock(unblock::Args),
    /// Undo one action before its TTL: restore a quarantined unit, lift a throttle, an exec
    /// deny, a block (D-Bus).
    Revert(revert::Args),
    /// Undo every quarantine or throttle in force on a unit before its TTL (D-Bus).
    Release(release::ReleaseArgs),
    /// Lift every exec deny in force on a path or `fileless-uid:UID` before its TTL (D-Bus).
    AllowExec(release::AllowExecArgs),
    /// Show or switch the response mode: dry-run or enforce (D-Bus).
    Mode(mode::Args),
    /// Actions taken or recorded as dry-run, newest first (D-Bus).
    Actions(actions::Args),
    /// Native Sigma rules: check which rules of a directory load.
    Sigma(sigma::Args),
    /// Tell the agent an incident was benign or malicious; the model learns from it (D-Bus).
    Feedback(feedback::Args),
    /// Train the local model from the labelled corpus, or evaluate it on the held-out split.
    Model(model::Args),
    /// The detection catalogue (`rules list`) and a rule-file compiler (`rules check [DIR]`).
    Rules(rules::Args),
}

/// Read and validate the configuration. A missing file at the default path means defaults;
/// a missing file named explicitly, or any invalid content, is an error naming the problem.
pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut cfg = match std::fs::read_to_string(&cli.config) {
        Ok(text) => Config::load_checked(&text)
            .with_context(|| format!("configuration {}", cli.config.display()))?,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && cli.config == Path::new(DEFAULT_CONFIG) =>
        {
            tracing::info!(
                path = DEFAULT_CONFIG,
                "no configuration file, using defaults"
            );
            Config::default()
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("reading configuration {}", cli.config.display()));
        }
    };
    if let Some(dir) = &cli.state_dir {
        cfg.agent.state_dir = std::path::absolute(dir).context("resolving --state-dir")?;
        cfg.validate().context("--state-dir")?;
    }
    Ok(cfg)
}

/// Run the parsed command.
pub fn dispatch(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match &cli.command {
        Command::Run(args) => run::run(&cli, args),
        Command::Status(args) => status::run(&cli, args),
        Command::CheckConfig(args) => check_config::run(&cli, args),
        Command::Replay(args) => replay::run(&cli, args),
        Command::Events(args) => events::run(&cli, args),
        Command::Incidents(args) => incidents::run(&cli, args),
        Command::Audit(args) => audit::run(&cli, args),
        Command::Bench(args) => bench::run(&cli, args),
        Command::Block(args) => block::run(&cli, args),
        Command::Unblock(args) => unblock::run(&cli, args),
        Command::Revert(args) => revert::run(&cli, args),
        Command::Release(args) => release::release(&cli, args),
        Command::AllowExec(args) => release::allow_exec(&cli, args),
        Command::Mode(args) => mode::run(&cli, args),
        Command::Actions(args) => actions::run(&cli, args),
        Command::Sigma(args) => sigma::run(&cli, args),
        Command::Feedback(args) => feedback::run(&cli, args),
        Command::Model(args) => model::run(&cli, args),
        Command::Rules(args) => rules::run(&cli, args),
    }
}
