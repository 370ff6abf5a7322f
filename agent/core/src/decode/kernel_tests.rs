use innerwarden_common::{ARGV_MAX_ARGS, EXEC_ARGV_TRUNCATED, PATH_LEN};
use proptest::prelude::*;

use super::*;

pub(super) const CLOCK: BootClock = BootClock {
    offset_ns: 1_700_000_000_000_000_000,
};

/// Decode a record that must not be filtered out.
pub(super) fn dec(bytes: &[u8]) -> Result<Event, DecodeError> {
    decode(bytes, &CLOCK, &NoProc).map(|e| e.expect("record kept, not filtered"))
}

pub(super) fn header(kind: Kind, pid: u32, uid: u32, comm: &str) -> Header {
    let mut h = Header::zeroed();
    h.kind = kind as u32;
    h.size = kind.record_size() as u32;
    h.ts_boot_ns = 5_000_000_123;
    h.pid = pid;
    h.tid = pid;
    h.uid = uid;
    h.gid = uid + 1;
    h.cgroup_id = 77;
    put(&mut h.comm, comm);
    h
}

pub(super) fn put(dst: &mut [u8], s: &str) {
    let n = s.len().min(dst.len() - 1);
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}

fn exec_record(pid: u32, filename: &str, argv: &[String]) -> ExecRecord {
    let mut r = ExecRecord::zeroed();
    r.header = header(Kind::Exec, pid, 1000, "true");
    r.ppid = 1;
    put(&mut r.filename, filename);
    let mut off = 0;
    for a in argv {
        r.argv[off..off + a.len()].copy_from_slice(a.as_bytes());
        off += a.len() + 1;
    }
    r.argc = argv.len() as u32;
    r.argv_len = off as u32;
    r
}

#[test]
fn exec_decodes_argv_and_wall_time() {
    let argv = vec![
        "/bin/true".to_owned(),
        "--flag".to_owned(),
        "x y".to_owned(),
    ];
    let r = exec_record(42, "/usr/bin/true", &argv);
    let ev = dec(r.as_bytes()).expect("valid record");
    assert_eq!(ev.source, Source::Ebpf);
    assert_eq!(ev.ts.timestamp_nanos_opt(), Some(1_700_000_005_000_000_123));
    let EventKind::Exec(e) = ev.kind else {
        panic!("not exec: {ev:?}")
    };
    assert_eq!(e.pid, 42);
    assert_eq!(e.ppid, 1);
    assert_eq!((e.uid, e.gid), (1000, 1001));
    assert_eq!(e.comm, "true");
    assert_eq!(e.filename, "/usr/bin/true");
    assert_eq!(e.argv, argv);
    assert!(!e.argv_truncated);
    assert_eq!(e.cgroup_id, 77);
}

#[test]
fn accept_uses_flow_direction_and_maps_v4_in_v6() {
    let mut r = TcpRecord::zeroed();
    r.header = header(Kind::TcpAccept, 9, 0, "sshd");
    r.family = AF_INET6;
    r.sport = 22;
    r.dport = 50000;
    r.saddr = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().octets();
    r.daddr = Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped().octets();
    let ev = dec(r.as_bytes()).expect("valid");
    let EventKind::TcpAccept(c) = ev.kind else {
        panic!("not accept")
    };
    assert_eq!(c.pid, None);
    assert_eq!(c.saddr, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    assert_eq!(c.sport, 50000);
    assert_eq!(c.daddr, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(c.dport, 22);
}

#[test]
fn bad_records_are_errors() {
    assert!(matches!(dec(&[0u8; 8]), Err(DecodeError::Short { .. })));
    let mut h = header(Kind::Fork, 1, 0, "x");
    h.kind = 555;
    assert_eq!(
        dec(h.as_bytes()),
        Err(DecodeError::UnknownKind { kind: 555 })
    );
    let h = header(Kind::Fork, 1, 0, "x");
    assert!(matches!(
        dec(h.as_bytes()),
        Err(DecodeError::BadSize { .. })
    ));
    let mut r = exec_record(1, "/x", &[]);
    r.argv_len = u32::MAX;
    assert!(matches!(
        dec(r.as_bytes()),
        Err(DecodeError::BadArgv { .. })
    ));
    let mut t = TcpRecord::zeroed();
    t.header = header(Kind::TcpConnect, 1, 0, "x");
    t.family = 99;
    assert_eq!(
        dec(t.as_bytes()),
        Err(DecodeError::BadFamily { family: 99 })
    );
}

fn arg() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /._=-]{0,40}"
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let _ = decode(&bytes, &CLOCK, &NoProc);
    }

    #[test]
    fn arbitrary_valid_kind_with_random_body_never_panics(
        kind in prop::sample::select(Kind::ALL.iter().map(|k| *k as u32).collect::<Vec<_>>()),
        body in proptest::collection::vec(any::<u8>(), 5000),
    ) {
        let k = Kind::from_u32(kind).expect("listed kind");
        let mut bytes = body[..k.record_size()].to_vec();
        bytes[..4].copy_from_slice(&kind.to_ne_bytes());
        bytes[4..8].copy_from_slice(&(k.record_size() as u32).to_ne_bytes());
        let _ = decode(&bytes, &CLOCK, &NoProc);
    }

    #[test]
    fn exec_round_trips(
        pid in any::<u32>(),
        filename in "/[a-z/]{1,100}",
        argv in proptest::collection::vec(arg(), 0..ARGV_MAX_ARGS),
    ) {
        let r = exec_record(pid, &filename, &argv);
        let ev = dec(r.as_bytes()).expect("valid");
        let EventKind::Exec(e) = ev.kind else { panic!("not exec") };
        prop_assert_eq!(e.pid, pid);
        prop_assert_eq!(e.filename, filename);
        prop_assert_eq!(e.argv, argv);
    }

    #[test]
    fn connect_round_trips(
        pid in any::<u32>(), sport in any::<u16>(), dport in any::<u16>(),
        s in any::<[u8; 4]>(), d in any::<[u8; 16]>(), v6 in any::<bool>(),
    ) {
        let mut r = TcpRecord::zeroed();
        r.header = header(Kind::TcpConnect, pid, 0, "curl");
        r.flags = TCP_PROCESS_KNOWN;
        r.sport = sport;
        r.dport = dport;
        if v6 {
            r.family = AF_INET6;
            r.saddr = d;
            r.daddr = d;
        } else {
            r.family = AF_INET;
            r.saddr[..4].copy_from_slice(&s);
            r.daddr[..4].copy_from_slice(&s);
        }
        let ev = dec(r.as_bytes()).expect("valid");
        let EventKind::TcpConnect(c) = ev.kind else { panic!("not connect") };
        let want = if v6 { normalize_ip(IpAddr::V6(Ipv6Addr::from(d))) } else { IpAddr::from(s) };
        prop_assert_eq!(c.pid, Some(pid));
        prop_assert_eq!(c.saddr, want);
        prop_assert_eq!(c.daddr, want);
        prop_assert_eq!((c.sport, c.dport), (sport, dport));
    }

    #[test]
    fn file_and_process_records_round_trip(pid in 1u32.., path in "/[a-z/]{1,200}", code in any::<i32>()) {
        let mut f = FileRecord::zeroed();
        f.header = header(Kind::FileOpenWrite, pid, 0, "vi");
        f.open_flags = 0o1101;
        put(&mut f.path, &path);
        let ev = dec(f.as_bytes()).expect("valid");
        prop_assert_eq!(ev.kind, EventKind::FileWrite(FileWrite {
            pid, uid: 0, comm: "vi".into(), path: path.clone(), flags: 0o1101,
        }));
        prop_assert!(path.len() < PATH_LEN);

        let mut x = ExitRecord::zeroed();
        x.header = header(Kind::Exit, pid, 0, "sh");
        x.code = code;
        x.flags = EXIT_CODE_KNOWN;
        let ev = dec(x.as_bytes()).expect("valid");
        prop_assert_eq!(ev.kind, EventKind::Exit(Exit { pid, code }));

        let mut k = ForkRecord::zeroed();
        k.header = header(Kind::Fork, pid, 0, "sh");
        k.parent_pid = pid;
        k.child_pid = pid.wrapping_add(1);
        let ev = dec(k.as_bytes()).expect("valid");
        prop_assert_eq!(ev.kind, EventKind::Fork(Fork {
            parent_pid: pid, child_pid: pid.wrapping_add(1), comm: "sh".into(),
        }));
    }
}

#[test]
fn truncated_flag_is_reported() {
    let mut r = exec_record(1, "/bin/x", &["a".to_owned()]);
    r.flags = EXEC_ARGV_TRUNCATED;
    let ev = dec(r.as_bytes()).expect("valid");
    assert!(matches!(
        ev.kind,
        EventKind::Exec(Exec {
            argv_truncated: true,
            ..
        })
    ));
}

#[path = "kernel_sys_tests.rs"]
mod sys;
