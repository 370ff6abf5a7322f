use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::*;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

/// Spawn `cmd` and return it with a start_ns as the exec event would record it (just after).
fn spawn(args: &[&str]) -> (Child, u64) {
    let child = Command::new(args[0])
        .args(&args[1..])
        .spawn()
        .expect("spawn");
    (child, now_ns())
}

fn kill_action(pid: u32, start_ns: u64, tree: bool) -> Action {
    Action::Kill {
        pid,
        start_ns,
        exe: "/usr/bin/sleep".into(),
        tree,
    }
}

/// Dead = no /proc entry or a zombie.
fn dead(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => parse_stat(&s).is_none_or(|st| st.state == 'Z' || st.state == 'X'),
    }
}

fn wait_dead(pid: u32) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn parses_stat_with_odd_comm() {
    let line = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 \
                1000 100 18446744073709551615 0 0 0";
    let st = parse_stat(line).expect("parses");
    assert_eq!(
        st,
        ProcStat {
            state: 'S',
            ppid: 1,
            start_ticks: 98765
        }
    );
    assert!(parse_stat("garbage").is_none());
}

#[test]
fn start_rule() {
    let exec = 1_700_000_000_000_000_000;
    assert!(start_matches(exec - 3_600_000_000_000, exec)); // forked an hour before exec
    assert!(start_matches(exec + 500_000_000, exec)); // within tolerance
    assert!(!start_matches(exec + 2_000_000_000, exec)); // started after: recycled pid
    assert!(!start_matches(5, 0)); // no event time: never
    assert_eq!(ticks_to_wall_ns(250, 100, 1_000), 2_500_001_000);
}

#[test]
fn kills_a_child() {
    let (mut child, start) = spawn(&["sleep", "100"]);
    let mut r = KillResponder::new();
    let applied = r
        .apply(&kill_action(child.id(), start, false))
        .expect("killed");
    assert!(applied.detail.contains("SIGKILL"), "{}", applied.detail);
    let status = child.wait().expect("wait");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[test]
fn mismatched_start_refuses_and_process_survives() {
    let (mut child, start) = spawn(&["sleep", "100"]);
    let mut r = KillResponder::new();
    // The decision was about a process exec'd 10 s before this one started: a recycled pid.
    let err = r
        .apply(&kill_action(child.id(), start - 10_000_000_000, false))
        .expect_err("must refuse");
    assert!(matches!(err, RespondError::TargetGone { .. }), "{err}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().expect("try_wait").is_none(), "child died");
    child.kill().expect("cleanup");
    child.wait().expect("reap");
}

#[test]
fn kills_a_tree() {
    let (mut child, start) = spawn(&["sh", "-c", "sleep 100 & sleep 100 & wait"]);
    let r = KillResponder::new();
    // Wait for both sleeps to exist.
    let t = Instant::now();
    let mut kids = Vec::new();
    while t.elapsed() < Duration::from_secs(5) {
        kids = r.children_of(child.id());
        if kids.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(kids.len(), 2, "sleeps not started: {kids:?}");
    let mut r = r;
    let applied = r
        .apply(&kill_action(child.id(), start, true))
        .expect("killed");
    assert!(
        applied.detail.contains("2 descendant"),
        "{}",
        applied.detail
    );
    child.wait().expect("reap");
    for k in kids {
        assert!(wait_dead(k), "descendant {k} survived");
    }
}

#[test]
fn refuses_pid_1_and_self() {
    let mut r = KillResponder::new();
    for pid in [1, std::process::id()] {
        let err = r
            .apply(&kill_action(pid, now_ns(), true))
            .expect_err("must refuse");
        assert!(err.to_string().contains("refusing"), "{err}");
    }
    // Still alive, obviously: we are running.
}

#[test]
fn gone_process_is_target_gone() {
    let (mut child, start) = spawn(&["true"]);
    let pid = child.id();
    child.wait().expect("reap");
    let err = KillResponder::new()
        .apply(&kill_action(pid, start, false))
        .expect_err("gone");
    assert!(matches!(err, RespondError::TargetGone { .. }), "{err}");
}

#[test]
fn revert_says_irreversible() {
    let a = KillResponder::new()
        .revert(&kill_action(42, 1, false))
        .expect("ok");
    assert!(a.detail.contains("cannot be reverted"));
}
