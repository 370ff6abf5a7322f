//! fail2ban filter test files (`fail2ban/tests/files/logs/sshd`, `sshd-journal`).
//!
//! Format: `# failJSON: {"match": true, "host": "1.2.3.4", ...}` labels the next log line;
//! `# filterOptions: [{...}, {"mode": "aggressive"}]` starts a block tested under each listed
//! option set; a label may carry `"constraint": "opts.get('mode') == 'aggressive'"`.
//!
//! Judgement: our decoder has no modes and corresponds to fail2ban's **aggressive** mode (the
//! most inclusive: `ddos` + `extra` + normal). Every label is evaluated with
//! `mode = aggressive` and `name = sshd`; a label whose constraint is false under that is
//! skipped and counted. Two blocks of `sshd` list only the normal mode; their labels are still
//! judged and any disagreement is reported (see `tests/replay_qa.rs` for the known ones).
//!
//! Every non-comment line is fed, in order, through one [`SessionDecoder`], so multi-line
//! cases (peer named on an earlier line of the same pid) are exercised as in a live log.

use serde_json::Value;

use super::replay_context;
use crate::decode::authlog::{LineOutcome, SessionDecoder};
use crate::event::Host;

/// One labelled line.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// 1-based line number in the file.
    pub line_no: usize,
    pub line: String,
    pub expect_match: bool,
    /// The labelled host, normalised like ours (`::ffff:` mapping, lower case).
    pub host: Option<Host>,
    /// The `filterOptions` of the enclosing block, verbatim.
    pub block_options: String,
    /// Whether the block lists the aggressive mode.
    pub block_has_aggressive: bool,
}

/// What one case produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub case: Case,
    pub got_host: Option<Host>,
    pub outcome: &'static str,
    pub ok: bool,
}

/// Counts for one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub match_true: usize,
    pub match_true_ok: usize,
    pub match_false: usize,
    pub false_positives: usize,
    /// Labels whose constraint is false in aggressive mode.
    pub skipped_by_mode: usize,
    /// Log lines fed without a label.
    pub unlabelled: usize,
    pub failures: Vec<Verdict>,
}

/// Why a label could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("line {line_no}: bad failJSON: {source}")]
    Json {
        line_no: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line_no}: failJSON has no boolean \"match\"")]
    NoMatch { line_no: usize },
}

/// Evaluate a fail2ban test constraint as the aggressive-mode sshd filter.
/// Returns `None` for an expression this evaluator does not know.
pub fn constraint_holds(expr: &str) -> Option<bool> {
    let e: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let e = e.replace('"', "'");
    match e.as_str() {
        "name=='sshd'" => Some(true),
        "opts.get('mode')=='aggressive'" => Some(true),
        "opts.get('mode')!='aggressive'" => Some(false),
        _ => None,
    }
}

/// Replay `text` (a whole test file) and judge every label.
pub fn evaluate(text: &str) -> Result<Report, LabelError> {
    let mut dec = SessionDecoder::new(replay_context());
    let mut report = Report::default();
    let mut block_options = String::from("[{}]");
    let mut pending: Option<(usize, Value)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = raw.trim();
        if let Some(opts) = trimmed.strip_prefix("# filterOptions:") {
            block_options = opts.trim().to_owned();
            continue;
        }
        if let Some(json) = trimmed.strip_prefix("# failJSON:") {
            let v: Value = serde_json::from_str(json.trim())
                .map_err(|source| LabelError::Json { line_no, source })?;
            pending = Some((line_no, v));
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let outcome = dec.decode_line(raw);
        let Some((label_line, label)) = pending.take() else {
            report.unlabelled += 1;
            continue;
        };
        if let Some(c) = label.get("constraint").and_then(Value::as_str)
            && constraint_holds(c) == Some(false)
        {
            report.skipped_by_mode += 1;
            continue;
        }
        let expect_match =
            label
                .get("match")
                .and_then(Value::as_bool)
                .ok_or(LabelError::NoMatch {
                    line_no: label_line,
                })?;
        let host = ["host", "ip4", "ip6"]
            .iter()
            .find_map(|k| label.get(*k).and_then(Value::as_str))
            .and_then(|h| h.parse::<Host>().ok());
        let got_host = outcome.event().and_then(|e| e.failed_auth_host()).cloned();
        let ok = if expect_match {
            got_host.is_some() && (host.is_none() || host == got_host)
        } else {
            got_host.is_none()
        };
        let case = Case {
            line_no,
            line: raw.to_owned(),
            expect_match,
            host,
            block_has_aggressive: block_options.contains("aggressive"),
            block_options: block_options.clone(),
        };
        if expect_match {
            report.match_true += 1;
            report.match_true_ok += usize::from(ok);
        } else {
            report.match_false += 1;
            report.false_positives += usize::from(!ok);
        }
        if !ok {
            report.failures.push(Verdict {
                case,
                got_host,
                outcome: outcome_name(&outcome),
                ok,
            });
        }
    }
    Ok(report)
}

/// `event:<kind>`, `ignored`, or `unparsed:<reason>` for reports.
pub fn outcome_name(o: &LineOutcome) -> &'static str {
    match o {
        LineOutcome::Event(e) => e.kind.name(),
        LineOutcome::Ignored => "ignored",
        LineOutcome::Unparsed { reason } => reason,
    }
}
