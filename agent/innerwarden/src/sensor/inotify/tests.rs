//! The fallback against a real inotify in a temp directory (no root needed).

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use innerwarden_core::event::{Event, EventKind, FileOp, Source};
use tokio::sync::mpsc::Receiver;

use super::*;
use crate::channel;

fn start(prefixes: Vec<String>, homes: Vec<String>) -> (InotifySensor, Receiver<Event>) {
    let (tx, rx) = channel::bounded("inotify_test", 4096);
    let s = InotifySensor::start(
        InotifyConfig {
            prefixes,
            home_roots: homes,
            max_watches: 1000,
        },
        tx,
    )
    .expect("inotify starts");
    (s, rx)
}

/// Collect events until `done` says so or 5 s pass.
fn gather(rx: &mut Receiver<Event>, mut done: impl FnMut(&[Event]) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    while Instant::now() < deadline && !done(&out) {
        match rx.try_recv() {
            Ok(ev) => out.push(ev),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    // A short grace period for events that must not come.
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(ev) = rx.try_recv() {
        out.push(ev);
    }
    out
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events
        .iter()
        .inspect(|e| assert_eq!(e.source, Source::Inotify))
        .map(|e| e.kind.clone())
        .collect()
}

#[test]
fn tree_prefix_reports_write_rename_chmod_unlink_and_new_dirs() {
    let root = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let r = |n: &str| root.path().join(n);
    let (_s, mut rx) = start(vec![format!("{}/", root.path().display())], vec![]);
    std::fs::write(r("a"), b"x").expect("write");
    std::fs::rename(r("a"), r("b")).expect("rename");
    std::fs::write(outside.path().join("in"), b"x").expect("write");
    std::fs::rename(outside.path().join("in"), r("moved-in")).expect("move in");
    std::fs::set_permissions(r("b"), std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    // (b stays: the mode is read by stat when the event is handled.)
    std::fs::write(r("c"), b"x").expect("write");
    std::fs::remove_file(r("c")).expect("unlink");
    std::fs::create_dir(r("cron.d")).expect("mkdir");
    // Give the new-directory watch a moment to be added before writing into it.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(r("cron.d/job"), b"* * * * * root id").expect("write");
    let p = |n: &str| r(n).display().to_string();
    let job = p("cron.d/job");
    let evs = kinds(&gather(&mut rx, |evs| {
        evs.iter()
            .any(|e| matches!(&e.kind, EventKind::FileWrite(w) if w.path == job))
    }));
    for e in &evs {
        println!("{e:?}");
    }
    let has_change = |op: FileOp, path: &str, new: Option<&str>| {
        evs.iter().any(|e| {
            matches!(e, EventKind::FileChange(c)
                if c.op == op && c.path == path && c.new_path.as_deref() == new && c.pid == 0)
        })
    };
    assert!(
        evs.iter()
            .any(|e| matches!(e, EventKind::FileWrite(w) if w.path == p("a") && w.pid == 0))
    );
    assert!(has_change(FileOp::Rename, &p("a"), Some(&p("b"))));
    assert!(
        has_change(FileOp::Rename, "", Some(&p("moved-in"))),
        "moved in from elsewhere"
    );
    assert!(evs.iter().any(|e| matches!(e, EventKind::FileChange(c)
        if c.op == FileOp::Chmod && c.path == p("b") && c.mode == Some(0o4755))));
    assert!(has_change(FileOp::Unlink, &p("c"), None));
    assert!(
        evs.iter()
            .any(|e| matches!(e, EventKind::FileWrite(w) if w.path == job)),
        "new dir watched"
    );
}

#[test]
fn file_prefix_keeps_only_matching_entries() {
    let root = tempfile::tempdir().expect("tempdir");
    let r = |n: &str| root.path().join(n);
    std::fs::create_dir(r("cron.daily")).expect("mkdir");
    let (_s, mut rx) = start(vec![r("cron").display().to_string()], vec![]);
    std::fs::write(r("passwd"), b"x").expect("write");
    std::fs::write(r("crontab"), b"x").expect("write");
    std::fs::write(r("cron.daily/job"), b"x").expect("write");
    let want = r("cron.daily/job").display().to_string();
    let evs = kinds(&gather(&mut rx, |evs| {
        evs.iter()
            .any(|e| matches!(&e.kind, EventKind::FileWrite(w) if w.path == want))
    }));
    let paths: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            EventKind::FileWrite(w) => Some(w.path.clone()),
            _ => None,
        })
        .collect();
    assert!(
        paths.contains(&r("crontab").display().to_string()),
        "{paths:?}"
    );
    assert!(paths.contains(&want), "{paths:?}");
    assert!(!paths.iter().any(|p| p.ends_with("passwd")), "{paths:?}");
}

#[test]
fn homes_report_only_persistence_files() {
    let homes = tempfile::tempdir().expect("tempdir");
    let alice = homes.path().join("alice");
    std::fs::create_dir_all(&alice).expect("mkdir");
    let (_s, mut rx) = start(vec![], vec![format!("{}/", homes.path().display())]);
    std::fs::write(alice.join("notes.txt"), b"x").expect("write");
    std::fs::write(alice.join(".bashrc"), b"x").expect("write");
    std::fs::create_dir(alice.join(".ssh")).expect("mkdir .ssh");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(alice.join(".ssh/authorized_keys"), b"ssh-ed25519 AAAA").expect("write");
    // A new home appears (useradd -m) and gets its rc files watched.
    std::fs::create_dir(homes.path().join("bob")).expect("mkdir");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(homes.path().join("bob/.profile"), b"x").expect("write");
    let keys = alice.join(".ssh/authorized_keys").display().to_string();
    let bob = homes.path().join("bob/.profile").display().to_string();
    let evs = kinds(&gather(&mut rx, |evs| {
        let has = |p: &str| {
            evs.iter()
                .any(|e| matches!(&e.kind, EventKind::FileWrite(w) if w.path == p))
        };
        has(&keys) && has(&bob)
    }));
    let paths: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            EventKind::FileWrite(w) => Some(w.path.clone()),
            _ => None,
        })
        .collect();
    println!("{paths:?}");
    assert!(paths.contains(&alice.join(".bashrc").display().to_string()));
    assert!(paths.contains(&keys));
    assert!(paths.contains(&bob));
    assert!(!paths.iter().any(|p| p.ends_with("notes.txt")));
}

#[test]
fn nothing_to_watch_is_an_error() {
    let (tx, _rx) = channel::bounded("inotify_test", 16);
    let err = InotifySensor::start(
        InotifyConfig {
            prefixes: vec!["/nonexistent-iw-dir/".into()],
            home_roots: vec![],
            max_watches: 10,
        },
        tx,
    )
    .err()
    .expect("nothing watched");
    assert_eq!(
        err.to_string(),
        "none of the configured paths could be watched"
    );
}

/// A reader on a real inotify fd watching `dir` (wd 1), fed records by hand.
fn reader_on(dir: &std::path::Path) -> (Reader, Receiver<Event>) {
    let (tx, rx) = channel::bounded("inotify_reader_test", 64);
    // SAFETY: plain syscall; the Reader closes the fd on drop.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    assert!(fd >= 0, "inotify_init1");
    let mut watches = Watches::new(fd, MASK, 16);
    watches.add_prefix(&format!("{}/", dir.display()));
    assert_eq!(watches.len(), 1);
    (Reader::new(fd, watches, tx), rx)
}

fn raw(mask: u32, cookie: u32, name: &str) -> RawEvent {
    RawEvent {
        wd: 1,
        mask,
        cookie,
        name: name.into(),
    }
}

fn drain(rx: &mut Receiver<Event>) -> Vec<EventKind> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| e.kind)
        .collect()
}

#[test]
fn a_rename_split_across_two_reads_is_one_rename() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).display().to_string();
    let (mut r, mut rx) = reader_on(dir.path());
    // The read fell between the halves: the first half waits.
    assert!(r.handle_batch(&[raw(libc::IN_MOVED_FROM, 7, "a")]));
    assert!(drain(&mut rx).is_empty(), "held for its other half");
    assert!(r.handle_batch(&[raw(libc::IN_MOVED_TO, 7, "b")]));
    let got = drain(&mut rx);
    assert!(
        matches!(&got[..], [EventKind::FileChange(c)]
            if c.op == FileOp::Rename && c.path == p("a") && c.new_path.as_deref() == Some(p("b").as_str())),
        "{got:?}"
    );
    // A half whose other half never comes is moved out after one more read.
    assert!(r.handle_batch(&[raw(libc::IN_MOVED_FROM, 8, "c")]));
    assert!(r.handle_batch(&[raw(libc::IN_CLOSE_WRITE, 0, "d")]));
    let got = drain(&mut rx);
    assert!(
        got.iter().any(|k| matches!(k, EventKind::FileChange(c)
            if c.op == FileOp::Rename && c.path == p("c") && c.new_path.is_none())),
        "{got:?}"
    );
    assert!(r.moves.is_empty());
}
