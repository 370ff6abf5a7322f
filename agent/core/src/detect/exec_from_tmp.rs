//! Execution from a world-writable directory (/tmp, /dev/shm, /var/tmp) or from a memory-only
//! file (memfd, `fexecve` through /dev/fd or /proc/self/fd). Droppers stage payloads there
//! because any user can write there and nothing is installed.
//!
//! ATT&CK: T1059 (Command and Scripting Interpreter) for temp-dir execution, T1620 (Reflective
//! Code Loading) for fileless execution.

use super::shell::is_interpreter;
use super::{Detector, evidence};
use crate::config::ExecFromTmpConfig;
use crate::event::{Event, EventKind, Exec};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::{ProcessTable, basename};

pub struct ExecFromTmp {
    cfg: ExecFromTmpConfig,
}

/// Why an exec was judged to come from a suspicious place.
#[derive(Debug, PartialEq, Eq)]
enum Origin<'a> {
    /// The executable itself lives in a temp dir.
    TempBinary(&'a str),
    /// An interpreter runs a script that lives in a temp dir.
    TempScript(&'a str),
    /// The executable has no path on disk (memfd or a file descriptor).
    Fileless(&'a str),
}

impl ExecFromTmp {
    pub fn new(cfg: ExecFromTmpConfig) -> Self {
        Self { cfg }
    }

    fn in_temp_dir(&self, path: &str) -> bool {
        self.cfg.dirs.iter().any(|d| {
            let d = d.trim_end_matches('/');
            path.len() > d.len() && path.starts_with(d) && path.as_bytes()[d.len()] == b'/'
        })
    }

    fn classify<'a>(&self, e: &'a Exec) -> Option<Origin<'a>> {
        let file = e.filename.as_str();
        if is_fd_path(file) || file.starts_with("memfd:") || file.contains("/memfd:") {
            return Some(Origin::Fileless(file));
        }
        if self.in_temp_dir(file) {
            return Some(Origin::TempBinary(file));
        }
        if is_interpreter(basename(file)) {
            // The first non-option argument is the script (`bash /tmp/x.sh`, `python3 -u /tmp/x`).
            let script = e.argv.iter().skip(1).find(|a| !a.starts_with('-'))?;
            if self.in_temp_dir(script) {
                return Some(Origin::TempScript(script));
            }
        }
        None
    }
}

/// `/dev/fd/N`, `/proc/self/fd/N` or `/proc/PID/fd/N`: what the kernel reports for `fexecve`.
fn is_fd_path(path: &str) -> bool {
    let rest = if let Some(r) = path.strip_prefix("/dev/fd/") {
        r
    } else if let Some(r) = path.strip_prefix("/proc/") {
        match r.split_once("/fd/") {
            Some((who, fd))
                if who == "self"
                    || who == "thread-self"
                    || who.bytes().all(|b| b.is_ascii_digit()) =>
            {
                fd
            }
            _ => return false,
        }
    } else {
        return false;
    };
    !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
}

impl Detector for ExecFromTmp {
    fn id(&self) -> &'static str {
        "exec_from_tmp"
    }

    fn on_event(&mut self, ev: &Event, _procs: &ProcessTable, out: &mut Vec<Finding>) {
        let EventKind::Exec(e) = &ev.kind else {
            return;
        };
        let Some(origin) = self.classify(e) else {
            return;
        };
        if self.cfg.allow.iter().any(|a| a == &e.filename) {
            return;
        }
        let (technique, severity, summary) = match origin {
            Origin::TempBinary(p) => (
                "T1059",
                Severity::Medium,
                format!("executed {p} from a world-writable directory"),
            ),
            Origin::TempScript(p) => (
                "T1059",
                Severity::Medium,
                format!("{} ran script {p} from a world-writable directory", e.comm),
            ),
            Origin::Fileless(p) => (
                "T1620",
                Severity::High,
                format!("fileless execution through {p} (memfd or file descriptor)"),
            ),
        };
        out.push(Finding {
            ts: ev.ts,
            detector: self.id().into(),
            technique: technique.into(),
            severity,
            entity: Entity::Process {
                pid: e.pid,
                start_ns: ev.ts.timestamp_nanos_opt().map_or(0, |n| n as u64),
                exe: e.filename.clone(),
            },
            summary,
            evidence: vec![evidence(ev)],
            author: None,
            stage: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(file: &str, argv: &[&str]) -> Exec {
        Exec {
            pid: 10,
            ppid: 1,
            uid: 1000,
            gid: 1000,
            comm: basename(file).chars().take(15).collect(),
            filename: file.into(),
            argv: argv.iter().map(|s| (*s).into()).collect(),
            argv_truncated: false,
            cgroup_id: 0,
        }
    }

    #[test]
    fn classifies_positive_and_negative_paths() {
        let d = ExecFromTmp::new(ExecFromTmpConfig::default());
        assert!(matches!(
            d.classify(&exec("/tmp/x", &["x"])),
            Some(Origin::TempBinary(_))
        ));
        assert!(matches!(
            d.classify(&exec("/dev/shm/.a/b", &["b"])),
            Some(Origin::TempBinary(_))
        ));
        assert!(matches!(
            d.classify(&exec("/bin/bash", &["bash", "/tmp/s.sh"])),
            Some(Origin::TempScript(_))
        ));
        assert!(matches!(
            d.classify(&exec("/dev/fd/3", &["x"])),
            Some(Origin::Fileless(_))
        ));
        assert!(matches!(
            d.classify(&exec("/proc/self/fd/7", &["x"])),
            Some(Origin::Fileless(_))
        ));
        assert_eq!(d.classify(&exec("/usr/bin/ls", &["ls", "/tmp"])), None);
        assert_eq!(d.classify(&exec("/tmpfoo/bin/x", &["x"])), None);
        assert_eq!(d.classify(&exec("/tmp", &["x"])), None);
        assert_eq!(d.classify(&exec("/usr/bin/cat", &["cat", "/tmp/a"])), None);
        assert_eq!(d.classify(&exec("/proc/self/exe", &["x"])), None);
        assert_eq!(d.classify(&exec("/dev/fd/", &["x"])), None);
    }
}
