//! The detector that runs the single-event rules (rules as data, `rules/*.toml` and the local
//! rule directory). Rules are indexed by event kind, so an event is only offered to the rules
//! of its kind. A rule that keeps matching the same process (a miner reconnecting, a loop
//! writing a file) yields one finding per entity per `REPEAT_SECS`.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::Detector;
use crate::event::Event;
use crate::finding::Finding;
use crate::proctable::ProcessTable;
use crate::rules::{Rule, RuleSet};

/// The same rule on the same entity fires at most once in this many seconds.
pub const REPEAT_SECS: i64 = 60;
/// Suppression entries kept at most (then the map is cleared: worst case a repeat finding).
const MAX_RECENT: usize = 65_536;

pub struct RulesDetector {
    by_kind: HashMap<&'static str, Vec<Rule>>,
    recent: HashMap<(String, String), DateTime<Utc>>,
    count: usize,
}

impl RulesDetector {
    /// The enabled rules of `set` that are not in `disabled`.
    pub fn new(set: &RuleSet, disabled: &[String]) -> Self {
        let mut by_kind: HashMap<&'static str, Vec<Rule>> = HashMap::new();
        let mut count = 0;
        for r in set.rules() {
            if r.enabled && !disabled.contains(&r.id) {
                by_kind.entry(r.kind()).or_default().push(r.clone());
                count += 1;
            }
        }
        Self {
            by_kind,
            recent: HashMap::new(),
            count,
        }
    }

    /// How many rules are active.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Ids of the active rules.
    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .by_kind
            .values()
            .flatten()
            .map(|r| r.id.clone())
            .collect();
        v.sort();
        v
    }
}

impl Detector for RulesDetector {
    fn id(&self) -> &'static str {
        "rules"
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        let Some(rules) = self.by_kind.get(ev.kind.name()) else {
            return;
        };
        for rule in rules {
            let Some(f) = rule.check(ev, procs) else {
                continue;
            };
            let key = (rule.id.clone(), f.entity.key());
            if let Some(last) = self.recent.get(&key)
                && ev.ts - *last < TimeDelta::seconds(REPEAT_SECS)
                && ev.ts >= *last
            {
                continue;
            }
            if self.recent.len() >= MAX_RECENT {
                self.recent.clear();
            }
            self.recent.insert(key, ev.ts);
            out.push(f);
        }
    }
}
