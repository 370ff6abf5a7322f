//! The incident context the model's features read beyond the findings themselves: process
//! ancestry, the user class, rarity against the host's baseline, the entity's local history
//! and closeness to an allowlist entry. Built from values the edge hands in (the process
//! table, the baseline, store counts); nothing here touches the host.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::decide::config::{AllowConfig, Cidr};
use crate::finding::Entity;
use crate::proctable::{ProcessTable, basename};

/// Everything the features need that is not in the findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentContext {
    /// Highest correlation stage reached by a finding of the incident (0: none).
    pub max_stage: u32,
    pub ancestry: Ancestry,
    pub user_class: Option<UserClass>,
    pub rarity: Rarity,
    /// The host's baseline is still in its learning period: rarity is not asserted.
    pub learning: bool,
    pub history: History,
    /// The entity is next to, but not inside, an allowlist entry (same /24 or /64 as an
    /// allowed network; an allowlisted executable's directory; an allowlisted unit or user).
    pub allowlist_near: bool,
}

/// Where the process sits in the process tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ancestry {
    /// An ancestor is a web server or application server (nginx, apache2, php-fpm, ...).
    pub web_server: bool,
    /// An ancestor is a database server (mysqld, postgres, redis-server, ...).
    pub database: bool,
    /// An ancestor is an interactive login: sshd session, login, a login shell (`-bash`), or
    /// the process runs in a `session-N.scope`.
    pub interactive_tty: bool,
    /// The process runs in a system service (`*.service` unit).
    pub system_unit: bool,
    /// The process runs in a container (runc/containerd-shim/conmon ancestor, or a
    /// docker/libpod/containerd scope).
    pub container: bool,
}

/// The class of the local user involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserClass {
    Root,
    /// uid 1–999 and `nobody`: service accounts.
    System,
    /// uid ≥ 1000.
    Human,
}

impl UserClass {
    pub fn of_uid(uid: u32) -> Self {
        match uid {
            0 => UserClass::Root,
            1..=999 | 65_534 => UserClass::System,
            _ => UserClass::Human,
        }
    }

    /// From a user name alone only `root` is certain.
    pub fn of_name(name: &str) -> Option<Self> {
        (name == "root").then_some(UserClass::Root)
    }
}

/// Never-seen facts against the host's baseline (see [`super::baseline`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rarity {
    pub parent_child: bool,
    pub binary: bool,
    pub destination: bool,
    pub listen_port: bool,
    pub login_source: bool,
    /// The opposite, where a login source was checked: this source has logged in here before
    /// (an admin who mistypes from their usual address, not a stranger).
    pub known_login_source: bool,
}

impl Rarity {
    /// Fold another finding's rarity into an incident's: a fact is new if any finding says so,
    /// and a login source is known only while none of them found it new.
    pub fn merge(&mut self, other: &Rarity) {
        self.parent_child |= other.parent_child;
        self.binary |= other.binary;
        self.destination |= other.destination;
        self.listen_port |= other.listen_port;
        self.login_source |= other.login_source;
        self.known_login_source =
            (self.known_login_source || other.known_login_source) && !self.login_source;
    }
}

/// The entity's local history in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct History {
    /// Earlier incidents on the same entity.
    pub prior_incidents: u32,
    /// Operator verdicts on earlier incidents of the same entity.
    pub benign_feedback: u32,
    pub malicious_feedback: u32,
}

const WEB: &[&str] = &[
    "nginx", "apache2", "httpd", "php-fpm", "lighttpd", "caddy", "uwsgi", "gunicorn", "tomcat",
    "node",
];
const DB: &[&str] = &[
    "mysqld",
    "mariadbd",
    "postgres",
    "postmaster",
    "mongod",
    "redis-server",
];
const CONTAINER: &[&str] = &["runc", "crun", "containerd-shim", "conmon", "dockerd"];

/// Ancestry of `pid` from the process table (the process itself counts for unit checks).
pub fn ancestry(procs: &ProcessTable, pid: u32) -> Ancestry {
    let mut a = Ancestry::default();
    let Some(me) = procs.get_recent(pid) else {
        return a;
    };
    if let Some(unit) = &me.unit {
        a.system_unit = unit.ends_with(".service");
        a.interactive_tty = unit.starts_with("session-") && unit.ends_with(".scope");
        a.container = ["docker-", "libpod-", "cri-containerd-", "crio-"]
            .iter()
            .any(|p| unit.starts_with(p));
    }
    for p in procs.ancestors(pid) {
        let name = p.exe_name();
        // php-fpm8.2, postgres: 14/main, containerd-shim-runc-v2: match by prefix.
        let is = |list: &[&str]| list.iter().any(|n| name.starts_with(n));
        a.web_server |= is(WEB);
        a.database |= is(DB);
        a.container |= is(CONTAINER);
        a.interactive_tty |= name == "login"
            || (name == "sshd" && p.argv.first().is_some_and(|a0| a0.contains('@')))
            || p.argv.first().is_some_and(|a0| a0.starts_with('-'));
    }
    a
}

pub use crate::attack::Tactic;

/// The technique's ATT&CK tactics from the project's table ([`crate::attack`]); a
/// sub-technique the table does not list falls back to its parent technique, and an unknown
/// id has none.
pub fn tactics(technique: &str) -> &'static [Tactic] {
    crate::attack::tactics(technique)
        .or_else(|| crate::attack::tactics(technique.split('.').next().unwrap_or(technique)))
        .unwrap_or(&[])
}

/// True when the entity is next to an allowlist entry without being in it.
pub fn allowlist_near(
    entity: &Entity,
    unit: Option<&str>,
    user: Option<&str>,
    allow: &AllowConfig,
) -> bool {
    if user.is_some_and(|u| allow.users.iter().any(|a| a == u))
        || unit.is_some_and(|u| allow.units.iter().any(|a| a == u))
    {
        return true;
    }
    match entity {
        Entity::Host { host } => host.ip().is_some_and(|ip| near_cidr(ip, allow)),
        Entity::Process { exe, .. } => {
            let dir = exe.strip_suffix(basename(exe)).unwrap_or("");
            !dir.is_empty()
                && allow
                    .executables
                    .iter()
                    .any(|e| e != exe && e.strip_suffix(basename(e)) == Some(dir))
        }
        Entity::User { .. } => false,
    }
}

fn near_cidr(ip: IpAddr, allow: &AllowConfig) -> bool {
    let ip = crate::event::normalize_ip(ip);
    allow
        .cidrs
        .iter()
        .chain(&allow.management_cidrs)
        .filter(|c| !c.addr().is_loopback())
        .any(|c| {
            let wide = if c.addr().is_ipv4() { 24 } else { 64 };
            !c.contains(ip) && Cidr::new(c.addr(), c.prefix().min(wide)).contains(ip)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proctable::ProcInfo;

    fn proc(pid: u32, ppid: u32, exe: &str, argv0: &str, unit: Option<&str>) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            exe: exe.into(),
            argv: vec![argv0.into()],
            unit: unit.map(str::to_owned),
            ..ProcInfo::default()
        }
    }

    #[test]
    fn a_shell_under_nginx_has_a_web_server_parent_and_no_tty() {
        let mut t = ProcessTable::default();
        t.insert(proc(1, 0, "/sbin/init", "init", None));
        t.insert(proc(
            10,
            1,
            "/usr/sbin/nginx",
            "nginx",
            Some("nginx.service"),
        ));
        t.insert(proc(11, 10, "/bin/sh", "sh", Some("nginx.service")));
        let a = ancestry(&t, 11);
        assert!(a.web_server && a.system_unit);
        assert!(!a.interactive_tty && !a.database && !a.container);
    }

    #[test]
    fn a_login_shell_child_is_interactive() {
        let mut t = ProcessTable::default();
        t.insert(proc(
            20,
            1,
            "/usr/bin/bash",
            "-bash",
            Some("session-3.scope"),
        ));
        t.insert(proc(
            21,
            20,
            "/usr/bin/curl",
            "curl",
            Some("session-3.scope"),
        ));
        let a = ancestry(&t, 21);
        assert!(a.interactive_tty);
        assert!(!a.web_server && !a.system_unit);
        assert_eq!(ancestry(&t, 999), Ancestry::default());
    }

    #[test]
    fn user_classes_by_uid() {
        assert_eq!(UserClass::of_uid(0), UserClass::Root);
        assert_eq!(UserClass::of_uid(33), UserClass::System);
        assert_eq!(UserClass::of_uid(65_534), UserClass::System);
        assert_eq!(UserClass::of_uid(1000), UserClass::Human);
        assert_eq!(UserClass::of_name("root"), Some(UserClass::Root));
        assert_eq!(UserClass::of_name("alice"), None);
    }

    #[test]
    fn tactics_by_technique_family() {
        assert_eq!(tactics("T1110.001"), &[Tactic::CredentialAccess]);
        assert_eq!(tactics("T1059.004"), &[Tactic::Execution]);
        assert_eq!(tactics("T1110.999"), &[Tactic::CredentialAccess]);
        assert!(tactics("T9999").is_empty());
    }

    #[test]
    fn near_the_allowlist_but_not_in_it() {
        let allow = AllowConfig {
            management_cidrs: vec!["10.1.2.0/28".parse().expect("cidr")],
            executables: vec!["/opt/backup/run".into()],
            ..AllowConfig::default()
        };
        let host = |s: &str| Entity::Host {
            host: s.parse().expect("host"),
        };
        assert!(allowlist_near(&host("10.1.2.77"), None, None, &allow));
        assert!(!allowlist_near(&host("10.1.2.3"), None, None, &allow));
        assert!(!allowlist_near(&host("10.9.9.9"), None, None, &allow));
        // Loopback is allowlisted by default; 127.x is inside it, never "near".
        assert!(!allowlist_near(&host("127.0.0.2"), None, None, &allow));
        let p = |exe: &str| Entity::Process {
            pid: 1,
            start_ns: 0,
            exe: exe.into(),
        };
        assert!(allowlist_near(&p("/opt/backup/evil"), None, None, &allow));
        assert!(!allowlist_near(&p("/tmp/evil"), None, None, &allow));
    }
}
