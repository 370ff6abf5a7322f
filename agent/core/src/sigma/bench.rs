//! Matcher throughput over a realistic exec stream (`innerwarden bench sigma`): everyday
//! server commands with their parents, cycling pids, through the process table and every
//! loaded rule, as the engine runs them.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};

use super::SigmaDetector;
use crate::detect::Detector;
use crate::event::{Event, EventKind, Exec, Exit, Source};
use crate::proctable::{ProcInfo, ProcessTable};

/// (image, command line, parent image) of the stream; repeated with varying arguments.
const MIX: &[(&str, &str, &str)] = &[
    ("/usr/bin/ls", "ls -la /home/alice", "/bin/bash"),
    ("/usr/bin/git", "git status --short", "/bin/bash"),
    ("/usr/bin/apt-get", "apt-get update", "/usr/bin/sudo"),
    (
        "/usr/bin/python3",
        "python3 manage.py runserver 0.0.0.0:8000",
        "/bin/bash",
    ),
    ("/bin/bash", "bash", "/usr/sbin/sshd"),
    ("/usr/bin/ssh", "ssh deploy@10.0.0.5", "/bin/bash"),
    ("/usr/bin/cat", "cat /etc/hostname", "/bin/bash"),
    ("/usr/bin/grep", "grep -r TODO src", "/bin/bash"),
    ("/usr/bin/systemctl", "systemctl status nginx", "/bin/bash"),
    (
        "/usr/bin/tar",
        "tar xzf /var/backups/backup.tgz -C /srv",
        "/bin/bash",
    ),
    (
        "/usr/bin/rsync",
        "rsync -a /srv/ backup:/srv/",
        "/usr/sbin/cron",
    ),
    (
        "/usr/sbin/logrotate",
        "/usr/sbin/logrotate /etc/logrotate.conf",
        "/usr/sbin/cron",
    ),
    (
        "/usr/bin/curl",
        "curl -fsS https://example.org/health",
        "/bin/sh",
    ),
    (
        "/usr/bin/sed",
        "sed -i s/foo/bar/ /srv/app/config.yml",
        "/bin/bash",
    ),
    (
        "/usr/bin/docker",
        "docker ps --format {{.Names}}",
        "/bin/bash",
    ),
    (
        "/usr/bin/find",
        "find /var/log -name *.gz -mtime +7",
        "/usr/sbin/cron",
    ),
];

/// Result of one run.
#[derive(Debug, Clone)]
pub struct BenchResult {
    pub rules: usize,
    pub events: usize,
    pub findings: usize,
    pub seconds: f64,
    pub events_per_sec: f64,
}

/// Run `events` exec events (each followed by its exit) through the process table and the
/// detector; only the exec events are counted.
pub fn bench_exec_stream(det: &mut SigmaDetector, events: usize) -> BenchResult {
    let mut procs = ProcessTable::default();
    let base = Utc
        .timestamp_opt(1_800_000_000, 0)
        .single()
        .unwrap_or_default();
    let mut parents: HashMap<&str, u32> = HashMap::new();
    for (i, (_, _, parent)) in MIX.iter().enumerate() {
        let pid = *parents.entry(parent).or_insert(100 + i as u32);
        procs.insert(ProcInfo {
            pid,
            ppid: 1,
            exe: (*parent).to_owned(),
            argv: vec![(*parent).to_owned()],
            ..ProcInfo::default()
        });
    }
    let stream: Vec<(Event, Event)> = (0..events)
        .map(|i| {
            let (image, cmd, parent) = MIX[i % MIX.len()];
            let pid = 10_000 + (i % 50_000) as u32;
            let ts = base + Duration::microseconds(i as i64);
            let mut argv: Vec<String> = cmd.split(' ').map(str::to_owned).collect();
            argv.push(format!("--run={i}"));
            let exec = Event::new(
                ts,
                Source::Ebpf,
                EventKind::Exec(Exec {
                    pid,
                    ppid: parents[parent],
                    uid: 1000,
                    gid: 1000,
                    comm: image.rsplit('/').next().unwrap_or(image).to_owned(),
                    filename: image.to_owned(),
                    argv,
                    argv_truncated: false,
                    cgroup_id: 0,
                }),
            );
            let exit = Event::new(ts, Source::Ebpf, EventKind::Exit(Exit { pid, code: 0 }));
            (exec, exit)
        })
        .collect();
    let mut out = Vec::new();
    let start = Instant::now();
    for (exec, exit) in &stream {
        procs.apply_before_detect(exec);
        det.on_event(exec, &procs, &mut out);
        procs.apply_after_detect(exec);
        procs.apply_before_detect(exit);
        det.on_event(exit, &procs, &mut out);
        procs.apply_after_detect(exit);
    }
    let seconds = start.elapsed().as_secs_f64();
    BenchResult {
        rules: det.len(),
        events,
        findings: out.len(),
        seconds,
        events_per_sec: events as f64 / seconds.max(1e-9),
    }
}
