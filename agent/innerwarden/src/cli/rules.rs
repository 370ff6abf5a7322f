//! `innerwarden rules`: the detection catalogue and a compiler for local rule files.
//!
//! - `rules list`: every code detector and rule with its technique, tactics, severity, source
//!   file and whether this configuration runs it.
//! - `rules check [DIR]`: compile the shipped rules with DIR (default `detectors.rules.dir`),
//!   print every error naming file and rule, exit 1 when there is one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use innerwarden_core::attack;
use innerwarden_core::detect::CATALOG;
use innerwarden_core::rules::RuleSet;
use innerwarden_core::rules::set::embedded_files;

use super::{Cli, load_config, table};
use crate::rules_dir;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List detectors and rules: id, technique, tactics, severity, source, enabled.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Compile the shipped rules and the rule files of DIR (default: detectors.rules.dir).
    Check { dir: Option<PathBuf> },
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        RulesCommand::List { json } => list(cli, *json),
        RulesCommand::Check { dir } => check(cli, dir.as_ref()),
    }
}

fn tactics(technique: &str) -> String {
    attack::tactics(technique).map_or_else(
        || "?".into(),
        |t| t.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
    )
}

fn list(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    let rules = rules_dir::load(&cfg.detectors.rules.dir)?;
    let engine = rules_dir::engine(&cfg)?;
    let on_code = engine.detector_ids();
    let on_rules = engine.rule_ids();
    let mut rows: Vec<[String; 6]> = Vec::new();
    for d in CATALOG {
        rows.push([
            d.id.into(),
            d.technique.into(),
            tactics(d.technique),
            d.severity.to_string(),
            "code".into(),
            on_code.contains(&d.id).to_string(),
        ]);
    }
    for r in rules.rules() {
        rows.push([
            r.id.clone(),
            r.technique.clone(),
            tactics(&r.technique),
            r.severity.to_string(),
            r.file.clone(),
            on_rules.contains(&r.id).to_string(),
        ]);
    }
    if json {
        for r in &rows {
            println!(
                "{}",
                serde_json::json!({"id": r[0], "technique": r[1], "tactics": r[2].split(',').collect::<Vec<_>>(),
                    "severity": r[3], "source": r[4], "enabled": r[5] == "true"})
            );
        }
    } else {
        table::print(
            &["ID", "TECHNIQUE", "TACTIC", "SEVERITY", "SOURCE", "ENABLED"],
            &rows.into_iter().map(Vec::from).collect::<Vec<_>>(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn check(cli: &Cli, dir: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = match dir {
        Some(d) => d.clone(),
        None => load_config(cli)?.detectors.rules.dir,
    };
    let local = rules_dir::read_dir(&dir)?;
    match RuleSet::load(&embedded_files(), &local) {
        Ok(set) => {
            let from_dir = set
                .rules()
                .iter()
                .filter(|r| local.iter().any(|f| f.name == r.file))
                .count();
            println!(
                "rules OK: {} rules ({} from {} file(s) in {})",
                set.len(),
                from_dir,
                local.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} error(s)", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
