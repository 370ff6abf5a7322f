//! Authentication patterns beyond a fast burst from one source (`ssh_bruteforce`):
//!
//! - `distributed_bruteforce` (T1110.001): many sources failing against one account.
//! - `slow_bruteforce` (T1110.001): one source failing steadily for an hour, never fast enough
//!   for `ssh_bruteforce`.
//! - `credential_stuffing` (T1110.004): one source trying many different accounts.
//! - `success_after_failures` (T1078): a successful login from a source that has just failed
//!   many times — the guess that worked.
//!
//! A failure counts as `ssh_bruteforce::attempts` says (echoes, summaries and disconnects are
//! zero). State is bounded per key; after a finding a key is quiet for its window.

use chrono::TimeDelta;

use super::ssh_bruteforce::attempts;
use super::tuning::AuthPatternsConfig;
use super::window::{Keyed, Recent, secs};
use super::{Detector, evidence};
use crate::event::{Event, EventKind, Host};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::ProcessTable;

const MAX_KEYS: usize = 50_000;
const MAX_ITEMS: usize = 512;
const MAX_EVIDENCE: usize = 10;

/// One failed attempt: who, from where, and the event as evidence.
#[derive(Debug, Clone)]
struct Attempt {
    user: Option<String>,
    src: Host,
    evidence: serde_json::Value,
}

fn failed_attempt(ev: &Event) -> Option<(Attempt, u32)> {
    let EventKind::AuthFailure(f) = &ev.kind else {
        return None;
    };
    let n = attempts(f);
    let src = f.src.clone()?;
    (n > 0).then(|| {
        (
            Attempt {
                user: f.user.clone(),
                src,
                evidence: evidence(ev),
            },
            n,
        )
    })
}

fn last_evidence<'a>(items: impl Iterator<Item = &'a Attempt>) -> Vec<serde_json::Value> {
    let all: Vec<_> = items.map(|a| a.evidence.clone()).collect();
    let skip = all.len().saturating_sub(MAX_EVIDENCE);
    all.into_iter().skip(skip).collect()
}

/// A window that fires: remember when, hand back its evidence, start over.
fn fire(r: &mut Recent<Attempt>) -> Vec<serde_json::Value> {
    r.last_fired = Some(r.last_seen);
    let evidence = last_evidence(r.iter());
    r.clear();
    evidence
}

fn finding(
    ev: &Event,
    id: &str,
    technique: &str,
    severity: Severity,
    entity: Entity,
    summary: String,
    evidence: Vec<serde_json::Value>,
) -> Finding {
    Finding {
        ts: ev.ts,
        detector: id.into(),
        technique: technique.into(),
        severity,
        entity,
        summary,
        evidence,
        author: None,
        stage: None,
    }
}

fn distinct<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = it.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Many sources, one account.
pub struct DistributedBruteforce {
    by_user: Keyed<String, Attempt>,
    sources: usize,
}

impl DistributedBruteforce {
    pub fn new(cfg: &AuthPatternsConfig) -> Self {
        Self {
            by_user: Keyed::new(secs(600), MAX_KEYS),
            sources: cfg.distributed_sources,
        }
    }
}

impl Default for DistributedBruteforce {
    fn default() -> Self {
        Self::new(&AuthPatternsConfig::default())
    }
}

impl Detector for DistributedBruteforce {
    fn id(&self) -> &'static str {
        "distributed_bruteforce"
    }

    fn on_event(&mut self, ev: &Event, _procs: &ProcessTable, out: &mut Vec<Finding>) {
        let Some((a, _)) = failed_attempt(ev) else {
            return;
        };
        let Some(user) = a.user.clone() else {
            return;
        };
        let window = self.by_user.window();
        let r = self.by_user.entry(&user, ev.ts);
        r.push(ev.ts, a, window, MAX_ITEMS);
        let srcs: Vec<String> = r.iter().map(|a| a.src.to_string()).collect();
        let srcs = distinct(srcs.iter().map(String::as_str));
        if srcs.len() >= self.sources && !r.recently_fired(window) {
            let summary = format!(
                "{} sources failed to log in as {user} within 10 minutes ({}, ...)",
                srcs.len(),
                srcs.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            );
            let ev_list = fire(r);
            out.push(finding(
                ev,
                self.id(),
                "T1110.001",
                Severity::High,
                Entity::User { name: user },
                summary,
                ev_list,
            ));
        }
    }
}

/// One source, steady and slow.
pub struct SlowBruteforce {
    hour: Keyed<Host, Attempt>,
    minute: Keyed<Host, u32>,
    /// Sources that reached a burst, and when (exempt for an hour: `ssh_bruteforce`'s).
    fast: std::collections::HashMap<Host, chrono::DateTime<chrono::Utc>>,
    failures: usize,
    max_per_minute: usize,
}

impl SlowBruteforce {
    pub fn new(cfg: &AuthPatternsConfig) -> Self {
        Self {
            hour: Keyed::new(secs(3600), MAX_KEYS),
            minute: Keyed::new(secs(60), MAX_KEYS),
            fast: Default::default(),
            failures: cfg.slow_failures,
            max_per_minute: cfg.slow_max_per_minute,
        }
    }
}

impl Default for SlowBruteforce {
    fn default() -> Self {
        Self::new(&AuthPatternsConfig::default())
    }
}

impl Detector for SlowBruteforce {
    fn id(&self) -> &'static str {
        "slow_bruteforce"
    }

    fn on_event(&mut self, ev: &Event, _procs: &ProcessTable, out: &mut Vec<Finding>) {
        let Some((a, n)) = failed_attempt(ev) else {
            return;
        };
        let src = a.src.clone();
        let m = self.minute.entry(&src, ev.ts);
        for _ in 0..n {
            m.push(ev.ts, 1, secs(60), MAX_ITEMS);
        }
        if m.len() >= self.max_per_minute {
            if self.fast.len() >= MAX_KEYS {
                self.fast.clear();
            }
            self.fast.insert(src.clone(), ev.ts);
        }
        let was_fast = self
            .fast
            .get(&src)
            .is_some_and(|t| ev.ts - *t <= TimeDelta::seconds(3600));
        let window = self.hour.window();
        let r = self.hour.entry(&src, ev.ts);
        for _ in 0..n {
            r.push(ev.ts, a.clone(), window, MAX_ITEMS);
        }
        if r.len() >= self.failures && !r.recently_fired(window) && !was_fast {
            let summary = format!(
                "{} failed logins from {src} within an hour, never {} in a minute",
                r.len(),
                self.max_per_minute
            );
            let ev_list = fire(r);
            out.push(finding(
                ev,
                self.id(),
                "T1110.001",
                Severity::Medium,
                Entity::Host { host: src },
                summary,
                ev_list,
            ));
        }
    }
}

/// One source, many accounts.
pub struct CredentialStuffing {
    by_src: Keyed<Host, Attempt>,
    users: usize,
}

impl CredentialStuffing {
    pub fn new(cfg: &AuthPatternsConfig) -> Self {
        Self {
            by_src: Keyed::new(secs(600), MAX_KEYS),
            users: cfg.stuffing_users,
        }
    }
}

impl Default for CredentialStuffing {
    fn default() -> Self {
        Self::new(&AuthPatternsConfig::default())
    }
}

impl Detector for CredentialStuffing {
    fn id(&self) -> &'static str {
        "credential_stuffing"
    }

    fn on_event(&mut self, ev: &Event, _procs: &ProcessTable, out: &mut Vec<Finding>) {
        let Some((a, _)) = failed_attempt(ev) else {
            return;
        };
        if a.user.is_none() {
            return;
        }
        let src = a.src.clone();
        let window = self.by_src.window();
        let r = self.by_src.entry(&src, ev.ts);
        r.push(ev.ts, a, window, MAX_ITEMS);
        let users: Vec<String> = distinct(r.iter().filter_map(|a| a.user.as_deref()))
            .into_iter()
            .map(str::to_owned)
            .collect();
        if users.len() >= self.users && !r.recently_fired(window) {
            let summary = format!(
                "{src} tried {} different accounts within 10 minutes ({}, ...)",
                users.len(),
                users.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
            );
            let ev_list = fire(r);
            out.push(finding(
                ev,
                self.id(),
                "T1110.004",
                Severity::High,
                Entity::Host { host: src },
                summary,
                ev_list,
            ));
        }
    }
}

/// A success from a source that just failed many times.
pub struct SuccessAfterFailures {
    by_src: Keyed<Host, Attempt>,
    after: usize,
}

impl SuccessAfterFailures {
    pub fn new(cfg: &AuthPatternsConfig) -> Self {
        Self {
            by_src: Keyed::new(secs(600), MAX_KEYS),
            after: cfg.success_after,
        }
    }
}

impl Default for SuccessAfterFailures {
    fn default() -> Self {
        Self::new(&AuthPatternsConfig::default())
    }
}

impl Detector for SuccessAfterFailures {
    fn id(&self) -> &'static str {
        "success_after_failures"
    }

    fn on_event(&mut self, ev: &Event, _procs: &ProcessTable, out: &mut Vec<Finding>) {
        if let Some((a, n)) = failed_attempt(ev) {
            let window = self.by_src.window();
            let src = a.src.clone();
            let r = self.by_src.entry(&src, ev.ts);
            for _ in 0..n {
                r.push(ev.ts, a.clone(), window, MAX_ITEMS);
            }
            return;
        }
        let EventKind::AuthSuccess(s) = &ev.kind else {
            return;
        };
        let Some(src) = s.src.clone() else {
            return;
        };
        let Some(r) = self.by_src.get(&src) else {
            return;
        };
        let recent = r.count_since(ev.ts - TimeDelta::seconds(600));
        if recent >= self.after {
            let mut ev_list = last_evidence(r.iter());
            ev_list.push(evidence(ev));
            let summary = format!(
                "{} logged in from {src} ({}) after {recent} failed attempts",
                s.user,
                s.method.as_deref().unwrap_or("unknown method")
            );
            self.by_src.entry(&src, ev.ts).clear();
            out.push(finding(
                ev,
                self.id(),
                "T1078",
                Severity::Critical,
                Entity::Host { host: src },
                summary,
                ev_list,
            ));
        }
    }
}
