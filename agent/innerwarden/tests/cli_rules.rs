//! `innerwarden rules list|check`, a local rule firing through `replay`, and `check-config`
//! refusing an unknown detector id — the binary end to end, no root.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_innerwarden"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const LOCAL_RULE: &str = r#"
[[rule]]
id = "local_netcat_listener"
title = "netcat listening"
technique = "T1095"
severity = "medium"
summary = "{process.exe} listens: {cmdline}"
[rule.match]
kind = "exec"
name = ["nc", "ncat"]
argv = { any = ["-l", "-lvp", "-lnvp"] }
"#;

fn setup(rule_text: &str, extra_config: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.d");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(rules.join("local.toml"), rule_text).expect("write rule");
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[agent]\nstate_dir = \"{}\"\n[detectors]\n{extra_config}\n[detectors.rules]\ndir = \"{}\"\n",
            dir.path().join("state").display(),
            rules.display()
        ),
    )
    .expect("write config");
    (dir, cfg)
}

#[test]
fn list_shows_code_detectors_shipped_and_local_rules() {
    let (_dir, cfg) = setup(LOCAL_RULE, "disabled = [\"miner_pool_port\"]");
    let out = run(&["rules", "list"], &cfg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    let line = |id: &str| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id} missing:\n{list}"))
            .to_owned()
    };
    assert!(line("ssh_bruteforce").contains("credential_access"));
    assert!(line("ssh_bruteforce").contains("code"));
    assert!(line("ld_preload_write").contains("rules/persistence.toml"));
    assert!(line("miner_pool_port").trim_end().ends_with("false"));
    assert!(line("local_netcat_listener").contains("local.toml"));
    assert!(line("local_netcat_listener").contains("command_and_control"));
    assert!(list.lines().count() > 90, "{}", list.lines().count());
}

#[test]
fn check_names_file_and_rule_and_fails() {
    let bad = LOCAL_RULE.replace("name = ", "nmae = ");
    let (dir, cfg) = setup(&bad, "");
    let out = run(&["rules", "check"], &cfg);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("local.toml: rule `local_netcat_listener`: unknown field `nmae`"),
        "{err}"
    );
    let good = dir.path().join("good");
    std::fs::create_dir(&good).expect("mkdir");
    std::fs::write(good.join("a.toml"), LOCAL_RULE).expect("write");
    let out = run(&["rules", "check", good.to_str().expect("utf-8")], &cfg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(1 from 1 file(s)"),
        "{}",
        text(&out.stdout)
    );
    // The agent refuses to start on the broken directory, naming the rule.
    let out = run(&["check-config"], &cfg);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("local_netcat_listener"));
}

#[test]
fn check_config_refuses_an_unknown_disabled_id() {
    let (_dir, cfg) = setup(LOCAL_RULE, "disabled = [\"ssh_bruteforse\"]");
    let out = run(&["check-config"], &cfg);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("detectors.disabled") && err.contains("ssh_bruteforse"),
        "{err}"
    );
    // A local rule's id may be disabled.
    let (_dir, cfg) = setup(
        LOCAL_RULE,
        "disabled = [\"local_netcat_listener\", \"slow_bruteforce\"]",
    );
    let out = run(&["check-config"], &cfg);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_local_rule_fires_in_replay() {
    let (dir, cfg) = setup(LOCAL_RULE, "");
    let events = dir.path().join("ev.jsonl");
    std::fs::write(
        &events,
        r#"{"v":1,"ts":"2026-11-22T10:00:00Z","source":"ebpf","kind":"exec","pid":42,"ppid":1,"uid":33,"gid":33,"comm":"nc","filename":"/usr/bin/nc","argv":["nc","-lvp","4444"]}
"#,
    )
    .expect("write events");
    let out = run(&["replay", "--json", events.to_str().expect("utf-8")], &cfg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("local_netcat_listener"), "{stdout}");
    assert!(
        stdout.contains("/usr/bin/nc listens: nc -lvp 4444"),
        "{stdout}"
    );
}
