//! Discovery burst (T1082 and friends): one session runs many different discovery commands in a
//! short time — what a person or script does right after landing on a host (`id; uname -a;
//! cat /etc/passwd; ps aux; ip a; netstat -tlnp; sudo -l; ...`).
//!
//! The session is the nearest ancestor that is not a shell (the sshd session, the php-fpm
//! worker of a web shell, the reverse-shell process), so commands from successive `sh -c` runs
//! add up. Login banners (update-motd's run-parts), package scripts and configuration
//! management run the same commands and are left alone.

use super::tuning::DiscoveryBurstConfig;
use super::window::{Keyed, secs};
use super::{Detector, evidence};
use crate::event::{Event, EventKind, Exec};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::{ProcessTable, basename};

const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ash", "ksh", "busybox", "sudo", "su",
];

/// Commands about who we are and what we may do: a burst needs at least `min_identity` of
/// these, which separates an intruder's first minute from an admin's health check (df, free,
/// uptime, ps, ss).
const IDENTITY: &[&str] = &[
    "id",
    "whoami",
    "groups",
    "getent",
    "sudo -l",
    "crontab -l",
    "find -perm",
    "cat /etc/passwd",
    "cat /etc/group",
    "cat /etc/sudoers",
    "cat /proc/1/cgroup",
    "cat /etc/crontab",
    "last",
    "lastlog",
    "users",
    "w",
    "who",
];

/// Parents whose children run discovery commands as a matter of course.
const BENIGN_ANCESTORS: &[&str] = &[
    "run-parts",
    "update-motd",
    "landscape-sysinfo",
    "dpkg",
    "apt",
    "apt-get",
    "unattended-upgrade",
    "cloud-init",
    "puppet",
    "chef-client",
    "salt-minion",
    "ansible-playbook",
    "neofetch",
    "screenfetch",
    "sosreport",
    "sos",
    "needrestart",
    "lynis",
    "zabbix_agentd",
    "nagios",
    "telegraf",
    "check_mk_agent",
];

/// The discovery command an exec stands for, if it is one.
fn discovery_command(e: &Exec) -> Option<String> {
    let name = basename(&e.filename);
    let arg = |i: usize| e.argv.get(i).map(String::as_str).unwrap_or("");
    let simple = [
        "id",
        "whoami",
        "uname",
        "hostname",
        "hostnamectl",
        "ifconfig",
        "netstat",
        "ss",
        "w",
        "who",
        "last",
        "lastlog",
        "lsb_release",
        "arp",
        "route",
        "lscpu",
        "lsblk",
        "getent",
        "groups",
        "env",
        "printenv",
        "uptime",
        "lsmod",
        "dmidecode",
        "lspci",
        "nproc",
        "free",
        "df",
        "users",
        "history",
    ];
    if simple.contains(&name) {
        return Some(name.to_owned());
    }
    match name {
        "ps" | "top" | "pstree" => Some("ps".into()),
        "ip" if ["a", "addr", "address", "r", "route", "n", "neigh", "link"].contains(&arg(1)) => {
            Some(format!("ip {}", arg(1)))
        }
        "cat" | "head" | "less" | "more" | "tail" => {
            let file = e.argv.iter().skip(1).find(|a| !a.starts_with('-'))?;
            let interesting = [
                "/etc/passwd",
                "/etc/group",
                "/etc/os-release",
                "/etc/issue",
                "/proc/version",
                "/etc/hosts",
                "/etc/resolv.conf",
                "/proc/cpuinfo",
                "/etc/crontab",
                "/etc/sudoers",
                "/proc/net/tcp",
                "/proc/1/cgroup",
            ];
            interesting
                .contains(&file.as_str())
                .then(|| format!("{name} {file}"))
        }
        "sudo" if arg(1) == "-l" => Some("sudo -l".into()),
        "crontab" if arg(1) == "-l" => Some("crontab -l".into()),
        "systemctl" if arg(1).starts_with("list-") => Some(format!("systemctl {}", arg(1))),
        "find" if e.argv.iter().any(|a| a == "-perm") => Some("find -perm".into()),
        _ => None,
    }
}

pub struct DiscoveryBurst {
    sessions: Keyed<u32, (String, serde_json::Value)>,
    cfg: DiscoveryBurstConfig,
}

impl DiscoveryBurst {
    pub fn new(cfg: DiscoveryBurstConfig) -> Self {
        Self {
            sessions: Keyed::new(secs(cfg.window_secs as i64), 20_000),
            cfg,
        }
    }
}

impl Default for DiscoveryBurst {
    fn default() -> Self {
        Self::new(DiscoveryBurstConfig::default())
    }
}

impl Detector for DiscoveryBurst {
    fn id(&self) -> &'static str {
        "discovery_burst"
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        let EventKind::Exec(e) = &ev.kind else {
            return;
        };
        let Some(cmd) = discovery_command(e) else {
            return;
        };
        let mut session = None;
        for a in procs.ancestors(e.pid) {
            let name = a.exe_name();
            if BENIGN_ANCESTORS.contains(&name) {
                return;
            }
            if session.is_none() && !SHELLS.contains(&name) {
                session = Some(a);
            }
        }
        let Some(session) = session else {
            return;
        };
        let window = self.sessions.window();
        let r = self.sessions.entry(&session.pid, ev.ts);
        r.push(ev.ts, (cmd, evidence(ev)), window, 256);
        let mut cmds: Vec<String> = r.iter().map(|(c, _)| c.clone()).collect();
        cmds.sort_unstable();
        cmds.dedup();
        let identity = cmds
            .iter()
            .filter(|c| IDENTITY.contains(&c.as_str()))
            .count();
        if cmds.len() >= self.cfg.threshold
            && identity >= self.cfg.min_identity
            && !r.recently_fired(window)
        {
            r.last_fired = Some(r.last_seen);
            let summary = format!(
                "{} discovery commands within {}s under {} (pid {}): {}",
                cmds.len(),
                self.cfg.window_secs,
                session.exe_name(),
                session.pid,
                cmds.join(", ")
            );
            let all: Vec<_> = r.iter().map(|(_, v)| v.clone()).collect();
            let evidence = all[all.len().saturating_sub(10)..].to_vec();
            r.clear();
            out.push(Finding {
                ts: ev.ts,
                detector: self.id().into(),
                technique: "T1082".into(),
                severity: Severity::Medium,
                entity: Entity::Process {
                    pid: session.pid,
                    start_ns: session
                        .started
                        .and_then(|t| t.timestamp_nanos_opt())
                        .map_or(0, |n| n as u64),
                    exe: session.exe.clone(),
                },
                summary,
                evidence,
                author: None,
                stage: None,
            });
        }
    }
}
