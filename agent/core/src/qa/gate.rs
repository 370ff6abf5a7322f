//! The detection gate: the full engine (detectors + correlation, default configuration) over
//! Atomic Red Team's tests converted to event streams ([`super::atomic`]) — detection per
//! area — and over benign corpora — false positives per corpus. `tests/detection_gate.rs`
//! fails when a number crosses the thresholds written in the README.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::atomic::{self, AtomicTest, Excluded};
use crate::config::DetectorsConfig;
use crate::decode::authlog::{LineOutcome, SessionDecoder};
use crate::engine::Engine;
use crate::event::Event;
use crate::finding::Finding;
use crate::replay::{ReplayLine, classify_line};

/// Detection over the converted tests of one area.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaRow {
    pub tests: usize,
    pub detected: usize,
    /// Detector id → tests it fired on.
    pub by_detector: BTreeMap<String, usize>,
}

impl AreaRow {
    pub fn rate(&self) -> f64 {
        if self.tests == 0 {
            0.0
        } else {
            self.detected as f64 / self.tests as f64
        }
    }
}

/// One converted test's outcome.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub guid: String,
    pub technique: String,
    pub name: String,
    pub area: String,
    pub events: usize,
    pub detectors: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AtomicReport {
    /// By the extract's `agent_area`.
    pub areas: BTreeMap<String, AreaRow>,
    pub excluded: BTreeMap<String, usize>,
    pub outcomes: Vec<TestOutcome>,
}

impl AtomicReport {
    pub fn total(&self) -> AreaRow {
        let mut t = AreaRow::default();
        for r in self.areas.values() {
            t.tests += r.tests;
            t.detected += r.detected;
        }
        t
    }

    /// Detection grouped by another key of each test (e.g. its ATT&CK tactics).
    pub fn regroup(&self, key: impl Fn(&TestOutcome) -> Vec<String>) -> BTreeMap<String, AreaRow> {
        let mut out: BTreeMap<String, AreaRow> = BTreeMap::new();
        for o in &self.outcomes {
            for k in key(o) {
                add(out.entry(k).or_default(), o);
            }
        }
        out
    }
}

fn add(row: &mut AreaRow, o: &TestOutcome) {
    row.tests += 1;
    if !o.detectors.is_empty() {
        row.detected += 1;
    }
    for d in &o.detectors {
        *row.by_detector.entry(d.clone()).or_default() += 1;
    }
}

fn run_events(engine: &mut Engine, events: &[Event]) -> Vec<Finding> {
    let mut out = Vec::new();
    for ev in events {
        engine.process(ev, &mut out);
    }
    out
}

/// Every test through a fresh engine.
pub fn run_atomic(tests: &[AtomicTest], cfg: &DetectorsConfig, t0: DateTime<Utc>) -> AtomicReport {
    let mut rep = AtomicReport::default();
    for t in tests {
        let events = match atomic::synthesize(t, t0) {
            Ok(e) => e,
            Err(why) => {
                let name = match why {
                    Excluded::NotShell => "not a shell executor",
                    Excluded::OtherOs => "FreeBSD/macOS variant",
                    Excluded::Empty => "no command",
                };
                *rep.excluded.entry(name.into()).or_default() += 1;
                continue;
            }
        };
        let mut engine = Engine::new(cfg);
        let findings = run_events(&mut engine, &events);
        let mut detectors: Vec<String> = findings.into_iter().map(|f| f.detector).collect();
        detectors.sort();
        detectors.dedup();
        let o = TestOutcome {
            guid: t.guid.clone(),
            technique: t.technique.clone(),
            name: t.name.clone(),
            area: t.agent_area.clone(),
            events: events.len(),
            detectors,
        };
        add(rep.areas.entry(o.area.clone()).or_default(), &o);
        rep.outcomes.push(o);
    }
    rep
}

/// A benign corpus's outcome: every finding is a false positive.
#[derive(Debug, Clone, Default)]
pub struct CorpusReport {
    pub events: usize,
    pub findings: Vec<Finding>,
}

/// Replay one corpus (JSONL events and/or raw auth-log lines) through a fresh engine.
pub fn run_corpus(text: &str, cfg: &DetectorsConfig) -> Result<CorpusReport, String> {
    let mut engine = Engine::new(cfg);
    let mut dec = SessionDecoder::new(super::replay_context());
    let mut rep = CorpusReport::default();
    for (n, line) in text.lines().enumerate() {
        let ev = match classify_line(line) {
            ReplayLine::Skip => continue,
            ReplayLine::Json(Ok(ev)) => ev,
            ReplayLine::Json(Err(e)) => return Err(format!("line {}: {e}", n + 1)),
            ReplayLine::Raw(l) => match dec.decode_line(l) {
                LineOutcome::Event(ev) => ev,
                _ => continue,
            },
        };
        rep.events += 1;
        engine.process(&ev, &mut rep.findings);
    }
    Ok(rep)
}
