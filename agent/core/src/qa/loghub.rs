//! loghub `OpenSSH_2k.log` with `OpenSSH_2k.log_structured.csv` (one template id per line).
//!
//! Every line is decoded through one [`SessionDecoder`]. Each template id is classified as a
//! failure (every line must yield a failed-auth event with a host) or not (no line may yield
//! one); the classification is [`FAILURE_TEMPLATES`] / [`BENIGN_TEMPLATES`].

use std::collections::BTreeMap;

use super::fail2ban::outcome_name;
use super::replay_context;
use crate::decode::authlog::{LineOutcome, SessionDecoder};

/// Templates that are failed authentications or preauth connection failures (fail2ban
/// aggressive semantics): closed/disconnected in preauth (E2, E6, E7, E24, E25), no
/// identification (E3), too many failures (E4, E5), failed none/password (E8-E10), reset in
/// preauth (E11), invalid user (E13), repeated failures (E14), PAM failures (E15-E17, E19, E20).
pub const FAILURE_TEMPLATES: &[&str] = &[
    "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9", "E10", "E11", "E13", "E14", "E15", "E16",
    "E17", "E19", "E20", "E24", "E25",
];

/// Templates that must not yield a failed-auth event: accepted (E1), the duplicate
/// `input_userauth_request: invalid user` (E12, already counted by E13), PAM bookkeeping
/// (E18, E21, E22, E23), a user's own disconnect (E26), reverse-DNS mismatch (E27).
pub const BENIGN_TEMPLATES: &[&str] = &["E1", "E12", "E18", "E21", "E22", "E23", "E26", "E27"];

/// Counts for the whole file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub lines: usize,
    pub events: usize,
    pub ignored: usize,
    pub unparsed: usize,
    pub per_kind: BTreeMap<&'static str, usize>,
    pub unparsed_reasons: BTreeMap<&'static str, usize>,
    /// Template id → (lines, lines with a failed-auth host).
    pub per_template: BTreeMap<String, (usize, usize)>,
    /// Lines that contradict their template's class: (line number, template, outcome, line).
    pub violations: Vec<(usize, String, &'static str, String)>,
    /// Lines whose template id is in neither class.
    pub unclassified: usize,
}

/// Why the structured CSV could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("structured csv row {row}: fewer than 9 columns")]
    Short { row: usize },
    #[error("structured csv has {rows} rows, the log has {lines} lines")]
    Length { rows: usize, lines: usize },
}

/// Decode `log` and judge it against the template ids of `structured_csv`.
pub fn evaluate(log: &str, structured_csv: &str) -> Result<Report, CsvError> {
    let ids = template_ids(structured_csv)?;
    let lines: Vec<&str> = log.lines().collect();
    if ids.len() != lines.len() {
        return Err(CsvError::Length {
            rows: ids.len(),
            lines: lines.len(),
        });
    }
    let mut dec = SessionDecoder::new(replay_context());
    let mut r = Report::default();
    for (i, (line, id)) in lines.iter().zip(ids).enumerate() {
        r.lines += 1;
        let outcome = dec.decode_line(line);
        match &outcome {
            LineOutcome::Event(e) => {
                r.events += 1;
                *r.per_kind.entry(e.kind.name()).or_default() += 1;
            }
            LineOutcome::Ignored => r.ignored += 1,
            LineOutcome::Unparsed { reason } => {
                r.unparsed += 1;
                *r.unparsed_reasons.entry(reason).or_default() += 1;
            }
        }
        let failed = outcome.event().and_then(|e| e.failed_auth_host()).is_some();
        let t = r.per_template.entry(id.clone()).or_default();
        t.0 += 1;
        t.1 += usize::from(failed);
        let expect = if FAILURE_TEMPLATES.contains(&id.as_str()) {
            Some(true)
        } else if BENIGN_TEMPLATES.contains(&id.as_str()) {
            Some(false)
        } else {
            None
        };
        match expect {
            None => r.unclassified += 1,
            Some(want) if want != failed => {
                r.violations
                    .push((i + 1, id, outcome_name(&outcome), (*line).to_owned()));
            }
            Some(_) => {}
        }
    }
    Ok(r)
}

/// The EventId column (second to last) of each data row.
fn template_ids(csv: &str) -> Result<Vec<String>, CsvError> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(row, l)| {
            let cols = csv_fields(l);
            if cols.len() < 9 {
                return Err(CsvError::Short { row: row + 1 });
            }
            Ok(cols[cols.len() - 2].clone())
        })
        .collect()
}

/// Split one CSV record (RFC 4180 quoting, no embedded newlines).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quoted_commas() {
        let f = csv_fields(r#"1,Dec,10,"a, ""b""",E2,"x, y""#);
        assert_eq!(f, vec!["1", "Dec", "10", r#"a, "b""#, "E2", "x, y"]);
    }
}
