//! The one process table every detector reads: who is running, started by whom, as which user,
//! in which systemd unit. Fed by exec/fork/exit events and seeded from a /proc scan that the
//! edge performs and hands in as [`ProcInfo`] values.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::event::{Event, EventKind};

/// Walks up the parent chain at most this far (guards against cycles from pid reuse).
pub const MAX_ANCESTRY: usize = 64;

/// What the agent knows about one live process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcInfo {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    /// Executable path as exec'd (empty when only seen through fork/scan without exe).
    pub exe: String,
    pub comm: String,
    pub argv: Vec<String>,
    pub cgroup_id: u64,
    /// systemd unit the process runs in, when known (`ssh.service`, `session-3.scope`).
    pub unit: Option<String>,
    /// When the current image started (exec time, or fork time until it execs).
    pub started: Option<DateTime<Utc>>,
    /// The image this process ran before its latest exec: the program that exec'd in place
    /// (perl's `exec`, a shell's `exec`), or for a forked child the parent's image it was
    /// cloned from. None until the process execs, and for processes seen only in the /proc seed.
    pub previous: Option<Box<Image>>,
}

/// An executable image a process ran: enough to name it in rules (`previous.*`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    pub exe: String,
    pub comm: String,
    pub argv: Vec<String>,
}

impl Image {
    /// Base name of the executable (or comm when the exe is unknown).
    pub fn exe_name(&self) -> &str {
        name_of(&self.exe, &self.comm)
    }
}

impl ProcInfo {
    /// Base name of the executable (or comm when the exe is unknown).
    pub fn exe_name(&self) -> &str {
        name_of(&self.exe, &self.comm)
    }
}

/// The base name of `exe`, or `comm` when the exe is unknown.
fn name_of<'a>(exe: &'a str, comm: &'a str) -> &'a str {
    if exe.is_empty() { comm } else { basename(exe) }
}

/// The last path component.
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The systemd unit named by a cgroup v2 path, e.g. `/system.slice/nginx.service` →
/// `nginx.service`, `/user.slice/user-1000.slice/session-3.scope` → `session-3.scope`.
pub fn unit_from_cgroup_path(path: &str) -> Option<String> {
    path.split('/')
        .rev()
        .find(|seg| {
            seg.ends_with(".service") || seg.ends_with(".scope") || seg.ends_with(".socket")
        })
        .map(str::to_owned)
}

/// The process table. Bounded: when full, new processes still enter and the oldest entries
/// (by start time) are evicted in batches.
#[derive(Debug)]
pub struct ProcessTable {
    procs: HashMap<u32, ProcInfo>,
    capacity: usize,
    evicted_total: u64,
    /// uid → account name, handed in by the edge (from the passwd database); rules read it as
    /// `process.user`.
    users: HashMap<u32, String>,
    /// The latest [`RECENT_EXITS`] processes that exited, by pid, with the exit's sequence number:
    /// findings are decided after their whole batch, when a process that exited within it (a
    /// payload the agent just killed) is gone from `procs`. See [`Self::get_recent`].
    exited: HashMap<u32, (u64, ProcInfo)>,
    exit_order: VecDeque<(u32, u64)>,
    exit_seq: u64,
}

/// How many exited processes [`ProcessTable::get_recent`] still knows.
pub const RECENT_EXITS: usize = 4096;

impl Default for ProcessTable {
    fn default() -> Self {
        Self::with_capacity(131_072)
    }
}

impl ProcessTable {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            procs: HashMap::new(),
            capacity: capacity.max(16),
            evicted_total: 0,
            users: HashMap::new(),
            exited: HashMap::new(),
            exit_order: VecDeque::new(),
            exit_seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Entries dropped because the table was full.
    pub fn evicted_total(&self) -> u64 {
        self.evicted_total
    }

    /// Replace the uid → account name map (the edge reads the passwd database).
    pub fn set_user_names(&mut self, users: HashMap<u32, String>) {
        self.users = users;
    }

    /// The account name of `uid`, when known.
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users.get(&uid).map(String::as_str)
    }

    pub fn get(&self, pid: u32) -> Option<&ProcInfo> {
        self.procs.get(&pid)
    }

    /// The live process `pid`, or else the latest one of that pid among the last
    /// [`RECENT_EXITS`] exits: what the decision layer and the model read about a finding's
    /// process, which may have exited (or been killed) in the batch that raised the finding.
    pub fn get_recent(&self, pid: u32) -> Option<&ProcInfo> {
        self.procs
            .get(&pid)
            .or_else(|| self.exited.get(&pid).map(|(_, p)| p))
    }

    /// Insert or replace a process (used by the /proc seed and by tests).
    pub fn insert(&mut self, info: ProcInfo) {
        if self.procs.len() >= self.capacity && !self.procs.contains_key(&info.pid) {
            self.evict_oldest();
        }
        self.procs.insert(info.pid, info);
    }

    /// The parent chain of `pid`, nearest first, not including `pid` itself.
    pub fn ancestors(&self, pid: u32) -> impl Iterator<Item = &ProcInfo> {
        let mut cur = self.get_recent(pid).map(|p| p.ppid);
        let mut seen = 0usize;
        std::iter::from_fn(move || {
            if seen >= MAX_ANCESTRY {
                return None;
            }
            let ppid = cur?;
            if ppid == 0 {
                return None;
            }
            let parent = self.procs.get(&ppid)?;
            seen += 1;
            cur = (parent.pid != parent.ppid).then_some(parent.ppid);
            Some(parent)
        })
    }

    /// Apply the process-lifecycle part of an event. Call before the detectors for exec and
    /// fork (they need the new state) and after them for exit (they may still need the entry):
    /// [`Self::apply_before_detect`] and [`Self::apply_after_detect`].
    pub fn apply_before_detect(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::Fork(f) => {
                let mut child = self.procs.get(&f.parent_pid).cloned().unwrap_or_default();
                child.pid = f.child_pid;
                child.ppid = f.parent_pid;
                if !f.comm.is_empty() {
                    child.comm.clone_from(&f.comm);
                }
                child.started = Some(ev.ts);
                child.previous = None;
                self.insert(child);
            }
            EventKind::Exec(e) => {
                // The entry is replaced: its image moves into `previous` without a copy.
                let prev = self.procs.remove(&e.pid);
                let unit = prev.as_ref().and_then(|p| p.unit.clone());
                // The kernel-reported ppid wins; 0 means the sensor did not know it.
                let ppid = if e.ppid != 0 {
                    e.ppid
                } else {
                    prev.as_ref().map_or(0, |p| p.ppid)
                };
                let previous = prev
                    .filter(|p| !p.exe.is_empty() || !p.comm.is_empty())
                    .map(|p| {
                        Box::new(Image {
                            exe: p.exe,
                            comm: p.comm,
                            argv: p.argv,
                        })
                    });
                self.insert(ProcInfo {
                    pid: e.pid,
                    ppid,
                    uid: e.uid,
                    gid: e.gid,
                    exe: e.filename.clone(),
                    comm: e.comm.clone(),
                    argv: e.argv.clone(),
                    cgroup_id: e.cgroup_id,
                    unit,
                    started: Some(ev.ts),
                    previous,
                });
            }
            _ => {}
        }
    }

    pub fn apply_after_detect(&mut self, ev: &Event) {
        if let EventKind::Exit(x) = &ev.kind
            && let Some(gone) = self.procs.remove(&x.pid)
        {
            self.exit_seq += 1;
            self.exited.insert(x.pid, (self.exit_seq, gone));
            self.exit_order.push_back((x.pid, self.exit_seq));
            while self.exit_order.len() > RECENT_EXITS {
                let Some((pid, seq)) = self.exit_order.pop_front() else {
                    break;
                };
                // A later exit of the same pid replaced the entry: that one stays.
                if self.exited.get(&pid).is_some_and(|(s, _)| *s == seq) {
                    self.exited.remove(&pid);
                }
            }
        }
    }

    fn evict_oldest(&mut self) {
        // Evict an eighth of the table at once so eviction cost is amortised.
        let n = (self.capacity / 8).max(1);
        let mut by_age: Vec<(Option<DateTime<Utc>>, u32)> =
            self.procs.values().map(|p| (p.started, p.pid)).collect();
        by_age.sort_unstable();
        for (_, pid) in by_age.into_iter().take(n) {
            self.procs.remove(&pid);
            self.evicted_total += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Exec, Exit, Fork, Source};

    fn ev(kind: EventKind) -> Event {
        Event::new(Utc::now(), Source::Ebpf, kind)
    }

    fn exec(pid: u32, ppid: u32, file: &str) -> Event {
        ev(EventKind::Exec(Exec {
            pid,
            ppid,
            uid: 1000,
            gid: 1000,
            comm: basename(file).into(),
            filename: file.into(),
            argv: vec![file.into()],
            argv_truncated: false,
            cgroup_id: 0,
        }))
    }

    #[test]
    fn an_exited_process_is_still_known_to_get_recent_until_pushed_out() {
        let mut t = ProcessTable::with_capacity(64);
        t.apply_before_detect(&exec(300, 1, "/proc/self/fd/3"));
        t.apply_after_detect(&ev(EventKind::Exit(Exit { pid: 300, code: 0 })));
        assert!(t.get(300).is_none(), "the live table forgets it at once");
        let gone = t.get_recent(300).expect("recently exited");
        assert_eq!((gone.uid, gone.exe.as_str()), (1000, "/proc/self/fd/3"));
        // A new process with that pid wins over the exited one.
        t.apply_before_detect(&exec(300, 1, "/usr/bin/true"));
        assert_eq!(t.get_recent(300).expect("live").exe, "/usr/bin/true");
        t.apply_after_detect(&ev(EventKind::Exit(Exit { pid: 300, code: 0 })));
        assert_eq!(t.get_recent(300).expect("latest exit").exe, "/usr/bin/true");
        // Bounded: RECENT_EXITS later exits push it out.
        for pid in 1000..1000 + RECENT_EXITS as u32 {
            t.apply_before_detect(&exec(pid, 1, "/bin/x"));
            t.apply_after_detect(&ev(EventKind::Exit(Exit { pid, code: 0 })));
        }
        assert!(t.get_recent(300).is_none());
        assert!(t.get_recent(1000 + RECENT_EXITS as u32 - 1).is_some());
        assert!(t.exited.len() <= RECENT_EXITS && t.exit_order.len() <= RECENT_EXITS);
    }

    #[test]
    fn fork_inherits_unit_and_exec_replaces_image() {
        let mut t = ProcessTable::default();
        t.insert(ProcInfo {
            pid: 100,
            ppid: 1,
            exe: "/usr/sbin/nginx".into(),
            unit: Some("nginx.service".into()),
            ..ProcInfo::default()
        });
        let fork = ev(EventKind::Fork(Fork {
            parent_pid: 100,
            child_pid: 200,
            comm: "nginx".into(),
        }));
        t.apply_before_detect(&fork);
        t.apply_before_detect(&exec(200, 0, "/bin/sh"));
        let child = t.get(200).expect("child known");
        assert_eq!(child.ppid, 100);
        assert_eq!(child.exe, "/bin/sh");
        assert_eq!(child.unit.as_deref(), Some("nginx.service"));
        let names: Vec<_> = t.ancestors(200).map(|p| p.exe_name().to_owned()).collect();
        assert_eq!(names, ["nginx"]);
        t.apply_after_detect(&ev(EventKind::Exit(Exit { pid: 200, code: 0 })));
        assert!(t.get(200).is_none());
    }

    #[test]
    fn exec_in_place_keeps_the_previous_image() {
        let mut t = ProcessTable::default();
        t.apply_before_detect(&exec(300, 1, "/usr/bin/cpan"));
        assert_eq!(t.get(300).expect("cpan").previous, None);
        t.apply_before_detect(&exec(300, 0, "/bin/sh"));
        let sh = t.get(300).expect("sh");
        assert_eq!(sh.ppid, 1, "an exec without a ppid keeps the known one");
        let prev = sh.previous.as_deref().expect("previous image");
        assert_eq!((prev.exe_name(), prev.comm.as_str()), ("cpan", "cpan"));
        // A forked child starts with no previous image; its exec records the parent's image.
        t.apply_before_detect(&ev(EventKind::Fork(Fork {
            parent_pid: 300,
            child_pid: 301,
            comm: "sh".into(),
        })));
        assert_eq!(t.get(301).expect("child").previous, None);
        t.apply_before_detect(&exec(301, 300, "/usr/bin/id"));
        let id = t.get(301).expect("id");
        assert_eq!(id.previous.as_deref().map(Image::exe_name), Some("sh"));
    }

    #[test]
    fn ancestry_stops_on_a_cycle() {
        let mut t = ProcessTable::default();
        t.insert(ProcInfo {
            pid: 5,
            ppid: 6,
            ..ProcInfo::default()
        });
        t.insert(ProcInfo {
            pid: 6,
            ppid: 5,
            ..ProcInfo::default()
        });
        assert_eq!(t.ancestors(5).count(), MAX_ANCESTRY);
    }

    #[test]
    fn full_table_evicts_oldest_and_counts() {
        let mut t = ProcessTable::with_capacity(16);
        for pid in 1..=40 {
            t.apply_before_detect(&exec(pid, 1, "/bin/true"));
        }
        assert!(t.len() <= 16);
        assert!(t.get(40).is_some());
        assert!(t.evicted_total() >= 24);
    }

    #[test]
    fn unit_names_come_from_cgroup_paths() {
        assert_eq!(
            unit_from_cgroup_path("/system.slice/nginx.service").as_deref(),
            Some("nginx.service")
        );
        assert_eq!(
            unit_from_cgroup_path("/user.slice/user-1000.slice/session-3.scope").as_deref(),
            Some("session-3.scope")
        );
        assert_eq!(unit_from_cgroup_path("/"), None);
    }
}
