//! [`SigmaDetector`]: runs the loaded rules of each category over the events of that category.
//! Stateless per event (Sigma single-event rules); one finding per matching rule.

use std::collections::HashMap;

use super::RuleSet;
use super::field::{Category, Fields};
use super::logscope::LogWant;
use super::rule::SigmaRule;
use crate::detect::{Detector, evidence};
use crate::event::{Event, EventKind, Host};
use crate::finding::{Entity, Finding};
use crate::proctable::ProcessTable;

/// Detector id in findings and configuration.
pub const ID: &str = "sigma";

pub struct SigmaDetector {
    process: Vec<SigmaRule>,
    file: Vec<SigmaRule>,
    network: Vec<SigmaRule>,
    log: Vec<SigmaRule>,
    /// uid → user name, for the `User` field (supplied by the edge from the passwd database).
    users: HashMap<u32, String>,
}

impl SigmaDetector {
    pub fn new(set: RuleSet, users: HashMap<u32, String>) -> Self {
        let mut d = Self {
            process: Vec::new(),
            file: Vec::new(),
            network: Vec::new(),
            log: Vec::new(),
            users,
        };
        for r in set.rules {
            match r.category {
                Category::ProcessCreation => d.process.push(r),
                Category::FileEvent => d.file.push(r),
                Category::NetworkConnection => d.network.push(r),
                Category::LogLine => d.log.push(r),
            }
        }
        d
    }

    /// Number of rules loaded.
    pub fn len(&self) -> usize {
        self.process.len() + self.file.len() + self.network.len() + self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rules matching one event (for tests and `sigma check` diagnostics).
    pub fn matching<'s>(&'s self, ev: &Event, procs: &ProcessTable) -> Vec<&'s SigmaRule> {
        let rules = match Category::of(ev) {
            Some(Category::ProcessCreation) => &self.process,
            Some(Category::FileEvent) => &self.file,
            Some(Category::NetworkConnection) => &self.network,
            Some(Category::LogLine) => &self.log,
            None => return Vec::new(),
        };
        let in_scope = |r: &SigmaRule| match (&ev.kind, r.scope) {
            (EventKind::LogLine(l), Some(s)) => s.admits(&l.service, l.facility),
            _ => true,
        };
        let mut fields = Fields::new(ev, procs, &self.users);
        rules
            .iter()
            .filter(|r| in_scope(r) && r.matches(&mut fields))
            .collect()
    }
}

fn entity(ev: &Event, procs: &ProcessTable) -> Entity {
    let ts_ns = |t: chrono::DateTime<chrono::Utc>| t.timestamp_nanos_opt().map_or(0, |n| n as u64);
    if let EventKind::Exec(e) = &ev.kind {
        return Entity::Process {
            pid: e.pid,
            start_ns: ts_ns(ev.ts),
            exe: e.filename.clone(),
        };
    }
    if let Some(pid) = ev.kind.pid() {
        let p = procs.get(pid);
        return Entity::Process {
            pid,
            start_ns: p.and_then(|p| p.started).map_or(0, ts_ns),
            exe: p.map(|p| p.exe.clone()).unwrap_or_default(),
        };
    }
    match &ev.kind {
        // An accept completed without process context: the remote client is the actor.
        EventKind::TcpAccept(c) => Entity::Host {
            host: Host::from(c.saddr),
        },
        EventKind::TcpConnect(c) => Entity::Host {
            host: Host::from(c.daddr),
        },
        _ => Entity::Host {
            host: Host::Name("localhost".into()),
        },
    }
}

impl Detector for SigmaDetector {
    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        let hits = self.matching(ev, procs);
        if hits.is_empty() {
            return;
        }
        let ent = entity(ev, procs);
        for r in hits {
            out.push(Finding {
                ts: ev.ts,
                detector: ID.to_owned(),
                technique: r.technique.clone().unwrap_or_default(),
                severity: r.severity,
                entity: ent.clone(),
                summary: format!("Sigma rule \"{}\" ({}) matched {}", r.title, r.id, ent),
                evidence: vec![evidence(ev)],
                author: r.author.clone(),
                stage: None,
            });
        }
    }

    /// The log lines the loaded keyword rules read (empty: none).
    fn log_want(&self) -> LogWant {
        self.log.iter().filter_map(|r| r.scope).collect()
    }
}
