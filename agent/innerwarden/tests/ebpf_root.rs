//! Kernel sensor tests: load the embedded object on this host's kernel and check what arrives.
//! They need root and an object built into the binary (scripts/build-ebpf.sh); otherwise each
//! prints `skipped: <why>` and returns. They touch no firewall or service: they spawn short
//! processes, use loopback sockets and write under a temporary directory.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use innerwarden::sensor::ebpf::EbpfConfig;
use innerwarden_core::event::{EventKind, LossPoint};

mod ebpf_common;
use ebpf_common::{start, wait_for};

#[test]
fn exec_arrives_with_full_argv_fork_and_exit() {
    require_root_and_object!();
    let (_sensor, mut rx, _tx) = start(EbpfConfig::default());
    let marker = format!("innerwarden-test-{}", std::process::id());
    let args = [marker.as_str(), "arg with spaces", "--flag=ü", "", "last"];
    let mut child = Command::new("/bin/echo")
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn echo");
    let pid = child.id();
    assert!(child.wait().expect("wait").success());

    let mut fork = None;
    let mut exec = None;
    let mut exit = None;
    let me = std::process::id();
    wait_for(&mut rx, Duration::from_secs(5), |ev| {
        match &ev.kind {
            EventKind::Fork(f) if f.child_pid == pid => fork = Some(f.clone()),
            EventKind::Exec(e) if e.pid == pid => exec = Some((ev.ts, e.clone())),
            EventKind::Exit(x) if x.pid == pid => exit = Some(x.clone()),
            _ => {}
        }
        (fork.is_some() && exec.is_some() && exit.is_some()).then_some(())
    });
    let (ts, exec) = exec.expect("exec event for the child");
    println!("{ts} {exec:?}");
    let skew = (chrono::Utc::now() - ts).num_milliseconds();
    assert!(
        (0..5000).contains(&skew),
        "boot-time clock converted to wall time: skew {skew} ms"
    );
    let mut want = vec!["/bin/echo".to_owned()];
    want.extend(args.iter().map(|a| a.to_string()));
    assert_eq!(exec.argv, want);
    assert_eq!(exec.filename, "/bin/echo");
    assert_eq!(exec.comm, "echo");
    assert!(!exec.argv_truncated);
    assert_eq!(exec.ppid, me, "parent learnt from the fork");
    assert_ne!(exec.cgroup_id, 0);
    let fork = fork.expect("fork event for the child");
    assert_eq!(fork.parent_pid, me);
    let exit = exit.expect("exit event for the child");
    assert_eq!(exit.code, 0);
}

#[test]
fn exit_code_and_long_argv_truncation() {
    require_root_and_object!();
    let (_sensor, mut rx, _tx) = start(EbpfConfig::default());
    let long: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg("exit 3")
        .arg("sh")
        .args(&long)
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    assert_eq!(child.wait().expect("wait").code(), Some(3));
    let mut exec = None;
    let mut exit = None;
    wait_for(&mut rx, Duration::from_secs(5), |ev| {
        match &ev.kind {
            EventKind::Exec(e) if e.pid == pid => exec = Some(e.clone()),
            EventKind::Exit(x) if x.pid == pid => exit = Some(x.clone()),
            _ => {}
        }
        (exec.is_some() && exit.is_some()).then_some(())
    });
    let exec = exec.expect("exec event");
    assert!(exec.argv_truncated, "{exec:?}");
    assert_eq!(exec.argv.len(), innerwarden_common::ARGV_MAX_ARGS);
    assert_eq!(&exec.argv[..3], ["/bin/sh", "-c", "exit 3"]);
    assert_eq!(exit.expect("exit event").code, 3 << 8);
}

fn loopback_tcp(listen_addr: IpAddr) {
    let (_sensor, mut rx, _tx) = start(EbpfConfig::default());
    let Ok(listener) = TcpListener::bind((listen_addr, 0)) else {
        println!("skipped: cannot bind {listen_addr}");
        return;
    };
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect((listen_addr, port)).expect("connect");
    let cport = client.local_addr().expect("addr").port();
    let (_server, _) = listener.accept().expect("accept");
    let me = std::process::id();

    let (mut listen, mut connect, mut accept) = (None, None, None);
    wait_for(&mut rx, Duration::from_secs(5), |ev| {
        match &ev.kind {
            EventKind::TcpListen(l) if l.port == port => listen = Some(l.clone()),
            EventKind::TcpConnect(c) if c.dport == port && c.sport == cport => {
                connect = Some(c.clone())
            }
            EventKind::TcpAccept(c) if c.dport == port && c.sport == cport => {
                accept = Some(c.clone())
            }
            _ => {}
        }
        (listen.is_some() && connect.is_some() && accept.is_some()).then_some(())
    });
    let listen = listen.expect("listen event");
    assert_eq!((listen.pid, listen.addr), (me, listen_addr));
    let connect = connect.expect("connect event");
    println!("{connect:?}");
    assert_eq!(
        connect.pid,
        Some(me),
        "connecting process remembered from SYN_SENT"
    );
    assert_eq!((connect.saddr, connect.daddr), (listen_addr, listen_addr));
    let accept = accept.expect("accept event");
    println!("{accept:?}");
    assert_eq!((accept.saddr, accept.daddr), (listen_addr, listen_addr));
}

#[test]
fn loopback_tcp_v4_connect_listen_accept() {
    require_root_and_object!();
    loopback_tcp(IpAddr::V4(Ipv4Addr::LOCALHOST));
}

#[test]
fn loopback_tcp_v6_connect_listen_accept() {
    require_root_and_object!();
    loopback_tcp(IpAddr::V6(Ipv6Addr::LOCALHOST));
}

#[test]
fn file_write_under_watched_prefix() {
    require_root_and_object!();
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = format!("{}/", dir.path().display());
    let config = EbpfConfig {
        watched_prefixes: vec![prefix.clone()],
        ..EbpfConfig::default()
    };
    let (_sensor, mut rx, _tx) = start(config);
    let watched = dir.path().join("watched.conf");
    std::fs::File::create(&watched)
        .expect("create")
        .write_all(b"x")
        .expect("write");
    let _ = std::fs::read(&watched).expect("read-only open is not reported");
    let me = std::process::id();
    let path = watched.display().to_string();
    let got = wait_for(&mut rx, Duration::from_secs(5), |ev| match &ev.kind {
        EventKind::FileWrite(f) if f.path == path => Some(f.clone()),
        _ => None,
    });
    let got = got.expect("file write event");
    assert_eq!(got.pid, me);
    assert_ne!(got.flags & (libc::O_CREAT as u32), 0);
}

#[test]
fn tiny_ring_buffer_reports_loss() {
    require_root_and_object!();
    // One page: an exec record (4.7 KB) can never fit, so every exec is a reserve failure.
    let config = EbpfConfig {
        ring_bytes: 4096,
        loss_interval: Duration::from_millis(200),
        ..EbpfConfig::default()
    };
    let (_sensor, mut rx, _tx) = start(config);
    for _ in 0..20 {
        let _ = Command::new("/bin/true").status();
    }
    // Loss events are deltas per poll: add them up until our 20 execs are accounted for.
    let mut lost = 0;
    let mut events = 0;
    // Generous: on a loaded machine (parallel compiles) the reader thread may be starved for
    // seconds; a quiet run finishes in one 200 ms tick.
    wait_for(&mut rx, Duration::from_secs(30), |ev| {
        if let EventKind::Loss(l) = &ev.kind
            && l.point == LossPoint::RingReserve
            && l.stage == "ebpf_exec"
        {
            assert!(l.count > 0, "a Loss event reports a non-zero count");
            lost += l.count;
            events += 1;
        }
        (lost >= 20).then_some(())
    });
    println!("loss events: {events}, ebpf_exec lost {lost} records");
    assert!(lost >= 20, "at least our 20 execs were lost, got {lost}");
}

#[test]
fn exec_by_process_started_before_the_sensor_has_its_parent() {
    require_root_and_object!();
    let marker = format!("innerwarden-early-{}", std::process::id());
    // This shell is forked before the sensor loads, then execs once the sensor is up (it waits
    // for a go file, not a fixed sleep: loading every program takes seconds on a busy host).
    let go = std::env::temp_dir().join(format!("{marker}.go"));
    let _ = std::fs::remove_file(&go);
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "while [ ! -e {} ]; do sleep 0.05; done; exec /bin/echo {marker}",
            go.display()
        ))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    let (_sensor, mut rx, _tx) = start(EbpfConfig::default());
    std::fs::write(&go, b"").expect("go file");
    let exec = wait_for(&mut rx, Duration::from_secs(5), |ev| match &ev.kind {
        EventKind::Exec(e) if e.pid == pid && e.argv.get(1) == Some(&marker) => Some(e.clone()),
        _ => None,
    });
    assert!(child.wait().expect("wait").success());
    let _ = std::fs::remove_file(&go);
    let exec = exec.expect("exec event of the early shell");
    assert_eq!(exec.ppid, std::process::id(), "parent seeded from /proc");
}
