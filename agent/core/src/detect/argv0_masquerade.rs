//! A program started under another program's name: `argv[0]` names a well-known daemon or
//! kernel thread while the executable is something else (`exec -a sshd ./miner`). ATT&CK T1036.
//! Login shells (`-bash`), multi-call binaries (busybox) and interpreters running a script
//! named like a daemon are not masquerading.

use super::{Detector, evidence};
use crate::event::{Event, EventKind};
use crate::finding::{Finding, Severity};
use crate::proctable::{ProcessTable, basename};
use crate::rules::rule::process_entity;

/// Names worth impersonating.
const IMPERSONATED: &[&str] = &[
    "sshd",
    "systemd",
    "systemd-journald",
    "systemd-logind",
    "systemd-udevd",
    "init",
    "cron",
    "crond",
    "atd",
    "rsyslogd",
    "syslogd",
    "dbus-daemon",
    "nginx",
    "httpd",
    "apache2",
    "mysqld",
    "postgres",
    "php-fpm",
    "agetty",
    "getty",
    "polkitd",
    "udevd",
    "kthreadd",
    "kworker",
    "ksoftirqd",
    "kswapd0",
    "migration",
    "rcu_sched",
    "watchdog",
    "auditd",
    "containerd",
    "dockerd",
    "kubelet",
    "snapd",
    "chronyd",
    "ntpd",
    "cupsd",
    "avahi-daemon",
    "networkd",
    "NetworkManager",
    "irqbalance",
    "accounts-daemon",
    "gdm",
    "lightdm",
    "xorg",
    "Xorg",
];

const MULTICALL: &[&str] = &["busybox", "toybox", "coreutils", "bash", "dash", "sh"];

/// The name `argv[0]` claims, without path, login-shell dash or `[...]` brackets and `:`/`/`
/// suffixes (`[kworker/0:1]` → `kworker`, `sshd: alice` → `sshd`).
fn claimed(arg0: &str) -> &str {
    let s = arg0.trim().trim_start_matches('-');
    match s.strip_prefix('[') {
        // A kernel-thread style name: `[kworker/0:1]`.
        Some(k) => k
            .trim_end_matches(']')
            .split(['/', ':'])
            .next()
            .unwrap_or(""),
        None => basename(s.split([':', ' ']).next().unwrap_or("")),
    }
}

#[derive(Default)]
pub struct Argv0Masquerade;

impl Detector for Argv0Masquerade {
    fn id(&self) -> &'static str {
        "argv0_masquerade"
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        let EventKind::Exec(e) = &ev.kind else {
            return;
        };
        let Some(arg0) = e.argv.first() else {
            return;
        };
        let name = basename(&e.filename);
        let claim = claimed(arg0);
        if claim.is_empty() || !IMPERSONATED.contains(&claim) || MULTICALL.contains(&name) {
            return;
        }
        // Same program under its own name, a versioned name, or a wrapper of the same family.
        if name == claim || name.starts_with(claim) || claim.starts_with(name) {
            return;
        }
        if super::shell::is_interpreter(name) {
            return;
        }
        out.push(Finding {
            ts: ev.ts,
            detector: self.id().into(),
            technique: "T1036".into(),
            severity: Severity::High,
            entity: process_entity(ev, procs),
            summary: format!("{} runs under the name {arg0:?}", e.filename),
            evidence: vec![evidence(ev)],
            author: None,
            stage: None,
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn claimed_names() {
        assert_eq!(super::claimed("[kworker/0:1]"), "kworker");
        assert_eq!(super::claimed("-bash"), "bash");
        assert_eq!(super::claimed("/usr/sbin/sshd"), "sshd");
        assert_eq!(super::claimed("sshd: alice [priv]"), "sshd");
    }
}
