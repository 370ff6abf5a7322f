use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use crate::channel::bounded;
use crate::sensor::MemoryPositions;

fn entry(cursor: &str, ident: &str, msg: &str) -> String {
    format!(
        r#"{{"__CURSOR":"{cursor}","__REALTIME_TIMESTAMP":"1763787220123456","SYSLOG_IDENTIFIER":"{ident}","_PID":"42","MESSAGE":"{msg}"}}"#
    )
}

/// A fake journalctl: records its arguments (one run per line), prints run-specific entries,
/// then exits (first run) or stays alive (later runs) like `--follow`.
fn fake_journalctl(dir: &Path) -> PathBuf {
    let args = dir.join("args");
    let first = [
        entry(
            "c1",
            "sshd",
            "Failed password for root from 203.0.113.9 port 1 ssh2",
        ),
        "not json".to_owned(),
        entry(
            "c2",
            "sudo",
            "  alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id",
        ),
    ];
    let later = [entry(
        "c3",
        "sshd-session",
        "Invalid user bob from 2001:db8::1 port 2",
    )];
    let quote = |lines: &[String]| {
        lines
            .iter()
            .map(|l| format!("'{l}'"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{args}'\nif [ \"$(wc -l < '{args}')\" -eq 1 ]; then\n  printf '%s\\n' {first}\n  exit 0\nfi\nprintf '%s\\n' {later}\nexec sleep 30\n",
        args = args.display(),
        first = quote(&first),
        later = quote(&later),
    );
    let path = dir.join("journalctl");
    std::fs::write(&path, script).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn args_follow_json_and_match_identifiers() {
    let cfg = JournaldConfig {
        identifiers: vec!["sshd".into(), "sudo".into()],
        ..JournaldConfig::default()
    };
    assert_eq!(
        cfg.args(&ResumeFrom::Now),
        [
            "--follow",
            "--output=json",
            "--no-pager",
            "--quiet",
            "--lines=0",
            "SYSLOG_IDENTIFIER=sshd",
            "SYSLOG_IDENTIFIER=sudo"
        ]
    );
    let cursor = ResumeFrom::Cursor("s=1;i=2".into());
    assert!(
        cfg.args(&cursor)
            .contains(&"--after-cursor=s=1;i=2".to_owned())
    );
    let since = ResumeFrom::Since(1_700_000_000);
    assert!(cfg.args(&since).contains(&"--since=@1700000000".to_owned()));
}

#[tokio::test]
async fn restarts_journalctl_and_resumes_after_the_saved_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = JournaldConfig {
        journalctl: fake_journalctl(dir.path()),
        save_interval: Duration::from_millis(20),
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..JournaldConfig::default()
    };
    let positions = Arc::new(MemoryPositions::default());
    let (tx, mut rx) = bounded::<Event>("journald-test", 8);
    let sensor = JournaldSensor::new(cfg, Arc::clone(&positions) as Arc<dyn PositionStore>, tx);
    let stats = sensor.stats();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(sensor.run(async {
        let _ = stop_rx.await;
    }));

    let mut kinds = Vec::new();
    for _ in 0..3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("event in time")
            .expect("open");
        assert_eq!(ev.source, Source::Journald);
        kinds.push(ev.kind.name());
    }
    assert_eq!(kinds, ["auth_failure", "sudo", "auth_failure"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(()).expect("running");
    handle.await.expect("joins").expect("clean stop");

    let args = std::fs::read_to_string(dir.path().join("args")).expect("args recorded");
    let runs: Vec<&str> = args.lines().collect();
    assert_eq!(runs.len(), 2, "{args}");
    assert!(
        runs[0].contains("--lines=0") && !runs[0].contains("--after-cursor"),
        "{}",
        runs[0]
    );
    assert!(runs[1].contains("--after-cursor=c2"), "{}", runs[1]);
    assert_eq!(
        positions
            .load_position(POSITION_KEY)
            .expect("loads")
            .as_deref(),
        Some("c3")
    );
    assert_eq!(stats.unparsed_total.load(Ordering::Relaxed), 1);
    assert_eq!(stats.restarts_total.load(Ordering::Relaxed), 1);
}

fn entry_with(ident: &str, pid: u32, facility: u8, msg: &str) -> String {
    format!(
        r#"{{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1763787220123456","SYSLOG_IDENTIFIER":"{ident}","_PID":"{pid}","SYSLOG_FACILITY":"{facility}","MESSAGE":"{msg}"}}"#
    )
}

#[tokio::test]
async fn log_line_rules_widen_the_follow_and_get_their_lines_but_never_the_agents_own() {
    use innerwarden_core::event::EventKind;
    use innerwarden_core::sigma::LogScope;
    let mut want = LogWant::default();
    want.add(LogScope::of_service(Some("sshd")).expect("sshd"));
    want.add(LogScope::of_service(Some("syslog")).expect("syslog"));
    let cfg = JournaldConfig {
        log_lines: want,
        ..JournaldConfig::default()
    };
    // Every entry is followed: no identifier match narrows journalctl.
    assert!(
        !cfg.args(&ResumeFrom::Now)
            .iter()
            .any(|a| a.starts_with("SYSLOG_IDENTIFIER="))
    );
    let (tx, mut rx) = bounded::<Event>("journald-log-lines", 16);
    let sensor = JournaldSensor::new(cfg, Arc::new(MemoryPositions::default()), tx);
    let mut decoder = SessionDecoder::new(LineContext::new(chrono::Utc::now(), Source::Journald));
    let own = std::process::id();
    for line in [
        // sshd (auth facility): a log line for the sshd scope, and decoded as an auth failure.
        entry_with(
            "sshd",
            7,
            4,
            "Failed password for root from 203.0.113.9 port 1 ssh2",
        ),
        // The kernel (facility 0): syslog scope.
        entry_with("kernel", 0, 0, "eth0: entered promiscuous mode"),
        // A login program on authpriv that no scope reads: neither a log line nor decoded
        // (it is not one of the auth identifiers).
        entry_with("useradd", 9, 10, "new user: name=x, UID=0, GID=0"),
        // The agent's own lines: never fed back, by name or by pid.
        entry_with(
            "innerwarden",
            11,
            3,
            "sigma rule matched error in libcrypto",
        ),
        entry_with("anything", own, 3, "error in libcrypto"),
    ] {
        sensor.handle(&mut decoder, &line).await.expect("handled");
    }
    drop(sensor);
    let mut got = Vec::new();
    while let Some(ev) = rx.recv().await {
        got.push(match &ev.kind {
            EventKind::LogLine(l) => format!("log_line {} {:?}", l.service, l.facility),
            k => k.name().to_owned(),
        });
    }
    assert_eq!(
        got,
        [
            "log_line sshd Some(4)",
            "auth_failure",
            "log_line kernel Some(0)"
        ]
    );
}
