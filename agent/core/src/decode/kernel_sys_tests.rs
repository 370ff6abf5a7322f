//! Decoding of the syscall records: one valid record per kind, the filters, the /proc seam, and
//! malformed values as clear errors.

use innerwarden_common::{
    BpfLoadRecord, CHANGE_HAS_MODE, CHANGE_HAS_NEW_PATH, CredRecord, CredSyscall, DUP_SYSCALL_DUP2,
    FILE_HOME, FdDupRecord, FileChangeOp, FileChangeRecord, FileRecord, Kind, MEM_SYSCALL_MMAP,
    MEM_SYSCALL_MPROTECT, MemExecRecord, MemfdRecord, ModuleRecord, MountRecord, NS_SYSCALL_SETNS,
    NS_SYSCALL_UNSHARE, NamespaceRecord, Plain, PtraceRecord, SIG_SYSCALL_KILL, SIG_SYSCALL_PIDFD,
    SignalRecord,
};
use proptest::prelude::*;

use super::{CLOCK, dec, header, put};
use crate::decode::kernel::{DecodeError, NoProc, ProcLookup, decode};
use crate::event::*;

/// A fake /proc: fd 3 of pid 7 is a socket, fd 4 is not, pidfd 5 of pid 7 names pid 4242.
struct FakeProc;

impl ProcLookup for FakeProc {
    fn fd_is_socket(&self, pid: u32, fd: u32) -> Option<bool> {
        match (pid, fd) {
            (7, 3) => Some(true),
            (7, 4) => Some(false),
            _ => None,
        }
    }
    fn pidfd_target(&self, pid: u32, fd: u32) -> Option<i32> {
        (pid == 7 && fd == 5).then_some(4242)
    }
}

fn kind_of(bytes: &[u8]) -> EventKind {
    dec(bytes).expect("valid record").kind
}

#[test]
fn ptrace_and_memfd() {
    let mut r = PtraceRecord::zeroed();
    r.header = header(Kind::Ptrace, 7, 0, "gdb");
    r.request = 16;
    r.target = 99;
    assert_eq!(
        kind_of(r.as_bytes()),
        EventKind::Ptrace(Ptrace {
            pid: 7,
            uid: 0,
            comm: "gdb".into(),
            request: 16,
            target_pid: 99
        })
    );
    let mut m = MemfdRecord::zeroed();
    m.header = header(Kind::MemfdCreate, 7, 1000, "python3");
    m.flags = 1;
    put(&mut m.name, "payload");
    let EventKind::MemfdCreate(e) = kind_of(m.as_bytes()) else {
        panic!("not memfd")
    };
    assert_eq!((e.name.as_str(), e.flags, e.uid), ("payload", 1, 1000));
}

fn cred(sys: CredSyscall, args: [u64; 3]) -> CredChange {
    let mut r = CredRecord::zeroed();
    r.header = header(Kind::CredChange, 7, 1000, "su");
    r.syscall = sys as u32;
    r.args = args;
    match kind_of(r.as_bytes()) {
        EventKind::CredChange(c) => c,
        other => panic!("not cred: {other:?}"),
    }
}

#[test]
fn cred_change_picks_the_effective_id() {
    const UNCHANGED: u64 = u32::MAX as u64;
    let c = cred(CredSyscall::Setuid, [0, 0, 0]);
    assert_eq!(
        (c.syscall.as_str(), c.new_uid, c.new_gid),
        ("setuid", Some(0), None)
    );
    assert_eq!(c.uid, 1000, "the caller's uid before the call");
    let c = cred(CredSyscall::Setresuid, [UNCHANGED, 0, UNCHANGED]);
    assert_eq!(c.new_uid, Some(0));
    let c = cred(CredSyscall::Setreuid, [5, UNCHANGED, 0]);
    assert_eq!(
        c.new_uid,
        Some(5),
        "real id when the effective one is unchanged"
    );
    let c = cred(CredSyscall::Setresgid, [UNCHANGED, UNCHANGED, UNCHANGED]);
    assert_eq!((c.new_uid, c.new_gid), (None, None));
    let c = cred(CredSyscall::Setgid, [27, 0, 0]);
    assert_eq!(
        (c.syscall.as_str(), c.new_uid, c.new_gid),
        ("setgid", None, Some(27))
    );
    let c = cred(CredSyscall::Capset, [0, 0, 0]);
    assert_eq!(
        (c.syscall.as_str(), c.new_uid, c.new_gid),
        ("capset", None, None)
    );
}

#[test]
fn fd_dup_asks_proc_for_the_socket_bit() {
    let mut r = FdDupRecord::zeroed();
    r.header = header(Kind::FdDup, 7, 0, "bash");
    r.syscall = DUP_SYSCALL_DUP2;
    r.oldfd = 3;
    r.newfd = 0;
    let got = |r: &FdDupRecord, proc: &dyn ProcLookup| match decode(r.as_bytes(), &CLOCK, proc)
        .expect("valid")
        .expect("kept")
        .kind
    {
        EventKind::FdDup(d) => d,
        other => panic!("not fd_dup: {other:?}"),
    };
    assert_eq!(got(&r, &FakeProc).socket, Some(true));
    assert_eq!(got(&r, &NoProc).socket, None, "unknown without /proc");
    r.oldfd = 4;
    assert_eq!(got(&r, &FakeProc).socket, Some(false));
    // Old descriptor gone: the new one (same file) answers; here neither is known.
    r.oldfd = 9;
    assert_eq!(got(&r, &FakeProc).socket, None);
    r.syscall = 77;
    assert_eq!(
        decode(r.as_bytes(), &CLOCK, &FakeProc),
        Err(DecodeError::BadValue {
            kind: Kind::FdDup,
            field: "syscall",
            value: 77
        })
    );
}

#[test]
fn mem_exec_mmap_and_mprotect() {
    let mut r = MemExecRecord::zeroed();
    r.header = header(Kind::MemExec, 7, 0, "loader");
    r.syscall = MEM_SYSCALL_MMAP;
    r.prot = 7;
    r.flags = 0x22;
    r.fd = -1;
    let EventKind::MemExec(m) = kind_of(r.as_bytes()) else {
        panic!("not mem_exec")
    };
    assert_eq!((m.syscall.as_str(), m.prot, m.anonymous), ("mmap", 7, true));
    r.syscall = MEM_SYSCALL_MPROTECT;
    r.flags = 0;
    let EventKind::MemExec(m) = kind_of(r.as_bytes()) else {
        panic!("not mem_exec")
    };
    assert_eq!((m.syscall.as_str(), m.anonymous), ("mprotect", true));
    r.syscall = 0;
    assert!(matches!(
        dec(r.as_bytes()),
        Err(DecodeError::BadValue { .. })
    ));
}

fn change(
    op: FileChangeOp,
    path: &str,
    new_path: Option<&str>,
    mode: Option<u32>,
) -> FileChangeRecord {
    let mut r = FileChangeRecord::zeroed();
    r.header = header(Kind::FileChange, 7, 0, "mv");
    r.op = op as u32;
    put(&mut r.path, path);
    if let Some(n) = new_path {
        put(&mut r.new_path, n);
        r.pflags |= CHANGE_HAS_NEW_PATH;
    }
    if let Some(m) = mode {
        r.mode = m;
        r.pflags |= CHANGE_HAS_MODE;
    }
    r
}

#[test]
fn file_change_ops_names_and_mode() {
    let r = change(FileChangeOp::Rename, "/tmp/x", Some("/etc/cron.d/x"), None);
    assert_eq!(
        kind_of(r.as_bytes()),
        EventKind::FileChange(FileChange {
            pid: 7,
            uid: 0,
            comm: "mv".into(),
            op: FileOp::Rename,
            path: "/tmp/x".into(),
            new_path: Some("/etc/cron.d/x".into()),
            mode: None,
        })
    );
    let r = change(FileChangeOp::Chmod, "/tmp/sh", None, Some(0o4755));
    let EventKind::FileChange(c) = kind_of(r.as_bytes()) else {
        panic!("not change")
    };
    assert_eq!(
        (c.op, c.mode, c.new_path),
        (FileOp::Chmod, Some(0o4755), None)
    );
    for (op, want) in [
        (FileChangeOp::Unlink, FileOp::Unlink),
        (FileChangeOp::Truncate, FileOp::Truncate),
        (FileChangeOp::Chown, FileOp::Chown),
        (FileChangeOp::Link, FileOp::Link),
    ] {
        let EventKind::FileChange(c) = kind_of(change(op, "/etc/x", None, None).as_bytes()) else {
            panic!("not change")
        };
        assert_eq!(c.op, want);
    }
    let mut r = change(FileChangeOp::Unlink, "/etc/x", None, None);
    r.op = 42;
    assert_eq!(
        dec(r.as_bytes()),
        Err(DecodeError::BadValue {
            kind: Kind::FileChange,
            field: "op",
            value: 42
        })
    );
}

#[test]
fn home_matches_keep_only_persistence_files() {
    let mut keep = change(
        FileChangeOp::Rename,
        "/home/a/x.tmp",
        Some("/home/a/.bashrc"),
        None,
    );
    keep.pflags |= FILE_HOME;
    assert!(
        decode(keep.as_bytes(), &CLOCK, &NoProc)
            .expect("valid")
            .is_some()
    );
    let mut drop = change(FileChangeOp::Unlink, "/home/a/notes.txt", None, None);
    drop.pflags |= FILE_HOME;
    assert_eq!(decode(drop.as_bytes(), &CLOCK, &NoProc), Ok(None));

    let mut w = FileRecord::zeroed();
    w.header = header(Kind::FileOpenWrite, 7, 1000, "vi");
    w.pflags = FILE_HOME;
    put(&mut w.path, "/home/a/.ssh/authorized_keys");
    assert!(
        decode(w.as_bytes(), &CLOCK, &NoProc)
            .expect("valid")
            .is_some()
    );
    let mut w2 = w;
    w2.path = [0; innerwarden_common::PATH_LEN];
    put(&mut w2.path, "/home/a/src/main.rs");
    assert_eq!(decode(w2.as_bytes(), &CLOCK, &NoProc), Ok(None));
    // Without the home flag the same path is kept (it matched a plain watched prefix).
    w2.pflags = 0;
    assert!(
        decode(w2.as_bytes(), &CLOCK, &NoProc)
            .expect("valid")
            .is_some()
    );
}

#[test]
fn file_read_drops_public_keys() {
    let mut r = FileRecord::zeroed();
    r.header = header(Kind::FileRead, 7, 1000, "cat");
    put(&mut r.path, "/etc/shadow");
    assert_eq!(
        kind_of(r.as_bytes()),
        EventKind::FileRead(FileRead {
            pid: 7,
            uid: 1000,
            comm: "cat".into(),
            path: "/etc/shadow".into()
        })
    );
    let mut p = FileRecord::zeroed();
    p.header = header(Kind::FileRead, 7, 1000, "cat");
    put(&mut p.path, "/etc/ssh/ssh_host_ed25519_key.pub");
    assert_eq!(decode(p.as_bytes(), &CLOCK, &NoProc), Ok(None));
}

#[test]
fn mount_namespace_bpf_module() {
    let mut m = MountRecord::zeroed();
    m.header = header(Kind::Mount, 7, 0, "mount");
    m.flags = 1;
    put(&mut m.source, "/dev/sdb1");
    put(&mut m.target, "/mnt");
    put(&mut m.fstype, "ext4");
    assert_eq!(
        kind_of(m.as_bytes()),
        EventKind::Mount(Mount {
            pid: 7,
            uid: 0,
            comm: "mount".into(),
            device: "/dev/sdb1".into(),
            target: "/mnt".into(),
            fstype: "ext4".into(),
            flags: 1
        })
    );
    let mut n = NamespaceRecord::zeroed();
    n.header = header(Kind::Namespace, 7, 0, "unshare");
    n.syscall = NS_SYSCALL_UNSHARE;
    n.fd = -1;
    n.flags = 0x1000_0000;
    let EventKind::Namespace(ns) = kind_of(n.as_bytes()) else {
        panic!("not ns")
    };
    assert_eq!((ns.syscall.as_str(), ns.flags), ("unshare", 0x1000_0000));
    n.syscall = NS_SYSCALL_SETNS;
    let EventKind::Namespace(ns) = kind_of(n.as_bytes()) else {
        panic!("not ns")
    };
    assert_eq!(ns.syscall, "setns");
    n.syscall = 3;
    assert!(matches!(
        dec(n.as_bytes()),
        Err(DecodeError::BadValue { .. })
    ));

    let mut b = BpfLoadRecord::zeroed();
    b.header = header(Kind::BpfLoad, 7, 0, "bpftool");
    b.cmd = 5;
    b.prog_type = 29;
    let EventKind::BpfLoad(bl) = kind_of(b.as_bytes()) else {
        panic!("not bpf")
    };
    assert_eq!(bl.prog_type, 29);

    let mut k = ModuleRecord::zeroed();
    k.header = header(Kind::ModuleLoad, 7, 0, "insmod");
    put(&mut k.name, "rootkit");
    assert_eq!(
        kind_of(k.as_bytes()),
        EventKind::ModuleLoad(ModuleLoad {
            pid: 7,
            uid: 0,
            comm: "insmod".into(),
            name: "rootkit".into()
        })
    );
}

#[test]
fn signals_and_pidfd_resolution() {
    let mut s = SignalRecord::zeroed();
    s.header = header(Kind::Signal, 7, 0, "kill");
    s.syscall = SIG_SYSCALL_KILL;
    s.target = -1;
    s.sig = 9;
    s.pidfd = -1;
    assert_eq!(
        kind_of(s.as_bytes()),
        EventKind::Signal(Signal {
            pid: 7,
            uid: 0,
            comm: "kill".into(),
            target_pid: -1,
            sig: 9
        })
    );
    s.syscall = SIG_SYSCALL_PIDFD;
    s.target = 0;
    s.pidfd = 5;
    let resolve = |s: &SignalRecord, proc: &dyn ProcLookup| match decode(s.as_bytes(), &CLOCK, proc)
        .expect("valid")
        .expect("kept")
        .kind
    {
        EventKind::Signal(x) => x.target_pid,
        other => panic!("not signal {other:?}"),
    };
    assert_eq!(resolve(&s, &FakeProc), 4242);
    assert_eq!(resolve(&s, &NoProc), 0, "unresolved pidfd target is 0");
    s.syscall = 9;
    assert!(matches!(
        dec(s.as_bytes()),
        Err(DecodeError::BadValue { .. })
    ));
}

proptest! {
    #[test]
    fn syscall_records_with_random_bodies_never_panic(
        kind in prop::sample::select(Kind::ALL.iter().map(|k| *k as u32).collect::<Vec<_>>()),
        body in proptest::collection::vec(any::<u8>(), 600),
    ) {
        let k = Kind::from_u32(kind).expect("listed kind");
        let n = k.record_size().min(body.len());
        let mut bytes = body[..n].to_vec();
        bytes.resize(k.record_size(), 0);
        bytes[..4].copy_from_slice(&kind.to_ne_bytes());
        bytes[4..8].copy_from_slice(&(k.record_size() as u32).to_ne_bytes());
        let _ = decode(&bytes, &CLOCK, &FakeProc);
    }

    #[test]
    fn file_change_round_trips(path in "/[a-z/]{1,200}", new in "/[a-z/.]{1,200}", mode in 0u32..0o7777) {
        let r = change(FileChangeOp::Rename, &path, Some(&new), Some(mode));
        let EventKind::FileChange(c) = kind_of(r.as_bytes()) else { panic!("not change") };
        prop_assert_eq!(c.path, path);
        prop_assert_eq!(c.new_path, Some(new));
        prop_assert_eq!(c.mode, Some(mode));
    }
}
