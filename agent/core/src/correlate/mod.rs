//! Correlation over time: sequences of findings and events, tied by an entity, within a window.
//!
//! A rule (TOML, [`rule`]) is a list of stages; each stage matches findings (by detector id,
//! technique, technique prefix, minimum severity) or events (a predicate of the rules matcher).
//! Stages must happen in order, all within the rule's `within` of the first, and optionally no
//! more than `max_gap` apart; they are tied by one join key (source address, user, process tree,
//! SSH session, systemd unit: see [`rule::JoinKind`]). When the last stage matches the
//! correlator emits a [`Finding`] with detector `corr.<rule id>` and `stage` = the number of
//! stages; a rule with `partial_at = N` also emits a lower-severity finding with `stage = N`
//! when the first N stages matched (once per run).
//!
//! State is bounded (runs per rule, SSH sessions) and driven by event time only, so replaying
//! a file yields exactly what living through it would have. Findings of the correlator are not
//! fed back into it (no loops).
//!
//! # Layout
//! - [`rule`]: the rule file format and its compilation (load errors name file and rule).
//! - [`predicate`]: event stages, through the rules matcher.
//! - [`keys`]: join keys of events and findings; the SSH session map.
//! - [`state`]: the bounded runs of one rule.
//! - [`embedded`]: the rules shipped in the binary.
//! - [`config`]: the `detectors.correlation` configuration section.

pub mod config;
pub mod embedded;
pub mod keys;
pub mod predicate;
pub mod rule;
pub mod state;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::finding::{Entity, Finding};
use crate::proctable::ProcessTable;
pub use config::CorrelationConfig;
use keys::{Item, KeyVal, Sessions};
pub use rule::{CorrelateError, Rule};
use rule::{Distinct, JoinKind, StageMatch};
use state::{Evidence, Run, Runs};

/// Detector id prefix of correlation findings.
pub const DETECTOR_PREFIX: &str = "corr.";
/// A stage may come this much earlier than the previous one (sensors deliver slightly out of
/// order: the journal lags the kernel).
const SKEW: chrono::Duration = chrono::Duration::seconds(1);
/// Evidence items kept per stage, and in all.
const EVIDENCE_PER_STAGE: usize = 3;
const EVIDENCE_MAX: usize = 24;
/// Items between sweeps of expired runs.
const SWEEP_EVERY: u64 = 4096;

/// One rule file's name and text (the edge reads the configured directory).
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub file: String,
    pub text: String,
}

struct Active {
    rule: Rule,
    runs: Runs,
}

/// The correlation engine.
pub struct Correlator {
    rules: Vec<Active>,
    /// Event kind → the rules with a stage for it; rules with a finding stage.
    by_kind: HashMap<&'static str, Vec<usize>>,
    on_findings: Vec<usize>,
    sessions: Sessions,
    now: Option<DateTime<Utc>>,
    seen: u64,
    emitted_total: u64,
}

/// Compile rule sources in order; a later rule with an id already seen replaces the earlier
/// one (a local file overriding a shipped rule). Disabled rules are compiled, then dropped.
pub fn compile(
    sources: &[RuleSource],
    known_detectors: &HashSet<String>,
) -> Result<Vec<Rule>, CorrelateError> {
    let mut out: Vec<Rule> = Vec::new();
    let mut in_file: HashMap<(String, String), ()> = HashMap::new();
    for src in sources {
        for r in rule::compile_file(&src.file, &src.text, known_detectors)? {
            if in_file
                .insert((src.file.clone(), r.id.clone()), ())
                .is_some()
            {
                return Err(CorrelateError::Rule {
                    file: src.file.clone(),
                    rule: r.id,
                    problem: "duplicate id in this file".into(),
                });
            }
            out.retain(|o| o.id != r.id);
            out.push(r);
        }
    }
    out.retain(|r| r.enabled);
    Ok(out)
}

impl Correlator {
    pub fn new(rules: Vec<Rule>, cfg: &CorrelationConfig) -> Self {
        let mut by_kind: HashMap<&'static str, Vec<usize>> = HashMap::new();
        let mut on_findings = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let mut kinds: Vec<&'static str> = Vec::new();
            for st in &r.stages {
                match &st.what {
                    StageMatch::Event(m) => kinds.extend(m.kinds()),
                    StageMatch::Finding(_) => {
                        if on_findings.last() != Some(&i) {
                            on_findings.push(i);
                        }
                    }
                }
            }
            kinds.sort_unstable();
            kinds.dedup();
            for k in kinds {
                by_kind.entry(k).or_default().push(i);
            }
        }
        Self {
            by_kind,
            on_findings,
            rules: rules
                .into_iter()
                .map(|rule| Active {
                    rule,
                    runs: Runs::new(cfg.max_runs_per_rule),
                })
                .collect(),
            sessions: Sessions::new(cfg.max_sessions),
            now: None,
            seen: 0,
            emitted_total: 0,
        }
    }

    /// A correlator with no rules (correlation switched off).
    pub fn disabled() -> Self {
        Self::new(Vec::new(), &CorrelationConfig::default())
    }

    /// Ids of the active rules (`corr.` prefix included).
    pub fn rule_ids(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|a| format!("{DETECTOR_PREFIX}{}", a.rule.id))
            .collect()
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|a| &a.rule)
    }

    /// Partial sequences held now, over all rules.
    pub fn runs_len(&self) -> usize {
        self.rules.iter().map(|a| a.runs.len()).sum()
    }

    /// Partial sequences forgotten because their rule's table was full.
    pub fn evicted_total(&self) -> u64 {
        self.rules.iter().map(|a| a.runs.evicted_total).sum::<u64>() + self.sessions.evicted_total
    }

    pub fn emitted_total(&self) -> u64 {
        self.emitted_total
    }

    /// Feed one event (after the process table saw it, before exit removal).
    pub fn on_event(
        &mut self,
        ev: &crate::event::Event,
        procs: &ProcessTable,
        out: &mut Vec<Finding>,
    ) {
        self.sessions.observe(ev);
        self.feed(Item::Event(ev), procs, out);
    }

    /// Feed one finding of a detector (never a correlation finding: those are ignored).
    pub fn on_finding(&mut self, f: &Finding, procs: &ProcessTable, out: &mut Vec<Finding>) {
        if f.detector.starts_with(DETECTOR_PREFIX) {
            return;
        }
        self.feed(Item::Finding(f), procs, out);
    }

    fn feed(&mut self, item: Item<'_>, procs: &ProcessTable, out: &mut Vec<Finding>) {
        if self.rules.is_empty() {
            return;
        }
        let ts = item.ts();
        self.now = Some(self.now.map_or(ts, |n| n.max(ts)));
        self.seen += 1;
        if self.seen.is_multiple_of(SWEEP_EVERY)
            && let Some(now) = self.now
        {
            for a in &mut self.rules {
                a.runs.expire(now, chrono_dur(a.rule.within));
            }
        }
        let before = out.len();
        let idx = match item {
            Item::Event(e) => self.by_kind.get(e.kind.name()).map(Vec::as_slice),
            Item::Finding(_) => Some(self.on_findings.as_slice()),
        };
        for &i in idx.unwrap_or_default() {
            step(&mut self.rules[i], item, procs, &self.sessions, out);
        }
        self.emitted_total += (out.len() - before) as u64;
    }
}

fn chrono_dur(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn stage_matches(stage: &rule::Stage, item: Item<'_>, procs: &ProcessTable) -> bool {
    match (&stage.what, item) {
        (StageMatch::Finding(m), Item::Finding(f)) => m.matches(f),
        (StageMatch::Event(m), Item::Event(e)) => m.matches(e, procs),
        _ => false,
    }
}

/// One rule, one item: advance the runs it continues, start or restart one if it is a first
/// stage.
fn step(
    a: &mut Active,
    item: Item<'_>,
    procs: &ProcessTable,
    sessions: &Sessions,
    out: &mut Vec<Finding>,
) {
    let rule = &a.rule;
    // With no run open only a first stage can matter: skip the later stages' predicates.
    let last = if a.runs.is_empty() {
        1
    } else {
        rule.stages.len()
    };
    let matching: Vec<usize> = (0..last)
        .filter(|&i| stage_matches(&rule.stages[i], item, procs))
        .collect();
    if matching.is_empty() {
        return;
    }
    let ts = item.ts();
    let within = chrono_dur(rule.within);
    let max_gap = rule.max_gap.map(chrono_dur);
    let keys = keys::keys_of(item, rule.join, procs, sessions);
    let start = if matching[0] == 0 {
        keys::start_key(item, rule.join, rule.tree_root, procs, sessions)
    } else {
        None
    };
    let mut probe = keys.clone();
    probe.extend(start.clone());
    let mut advanced_at_start_key = false;
    for id in a.runs.under(&probe) {
        let Some(run) = a.runs.get(id) else { continue };
        if ts - run.start > within {
            a.runs.remove(id);
            a.runs.expired_total += 1;
            continue;
        }
        let want = run.done;
        if !matching.contains(&want) || ts < run.last - SKEW {
            continue;
        }
        // The first stage only accumulates under its own anchor, later ones under any key.
        let reachable = if want == 0 {
            start.as_ref().is_some_and(|s| run.anchors.contains(s))
        } else {
            run.anchors.iter().any(|k| keys.contains(k))
        };
        if !reachable {
            continue;
        }
        if want > 0
            && let Some(gap) = max_gap
            && ts - run.last > gap
        {
            continue;
        }
        if start.as_ref().is_some_and(|s| run.anchors.contains(s)) {
            advanced_at_start_key = true;
        }
        advance(a, id, item, procs, out);
    }
    let Some(start) = start else { return };
    if advanced_at_start_key {
        return;
    }
    // A first stage again for a key whose run has only its first stage: restart the clock from
    // this one (the freshest start gives the longest chance to complete). A run further along
    // is left alone and no duplicate is opened.
    let existing = a.runs.under(std::slice::from_ref(&start));
    for id in existing {
        let Some(run) = a.runs.get(id) else { continue };
        if run.anchors.first() != Some(&start) {
            continue;
        }
        if run.done > 1 && ts - run.start <= within {
            return;
        }
        a.runs.remove(id);
    }
    let id = a.runs.insert(Run::new(ts, start));
    advance(a, id, item, procs, out);
}

/// Count `item` toward run `id`'s current stage; complete the stage, emit partial or full
/// findings, drop the run when the sequence is complete.
fn advance(a: &mut Active, id: u64, item: Item<'_>, procs: &ProcessTable, out: &mut Vec<Finding>) {
    let rule = &a.rule;
    let Some(run) = a.runs.get_mut(id) else {
        return;
    };
    let stage = &rule.stages[run.done];
    if let Some(d) = stage.distinct {
        let v = distinct_value(d, item);
        if run.distinct.contains(&v) {
            return;
        }
        run.distinct.push(v);
    }
    run.in_stage += 1;
    run.last = run.last.max(item.ts());
    if let Some(p) = item.pid() {
        run.last_pid = Some(p);
    }
    if let Item::Finding(f) = item {
        run.last_technique = Some(f.technique.clone());
    }
    if (run.in_stage as usize) <= EVIDENCE_PER_STAGE && run.evidence.len() < EVIDENCE_MAX {
        run.evidence.push(match item {
            Item::Event(e) => Evidence::Event(Box::new(e.clone())),
            Item::Finding(_) => Evidence::Finding(evidence_of(item)),
        });
    }
    if run.in_stage < stage.count {
        return;
    }
    run.chain.push(describe(stage, item, run.in_stage));
    run.done += 1;
    run.in_stage = 0;
    run.distinct.clear();
    let done = run.done;
    let new_anchor = (rule.join == JoinKind::ProcessTree)
        .then(|| item.pid().map(KeyVal::Pid))
        .flatten();
    if done == rule.stages.len() {
        if let Some(run) = a.runs.remove(id) {
            out.push(emit(rule, &run, procs, false));
        }
        return;
    }
    if rule.partial_at == Some(done as u32) && !run.partial_sent {
        run.partial_sent = true;
        let snapshot = run.clone();
        out.push(emit(rule, &snapshot, procs, true));
    }
    if let Some(k) = new_anchor {
        a.runs.add_anchor(id, k);
    }
}

fn distinct_value(d: Distinct, item: Item<'_>) -> String {
    use crate::event::EventKind as K;
    match (d, item) {
        (Distinct::Detector, Item::Finding(f)) => f.detector.clone(),
        (Distinct::Exe, Item::Event(e)) => match &e.kind {
            K::Exec(x) => x.filename.clone(),
            _ => evidence_of(item)["comm"].as_str().unwrap_or("").to_owned(),
        },
        (Distinct::Path, Item::Event(e)) => match &e.kind {
            K::FileWrite(x) => x.path.clone(),
            K::FileRead(x) => x.path.clone(),
            K::FileChange(x) => x.path.clone(),
            _ => String::new(),
        },
        (_, Item::Finding(f)) => f.entity.key(),
        (Distinct::User, Item::Event(e)) => match &e.kind {
            K::AuthFailure(x) => x.user.clone().unwrap_or_default(),
            K::AuthSuccess(x) => x.user.clone(),
            K::Sudo(x) => x.user.clone(),
            K::Su(x) => x.user.clone(),
            _ => String::new(),
        },
        (Distinct::Detector, Item::Event(e)) => e.kind.name().to_owned(),
    }
}

fn evidence_of(item: Item<'_>) -> serde_json::Value {
    match item {
        Item::Event(e) => crate::detect::evidence(e),
        Item::Finding(f) => serde_json::json!({
            "finding": f.detector,
            "ts": f.ts,
            "technique": f.technique,
            "severity": f.severity,
            "entity": f.entity.key(),
            "summary": f.summary,
        }),
    }
}

/// One short phrase for a completed stage.
fn describe(stage: &rule::Stage, item: Item<'_>, n: u32) -> String {
    use crate::event::EventKind as K;
    let what = match item {
        Item::Finding(f) => f.detector.clone(),
        Item::Event(e) => match &e.kind {
            K::Exec(x) => {
                let mut s = x.cmdline();
                if s.len() > 60 {
                    let cut = (0..=60).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                    s.truncate(cut);
                    s.push('…');
                }
                s
            }
            K::FileWrite(x) => format!("write {}", x.path),
            K::FileRead(x) => format!("read {}", x.path),
            K::FileChange(x) => format!("{} {}", x.op.as_str(), x.path),
            K::TcpConnect(c) => format!("connect {}:{}", c.daddr, c.dport),
            K::TcpAccept(c) => format!("accept from {}", c.saddr),
            K::AuthSuccess(x) => format!("login {}", x.user),
            K::Sudo(x) => format!("sudo {} as {}", x.user, x.target_user),
            K::Su(x) => format!("su {} to {}", x.user, x.target_user),
            other => other.name().to_owned(),
        },
    };
    if n > 1 {
        format!("{} ({what}, {n}×)", stage.name)
    } else {
        format!("{} ({what})", stage.name)
    }
}

fn emit(rule: &Rule, run: &Run, procs: &ProcessTable, partial: bool) -> Finding {
    let anchor = run.anchors.first();
    let process = |pid: u32| {
        let info = procs.get(pid);
        Entity::Process {
            pid,
            start_ns: info
                .and_then(|p| p.started)
                .and_then(|t| t.timestamp_nanos_opt())
                .map_or(0, |n| n as u64),
            exe: info.map(|p| p.exe_name().to_owned()).unwrap_or_default(),
        }
    };
    let entity = match (rule.join, anchor) {
        (JoinKind::Source, Some(KeyVal::Host(h))) => Entity::Host { host: h.clone() },
        (JoinKind::User, Some(KeyVal::User(u))) => Entity::User { name: u.clone() },
        (_, Some(KeyVal::Pid(p) | KeyVal::Session(p))) => process(run.last_pid.unwrap_or(*p)),
        _ => run.last_pid.map_or_else(
            || Entity::User {
                name: String::from("unknown"),
            },
            process,
        ),
    };
    let technique = rule
        .technique
        .clone()
        .or_else(|| rule.stages[run.done.saturating_sub(1)].technique.clone())
        .or_else(|| run.last_technique.clone())
        .unwrap_or_default();
    let key = anchor.map_or_else(String::new, |k| format!(" [{k}]"));
    let summary = if partial {
        format!(
            "partial {}/{} of {}: {}{key}",
            run.done,
            rule.stages.len(),
            rule.title,
            run.chain.join(" → ")
        )
    } else {
        format!("{}: {}{key}", rule.title, run.chain.join(" → "))
    };
    Finding {
        ts: run.last,
        detector: format!("{DETECTOR_PREFIX}{}", rule.id),
        technique,
        severity: if partial {
            rule.partial_severity
        } else {
            rule.severity
        },
        entity,
        summary,
        evidence: run.evidence.iter().map(Evidence::to_json).collect(),
        author: None,
        stage: Some(run.done as u32),
    }
}
