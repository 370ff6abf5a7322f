//! The per-event step shared by the live pipeline and `innerwarden replay`: keep the process
//! table current, run every enabled detector, then the correlator over the event and the
//! detectors' new findings, and return what they all found.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::config::{ConfigError, DetectorsConfig};
use crate::correlate::{self, CorrelateError, Correlator, RuleSource};
use crate::detect::{self, Detector, rules::RulesDetector};
use crate::event::Event;
use crate::finding::Finding;
use crate::proctable::{ProcInfo, ProcessTable};
use crate::rules::RuleSet;

pub struct Engine {
    procs: ProcessTable,
    detectors: Vec<Box<dyn Detector>>,
    rule_ids: Vec<String>,
    /// Every detector and rule id this engine knows (switched on or not): what a correlation
    /// rule's finding stage may name.
    known_ids: HashSet<String>,
    correlator: Correlator,
}

/// The embedded rules, compiled once per process.
pub fn embedded_rules() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        // The shipped rule files are compiled by the test
        // `rules::set::tests::embedded_rules_compile_and_cover_every_file`: a failure here is a
        // build that did not pass its tests, never an input problem.
        RuleSet::embedded().unwrap_or_else(|e| panic!("embedded rules do not compile:\n{e}"))
    })
}

impl Engine {
    /// Code detectors and the embedded rules. Ids in `cfg.disabled` that name nothing are
    /// ignored here; code that takes an operator's configuration uses [`Engine::try_new`].
    pub fn new(cfg: &DetectorsConfig) -> Self {
        Self::build(cfg, embedded_rules())
    }

    /// Code detectors and `rules` (embedded plus local), refusing a disabled id that is neither
    /// a detector nor a rule.
    pub fn try_new(cfg: &DetectorsConfig, rules: &RuleSet) -> Result<Self, ConfigError> {
        if let Some(id) = cfg
            .disabled
            .iter()
            .find(|id| !detect::ALL.contains(&id.as_str()) && rules.get(id).is_none())
        {
            return Err(ConfigError::Invalid {
                key: "detectors.disabled",
                problem: format!("unknown detector or rule id `{id}`"),
            });
        }
        Ok(Self::build(cfg, rules))
    }

    fn build(cfg: &DetectorsConfig, rules: &RuleSet) -> Self {
        let mut detectors = detect::build(cfg);
        let r = RulesDetector::new(rules, &cfg.disabled);
        let rule_ids = r.ids();
        if !r.is_empty() {
            detectors.push(Box::new(r));
        }
        let known_ids = detect::ALL
            .iter()
            .map(|s| (*s).to_owned())
            .chain(detectors.iter().map(|d| d.id().to_owned()))
            .chain(rules.rules().iter().map(|r| r.id.clone()))
            .collect();
        let mut engine = Self {
            procs: ProcessTable::default(),
            detectors,
            rule_ids,
            known_ids,
            correlator: Correlator::disabled(),
        };
        // The shipped correlation rules are compiled against the shipped detectors and rules by
        // `correlate::tests::shipped_rules_compile` and `tests/correlation_fixtures.rs`: a
        // failure here is a build that did not pass its tests, never an input problem.
        if let Err(e) = engine.set_correlation(cfg, &[]) {
            panic!("embedded correlation rules do not compile: {e}");
        }
        engine
    }

    /// (Re)build the correlator: the shipped correlation rules (unless
    /// `detectors.correlation.embedded = false`), then `extra` (the configured directory's
    /// files, read by the edge; a rule there replaces a shipped one of the same id). Nothing
    /// when `detectors.correlation.enabled = false`.
    pub fn set_correlation(
        &mut self,
        cfg: &DetectorsConfig,
        extra: &[RuleSource],
    ) -> Result<(), CorrelateError> {
        let c = &cfg.correlation;
        self.correlator = if c.enabled {
            let mut sources = if c.embedded {
                correlate::embedded::sources()
            } else {
                Vec::new()
            };
            sources.extend(extra.iter().cloned());
            Correlator::new(correlate::compile(&sources, &self.known_ids)?, c)
        } else {
            Correlator::disabled()
        };
        Ok(())
    }

    pub fn correlator(&self) -> &Correlator {
        &self.correlator
    }

    /// Ids of the rules that are switched on.
    pub fn rule_ids(&self) -> &[String] {
        &self.rule_ids
    }

    /// Mutable access to the process table (the edge hands in user names).
    pub fn processes_mut(&mut self) -> &mut ProcessTable {
        &mut self.procs
    }

    /// Add a detector built at the edge (one that needs files, such as Sigma rules).
    pub fn add_detector(&mut self, d: Box<dyn Detector>) {
        self.detectors.push(d);
    }

    /// The log lines the detectors read (empty: none): what the journal sensor hands over as
    /// `log_line` events.
    pub fn log_want(&self) -> crate::sigma::LogWant {
        let mut w = crate::sigma::LogWant::default();
        for d in &self.detectors {
            w.extend(&d.log_want());
        }
        w
    }

    /// Seed the process table (from the edge's /proc scan at start).
    pub fn seed(&mut self, procs: impl IntoIterator<Item = ProcInfo>) {
        for p in procs {
            self.procs.insert(p);
        }
    }

    pub fn processes(&self) -> &ProcessTable {
        &self.procs
    }

    /// Ids of the code detectors that are switched on (`rules` stands for the rule engine).
    pub fn detector_ids(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.id()).collect()
    }

    /// Enrich, detect and correlate one event; findings are appended to `out`.
    pub fn process(&mut self, ev: &Event, out: &mut Vec<Finding>) {
        self.procs.apply_before_detect(ev);
        let first = out.len();
        for d in &mut self.detectors {
            d.on_event(ev, &self.procs, out);
        }
        let mut corr = Vec::new();
        self.correlator.on_event(ev, &self.procs, &mut corr);
        for f in &out[first..] {
            self.correlator.on_finding(f, &self.procs, &mut corr);
        }
        out.append(&mut corr);
        self.procs.apply_after_detect(ev);
    }
}
