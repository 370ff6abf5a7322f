//! Mass deletion (wipers, T1485) and mass renaming with a new extension (ransomware, T1486):
//! one process deleting or renaming many files in a short time.
//!
//! Deleting a build tree is everyday work, so deletions count only outside caches, build and
//! temp trees, and a finding needs them spread over several directories. Renames count only
//! when the new name is the old name plus an appended extension (`report.pdf` →
//! `report.pdf.locked`), which is what encryptors do and package managers do not (they rename
//! `x.dpkg-new` → `x`). Package managers and their scripts are left alone.

use super::tuning::MassFileChangeConfig;
use super::window::{Keyed, secs};
use super::{Detector, evidence};
use crate::event::{Event, EventKind, FileChange, FileOp};
use crate::finding::{Finding, Severity};
use crate::proctable::ProcessTable;
use crate::rules::rule::process_entity;

const PACKAGE_TOOLS: &[&str] = &[
    "dpkg",
    "apt",
    "apt-get",
    "rpm",
    "dnf",
    "yum",
    "unattended-upgr",
    "unattended-upgrade",
    "snapd",
    "flatpak",
    "pip",
    "pip3",
    "npm",
    "cargo",
    "rustup",
    "logrotate",
    "systemd-tmpfiles",
    "systemd-tmpfile",
];

const SCRATCH: &[&str] = &[
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
    "/node_modules/",
    "/target/",
    "/.cache/",
    "/build/",
    "/.git/",
    "/__pycache__/",
    "/dist/",
    "/.npm/",
    "/.cargo/registry/",
    "/proc/",
    "/run/",
    "/var/cache/",
    "/var/lib/docker/",
    "/var/lib/containers/",
    "/sys/",
];

fn in_scratch(path: &str) -> bool {
    SCRATCH.iter().any(|s| path.contains(s)) || path.starts_with("/tmp")
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// `a/b.pdf` → `a/b.pdf.locked`: the new name is the old one plus `.ext`.
fn appends_extension(c: &FileChange) -> bool {
    let Some(new) = c.new_path.as_deref() else {
        return false;
    };
    match new.strip_prefix(c.path.as_str()) {
        Some(rest) => {
            rest.len() > 1
                && rest.len() <= 24
                && rest.starts_with('.')
                && !rest[1..].contains('/')
                && !rest[1..].bytes().all(|b| b.is_ascii_digit())
                && ![
                    ".bak",
                    ".old",
                    ".orig",
                    ".tmp",
                    ".swp",
                    ".dpkg-old",
                    ".rpmsave",
                ]
                .contains(&rest)
        }
        None => false,
    }
}

fn package_tool(ev_comm: &str, pid: u32, procs: &ProcessTable) -> bool {
    PACKAGE_TOOLS.contains(&ev_comm)
        || procs
            .ancestors(pid)
            .any(|a| PACKAGE_TOOLS.contains(&a.exe_name()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Delete,
    Rename,
}

pub struct MassFileChange {
    which: Which,
    by_pid: Keyed<u32, (String, serde_json::Value)>,
    cfg: MassFileChangeConfig,
}

impl MassFileChange {
    fn new(which: Which, cfg: &MassFileChangeConfig) -> Self {
        Self {
            which,
            by_pid: Keyed::new(secs(cfg.window_secs as i64), 10_000),
            cfg: cfg.clone(),
        }
    }

    /// `mass_file_deletion`: `delete_threshold` deletions over `min_dirs` directories.
    pub fn deletion(cfg: &MassFileChangeConfig) -> Self {
        Self::new(Which::Delete, cfg)
    }

    /// `mass_file_rename`: `rename_threshold` renames to a new extension.
    pub fn rename(cfg: &MassFileChangeConfig) -> Self {
        Self::new(Which::Rename, cfg)
    }
}

impl Detector for MassFileChange {
    fn id(&self) -> &'static str {
        match self.which {
            Which::Delete => "mass_file_deletion",
            Which::Rename => "mass_file_rename",
        }
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        let EventKind::FileChange(c) = &ev.kind else {
            return;
        };
        let counts = match self.which {
            Which::Delete => c.op == FileOp::Unlink && !in_scratch(&c.path),
            Which::Rename => c.op == FileOp::Rename && appends_extension(c),
        };
        if !counts || c.pid == 0 || package_tool(&c.comm, c.pid, procs) {
            return;
        }
        let (threshold, window) = match self.which {
            Which::Delete => (self.cfg.delete_threshold, self.by_pid.window()),
            Which::Rename => (self.cfg.rename_threshold, self.by_pid.window()),
        };
        let r = self.by_pid.entry(&c.pid, ev.ts);
        r.push(
            ev.ts,
            (dir_of(&c.path).to_owned(), evidence(ev)),
            window,
            threshold * 4,
        );
        if r.len() < threshold || r.recently_fired(window) {
            return;
        }
        let mut dirs: Vec<String> = r.iter().map(|(d, _)| d.clone()).collect();
        dirs.sort_unstable();
        dirs.dedup();
        if self.which == Which::Delete && dirs.len() < self.cfg.min_dirs {
            return;
        }
        r.last_fired = Some(r.last_seen);
        let n = r.len();
        let window = self.cfg.window_secs;
        let summary = match self.which {
            Which::Delete => format!(
                "{} (pid {}) deleted {n} files in {} directories within {window}s (e.g. {})",
                c.comm,
                c.pid,
                dirs.len(),
                dirs.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            ),
            Which::Rename => format!(
                "{} (pid {}) renamed {n} files to new extensions within {window}s (last: {} → {})",
                c.comm,
                c.pid,
                c.path,
                c.new_path.as_deref().unwrap_or("")
            ),
        };
        let all: Vec<_> = r.iter().map(|(_, v)| v.clone()).collect();
        let evidence = all[all.len().saturating_sub(10)..].to_vec();
        r.clear();
        out.push(Finding {
            ts: ev.ts,
            detector: self.id().into(),
            technique: match self.which {
                Which::Delete => "T1485",
                Which::Rename => "T1486",
            }
            .into(),
            severity: Severity::Critical,
            entity: process_entity(ev, procs),
            summary,
            evidence,
            author: None,
            stage: None,
        });
    }
}
