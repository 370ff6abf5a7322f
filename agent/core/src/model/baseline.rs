//! The host's behaviour baseline: decaying counts of what it normally does, so the model can
//! ask "was this ever seen here?". Pure: the edge feeds it events and persists what
//! [`Baseline::take_dirty`] returns (SQLite `baseline_counts`), and loads it back at start.
//!
//! Keys by kind:
//! - `parent_child`: `<parent exe name>><child exe path>` from exec events (`?` when the
//!   parent's image was not seen exec'ing since the agent started);
//! - `binary`: the exec'd path;
//! - `destination`: `<exe>><daddr>:<dport>` from outgoing TCP connections;
//! - `listen_port`: the port of a listening socket;
//! - `login_source`: `<user><<source>` and `*<<source>` from successful logins.
//!
//! A count decays by half every `half_life` (so a habit dropped a year ago is "new" again) and
//! a key counts as new while its decayed count is below [`NEW_BELOW`]: the event that raised
//! the incident is itself counted before scoring, so "seen at most once, or only long ago".

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};

use super::context::Rarity;
use crate::event::{Event, EventKind};
use crate::finding::{Entity, Finding};
use crate::proctable::basename;

/// A key is new while its decayed count is below this.
pub const NEW_BELOW: f64 = 1.5;
/// At most this many pids are remembered for parent lookup.
const MAX_PIDS: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    ParentChild,
    Binary,
    Destination,
    ListenPort,
    LoginSource,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::ParentChild,
        Kind::Binary,
        Kind::Destination,
        Kind::ListenPort,
        Kind::LoginSource,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ParentChild => "parent_child",
            Kind::Binary => "binary",
            Kind::Destination => "destination",
            Kind::ListenPort => "listen_port",
            Kind::LoginSource => "login_source",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A count as of `last`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub count: f64,
    pub last: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Baseline {
    half_life: TimeDelta,
    learning: TimeDelta,
    max_keys: usize,
    started: Option<DateTime<Utc>>,
    entries: HashMap<(Kind, String), Entry>,
    dirty: HashSet<(Kind, String)>,
    pids: HashMap<u32, String>,
}

impl Baseline {
    pub fn new(half_life: TimeDelta, learning: TimeDelta, max_keys: usize) -> Self {
        Self {
            half_life,
            learning,
            max_keys: max_keys.max(16),
            started: None,
            entries: HashMap::new(),
            dirty: HashSet::new(),
            pids: HashMap::new(),
        }
    }

    /// When the baseline started learning (the first event it saw, or what was persisted).
    pub fn started(&self) -> Option<DateTime<Utc>> {
        self.started
    }

    pub fn set_started(&mut self, t: DateTime<Utc>) {
        self.started = Some(t);
    }

    /// Still inside the learning period at `now`.
    pub fn learning(&self, now: DateTime<Utc>) -> bool {
        self.started.is_none_or(|s| now - s < self.learning)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn decayed(&self, e: &Entry, now: DateTime<Utc>) -> f64 {
        let dt = (now - e.last).num_milliseconds().max(0) as f64;
        let hl = self.half_life.num_milliseconds().max(1) as f64;
        e.count * 0.5f64.powf(dt / hl)
    }

    /// The decayed count of a key at `now`.
    pub fn count(&self, kind: Kind, key: &str, now: DateTime<Utc>) -> f64 {
        self.entries
            .get(&(kind, key.to_owned()))
            .map_or(0.0, |e| self.decayed(e, now))
    }

    pub fn is_new(&self, kind: Kind, key: &str, now: DateTime<Utc>) -> bool {
        self.count(kind, key, now) < NEW_BELOW
    }

    /// Load a persisted entry (at start).
    pub fn load(&mut self, kind: Kind, key: String, entry: Entry) {
        self.entries.insert((kind, key), entry);
    }

    /// Entries changed since the last call, to persist.
    pub fn take_dirty(&mut self) -> Vec<(Kind, String, Entry)> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out: Vec<_> = dirty
            .into_iter()
            .filter_map(|k| self.entries.get(&k).map(|e| (k.0, k.1, *e)))
            .collect();
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out
    }

    fn bump(&mut self, kind: Kind, key: String, ts: DateTime<Utc>) {
        if self.entries.len() >= self.max_keys && !self.entries.contains_key(&(kind, key.clone())) {
            self.evict(ts);
        }
        let prev = self.entries.get(&(kind, key.clone())).copied();
        let entry = match prev {
            Some(e) => Entry {
                count: self.decayed(&e, ts) + 1.0,
                last: e.last.max(ts),
            },
            None => Entry {
                count: 1.0,
                last: ts,
            },
        };
        self.entries.insert((kind, key.clone()), entry);
        self.dirty.insert((kind, key));
    }

    /// Drop the weakest eighth of the keys (amortised).
    fn evict(&mut self, now: DateTime<Utc>) {
        let mut by_count: Vec<(f64, (Kind, String))> = self
            .entries
            .iter()
            .map(|(k, e)| (self.decayed(e, now), k.clone()))
            .collect();
        by_count.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        for (_, k) in by_count.into_iter().take(self.max_keys / 8) {
            self.entries.remove(&k);
            self.dirty.remove(&k);
        }
    }

    fn exe_of(&self, pid: u32, comm: &str) -> String {
        self.pids
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| comm.to_owned())
    }

    /// Count what this event says the host does.
    pub fn observe(&mut self, ev: &Event) {
        if self.started.is_none() {
            self.started = Some(ev.ts);
        }
        for (kind, key) in self.keys(ev) {
            self.bump(kind, key, ev.ts);
        }
        match &ev.kind {
            EventKind::Exec(e) => {
                if self.pids.len() >= MAX_PIDS {
                    self.pids.clear();
                }
                self.pids.insert(e.pid, e.filename.clone());
            }
            EventKind::Exit(x) => {
                self.pids.remove(&x.pid);
            }
            _ => {}
        }
    }

    /// The baseline keys an event touches.
    fn keys(&self, ev: &Event) -> Vec<(Kind, String)> {
        match &ev.kind {
            EventKind::Exec(e) => {
                let parent = self
                    .pids
                    .get(&e.ppid)
                    .map_or("?", |p| basename(p))
                    .to_owned();
                vec![
                    (Kind::Binary, e.filename.clone()),
                    (Kind::ParentChild, format!("{parent}>{}", e.filename)),
                ]
            }
            EventKind::TcpConnect(c) => {
                let exe = c
                    .pid
                    .map_or_else(|| c.comm.clone(), |p| self.exe_of(p, &c.comm));
                vec![(
                    Kind::Destination,
                    format!("{exe}>{}:{}", crate::event::normalize_ip(c.daddr), c.dport),
                )]
            }
            EventKind::TcpListen(l) => vec![(Kind::ListenPort, l.port.to_string())],
            EventKind::AuthSuccess(s) => match &s.src {
                Some(src) => vec![
                    (Kind::LoginSource, format!("{}<{src}", s.user)),
                    (Kind::LoginSource, format!("*<{src}")),
                ],
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Rarity of a finding's evidence (and, for a remote host, of the host as a login source).
    pub fn rarity(&self, finding: &Finding, now: DateTime<Utc>) -> Rarity {
        let mut r = Rarity::default();
        let mut auth_checked = false;
        for v in &finding.evidence {
            let Ok(ev) = serde_json::from_value::<Event>(v.clone()) else {
                continue;
            };
            match &ev.kind {
                EventKind::AuthFailure(a) => {
                    if let Some(src) = &a.src {
                        auth_checked = true;
                        let user = a.user.as_deref().unwrap_or("*");
                        r.login_source |=
                            self.is_new(Kind::LoginSource, &format!("{user}<{src}"), now);
                    }
                }
                EventKind::AuthSuccess(a) => {
                    if let Some(src) = &a.src {
                        auth_checked = true;
                        r.login_source |=
                            self.is_new(Kind::LoginSource, &format!("{}<{src}", a.user), now);
                    }
                }
                _ => {
                    for (kind, key) in self.keys(&ev) {
                        let new = self.is_new(kind, &key, now);
                        match kind {
                            Kind::ParentChild => r.parent_child |= new,
                            Kind::Binary => r.binary |= new,
                            Kind::Destination => r.destination |= new,
                            Kind::ListenPort => r.listen_port |= new,
                            Kind::LoginSource => r.login_source |= new,
                        }
                    }
                }
            }
        }
        if !auth_checked && let Entity::Host { host } = &finding.entity {
            auth_checked = true;
            r.login_source = self.is_new(Kind::LoginSource, &format!("*<{host}"), now);
        }
        r.known_login_source = auth_checked && !r.login_source;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AuthService, AuthSuccess, Exec, Source};

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("in range")
    }

    fn exec(ts: i64, pid: u32, ppid: u32, file: &str) -> Event {
        Event::new(
            t(ts),
            Source::Ebpf,
            EventKind::Exec(Exec {
                pid,
                ppid,
                uid: 0,
                gid: 0,
                comm: basename(file).into(),
                filename: file.into(),
                argv: vec![],
                argv_truncated: false,
                cgroup_id: 0,
            }),
        )
    }

    fn baseline() -> Baseline {
        Baseline::new(TimeDelta::days(30), TimeDelta::days(7), 1000)
    }

    #[test]
    fn a_pair_seen_twice_is_no_longer_new_and_decays_back() {
        let mut b = baseline();
        b.observe(&exec(0, 10, 1, "/usr/sbin/nginx"));
        b.observe(&exec(1, 11, 10, "/bin/sh"));
        assert!(b.is_new(Kind::ParentChild, "nginx>/bin/sh", t(1)));
        b.observe(&exec(2, 12, 10, "/bin/sh"));
        assert!(!b.is_new(Kind::ParentChild, "nginx>/bin/sh", t(2)));
        assert!(b.is_new(Kind::ParentChild, "?>/bin/sh", t(2)));
        // Two half-lives later the count is 0.5: new again.
        let later = t(2) + TimeDelta::days(60);
        assert!(b.is_new(Kind::ParentChild, "nginx>/bin/sh", later));
        assert!((b.count(Kind::Binary, "/bin/sh", later) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn learning_lasts_the_configured_period_from_the_first_event() {
        let mut b = baseline();
        assert!(b.learning(t(0)));
        b.observe(&exec(0, 10, 1, "/bin/true"));
        assert!(b.learning(t(0) + TimeDelta::days(6)));
        assert!(!b.learning(t(0) + TimeDelta::days(7)));
    }

    #[test]
    fn dirty_entries_are_handed_out_once_and_reload_exactly() {
        let mut b = baseline();
        b.observe(&exec(0, 10, 1, "/bin/true"));
        let dirty = b.take_dirty();
        assert_eq!(dirty.len(), 2);
        assert!(b.take_dirty().is_empty());
        let mut c = baseline();
        for (k, key, e) in dirty {
            c.load(k, key, e);
        }
        assert_eq!(
            c.count(Kind::Binary, "/bin/true", t(5)),
            b.count(Kind::Binary, "/bin/true", t(5))
        );
    }

    #[test]
    fn a_full_baseline_evicts_its_weakest_keys() {
        let mut b = Baseline::new(TimeDelta::days(30), TimeDelta::days(7), 16);
        for i in 0..100 {
            b.observe(&exec(i, 1000 + i as u32, 1, &format!("/bin/x{i}")));
        }
        assert!(b.len() <= 16, "{}", b.len());
    }

    #[test]
    fn a_known_login_source_is_not_new() {
        let mut b = baseline();
        let ok = Event::new(
            t(0),
            Source::Authlog,
            EventKind::AuthSuccess(AuthSuccess {
                service: AuthService::Sshd,
                user: "alice".into(),
                src: Some("198.51.100.7".parse().expect("host")),
                port: None,
                method: None,
                pid: None,
            }),
        );
        b.observe(&ok);
        b.observe(&ok);
        let finding = |host: &str| Finding {
            ts: t(10),
            detector: "ssh_bruteforce".into(),
            technique: "T1110.001".into(),
            severity: crate::finding::Severity::High,
            entity: Entity::Host {
                host: host.parse().expect("host"),
            },
            summary: String::new(),
            evidence: vec![],
            author: None,
            stage: None,
        };
        let known = b.rarity(&finding("198.51.100.7"), t(10));
        assert!(!known.login_source && known.known_login_source);
        let stranger = b.rarity(&finding("203.0.113.9"), t(10));
        assert!(stranger.login_source && !stranger.known_login_source);
        assert_eq!(Kind::parse("login_source"), Some(Kind::LoginSource));
        assert_eq!(Kind::parse("bogus"), None);
    }
}
