//! Correlation rules as data: the TOML form, and its compilation against the event schema (event
//! stages go through the rules matcher) and the known detector ids. Every load error names the
//! file and the rule.
//!
//! ```toml
//! [[rule]]
//! id = "brute_force_then_login"
//! title = "SSH brute force followed by a successful login from the same source"
//! technique = "T1110.001"          # optional: else the last stage's
//! severity = "high"
//! join = "source"                  # source | user | process_tree | session | unit
//! within = "30m"                   # first to last stage
//! max_gap = "10m"                  # optional, between consecutive stages
//!
//! [[rule.stage]]
//! name = "brute force"
//! finding = { detector = ["ssh_bruteforce"] }   # or technique, technique_prefix, tactic,
//!                                              # min_severity (all given must hold)
//!
//! [[rule.stage]]
//! name = "login"
//! event = { kind = "auth_success" }
//! ```

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::predicate::EventMatch;
use crate::attack::Tactic;
use crate::finding::{Finding, Severity};

/// Why a rule file was refused. Every variant names the file; rule errors name the rule.
#[derive(Debug, thiserror::Error)]
pub enum CorrelateError {
    #[error("{file}: not a valid correlation rule file: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: rule `{rule}`: {problem}")]
    Rule {
        file: String,
        rule: String,
        problem: String,
    },
}

/// What ties the stages of one sequence together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinKind {
    /// The remote address: auth events' `src`, an accepted connection's peer, a Host finding,
    /// and any process inside an SSH session from that address.
    Source,
    /// The account: auth, sudo and su events' user, a User finding, and any process inside an
    /// SSH session of that user.
    User,
    /// Each stage's process is the root process or descends from it (or from a process of an
    /// earlier stage), by the process table's ancestry.
    ProcessTree,
    /// The same SSH login session (the sshd process that logged the accepted login).
    Session,
    /// The same systemd unit (the process table's unit of the process or its nearest ancestor).
    Unit,
}

impl JoinKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinKind::Source => "source",
            JoinKind::User => "user",
            JoinKind::ProcessTree => "process_tree",
            JoinKind::Session => "session",
            JoinKind::Unit => "unit",
        }
    }
}

/// For `process_tree`: which process of the first stage roots the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeRoot {
    /// The first stage's process itself (a web server's shell and what it runs).
    #[default]
    #[serde(rename = "self")]
    Itself,
    /// Its parent: siblings count too (a shell that downloads, chmods, then runs a file).
    Parent,
}

/// One distinct value a counting stage tallies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distinct {
    /// The executable (exec filename, or the process's comm for other kinds).
    Exe,
    /// The file path of file events.
    Path,
    /// The account of auth, sudo and su events.
    User,
    /// The detector of a finding.
    Detector,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    technique: Option<String>,
    severity: Severity,
    join: JoinKind,
    #[serde(default)]
    tree_root: TreeRoot,
    within: String,
    #[serde(default)]
    max_gap: Option<String>,
    #[serde(default)]
    partial_at: Option<u32>,
    #[serde(default)]
    partial_severity: Option<Severity>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    stage: Vec<StageDef>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageDef {
    name: String,
    #[serde(default)]
    technique: Option<String>,
    #[serde(default)]
    finding: Option<FindingDef>,
    #[serde(default)]
    event: Option<toml::Value>,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    distinct: Option<Distinct>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingDef {
    #[serde(default)]
    detector: Vec<String>,
    #[serde(default)]
    technique: Vec<String>,
    #[serde(default)]
    technique_prefix: Vec<String>,
    /// ATT&CK tactics (snake_case, as in attack.rs) of the finding's technique.
    #[serde(default)]
    tactic: Vec<String>,
    #[serde(default)]
    min_severity: Option<Severity>,
}

/// A compiled finding matcher: every given condition must hold (each list is any-of).
#[derive(Debug)]
pub struct FindingMatch {
    detectors: Vec<String>,
    techniques: Vec<String>,
    technique_prefixes: Vec<String>,
    tactics: Vec<Tactic>,
    min_severity: Option<Severity>,
}

impl FindingMatch {
    pub fn matches(&self, f: &Finding) -> bool {
        (self.detectors.is_empty() || self.detectors.contains(&f.detector))
            && (self.techniques.is_empty() || self.techniques.contains(&f.technique))
            && (self.technique_prefixes.is_empty()
                || self
                    .technique_prefixes
                    .iter()
                    .any(|p| f.technique.starts_with(p.as_str())))
            && (self.tactics.is_empty()
                || crate::attack::tactics(&f.technique)
                    .is_some_and(|ts| ts.iter().any(|t| self.tactics.contains(t))))
            && self.min_severity.is_none_or(|s| f.severity >= s)
    }
}

/// What a stage matches.
#[derive(Debug)]
pub enum StageMatch {
    Finding(FindingMatch),
    Event(EventMatch),
}

#[derive(Debug)]
pub struct Stage {
    pub name: String,
    pub technique: Option<String>,
    pub what: StageMatch,
    /// Matching items needed before the stage is complete.
    pub count: u32,
    pub distinct: Option<Distinct>,
}

/// A compiled correlation rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// The rule's own technique; None means "the last stage's" (resolved when emitting).
    pub technique: Option<String>,
    pub severity: Severity,
    pub join: JoinKind,
    pub tree_root: TreeRoot,
    pub within: Duration,
    pub max_gap: Option<Duration>,
    /// Emit a lower-severity finding once this many stages matched (1-based, < stages).
    pub partial_at: Option<u32>,
    pub partial_severity: Severity,
    pub stages: Vec<Stage>,
    /// False: compiled (so it is checked) but not run.
    pub enabled: bool,
    /// The file the rule came from (`embedded:NAME` for shipped rules).
    pub file: String,
}

/// Parse `90s`, `10m`, `2h`, `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 10m, 2h"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (s, m, h, d)")),
    };
    n.checked_mul(mult)
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} must be positive and not absurdly large"))
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium | Severity::Low => Severity::Low,
    }
}

fn valid_technique(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = rest.split_once('.').unwrap_or((rest, ""));
    main.len() == 4
        && main.bytes().all(|b| b.is_ascii_digit())
        && (sub.is_empty() || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit())))
}

/// Compile one file's text. `known_detectors` are the ids a finding stage may name.
pub fn compile_file(
    file: &str,
    text: &str,
    known_detectors: &HashSet<String>,
) -> Result<Vec<Rule>, CorrelateError> {
    let parsed: RuleFile = toml::from_str(text).map_err(|e| CorrelateError::Parse {
        file: file.to_owned(),
        message: e.to_string().trim().to_owned(),
    })?;
    parsed
        .rule
        .into_iter()
        .map(|def| {
            let rule = def.id.clone();
            compile_rule(def, file, known_detectors).map_err(|problem| CorrelateError::Rule {
                file: file.to_owned(),
                rule,
                problem,
            })
        })
        .collect()
}

fn compile_rule(def: RuleDef, file: &str, known: &HashSet<String>) -> Result<Rule, String> {
    if def.id.is_empty()
        || !def
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("id must be non-empty lowercase letters, digits and `_`".into());
    }
    if def.stage.len() < 2 {
        return Err("a sequence needs at least two `[[rule.stage]]`s".into());
    }
    if def.stage.len() > 16 {
        return Err("at most 16 stages".into());
    }
    let within = parse_duration(&def.within).map_err(|e| format!("within: {e}"))?;
    let max_gap = def
        .max_gap
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("max_gap: {e}"))?;
    if max_gap.is_some_and(|g| g > within) {
        return Err("max_gap is longer than within".into());
    }
    if let Some(t) = &def.technique
        && !valid_technique(t)
    {
        return Err(format!(
            "technique {t:?} is not an ATT&CK id like T1059.004"
        ));
    }
    if let Some(p) = def.partial_at
        && (p == 0 || p as usize >= def.stage.len())
    {
        return Err(format!(
            "partial_at = {p} must be between 1 and {} (fewer than the stages)",
            def.stage.len() - 1
        ));
    }
    let mut stages = Vec::with_capacity(def.stage.len());
    for (i, s) in def.stage.into_iter().enumerate() {
        let at = |p: String| format!("stage {} ({:?}): {p}", i + 1, s.name);
        stages.push(compile_stage(&s, known, file, &def.id).map_err(at)?);
    }
    let last_has_technique = stages
        .last()
        .is_some_and(|s| s.technique.is_some() || matches!(s.what, StageMatch::Finding(_)));
    if def.technique.is_none() && !last_has_technique {
        return Err("no technique: give the rule or its last stage a `technique`".into());
    }
    Ok(Rule {
        id: def.id,
        title: def.title,
        description: def.description,
        technique: def.technique,
        partial_severity: def.partial_severity.unwrap_or(lower(def.severity)),
        severity: def.severity,
        join: def.join,
        tree_root: def.tree_root,
        within,
        max_gap,
        partial_at: def.partial_at,
        stages,
        enabled: def.enabled,
        file: file.to_owned(),
    })
}

fn compile_stage(
    s: &StageDef,
    known: &HashSet<String>,
    file: &str,
    rule: &str,
) -> Result<Stage, String> {
    if let Some(t) = &s.technique
        && !valid_technique(t)
    {
        return Err(format!(
            "technique {t:?} is not an ATT&CK id like T1059.004"
        ));
    }
    if s.count == 0 {
        return Err("count must be at least 1".into());
    }
    let what = match (&s.finding, &s.event) {
        (Some(f), None) => {
            if let Some(d) = f.detector.iter().find(|d| !known.contains(d.as_str())) {
                return Err(format!("unknown detector id {d:?}"));
            }
            if let Some(t) = f.technique.iter().find(|t| !valid_technique(t)) {
                return Err(format!("technique {t:?} is not an ATT&CK id"));
            }
            if let Some(p) = f.technique_prefix.iter().find(|p| !p.starts_with('T')) {
                return Err(format!("technique_prefix {p:?} must start with T"));
            }
            let tactics = f
                .tactic
                .iter()
                .map(|name| {
                    Tactic::ALL
                        .into_iter()
                        .find(|t| t.as_str() == name)
                        .ok_or_else(|| {
                            format!(
                                "unknown tactic {name:?} (known: {})",
                                Tactic::ALL.map(Tactic::as_str).join(", ")
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if f.detector.is_empty()
                && f.technique.is_empty()
                && f.technique_prefix.is_empty()
                && tactics.is_empty()
                && f.min_severity.is_none()
            {
                return Err("a finding stage needs at least one condition".into());
            }
            StageMatch::Finding(FindingMatch {
                detectors: f.detector.clone(),
                techniques: f.technique.clone(),
                technique_prefixes: f.technique_prefix.clone(),
                tactics,
                min_severity: f.min_severity,
            })
        }
        (None, Some(t)) => StageMatch::Event(EventMatch::compile(t, file, rule)?),
        _ => return Err("a stage has exactly one of `finding` or `event`".into()),
    };
    if let Some(t) = &s.technique
        && crate::attack::technique(t).is_none()
    {
        return Err(format!(
            "technique {t} is not in the ATT&CK table (attack.rs)"
        ));
    }
    if matches!(s.distinct, Some(Distinct::Detector)) && matches!(what, StageMatch::Event(_)) {
        return Err("distinct = \"detector\" needs a finding stage".into());
    }
    Ok(Stage {
        name: s.name.clone(),
        technique: s.technique.clone(),
        what,
        count: s.count,
        distinct: s.distinct,
    })
}
