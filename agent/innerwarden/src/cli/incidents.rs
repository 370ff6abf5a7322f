//! `innerwarden incidents [ID]`: open and recent incidents, or one incident with its findings.

use std::process::ExitCode;

use serde_json::json;

use super::{Cli, load_config, table};
use crate::recorder::open_store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show this incident with its findings and evidence.
    pub id: Option<i64>,
    /// How many incidents, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    let store = open_store(&cfg.agent.state_dir)?;
    if let Some(id) = args.id {
        let Some(detail) = store.incident(id)? else {
            eprintln!("innerwarden: no incident {id}");
            return Ok(ExitCode::FAILURE);
        };
        let i = &detail.incident;
        if args.json {
            let findings: Vec<_> = detail
                .findings
                .iter()
                .map(|f| json!({"id": f.id, "audit_seq": f.audit_seq, "finding": f.finding}))
                .collect();
            let decisions: Vec<_> = store
                .decisions_for(id)?
                .into_iter()
                .map(|d| json!({"id": d.id, "audit_seq": d.audit_seq, "decision": d.decision}))
                .collect();
            let feedback: Vec<_> = store
                .feedback_for(id)?
                .into_iter()
                .map(|f| {
                    json!({"id": f.id, "ts": f.ts, "verdict": f.verdict,
                                "caller_uid": f.caller_uid, "audit_seq": f.audit_seq})
                })
                .collect();
            let v = json!({
                "id": i.id, "first_ts": i.first_ts, "last_ts": i.last_ts, "entity": i.entity_key,
                "title": i.title, "severity": i.severity, "status": i.status.to_string(),
                "finding_count": i.finding_count, "audit_seq": i.audit_seq, "findings": findings,
                "decisions": decisions, "feedback": feedback,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "incident {} [{}] {} — {}\n  entity {}  first {}  last {}  findings {}  audit seq {}",
            i.id,
            i.status,
            i.severity,
            i.title,
            i.entity_key,
            i.first_ts.to_rfc3339(),
            i.last_ts.to_rfc3339(),
            i.finding_count,
            i.audit_seq.map_or_else(|| "-".into(), |s| s.to_string())
        );
        for f in &detail.findings {
            let x = &f.finding;
            println!(
                "\n  finding {} ({} {} {}) audit seq {}\n    {}",
                f.id,
                x.detector,
                x.technique,
                x.severity,
                f.audit_seq.map_or_else(|| "-".into(), |s| s.to_string()),
                x.summary
            );
            for ev in &x.evidence {
                println!("    evidence: {ev}");
            }
        }
        for row in store.decisions_for(id)? {
            let d = &row.decision;
            let reasons: Vec<String> = d
                .reasons
                .iter()
                .map(|r| format!("{} {:+.2}", r.feature, r.contribution))
                .collect();
            // A model's reasons are log-odds contributions (weight × value); the evidence
            // scorer's are additive confidence terms.
            let label = if d.scorer.starts_with("model-") {
                "explanation (log-odds)"
            } else {
                "reasons"
            };
            println!(
                "\n  decision {} ({}): confidence {:.2} → {:?}, scorer {}, audit seq {}\n    {label}: {}",
                row.id,
                d.ts.to_rfc3339(),
                d.confidence,
                d.tier,
                d.scorer,
                row.audit_seq.map_or_else(|| "-".into(), |s| s.to_string()),
                reasons.join(", ")
            );
            for p in &d.actions {
                println!(
                    "    action {} {}{}",
                    p.action.kind(),
                    p.action.target(),
                    if p.dry_run { " (dry-run)" } else { "" }
                );
            }
            for (a, hit) in &d.suppressed {
                println!(
                    "    suppressed {} {}: {}",
                    a.kind(),
                    a.target(),
                    serde_json::to_string(hit)?
                );
            }
        }
        for f in store.feedback_for(id)? {
            println!(
                "\n  feedback {} ({}): {:?} by uid {}, audit seq {}",
                f.id,
                f.ts.to_rfc3339(),
                f.verdict,
                f.caller_uid.map_or_else(|| "-".into(), |u| u.to_string()),
                f.audit_seq.map_or_else(|| "-".into(), |s| s.to_string())
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let list = store.list_incidents(args.limit)?;
    if args.json {
        for i in &list {
            let v = json!({
                "id": i.id, "first_ts": i.first_ts, "last_ts": i.last_ts, "entity": i.entity_key,
                "title": i.title, "severity": i.severity, "status": i.status.to_string(),
                "finding_count": i.finding_count, "audit_seq": i.audit_seq,
            });
            println!("{v}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.status.to_string(),
                i.severity.to_string(),
                i.last_ts.format("%Y-%m-%d %H:%M:%S").to_string(),
                i.finding_count.to_string(),
                i.entity_key.clone(),
                i.title.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "ID", "STATUS", "SEVERITY", "LAST", "FINDINGS", "ENTITY", "TITLE",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}
