//! The per-event step shared by the live pipeline and `innerwarden replay`: keep the process
//! table current, run every enabled detector, return what they found.

use crate::config::DetectorsConfig;
use crate::detect::{self, Detector};
use crate::event::Event;
use crate::finding::Finding;
use crate::proctable::{ProcInfo, ProcessTable};

pub struct Engine {
    procs: ProcessTable,
    detectors: Vec<Box<dyn Detector>>,
}

impl Engine {
    pub fn new(cfg: &DetectorsConfig) -> Self {
        Self {
            procs: ProcessTable::default(),
            detectors: detect::build(cfg),
        }
    }

    /// Add a detector built at the edge (one that needs files, such as Sigma rules).
    pub fn add_detector(&mut self, d: Box<dyn Detector>) {
        self.detectors.push(d);
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

    /// Enrich and detect one event; findings are appended to `out`.
    pub fn process(&mut self, ev: &Event, out: &mut Vec<Finding>) {
        self.procs.apply_before_detect(ev);
        for d in &mut self.detectors {
            d.on_event(ev, &self.procs, out);
        }
        self.procs.apply_after_detect(ev);
    }
}
