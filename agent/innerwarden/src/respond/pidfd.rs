//! `KillResponder`: kills a process (optionally its whole tree) through pidfds, after proving the
//! pid still names the process the decision was about.
//!
//! # The identity rule
//!
//! `Action::Kill.start_ns` today carries the wall-clock time (unix ns) of the exec event that
//! made the process a target, not the kernel's start time of the task. The kernel's start time
//! (`/proc/<pid>/stat` field 22, clock ticks since boot, `CLOCK_BOOTTIME` based since 5.3) is the
//! *fork* time, which is at or before the exec. So the rule is one-sided:
//!
//! > kill only if `start_wall(pid) <= start_ns + START_TOLERANCE` (1 s), where
//! > `start_wall = starttime_ticks * 1e9 / CLK_TCK + (CLOCK_REALTIME - CLOCK_BOOTTIME)`,
//! > and `start_ns != 0`.
//!
//! Why no lower bound: the target process held `pid` at `start_ns` (it was executing then).
//! Any *other* process holding `pid` later must have been created after the target died, i.e.
//! after `start_ns`. A process that holds `pid` and was created before `start_ns` therefore is the
//! target, however long ago it forked (`exec ./x` from a shell started an hour ago is a
//! legitimate target). A lower bound could only refuse legitimate kills. The tolerance absorbs
//! tick truncation (10 ms), the exec-event clock conversion and small clock slews; only a pid
//! recycled within 1 s of the exec event (a wrap of `pid_max` within a second) could pass it.
//! `start_ns == 0` (an event without a time) never matches. Both sides convert boot time to wall
//! time with `CLOCK_REALTIME - CLOCK_BOOTTIME`, but at different moments: a wall-clock step of
//! more than the tolerance between the exec event and the kill shifts the comparison (forward:
//! a legitimate kill is refused; backward: the window widens by the step).
//!
//! Proposed precise field (not done here, it touches core): have the exec record carry the
//! task's `start_boottime` in ns (readable in the kernel) as `start_boottime_ns: Option<u64>`;
//! the check then becomes exact equality in ticks and the tolerance goes away.
//!
//! # Order of operations (why a recycled pid is never hit)
//!
//! `pidfd_open(pid)` → read `/proc/<pid>/stat` → `pidfd_send_signal(fd, 0)`. If the signal-0
//! probe succeeds, the pidfd's process was alive throughout, so no other process could have held
//! `pid` while we read its stat: the start time we checked is the pidfd's process's. Every
//! signal afterwards goes through that pidfd, which never reaches a different process.
//!
//! Descendants (`tree: true`) are found via `/proc/<pid>/task/*/children`, each opened through its
//! own pidfd and accepted only if its stat names the (pinned, alive) parent as ppid. The tree is
//! SIGSTOPped top-down (so nothing forks further), walked a second time to catch forks that raced
//! the stop, then SIGKILLed leaves first. pid 1 and the agent itself are never signalled.
//!
//! A process that is the main process of a systemd service is better killed with the unit's
//! cgroup (`SystemdResponder::kill_unit`), which also catches double-forked escapees.

use std::collections::HashSet;
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use innerwarden_core::decide::action::{Action, ActionKind};

use super::{Applied, RespondError, Responder};

/// How much later than the exec event the process's kernel start time may be (see module docs).
pub const START_TOLERANCE_NS: u64 = 1_000_000_000;

const NAME: &str = "pidfd";

#[derive(Debug, thiserror::Error)]
pub enum PidfdError {
    #[error("pidfd_open({pid})")]
    Open {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("pidfd_send_signal(pid {pid}, signal {signal})")]
    Signal {
        pid: u32,
        signal: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("reading clocks")]
    Clock {
        #[source]
        source: std::io::Error,
    },
}

impl From<PidfdError> for RespondError {
    fn from(e: PidfdError) -> Self {
        RespondError::Failed {
            responder: NAME,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

/// The fields of `/proc/<pid>/stat` this module needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub ppid: u32,
    /// Field 22: start time in clock ticks since boot.
    pub start_ticks: u64,
}

/// Parse one `/proc/<pid>/stat` line. The comm (field 2) may contain spaces and parentheses, so
/// the fields are taken after the last `)`.
pub fn parse_stat(line: &str) -> Option<ProcStat> {
    let rest = &line[line.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field n is f[n - 3].
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

/// Whether a process whose kernel start time is `start_wall_ns` may be the one exec'd at
/// `exec_wall_ns` (the rule in the module docs).
pub fn start_matches(start_wall_ns: u64, exec_wall_ns: u64) -> bool {
    exec_wall_ns != 0 && start_wall_ns <= exec_wall_ns.saturating_add(START_TOLERANCE_NS)
}

/// `starttime` ticks to wall-clock ns, given `CLOCK_REALTIME - CLOCK_BOOTTIME`.
pub fn ticks_to_wall_ns(ticks: u64, clk_tck: u64, realtime_minus_boot_ns: i128) -> u64 {
    let boot_ns = i128::from(ticks) * 1_000_000_000 / i128::from(clk_tck.max(1));
    (boot_ns + realtime_minus_boot_ns).clamp(0, i128::from(u64::MAX)) as u64
}

fn clock_ns(clock: libc::clockid_t) -> Result<i128, PidfdError> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(PidfdError::Clock {
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
}

/// `CLOCK_REALTIME - CLOCK_BOOTTIME` in ns, read now.
pub fn realtime_minus_boottime_ns() -> Result<i128, PidfdError> {
    let boot = clock_ns(libc::CLOCK_BOOTTIME)?;
    let real = clock_ns(libc::CLOCK_REALTIME)?;
    Ok(real - boot)
}

/// A process pinned by a pidfd whose stat was read while the pidfd's process was alive.
struct Pinned {
    pid: u32,
    fd: OwnedFd,
    stat: ProcStat,
}

fn pidfd_open(pid: u32) -> Result<OwnedFd, std::io::Error> {
    // SAFETY: plain syscall with integer arguments; on success it returns a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly created descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn send(fd: &OwnedFd, pid: u32, signal: i32) -> Result<(), PidfdError> {
    // SAFETY: fd is a valid pidfd; null siginfo means "as kill(2)"; flags 0.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        return Err(PidfdError::Signal {
            pid,
            signal,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Kills processes by pidfd after the identity check. See the module docs.
pub struct KillResponder {
    proc_root: PathBuf,
    clk_tck: u64,
    self_pid: u32,
}

impl Default for KillResponder {
    fn default() -> Self {
        Self::new()
    }
}

impl KillResponder {
    pub fn new() -> Self {
        // SAFETY: sysconf has no memory effects.
        let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        KillResponder {
            proc_root: PathBuf::from("/proc"),
            clk_tck: if tck > 0 { tck as u64 } else { 100 },
            self_pid: std::process::id(),
        }
    }

    fn refused(&self, pid: u32) -> bool {
        pid <= 1 || pid == self.self_pid
    }

    fn read_stat(&self, pid: u32) -> Option<ProcStat> {
        let s = fs::read_to_string(self.proc_root.join(pid.to_string()).join("stat")).ok()?;
        parse_stat(&s)
    }

    /// pidfd_open → stat → signal-0 probe. `None` when the process is gone (or turned zombie).
    fn pin(&self, pid: u32) -> Result<Option<Pinned>, PidfdError> {
        let fd = match pidfd_open(pid) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
            Err(source) => return Err(PidfdError::Open { pid, source }),
        };
        let Some(stat) = self.read_stat(pid) else {
            return Ok(None);
        };
        match send(&fd, pid, 0) {
            Ok(()) => {}
            Err(PidfdError::Signal { source, .. })
                if source.raw_os_error() == Some(libc::ESRCH) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        if stat.state == 'Z' || stat.state == 'X' {
            return Ok(None);
        }
        Ok(Some(Pinned { pid, fd, stat }))
    }

    fn children_of(&self, pid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let Ok(tasks) = fs::read_dir(self.proc_root.join(pid.to_string()).join("task")) else {
            return out;
        };
        for t in tasks.filter_map(Result::ok) {
            if let Ok(s) = fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
        out
    }

    /// Pin and SIGSTOP every descendant of the pinned processes in `tree` (parents before their
    /// children), appending them to `tree`. Returns how many were added.
    fn stop_descendants(&self, tree: &mut Vec<Pinned>) -> Result<usize, PidfdError> {
        let mut seen: HashSet<u32> = tree.iter().map(|p| p.pid).collect();
        let before = tree.len();
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i].pid;
            for child in self.children_of(parent) {
                if self.refused(child) || !seen.insert(child) {
                    continue;
                }
                let Some(p) = self.pin(child)? else { continue };
                // The child's stat must name the parent, and the parent must still be the
                // pinned process (alive) after we read it: then the child really is its child.
                if p.stat.ppid != parent || send(&tree[i].fd, parent, 0).is_err() {
                    continue;
                }
                match send(&p.fd, child, libc::SIGSTOP) {
                    Ok(()) => tree.push(p),
                    Err(PidfdError::Signal { source, .. })
                        if source.raw_os_error() == Some(libc::ESRCH) => {}
                    Err(e) => return Err(e),
                }
            }
            i += 1;
        }
        Ok(tree.len() - before)
    }

    fn kill(
        &self,
        pid: u32,
        start_ns: u64,
        exe: &str,
        tree: bool,
    ) -> Result<Applied, RespondError> {
        let target = format!("pid {pid} ({exe})");
        if self.refused(pid) {
            return Err(RespondError::Failed {
                responder: NAME,
                message: format!("refusing to kill {target}: pid 1 or the agent itself"),
                source: None,
            });
        }
        let gone = || RespondError::TargetGone {
            target: target.clone(),
        };
        let root = self.pin(pid)?.ok_or_else(gone)?;
        let offset = realtime_minus_boottime_ns()?;
        let start_wall = ticks_to_wall_ns(root.stat.start_ticks, self.clk_tck, offset);
        if !start_matches(start_wall, start_ns) {
            tracing::warn!(
                pid,
                exe,
                start_wall,
                start_ns,
                "pid names a different process than the decision: not killing"
            );
            return Err(RespondError::TargetGone {
                target: format!(
                    "{target}: pid reused (started {start_wall} ns > event {start_ns} ns + tolerance)"
                ),
            });
        }
        let mut procs = vec![root];
        if tree {
            send(&procs[0].fd, pid, libc::SIGSTOP)?;
            self.stop_descendants(&mut procs)?;
            // Second walk: a process may have forked before its SIGSTOP took effect.
            self.stop_descendants(&mut procs)?;
        }
        // Leaves first: descendants were appended after their parents.
        let mut killed = 0usize;
        for p in procs.iter().rev() {
            match send(&p.fd, p.pid, libc::SIGKILL) {
                Ok(()) => killed += 1,
                Err(PidfdError::Signal { source, .. })
                    if source.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let detail = if tree {
            format!(
                "SIGKILL via pidfd to {target} and {} descendant(s); irreversible",
                killed.saturating_sub(1)
            )
        } else {
            format!("SIGKILL via pidfd to {target}; irreversible")
        };
        Ok(Applied { detail })
    }
}

impl Responder for KillResponder {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kinds(&self) -> &'static [ActionKind] {
        &[ActionKind::Kill]
    }

    fn apply(&mut self, action: &Action) -> Result<Applied, RespondError> {
        match action {
            Action::Kill {
                pid,
                start_ns,
                exe,
                tree,
            } => self.kill(*pid, *start_ns, exe, *tree),
            other => Err(RespondError::Unsupported { kind: other.kind() }),
        }
    }

    fn revert(&mut self, action: &Action) -> Result<Applied, RespondError> {
        Ok(Applied {
            detail: format!(
                "kill of {} cannot be reverted; nothing done",
                action.target()
            ),
        })
    }
}

#[cfg(test)]
#[path = "pidfd_tests.rs"]
mod tests;
