//! The per-event step shared by the live pipeline and `innerwarden replay`: keep the process
//! table current, run every enabled detector, then the correlator over the event and the
//! detectors' new findings, and return what they all found.

use std::collections::HashSet;

use crate::config::DetectorsConfig;
use crate::correlate::{self, CorrelateError, Correlator, RuleSource};
use crate::detect::{self, Detector};
use crate::event::Event;
use crate::finding::Finding;
use crate::proctable::{ProcInfo, ProcessTable};

pub struct Engine {
    procs: ProcessTable,
    detectors: Vec<Box<dyn Detector>>,
    correlator: Correlator,
}

impl Engine {
    /// Detectors and the shipped correlation rules as configured. The shipped rules are
    /// compiled by a unit test, so they cannot fail here; a configured rule directory is read by
    /// the edge and given to [`Self::with_correlation`].
    pub fn new(cfg: &DetectorsConfig) -> Self {
        match Self::with_correlation(cfg, &[]) {
            Ok(e) => e,
            // Only reachable if the embedded files are broken, which `shipped_rules_compile`
            // refuses at test time.
            Err(e) => panic!("embedded correlation rules: {e}"),
        }
    }

    /// Detectors, and correlation rules: the shipped ones (unless `embedded = false`) then
    /// `extra` (the configured directory's files, which override shipped rules of the same id).
    pub fn with_correlation(
        cfg: &DetectorsConfig,
        extra: &[RuleSource],
    ) -> Result<Self, CorrelateError> {
        let detectors = detect::build(cfg);
        let c = &cfg.correlation;
        let correlator = if c.enabled {
            let known: HashSet<String> = detect::ALL
                .iter()
                .copied()
                .chain(detectors.iter().map(|d| d.id()))
                .map(str::to_owned)
                .collect();
            let mut sources = if c.embedded {
                correlate::embedded::sources()
            } else {
                Vec::new()
            };
            sources.extend(extra.iter().cloned());
            Correlator::new(correlate::compile(&sources, &known)?, c)
        } else {
            Correlator::disabled()
        };
        Ok(Self {
            procs: ProcessTable::default(),
            detectors,
            correlator,
        })
    }

    pub fn correlator(&self) -> &Correlator {
        &self.correlator
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

    /// Ids of the detectors that are switched on.
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
