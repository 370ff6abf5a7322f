//! The per-event step shared by the live pipeline and `innerwarden replay`: keep the process
//! table current, run every enabled detector, return what they found.

use std::sync::OnceLock;

use crate::config::{ConfigError, DetectorsConfig};
use crate::detect::{self, Detector, rules::RulesDetector};
use crate::event::Event;
use crate::finding::Finding;
use crate::proctable::{ProcInfo, ProcessTable};
use crate::rules::RuleSet;

pub struct Engine {
    procs: ProcessTable,
    detectors: Vec<Box<dyn Detector>>,
    rule_ids: Vec<String>,
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
        Self {
            procs: ProcessTable::default(),
            detectors,
            rule_ids,
        }
    }

    /// Ids of the rules that are switched on.
    pub fn rule_ids(&self) -> &[String] {
        &self.rule_ids
    }

    /// Mutable access to the process table (the edge hands in user names).
    pub fn processes_mut(&mut self) -> &mut ProcessTable {
        &mut self.procs
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

    /// Enrich and detect one event; findings are appended to `out`.
    pub fn process(&mut self, ev: &Event, out: &mut Vec<Finding>) {
        self.procs.apply_before_detect(ev);
        for d in &mut self.detectors {
            d.on_event(ev, &self.procs, out);
        }
        self.procs.apply_after_detect(ev);
    }
}
