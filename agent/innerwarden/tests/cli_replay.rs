//! The binary end to end, without root: replay → incidents → decisions → audit verify, the
//! dry-run/enforce record diff, bad input and bad configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_innerwarden"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(args: &[&str], state: &Path, config: Option<&Path>) -> Output {
    let mut c = bin();
    c.arg("--state-dir").arg(state);
    if let Some(cfg) = config {
        c.arg("--config").arg(cfg);
    }
    c.args(args).output().expect("binary runs")
}

fn audit_records(state: &Path) -> Vec<Value> {
    std::fs::read_to_string(state.join("audit.jsonl"))
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record is JSON"))
        .collect()
}

/// A model file whose only signal is the number of findings: one window of failures scores
/// sigmoid(1.0) = 0.73 (soft), two windows sigmoid(1.0 + 2 ln 2) = 0.92 (act). These tests are
/// about the escalation and the records, not about the shipped model's numbers (retraining it
/// must not change them); `model_corpus` and `model_feedback` test that model.
fn escalation_model(dir: &Path) -> PathBuf {
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/innerwarden-model.json"),
        )
        .expect("shipped model"),
    )
    .expect("model JSON");
    let mut m = shipped.clone();
    let names = shipped["features"].as_array().expect("features");
    m["bias"] = 1.0.into();
    m["weights"] = names
        .iter()
        .map(|n| if n == "findings_log" { 2.0 } else { 0.0 })
        .collect::<Vec<f64>>()
        .into();
    let p = dir.join("escalation-model.json");
    std::fs::write(&p, m.to_string()).expect("model");
    p
}

fn replay_bruteforce(config_text: Option<&str>) -> (tempfile::TempDir, Vec<Value>) {
    replay_recorded("bruteforce-two-windows.jsonl", config_text)
}

/// `replay --record` of a fixture with the escalation model (and `config_text` before it);
/// returns the state's directory and its audit records.
fn replay_recorded(name: &str, config_text: Option<&str>) -> (tempfile::TempDir, Vec<Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let model = escalation_model(dir.path());
    let p = dir.path().join("config.toml");
    std::fs::write(
        &p,
        format!(
            "{}\n[model]\npath = {:?}\n",
            config_text.unwrap_or(""),
            model.display().to_string()
        ),
    )
    .expect("config");
    let cfg = Some(p);
    let f = fixture(name);
    let out = run(
        &["replay", "--record", f.to_str().expect("utf8")],
        &state,
        cfg.as_deref(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = audit_records(&state);
    (dir, recs)
}

#[test]
fn replay_records_incident_decision_and_a_verifiable_audit_log() {
    let (dir, recs) = replay_bruteforce(None);
    let state = dir.path().join("state");
    let kinds: Vec<&str> = recs.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "finding").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "incident").count(), 1);
    let decisions: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "decision").collect();
    assert_eq!(decisions.len(), 2, "soft tier first, then act");
    assert_eq!(decisions[0]["payload"]["tier"], "soft");
    assert_eq!(decisions[1]["payload"]["tier"], "act");
    let block = &decisions[1]["payload"]["actions"][0];
    assert_eq!(block["action"]["action"], "block");
    assert_eq!(block["action"]["addr"], "203.0.113.77");
    assert_eq!(block["dry_run"], true, "dry-run out of the box");

    let out = run(&["incidents", "--json"], &state, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("host:203.0.113.77"), "{text}");
    let out = run(&["audit", "verify"], &state, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("audit OK"));
}

#[test]
fn dry_run_and_enforced_action_records_differ_only_in_dry_run() {
    let (_a, dry) = replay_bruteforce(None);
    let (_b, enforced) = replay_bruteforce(Some(
        "[response]\nmode = \"enforce\"\nenforce = [\"block\", \"rate_limit\"]\n",
    ));
    let payloads = |recs: &[Value], kind: &str| -> Vec<Value> {
        recs.iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["payload"].clone())
            .collect()
    };
    let (d, mut e) = (payloads(&dry, "action"), payloads(&enforced, "action"));
    assert_eq!(d.len(), 2);
    assert_eq!(d.len(), e.len());
    for (dp, ep) in d.iter().zip(e.iter_mut()) {
        assert_eq!(dp["dry_run"], true);
        assert_eq!(ep["dry_run"], false);
        ep["dry_run"] = true.into();
        // `decision_seq` is a position in the chain, not content: in the enforced replay the
        // soft-tier action's `action_failed` record (no responders in replay) shifts it.
        assert!(ep["decision_seq"].as_u64() >= dp["decision_seq"].as_u64());
        ep["decision_seq"] = dp["decision_seq"].clone();
        assert_eq!(dp, ep, "an action record may differ only in dry_run");
    }
    // Replay has no responders: the enforced actions are recorded as failed, never executed.
    assert_eq!(payloads(&enforced, "action_failed").len(), 2);
    assert!(payloads(&dry, "action_failed").is_empty());
}

#[test]
fn a_malformed_json_line_is_reported_and_the_rest_processed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.jsonl");
    let good = std::fs::read_to_string(fixture("bruteforce-two-windows.jsonl")).expect("fixture");
    std::fs::write(&input, format!("{{\"v\":1,\"kind\":\"exec\"}}\n{good}")).expect("write");
    let out = run(
        &["replay", input.to_str().expect("utf8")],
        &dir.path().join("s"),
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in.jsonl:1: not an event of the contract"),
        "{err}"
    );
    assert!(err.contains("2 findings"), "{err}");
}

#[test]
fn a_bad_config_stops_with_the_key_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[response]\nact_threshold = 1.5\n").expect("write");
    let out = run(&["check-config"], &dir.path().join("s"), Some(&cfg));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("response.act_threshold"), "{err}");
    let out = run(&["run"], &dir.path().join("s"), Some(&cfg));
    assert_eq!(out.status.code(), Some(1), "the agent refuses to start too");
}

#[test]
fn a_tampered_log_is_named_then_archived_and_never_keeps_the_agent_down() {
    let (dir, _) = replay_bruteforce(None);
    let state = dir.path().join("state");
    let log = state.join("audit.jsonl");
    let text = std::fs::read_to_string(&log).expect("log");
    let edited_seq = text
        .lines()
        .position(|l| l.contains("203.0.113.77"))
        .expect("the attacker is in the log")
        + 1;
    std::fs::write(&log, text.replacen("203.0.113.77", "203.0.113.78", 1)).expect("tamper");

    let out = run(&["audit", "verify"], &state, None);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("first bad record: seq {edited_seq}")),
        "{report}"
    );

    // The next start moves the evidence aside and records the tamper in a new chain.
    let f = fixture("bruteforce-two-windows.jsonl");
    let out = run(
        &["replay", "--record", f.to_str().expect("utf8")],
        &state,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = audit_records(&state);
    let t = recs
        .iter()
        .find(|r| r["kind"] == "tamper_detected")
        .expect("tamper_detected recorded");
    assert_eq!(t["payload"]["first_bad_seq"], edited_seq);
    let archived = t["payload"]["archived"].as_str().expect("archived path");
    assert!(Path::new(archived).exists(), "evidence kept at {archived}");
    let out = run(&["audit", "verify"], &state, None);
    assert!(out.status.success(), "the new chain verifies");
}

/// A fileless shell that exits in the batch that raised its findings: the decision, taken after
/// the batch, still knows its uid (the process table keeps recent exits), so the deny names
/// the user's fileless execs and never the `/proc/self/fd/3` path (which the agent would
/// resolve to its own descriptor).
#[test]
fn a_fileless_shell_that_exited_in_its_batch_gets_a_fileless_deny_for_its_user() {
    let (_dir, recs) = replay_recorded("fileless-shell-exits.jsonl", None);
    let actions: Vec<&Value> = recs
        .iter()
        .filter(|r| r["kind"] == "action")
        .map(|r| &r["payload"]["action"])
        .collect();
    assert!(
        actions
            .iter()
            .any(|a| a["action"] == "deny_fileless" && a["uid"] == 33),
        "{actions:#?}"
    );
    assert!(
        !actions.iter().any(|a| a["action"] == "deny_exec"),
        "no file deny of a /proc path: {actions:#?}"
    );
}
