//! The partial sequences ("runs") of one rule, indexed by join key, bounded in number.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::keys::KeyVal;

/// One piece of evidence of a run.
#[derive(Debug, Clone)]
pub enum Evidence {
    Event(Box<crate::event::Event>),
    /// A finding's summary object (findings are few; their own evidence is not copied).
    Finding(serde_json::Value),
}

impl Evidence {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Evidence::Event(e) => crate::detect::evidence(e),
            Evidence::Finding(v) => v.clone(),
        }
    }
}

/// One partial match of a rule's sequence.
#[derive(Debug, Clone)]
pub struct Run {
    pub start: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// Stages completed; the stage being filled is `stages[done]`.
    pub done: usize,
    /// Items counted toward the stage being filled.
    pub in_stage: u32,
    /// Distinct values seen in the stage being filled (bounded by the stage's count).
    pub distinct: Vec<String>,
    /// Keys the run is indexed under (one for equality joins; the tree's processes otherwise).
    pub anchors: Vec<KeyVal>,
    /// Kept as values and turned into JSON only when the run completes (most never do).
    pub evidence: Vec<Evidence>,
    /// One line per completed stage, for the summary.
    pub chain: Vec<String>,
    pub last_pid: Option<u32>,
    /// Technique of the last matched finding, for rules that take it from a finding stage.
    pub last_technique: Option<String>,
    pub partial_sent: bool,
}

impl Run {
    pub fn new(at: DateTime<Utc>, anchor: KeyVal) -> Self {
        Self {
            start: at,
            last: at,
            done: 0,
            in_stage: 0,
            distinct: Vec::new(),
            anchors: vec![anchor],
            evidence: Vec::new(),
            chain: Vec::new(),
            last_pid: None,
            last_technique: None,
            partial_sent: false,
        }
    }
}

/// A process tree may grow this many anchors (stage processes) per run.
const MAX_ANCHORS: usize = 16;

#[derive(Debug)]
pub struct Runs {
    runs: HashMap<u64, Run>,
    index: HashMap<KeyVal, Vec<u64>>,
    next: u64,
    capacity: usize,
    pub evicted_total: u64,
    pub expired_total: u64,
}

impl Runs {
    pub fn new(capacity: usize) -> Self {
        Self {
            runs: HashMap::new(),
            index: HashMap::new(),
            next: 0,
            capacity: capacity.max(1),
            evicted_total: 0,
            expired_total: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Run ids indexed under any of `keys`, each once, oldest first.
    pub fn under(&self, keys: &[KeyVal]) -> Vec<u64> {
        let mut ids: Vec<u64> = keys
            .iter()
            .filter_map(|k| self.index.get(k))
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn get(&self, id: u64) -> Option<&Run> {
        self.runs.get(&id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut Run> {
        self.runs.get_mut(&id)
    }

    pub fn insert(&mut self, run: Run) -> u64 {
        if self.runs.len() >= self.capacity {
            self.evict();
        }
        let id = self.next;
        self.next += 1;
        for k in &run.anchors {
            self.index.entry(k.clone()).or_default().push(id);
        }
        self.runs.insert(id, run);
        id
    }

    /// Index a run under one more key (a later stage's process in a tree).
    pub fn add_anchor(&mut self, id: u64, key: KeyVal) {
        let Some(run) = self.runs.get_mut(&id) else {
            return;
        };
        if run.anchors.contains(&key) || run.anchors.len() >= MAX_ANCHORS {
            return;
        }
        run.anchors.push(key.clone());
        self.index.entry(key).or_default().push(id);
    }

    pub fn remove(&mut self, id: u64) -> Option<Run> {
        let run = self.runs.remove(&id)?;
        for k in &run.anchors {
            if let Some(v) = self.index.get_mut(k) {
                v.retain(|&x| x != id);
                if v.is_empty() {
                    self.index.remove(k);
                }
            }
        }
        Some(run)
    }

    /// Forget runs that can no longer complete: started more than `within` before `now`.
    pub fn expire(&mut self, now: DateTime<Utc>, within: chrono::Duration) {
        let dead: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, r)| now - r.start > within)
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            self.remove(id);
            self.expired_total += 1;
        }
    }

    /// Full: forget the eighth of runs least recently advanced.
    fn evict(&mut self) {
        let n = (self.capacity / 8).max(1);
        let mut by_age: Vec<(DateTime<Utc>, u64)> =
            self.runs.iter().map(|(id, r)| (r.last, *id)).collect();
        by_age.sort_unstable();
        for (_, id) in by_age.into_iter().take(n) {
            self.remove(id);
            self.evicted_total += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_indexed() {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("in range");
        let mut r = Runs::new(16);
        for i in 0..40u32 {
            let mut run = Run::new(t0 + chrono::Duration::seconds(i.into()), KeyVal::Pid(i));
            run.last = run.start;
            r.insert(run);
        }
        assert!(r.len() <= 16);
        assert!(r.evicted_total >= 24);
        assert_eq!(r.under(&[KeyVal::Pid(39)]).len(), 1);
        assert!(r.under(&[KeyVal::Pid(0)]).is_empty());
        let id = r.under(&[KeyVal::Pid(39)])[0];
        r.add_anchor(id, KeyVal::Pid(1000));
        assert_eq!(r.under(&[KeyVal::Pid(1000)]), vec![id]);
        r.remove(id);
        assert!(r.under(&[KeyVal::Pid(1000)]).is_empty());
        r.expire(
            t0 + chrono::Duration::seconds(100),
            chrono::Duration::seconds(10),
        );
        assert!(r.is_empty());
        assert!(r.expired_total > 0);
    }
}
