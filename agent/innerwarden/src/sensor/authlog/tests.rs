use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::*;
use crate::channel::bounded;
use crate::sensor::MemoryPositions;

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(text.as_bytes()).expect("write");
}

fn poll(t: &mut Tail) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let before = out.len();
        t.poll(&mut out).expect("poll");
        if out.len() == before {
            return out;
        }
    }
}

#[test]
fn first_start_is_at_the_end_unless_told_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("auth.log");
    append(&p, "old 1\nold 2\n");
    let mut t = Tail::new(&p, None, StartAt::End);
    assert!(poll(&mut t).is_empty());
    append(&p, "new\n");
    assert_eq!(poll(&mut t), ["new"]);
    let mut t = Tail::new(&p, None, StartAt::Beginning);
    assert_eq!(poll(&mut t), ["old 1", "old 2", "new"]);
}

#[test]
fn a_file_created_after_start_is_read_from_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("auth.log");
    let mut t = Tail::new(&p, None, StartAt::End);
    assert!(poll(&mut t).is_empty());
    append(&p, "first\n");
    assert_eq!(poll(&mut t), ["first"]);
}

#[test]
fn partial_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("auth.log");
    append(&p, "");
    let mut t = Tail::new(&p, None, StartAt::Beginning);
    append(&p, "one\ntw");
    assert_eq!(poll(&mut t), ["one"]);
    assert_eq!(
        t.position().map(|p| p.offset),
        Some(4),
        "offset excludes the partial line"
    );
    append(&p, "o\r\n");
    assert_eq!(poll(&mut t), ["two"]);
}

#[test]
fn rotation_drains_the_old_file_then_reads_the_new_one_from_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("auth.log");
    append(&p, "");
    let mut t = Tail::new(&p, None, StartAt::Beginning);
    append(&p, "a\n");
    assert_eq!(poll(&mut t), ["a"]);
    fs::rename(&p, dir.path().join("auth.log.1")).expect("rename");
    // The writer still had the old file open: these land in auth.log.1.
    append(&dir.path().join("auth.log.1"), "b\nc-partial");
    assert_eq!(
        poll(&mut t),
        ["b"],
        "missing new file: keep reading the old one"
    );
    append(&p, "d\n");
    assert_eq!(poll(&mut t), ["c-partial", "d"]);
    append(&p, "e\n");
    assert_eq!(poll(&mut t), ["e"]);
}

#[test]
fn copytruncate_restarts_at_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("auth.log");
    append(&p, "");
    let mut t = Tail::new(&p, None, StartAt::Beginning);
    append(&p, "first line\nsecond line\n");
    assert_eq!(poll(&mut t).len(), 2);
    fs::write(&p, "x\n").expect("truncate and write");
    let mut out = Vec::new();
    let stats = t.poll(&mut out).expect("poll");
    assert!(stats.truncated);
    assert_eq!(out, ["x"]);
}

#[test]
fn restart_from_saved_position_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("auth.log");
    append(&p, "");
    let mut t = Tail::new(&p, None, StartAt::End);
    assert!(poll(&mut t).is_empty(), "opens at the (empty) end");
    append(&p, "1\n2\n3");
    assert_eq!(poll(&mut t), ["1", "2"]);
    let saved = t.position().expect("open");
    assert_eq!(FilePosition::decode(&saved.encode()), Some(saved));
    drop(t);
    append(&p, "\n4\n");
    let mut t = Tail::new(&p, Some(saved), StartAt::End);
    assert_eq!(poll(&mut t), ["3", "4"]);
    // A saved position of another inode (rotated while down) reads the new file from 0.
    let other = FilePosition {
        ino: saved.ino + 1,
        ..saved
    };
    let mut t = Tail::new(&p, Some(other), StartAt::End);
    assert_eq!(poll(&mut t), ["1", "2", "3", "4"]);
}

const FAIL: &str =
    "Nov 22 04:53:40 box sshd[7]: Failed password for root from 203.0.113.9 port 2222 ssh2\n";
const NOISE: &str = "Nov 22 04:53:41 box sshd[7]: something sshd never said\n";

#[tokio::test]
async fn sensor_sends_events_counts_unparsed_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("auth.log");
    append(&p, FAIL); // history before the first start: skipped (StartAt::End)
    let positions = Arc::new(MemoryPositions::default());
    let mut cfg = AuthlogConfig::new(&p);
    cfg.poll_interval = Duration::from_millis(10);

    let run = |positions: Arc<MemoryPositions>| {
        let (tx, rx) = bounded::<Event>("authlog-test", 4);
        let sensor = AuthlogSensor::new(cfg.clone(), positions, tx);
        let stats = sensor.stats();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(sensor.run(async {
            let _ = stop_rx.await;
        }));
        (rx, stats, stop_tx, handle)
    };

    let (mut rx, stats, stop, handle) = run(Arc::clone(&positions));
    tokio::time::sleep(Duration::from_millis(50)).await;
    append(&p, &format!("{FAIL}{NOISE}{FAIL}"));
    for _ in 0..2 {
        let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("event in time")
            .expect("open");
        assert!(ev.failed_auth_host().is_some());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(AuthlogStats::get(&stats.unparsed_total), 1);
    stop.send(()).expect("running");
    handle.await.expect("joins").expect("clean stop");
    let saved = positions
        .load_position(&cfg.position_key())
        .expect("loads")
        .and_then(|s| FilePosition::decode(&s))
        .expect("saved");
    assert_eq!(saved.offset, fs::metadata(&p).expect("stat").len());

    // Lines written while stopped are read on restart, exactly once.
    append(&p, FAIL);
    let (mut rx, _stats, stop, handle) = run(Arc::clone(&positions));
    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("event in time")
        .expect("open");
    assert!(ev.failed_auth_host().is_some());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(rx.try_recv().is_err(), "nothing duplicated");
    stop.send(()).expect("running");
    handle.await.expect("joins").expect("clean stop");
}
