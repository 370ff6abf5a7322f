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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AuthService, AuthSuccess, EventKind, Exec, Source};
    use crate::finding::Entity;
    use crate::rules::RuleFile;

    fn set() -> RuleSet {
        let text = r#"
[[rule]]
id = "nc_run"
title = "nc"
technique = "T1095"
severity = "low"
summary = "{name} by {parent.name}"
[rule.match]
kind = "exec"
name = "nc"

[[rule]]
id = "root_login"
title = "root login"
technique = "T1078.003"
severity = "medium"
entity = { host = "src" }
summary = "root from {src}"
[rule.match]
kind = "auth_success"
user = "root"

[[rule]]
id = "off_by_default"
title = "off"
technique = "T1095"
severity = "low"
enabled = false
summary = "x"
[rule.match]
kind = "exec"
"#;
        RuleSet::load(
            &[RuleFile {
                name: "t.toml".into(),
                text: text.into(),
            }],
            &[],
        )
        .expect("compiles")
    }

    fn exec(secs: i64, pid: u32) -> Event {
        Event::new(
            DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("in range"),
            Source::Ebpf,
            EventKind::Exec(Exec {
                pid,
                ppid: 1,
                uid: 0,
                gid: 0,
                comm: "nc".into(),
                filename: "/usr/bin/nc".into(),
                argv: vec!["nc".into()],
                argv_truncated: false,
                cgroup_id: 0,
            }),
        )
    }

    #[test]
    fn repeats_are_suppressed_per_entity_and_disabled_rules_do_not_run() {
        let mut d = RulesDetector::new(&set(), &[]);
        assert_eq!(d.ids(), ["nc_run", "root_login"]);
        // The same process (pid + start time from the table) seen again.
        let mut procs = ProcessTable::default();
        for pid in [7, 8] {
            procs.insert(crate::proctable::ProcInfo {
                pid,
                ppid: 1,
                exe: "/usr/bin/nc".into(),
                started: DateTime::from_timestamp(1_699_999_000, 0),
                ..Default::default()
            });
        }
        let mut out = Vec::new();
        for (secs, pid) in [(0, 7), (10, 7), (20, 8), (90, 7)] {
            d.on_event(&exec(secs, pid), &procs, &mut out);
        }
        let pids: Vec<String> = out.iter().map(|f| f.entity.key()).collect();
        assert_eq!(
            out.len(),
            3,
            "{pids:?}: pid 7 again within 60 s is suppressed"
        );
        assert_eq!(out[0].summary, "nc by -");
        let off = RulesDetector::new(&set(), &["nc_run".into()]);
        assert_eq!(off.ids(), ["root_login"]);
    }

    #[test]
    fn host_entity_comes_from_the_named_field() {
        let mut d = RulesDetector::new(&set(), &[]);
        let ev = Event::new(
            DateTime::from_timestamp(1_700_000_000, 0).expect("in range"),
            Source::Journald,
            EventKind::AuthSuccess(AuthSuccess {
                service: AuthService::Sshd,
                user: "root".into(),
                src: Some("198.51.100.7".parse().expect("host")),
                port: Some(22),
                method: Some("password".into()),
                pid: None,
            }),
        );
        let mut out = Vec::new();
        d.on_event(&ev, &ProcessTable::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0].entity, Entity::Host { .. }));
        assert_eq!(out[0].entity.key(), "host:198.51.100.7");
        assert_eq!(out[0].technique, "T1078.003");
        assert_eq!(out[0].summary, "root from 198.51.100.7");
    }
}
