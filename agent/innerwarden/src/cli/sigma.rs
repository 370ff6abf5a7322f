//! `innerwarden sigma check [DIR]`: which rules of a directory load, which are rejected and
//! why. Exit status 1 when the directory itself cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{Cli, load_config, table};
use crate::sigma_rules::load_dir;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SigmaCommand,
}

#[derive(Debug, Subcommand)]
pub enum SigmaCommand {
    /// Load a rule directory (default: `detectors.sigma.dir`) and report loaded and rejected
    /// rules by category and reason, then each rejected rule.
    Check {
        dir: Option<PathBuf>,
        /// Also list every loaded rule.
        #[arg(long)]
        verbose: bool,
    },
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let SigmaCommand::Check { dir, verbose } = &args.command;
    let dir = match dir {
        Some(d) => d.clone(),
        None => load_config(cli)?.detectors.sigma.dir,
    };
    let set = match load_dir(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: {e}: {}",
                std::error::Error::source(&e).map_or_else(String::new, |s| s.to_string())
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let tally = set.tally();
    let mut rows = Vec::new();
    for (cat, n) in &tally.loaded {
        rows.push(vec!["loaded".to_owned(), n.to_string(), (*cat).to_owned()]);
    }
    for (why, n) in &tally.rejected {
        rows.push(vec!["rejected".to_owned(), n.to_string(), why.clone()]);
    }
    println!(
        "{}: {} rules loaded, {} rejected",
        dir.display(),
        tally.loaded_total(),
        tally.rejected_total()
    );
    table::print(&["STATE", "RULES", "CATEGORY / REASON"], &rows);
    if !set.rejected.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = set
            .rejected
            .iter()
            .map(|r| vec![r.file.clone(), r.reason.to_string()])
            .collect();
        table::print(&["REJECTED FILE", "REASON"], &rows);
    }
    if *verbose {
        println!();
        let rows: Vec<Vec<String>> = set
            .rules
            .iter()
            .map(|r| {
                vec![
                    r.file.clone(),
                    r.category.as_str().to_owned(),
                    r.severity.to_string(),
                    r.technique.clone().unwrap_or_default(),
                    r.title.clone(),
                ]
            })
            .collect();
        table::print(
            &["LOADED FILE", "CATEGORY", "LEVEL", "TECHNIQUE", "TITLE"],
            &rows,
        );
    }
    Ok(ExitCode::SUCCESS)
}
