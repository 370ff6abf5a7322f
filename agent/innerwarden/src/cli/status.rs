//! `innerwarden status`: what the running agent reports over D-Bus (`Status`), or, when no
//! agent answers on the bus, what the last run wrote to `<state_dir>/status.json`.

use std::process::ExitCode;

use anyhow::Context;

use super::{Cli, load_config};
use crate::control::client::{self, block_on};
use crate::status::STATUS_FILE;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Raw JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not ask the agent over D-Bus; read status.json only.
    #[arg(long)]
    pub offline: bool,
}

/// The agent's status over D-Bus, or why not.
fn from_bus(cli: &Cli) -> anyhow::Result<String> {
    block_on(async {
        let agent = client::agent(&cli.bus).await?;
        Ok(agent.status().await?)
    })
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let live = if args.offline {
        None
    } else {
        match from_bus(cli) {
            Ok(text) => Some(text),
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "no agent on the bus; reading status.json");
                None
            }
        }
    };
    let text = match live {
        Some(text) => text,
        None => {
            let cfg = load_config(cli)?;
            let path = cfg.agent.state_dir.join(STATUS_FILE);
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading {} (has the agent run?)", path.display()))?
        }
    };
    if args.json {
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let v: serde_json::Value = serde_json::from_str(&text).context("parsing status")?;
    let alive = v["pid"]
        .as_u64()
        .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
    println!(
        "agent pid {} ({}), started {}, mode {}, enforcing {}",
        v["pid"],
        if alive { "running" } else { "not running" },
        v["started"].as_str().unwrap_or("?"),
        v["mode"].as_str().unwrap_or("?"),
        v["enforced_kinds"]
    );
    for s in v["sensors"].as_array().into_iter().flatten() {
        println!(
            "  sensor {:<28} {:<8} {}",
            s["name"].as_str().unwrap_or("?"),
            s["state"].as_str().unwrap_or("?"),
            s["note"].as_str().unwrap_or("")
        );
    }
    for p in v["programs"].as_array().into_iter().flatten() {
        println!(
            "  program {:<26} {:<45} {}",
            p["name"].as_str().unwrap_or("?"),
            p["hook"].as_str().unwrap_or("?"),
            if p["attached"].as_bool() == Some(true) {
                "attached".to_owned()
            } else {
                format!("NOT attached: {}", p["error"].as_str().unwrap_or(""))
            }
        );
    }
    for r in v["responders"].as_array().into_iter().flatten() {
        println!(
            "  responder {:<24} {:<45} {}",
            r["name"].as_str().unwrap_or("?"),
            r["kinds"],
            r["unavailable"]
                .as_str()
                .map_or_else(|| "ready".to_owned(), |w| format!("UNAVAILABLE: {w}"))
        );
    }
    Ok(ExitCode::SUCCESS)
}
