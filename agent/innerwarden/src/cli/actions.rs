//! `innerwarden actions [--json]`: what the agent did or would have done (dry-run), newest first.

use std::process::ExitCode;

use anyhow::Context;

use super::{Cli, table};
use crate::control::client::{self, block_on, describe};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many actions, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let text = block_on(async {
        let agent = client::agent(&cli.bus).await?;
        Ok(agent.list_actions(args.limit).await)
    })?;
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("innerwarden: actions failed: {}", describe(&e));
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.json {
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let v: serde_json::Value = serde_json::from_str(&text).context("parsing the reply")?;
    let s = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            vec![
                s(&a["id"]),
                s(&a["kind"]),
                s(&a["target"]),
                if a["dry_run"].as_bool() == Some(true) {
                    "dry-run".into()
                } else {
                    "enforced".into()
                },
                s(&a["state"]),
                s(&a["expires_at"]),
                s(&a["reason"]),
            ]
        })
        .collect();
    table::print(
        &["ID", "KIND", "TARGET", "MODE", "STATE", "EXPIRES", "REASON"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}
