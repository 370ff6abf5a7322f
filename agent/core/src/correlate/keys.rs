//! Join keys: what of an event or a finding the stages of a sequence are tied by, and the
//! small session map that lets a process inside an SSH login be joined to the login's source
//! address and user.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::rule::{JoinKind, TreeRoot};
use crate::event::{AuthService, Event, EventKind, Host};
use crate::finding::{Entity, Finding};
use crate::proctable::{MAX_ANCESTRY, ProcessTable};

/// One value of a join key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyVal {
    Host(Host),
    User(String),
    /// A process (tree anchor).
    Pid(u32),
    /// An SSH session, by the pid of the sshd process that logged the accepted login.
    Session(u32),
    Unit(String),
}

impl std::fmt::Display for KeyVal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyVal::Host(h) => write!(f, "source {h}"),
            KeyVal::User(u) => write!(f, "user {u}"),
            KeyVal::Pid(p) => write!(f, "process tree of pid {p}"),
            KeyVal::Session(p) => write!(f, "ssh session (sshd pid {p})"),
            KeyVal::Unit(u) => write!(f, "unit {u}"),
        }
    }
}

/// What the stages of a rule are matched against.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    Event(&'a Event),
    Finding(&'a Finding),
}

impl Item<'_> {
    pub fn ts(&self) -> DateTime<Utc> {
        match self {
            Item::Event(e) => e.ts,
            Item::Finding(f) => f.ts,
        }
    }

    /// The process this item is about, if any.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Item::Event(e) => e.kind.pid(),
            Item::Finding(f) => match &f.entity {
                Entity::Process { pid, .. } => Some(*pid),
                _ => None,
            },
        }
    }
}

/// An accepted SSH login, remembered by its sshd pid.
#[derive(Debug, Clone)]
struct Session {
    src: Option<Host>,
    user: String,
    at: DateTime<Utc>,
}

/// sshd pid → the login it logged. Bounded: the oldest logins are forgotten first.
#[derive(Debug)]
pub struct Sessions {
    map: HashMap<u32, Session>,
    capacity: usize,
    pub evicted_total: u64,
}

impl Sessions {
    pub fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            capacity: capacity.max(1),
            evicted_total: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Learn from an event (an accepted sshd login opens a session; its exit ends it).
    pub fn observe(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::AuthSuccess(a) if a.service == AuthService::Sshd => {
                let Some(pid) = a.pid else { return };
                if self.map.len() >= self.capacity && !self.map.contains_key(&pid) {
                    self.evict();
                }
                self.map.insert(
                    pid,
                    Session {
                        src: a.src.clone(),
                        user: a.user.clone(),
                        at: ev.ts,
                    },
                );
            }
            EventKind::Exit(x) => {
                self.map.remove(&x.pid);
            }
            _ => {}
        }
    }

    fn evict(&mut self) {
        let n = (self.capacity / 8).max(1);
        let mut by_age: Vec<(DateTime<Utc>, u32)> =
            self.map.iter().map(|(p, s)| (s.at, *p)).collect();
        by_age.sort_unstable();
        for (_, pid) in by_age.into_iter().take(n) {
            self.map.remove(&pid);
            self.evicted_total += 1;
        }
    }

    /// The session a process runs in: the nearest of itself and its ancestors that is a known
    /// sshd login.
    fn of_pid(&self, pid: u32, procs: &ProcessTable) -> Option<(u32, &Session)> {
        lineage(pid, procs)
            .into_iter()
            .find_map(|p| self.map.get(&p).map(|s| (p, s)))
    }
}

/// `pid`, its ancestors nearest first, and the last known ancestor's parent pid (which may not
/// be in the table): the pids a process-tree or session join may find an anchor under.
pub fn lineage(pid: u32, procs: &ProcessTable) -> Vec<u32> {
    let mut out = vec![pid];
    let mut last_ppid = procs.get(pid).map(|p| p.ppid);
    for a in procs.ancestors(pid) {
        out.push(a.pid);
        last_ppid = Some(a.ppid);
    }
    if let Some(pp) = last_ppid
        && pp != 0
        && !out.contains(&pp)
        && out.len() <= MAX_ANCESTRY
    {
        out.push(pp);
    }
    out
}

/// The values of `join` this item carries (several for a process tree: the process and its
/// ancestors, any of which may be a run's anchor).
pub fn keys_of(item: Item<'_>, join: JoinKind, procs: &ProcessTable, s: &Sessions) -> Vec<KeyVal> {
    let session = || item.pid().and_then(|p| s.of_pid(p, procs));
    match join {
        JoinKind::Source => {
            let direct = match item {
                Item::Event(e) => match &e.kind {
                    EventKind::AuthFailure(a) => a.src.clone(),
                    EventKind::AuthSuccess(a) => a.src.clone(),
                    EventKind::TcpAccept(c) => Some(Host::from(c.saddr)),
                    _ => None,
                },
                Item::Finding(f) => match &f.entity {
                    Entity::Host { host } => Some(host.clone()),
                    _ => None,
                },
            };
            direct
                .or_else(|| session().and_then(|(_, s)| s.src.clone()))
                .map(KeyVal::Host)
                .into_iter()
                .collect()
        }
        JoinKind::User => {
            let direct = match item {
                Item::Event(e) => match &e.kind {
                    EventKind::AuthFailure(a) => a.user.clone(),
                    EventKind::AuthSuccess(a) => Some(a.user.clone()),
                    EventKind::Sudo(x) => Some(x.user.clone()),
                    EventKind::Su(x) => Some(x.user.clone()),
                    _ => None,
                },
                Item::Finding(f) => match &f.entity {
                    Entity::User { name } => Some(name.clone()),
                    _ => None,
                },
            };
            direct
                .or_else(|| session().map(|(_, s)| s.user.clone()))
                .map(KeyVal::User)
                .into_iter()
                .collect()
        }
        JoinKind::Session => {
            if let Item::Event(Event {
                kind: EventKind::AuthSuccess(a),
                ..
            }) = item
                && a.service == AuthService::Sshd
            {
                return a.pid.map(KeyVal::Session).into_iter().collect();
            }
            session()
                .map(|(p, _)| KeyVal::Session(p))
                .into_iter()
                .collect()
        }
        JoinKind::Unit => item
            .pid()
            .and_then(|p| {
                lineage(p, procs)
                    .into_iter()
                    .find_map(|q| procs.get(q).and_then(|i| i.unit.clone()))
            })
            .map(KeyVal::Unit)
            .into_iter()
            .collect(),
        JoinKind::ProcessTree => item
            .pid()
            .map(|p| lineage(p, procs).into_iter().map(KeyVal::Pid).collect())
            .unwrap_or_default(),
    }
}

/// The anchor a first stage opens a run under.
pub fn start_key(
    item: Item<'_>,
    join: JoinKind,
    root: TreeRoot,
    procs: &ProcessTable,
    s: &Sessions,
) -> Option<KeyVal> {
    if join != JoinKind::ProcessTree {
        return keys_of(item, join, procs, s).into_iter().next();
    }
    let pid = item.pid()?;
    match root {
        TreeRoot::Itself => Some(KeyVal::Pid(pid)),
        TreeRoot::Parent => {
            let ppid = match item {
                Item::Event(Event {
                    kind: EventKind::Exec(e),
                    ..
                }) if e.ppid != 0 => Some(e.ppid),
                _ => procs.get(pid).map(|p| p.ppid).filter(|&p| p != 0),
            };
            Some(KeyVal::Pid(ppid.unwrap_or(pid)))
        }
    }
}
