//! `innerwarden audit verify`: check the hash chain, the signed checkpoints and the stored
//! head; name the first bad record and exit non-zero when anything does not verify.

use std::process::ExitCode;

use clap::Subcommand;

use super::{Cli, load_config};
use crate::audit_log::{self, AUDIT_FILE, TrustedKey, parse_public_key};
use crate::recorder::open_store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log of the state directory.
    Verify {
        /// Trust checkpoints signed by this Ed25519 public key (hex) instead of the key
        /// derived from the node key file (detects a swapped node key too).
        #[arg(long)]
        public_key: Option<String>,
    },
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    let AuditCommand::Verify { public_key } = &args.command;
    let trust = match public_key {
        Some(hex) => TrustedKey::Pinned(parse_public_key(hex)?),
        None => TrustedKey::NodeKey,
    };
    let dir = &cfg.agent.state_dir;
    let store = open_store(dir)?;
    match audit_log::verify(dir, &store, &trust) {
        Ok(report) => {
            let head = report.head.as_ref().map_or_else(
                || "empty".to_owned(),
                |h| format!("seq {} {}", h.seq, h.hash),
            );
            println!(
                "audit OK: {} records, {} checkpoints verified, head {head}, last checkpoint {}{}",
                report.records,
                report.checkpoints_checked,
                report
                    .last_checkpoint_seq
                    .map_or_else(|| "-".into(), |s| format!("seq {s}")),
                if report.records_after_head > 0 {
                    format!(
                        " ({} records after the stored head: written, not yet anchored)",
                        report.records_after_head
                    )
                } else {
                    String::new()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("audit FAILED: {}", dir.join(AUDIT_FILE).display());
            if let Some(t) = e.tamper() {
                let at = match (t.seq(), t.line()) {
                    (Some(s), Some(l)) => format!("first bad record: seq {s} (line {l})"),
                    (None, Some(l)) => format!("first bad record: line {l}"),
                    (Some(s), None) => format!("first bad record: seq {s}"),
                    (None, None) => "first bad record: the log as a whole".to_owned(),
                };
                println!("{at}\nreason: {t}");
            } else {
                println!("reason: {e:#}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
