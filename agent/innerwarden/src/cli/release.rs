//! `innerwarden release UNIT` and `innerwarden allow-exec TARGET`: undo, before their TTL, every
//! action in force on a unit (quarantine, throttle) or an exec deny (a path, or
//! `fileless-uid:UID`), by name rather than by id. Each is a client of D-Bus `ListActions` and
//! `Revert`, so the agent undoes them exactly as `innerwarden revert ID` would (root or
//! `innerwarden-admin` only), with an `action_reverted` audit record each.

use std::process::ExitCode;

use anyhow::Context;
use innerwarden_core::decide::action::ActionKind;
use serde_json::Value;

use super::Cli;
use crate::control::client::{self, block_on, describe};

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The systemd unit, as `innerwarden actions` shows it (e.g. nginx.service).
    pub unit: String,
}

#[derive(Debug, clap::Args)]
pub struct AllowExecArgs {
    /// The denied path, or `fileless-uid:UID`, as `innerwarden actions` shows it.
    pub target: String,
}

pub fn release(cli: &Cli, args: &ReleaseArgs) -> anyhow::Result<ExitCode> {
    revert_target(
        cli,
        &[ActionKind::Quarantine, ActionKind::Throttle],
        &args.unit,
    )
}

pub fn allow_exec(cli: &Cli, args: &AllowExecArgs) -> anyhow::Result<ExitCode> {
    revert_target(cli, &[ActionKind::DenyExec], &args.target)
}

/// Every action (of `kinds`, on `target`) in force in a `ListActions` reply, oldest first.
pub fn in_force(actions: &Value, kinds: &[ActionKind], target: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = actions
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| {
            a["state"] == "applied"
                && a["dry_run"] == false
                && a["target"] == target
                && kinds.iter().any(|k| a["kind"] == k.name())
        })
        .filter_map(|a| a["id"].as_i64())
        .collect();
    ids.sort_unstable();
    ids
}

fn revert_target(cli: &Cli, kinds: &[ActionKind], target: &str) -> anyhow::Result<ExitCode> {
    block_on(async {
        let agent = client::agent(&cli.bus).await?;
        let text = match agent.list_actions(u32::MAX).await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("innerwarden: listing actions failed: {}", describe(&e));
                return Ok(ExitCode::FAILURE);
            }
        };
        let actions: Value = serde_json::from_str(&text).context("parsing the reply")?;
        let ids = in_force(&actions, kinds, target);
        if ids.is_empty() {
            println!("nothing in force on {target}");
            return Ok(ExitCode::SUCCESS);
        }
        let mut failed = false;
        for id in ids {
            match agent.revert(id).await {
                Ok(true) => println!("reverted action {id} on {target}"),
                Ok(false) => println!("action {id} on {target} was no longer in force"),
                Err(e) => {
                    eprintln!("innerwarden: revert {id} failed: {}", describe(&e));
                    failed = true;
                }
            }
        }
        Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_enforced_actions_in_force_on_the_target_are_chosen() {
        let a = |id: i64, kind: &str, target: &str, state: &str, dry_run: bool| json!({"id": id, "kind": kind, "target": target, "state": state, "dry_run": dry_run});
        let actions = json!([
            a(9, "throttle", "web.service", "applied", false),
            a(8, "quarantine", "web.service", "reverted", false),
            a(7, "quarantine", "web.service", "dry_run", true),
            a(6, "quarantine", "db.service", "applied", false),
            a(5, "quarantine", "web.service", "applied", false),
            a(4, "deny_exec", "fileless-uid:33", "applied", false),
            a(3, "deny_exec", "/tmp/x", "expired", false),
        ]);
        let unit = [ActionKind::Quarantine, ActionKind::Throttle];
        assert_eq!(in_force(&actions, &unit, "web.service"), [5, 9]);
        assert_eq!(
            in_force(&actions, &unit, "fileless-uid:33"),
            Vec::<i64>::new()
        );
        let deny = [ActionKind::DenyExec];
        assert_eq!(in_force(&actions, &deny, "fileless-uid:33"), [4]);
        assert!(in_force(&actions, &deny, "/tmp/x").is_empty());
        assert!(in_force(&json!({"not": "a list"}), &deny, "/tmp/x").is_empty());
    }

    /// Every audit record's `reversal` names a command an operator can run: each "now: …"
    /// parses as this CLI's command line.
    #[test]
    fn every_reversal_names_a_real_command() {
        use clap::Parser;
        use innerwarden_core::decide::action::{Action, QuarantineMode};
        let addr = "203.0.113.9".parse().expect("ip");
        let unit = || "web.service".to_owned();
        let actions = [
            Action::Block {
                addr,
                prefix: 32,
                ttl_secs: 1,
            },
            Action::RateLimit {
                addr,
                per_minute: 10,
                ttl_secs: 1,
            },
            Action::Quarantine {
                unit: unit(),
                mode: QuarantineMode::Freeze,
                ttl_secs: 1,
            },
            Action::Quarantine {
                unit: unit(),
                mode: QuarantineMode::CutNetwork,
                ttl_secs: 1,
            },
            Action::Quarantine {
                unit: unit(),
                mode: QuarantineMode::Stop,
                ttl_secs: 1,
            },
            Action::Throttle {
                unit: unit(),
                cpu_percent: 20,
                ttl_secs: 1,
            },
            Action::DenyExec {
                path: "/tmp/x".into(),
                ttl_secs: 1,
            },
            Action::DenyFileless {
                uid: 33,
                ttl_secs: 1,
            },
        ];
        for action in &actions {
            let text = action.reversal();
            let (_, cmd) = text
                .split_once("now: ")
                .unwrap_or_else(|| panic!("no command in {text:?}"));
            let words: Vec<&str> = cmd.split_whitespace().collect();
            assert_eq!(words[0], "innerwarden", "{text}");
            let parsed = super::super::Cli::try_parse_from(&words);
            assert!(parsed.is_ok(), "{text}: {:?}", parsed.err());
        }
    }
}
