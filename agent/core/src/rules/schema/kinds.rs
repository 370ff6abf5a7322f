//! The fields of each event kind.

use std::borrow::Cow;

use super::helpers::*;
use super::{FieldDef, KindDef, Ty, Val};
use crate::event::EventKind;
use crate::proctable::basename;

/// `FieldDef` for a field of one event variant: `field!(Exec, "pid", Int, |e| n(e.pid))`.
macro_rules! field {
    ($v:ident, $name:literal, $ty:expr, |$e:ident| $body:expr) => {
        FieldDef {
            name: $name,
            ty: $ty,
            get: |ev, _procs| match &ev.kind {
                EventKind::$v($e) => $body,
                _ => Val::Missing,
            },
        }
    };
}

macro_rules! tcp_fields {
    ($v:ident) => {
        [
            field!($v, "pid", Ty::Int, |e| opt_n(e.pid)),
            field!($v, "comm", Ty::Str, |e| s(&e.comm)),
            field!($v, "saddr", Ty::Ip, |e| Val::Ip(e.saddr)),
            field!($v, "sport", Ty::Int, |e| n(e.sport)),
            field!($v, "daddr", Ty::Ip, |e| Val::Ip(e.daddr)),
            field!($v, "dport", Ty::Int, |e| n(e.dport)),
        ]
    };
}

static EXEC: &[FieldDef] = &[
    field!(Exec, "pid", Ty::Int, |e| n(e.pid)),
    field!(Exec, "ppid", Ty::Int, |e| n(e.ppid)),
    field!(Exec, "uid", Ty::Int, |e| n(e.uid)),
    field!(Exec, "gid", Ty::Int, |e| n(e.gid)),
    field!(Exec, "comm", Ty::Str, |e| s(&e.comm)),
    field!(Exec, "filename", Ty::Str, |e| s(&e.filename)),
    field!(Exec, "name", Ty::Str, |e| s(basename(&e.filename))),
    field!(Exec, "argv", Ty::List, |e| Val::List(
        e.argv.iter().map(|a| Cow::Borrowed(a.as_str())).collect()
    )),
    field!(Exec, "arg0", Ty::Str, |e| e
        .argv
        .first()
        .map_or(Val::Missing, |a| s(a))),
    field!(Exec, "cmdline", Ty::Str, |e| Val::Str(Cow::Owned(
        e.cmdline()
    ))),
    field!(Exec, "argc", Ty::Int, |e| n(
        i64::try_from(e.argv.len()).unwrap_or(i64::MAX)
    )),
    field!(Exec, "argv_truncated", Ty::Bool, |e| Val::Bool(
        e.argv_truncated
    )),
    field!(Exec, "cgroup_id", Ty::Int, |e| bits(e.cgroup_id)),
];

static FORK: &[FieldDef] = &[
    field!(Fork, "parent_pid", Ty::Int, |e| n(e.parent_pid)),
    field!(Fork, "child_pid", Ty::Int, |e| n(e.child_pid)),
    field!(Fork, "comm", Ty::Str, |e| s(&e.comm)),
];

static EXIT: &[FieldDef] = &[
    field!(Exit, "pid", Ty::Int, |e| n(e.pid)),
    field!(Exit, "code", Ty::Int, |e| n(e.code)),
];

static TCP_CONNECT: &[FieldDef] = &tcp_fields!(TcpConnect);
static TCP_ACCEPT: &[FieldDef] = &tcp_fields!(TcpAccept);

static TCP_LISTEN: &[FieldDef] = &[
    field!(TcpListen, "pid", Ty::Int, |e| n(e.pid)),
    field!(TcpListen, "comm", Ty::Str, |e| s(&e.comm)),
    field!(TcpListen, "addr", Ty::Ip, |e| Val::Ip(e.addr)),
    field!(TcpListen, "port", Ty::Int, |e| n(e.port)),
];

static FILE_WRITE: &[FieldDef] = &[
    field!(FileWrite, "pid", Ty::Int, |e| n(e.pid)),
    field!(FileWrite, "uid", Ty::Int, |e| n(e.uid)),
    field!(FileWrite, "comm", Ty::Str, |e| s(&e.comm)),
    field!(FileWrite, "path", Ty::Str, |e| s(&e.path)),
    field!(FileWrite, "flags", Ty::Int, |e| n(e.flags)),
];

static AUTH_FAILURE: &[FieldDef] = &[
    field!(AuthFailure, "service", Ty::Enum(AUTH_SERVICES), |e| s(
        service_name(e.service)
    )),
    field!(AuthFailure, "reason", Ty::Enum(FAILURE_REASONS), |e| s(
        reason_name(e.reason)
    )),
    field!(AuthFailure, "user", Ty::Str, |e| opt_s(&e.user)),
    field!(AuthFailure, "src", Ty::Host, |e| host(&e.src)),
    field!(AuthFailure, "port", Ty::Int, |e| opt_n(e.port)),
    field!(AuthFailure, "pid", Ty::Int, |e| opt_n(e.pid)),
    field!(AuthFailure, "count", Ty::Int, |e| n(e.count)),
    field!(AuthFailure, "pam_service", Ty::Str, |e| opt_s(
        &e.pam_service
    )),
];

static AUTH_SUCCESS: &[FieldDef] = &[
    field!(AuthSuccess, "service", Ty::Enum(AUTH_SERVICES), |e| s(
        service_name(e.service)
    )),
    field!(AuthSuccess, "user", Ty::Str, |e| s(&e.user)),
    field!(AuthSuccess, "src", Ty::Host, |e| host(&e.src)),
    field!(AuthSuccess, "port", Ty::Int, |e| opt_n(e.port)),
    field!(AuthSuccess, "method", Ty::Str, |e| opt_s(&e.method)),
    field!(AuthSuccess, "pid", Ty::Int, |e| opt_n(e.pid)),
];

static SUDO: &[FieldDef] = &[
    field!(Sudo, "user", Ty::Str, |e| s(&e.user)),
    field!(Sudo, "target_user", Ty::Str, |e| s(&e.target_user)),
    field!(Sudo, "command", Ty::Str, |e| s(&e.command)),
    field!(Sudo, "tty", Ty::Str, |e| opt_s(&e.tty)),
    field!(Sudo, "pwd", Ty::Str, |e| opt_s(&e.pwd)),
    field!(Sudo, "allowed", Ty::Bool, |e| Val::Bool(e.allowed)),
    field!(Sudo, "pid", Ty::Int, |e| opt_n(e.pid)),
];

static SU: &[FieldDef] = &[
    field!(Su, "user", Ty::Str, |e| s(&e.user)),
    field!(Su, "target_user", Ty::Str, |e| s(&e.target_user)),
    field!(Su, "success", Ty::Bool, |e| Val::Bool(e.success)),
    field!(Su, "tty", Ty::Str, |e| opt_s(&e.tty)),
    field!(Su, "pid", Ty::Int, |e| opt_n(e.pid)),
];

static FILE_READ: &[FieldDef] = &[
    field!(FileRead, "pid", Ty::Int, |e| n(e.pid)),
    field!(FileRead, "uid", Ty::Int, |e| n(e.uid)),
    field!(FileRead, "comm", Ty::Str, |e| s(&e.comm)),
    field!(FileRead, "path", Ty::Str, |e| s(&e.path)),
];

static FILE_CHANGE: &[FieldDef] = &[
    field!(FileChange, "pid", Ty::Int, |e| n(e.pid)),
    field!(FileChange, "uid", Ty::Int, |e| n(e.uid)),
    field!(FileChange, "comm", Ty::Str, |e| s(&e.comm)),
    field!(FileChange, "op", Ty::Enum(FILE_OPS), |e| s(e.op.as_str())),
    field!(FileChange, "path", Ty::Str, |e| s(&e.path)),
    field!(FileChange, "new_path", Ty::Str, |e| opt_s(&e.new_path)),
    field!(FileChange, "mode", Ty::Int, |e| opt_n(e.mode)),
];

static PTRACE: &[FieldDef] = &[
    field!(Ptrace, "pid", Ty::Int, |e| n(e.pid)),
    field!(Ptrace, "uid", Ty::Int, |e| n(e.uid)),
    field!(Ptrace, "comm", Ty::Str, |e| s(&e.comm)),
    field!(Ptrace, "request", Ty::Int, |e| n(e.request)),
    field!(Ptrace, "target_pid", Ty::Int, |e| n(e.target_pid)),
    FieldDef {
        name: "target.exe",
        ty: Ty::Str,
        get: |ev, procs| match &ev.kind {
            EventKind::Ptrace(p) => procs.get(p.target_pid).map_or(Val::Missing, |t| s(&t.exe)),
            _ => Val::Missing,
        },
    },
    FieldDef {
        name: "target.name",
        ty: Ty::Str,
        get: |ev, procs| match &ev.kind {
            EventKind::Ptrace(p) => procs
                .get(p.target_pid)
                .map_or(Val::Missing, |t| s(t.exe_name())),
            _ => Val::Missing,
        },
    },
    FieldDef {
        name: "target.ppid",
        ty: Ty::Int,
        get: |ev, procs| match &ev.kind {
            EventKind::Ptrace(p) => procs.get(p.target_pid).map_or(Val::Missing, |t| n(t.ppid)),
            _ => Val::Missing,
        },
    },
];

static CRED_CHANGE: &[FieldDef] = &[
    field!(CredChange, "pid", Ty::Int, |e| n(e.pid)),
    field!(CredChange, "uid", Ty::Int, |e| n(e.uid)),
    field!(CredChange, "comm", Ty::Str, |e| s(&e.comm)),
    field!(CredChange, "syscall", Ty::Str, |e| s(&e.syscall)),
    field!(CredChange, "new_uid", Ty::Int, |e| opt_n(e.new_uid)),
    field!(CredChange, "new_gid", Ty::Int, |e| opt_n(e.new_gid)),
];

static MEMFD_CREATE: &[FieldDef] = &[
    field!(MemfdCreate, "pid", Ty::Int, |e| n(e.pid)),
    field!(MemfdCreate, "uid", Ty::Int, |e| n(e.uid)),
    field!(MemfdCreate, "comm", Ty::Str, |e| s(&e.comm)),
    field!(MemfdCreate, "name", Ty::Str, |e| s(&e.name)),
    field!(MemfdCreate, "flags", Ty::Int, |e| n(e.flags)),
];

static FD_DUP: &[FieldDef] = &[
    field!(FdDup, "pid", Ty::Int, |e| n(e.pid)),
    field!(FdDup, "uid", Ty::Int, |e| n(e.uid)),
    field!(FdDup, "comm", Ty::Str, |e| s(&e.comm)),
    field!(FdDup, "oldfd", Ty::Int, |e| n(e.oldfd)),
    field!(FdDup, "newfd", Ty::Int, |e| n(e.newfd)),
    field!(FdDup, "socket", Ty::Bool, |e| e
        .socket
        .map_or(Val::Missing, Val::Bool)),
];

static MEM_EXEC: &[FieldDef] = &[
    field!(MemExec, "pid", Ty::Int, |e| n(e.pid)),
    field!(MemExec, "uid", Ty::Int, |e| n(e.uid)),
    field!(MemExec, "comm", Ty::Str, |e| s(&e.comm)),
    field!(MemExec, "syscall", Ty::Str, |e| s(&e.syscall)),
    field!(MemExec, "prot", Ty::Int, |e| n(e.prot)),
    field!(MemExec, "anonymous", Ty::Bool, |e| Val::Bool(e.anonymous)),
];

static MOUNT: &[FieldDef] = &[
    field!(Mount, "pid", Ty::Int, |e| n(e.pid)),
    field!(Mount, "uid", Ty::Int, |e| n(e.uid)),
    field!(Mount, "comm", Ty::Str, |e| s(&e.comm)),
    field!(Mount, "device", Ty::Str, |e| s(&e.device)),
    field!(Mount, "target", Ty::Str, |e| s(&e.target)),
    field!(Mount, "fstype", Ty::Str, |e| s(&e.fstype)),
    field!(Mount, "flags", Ty::Int, |e| bits(e.flags)),
];

static NAMESPACE: &[FieldDef] = &[
    field!(Namespace, "pid", Ty::Int, |e| n(e.pid)),
    field!(Namespace, "uid", Ty::Int, |e| n(e.uid)),
    field!(Namespace, "comm", Ty::Str, |e| s(&e.comm)),
    field!(Namespace, "syscall", Ty::Str, |e| s(&e.syscall)),
    field!(Namespace, "flags", Ty::Int, |e| bits(e.flags)),
];

static BPF_LOAD: &[FieldDef] = &[
    field!(BpfLoad, "pid", Ty::Int, |e| n(e.pid)),
    field!(BpfLoad, "uid", Ty::Int, |e| n(e.uid)),
    field!(BpfLoad, "comm", Ty::Str, |e| s(&e.comm)),
    field!(BpfLoad, "prog_type", Ty::Int, |e| n(e.prog_type)),
];

static SIGNAL: &[FieldDef] = &[
    field!(Signal, "pid", Ty::Int, |e| n(e.pid)),
    field!(Signal, "uid", Ty::Int, |e| n(e.uid)),
    field!(Signal, "comm", Ty::Str, |e| s(&e.comm)),
    field!(Signal, "target_pid", Ty::Int, |e| n(e.target_pid)),
    field!(Signal, "sig", Ty::Int, |e| n(e.sig)),
    FieldDef {
        name: "target.exe",
        ty: Ty::Str,
        get: |ev, procs| match &ev.kind {
            EventKind::Signal(x) => u32::try_from(x.target_pid)
                .ok()
                .and_then(|p| procs.get(p))
                .map_or(Val::Missing, |t| s(&t.exe)),
            _ => Val::Missing,
        },
    },
    FieldDef {
        name: "target.name",
        ty: Ty::Str,
        get: |ev, procs| match &ev.kind {
            EventKind::Signal(x) => u32::try_from(x.target_pid)
                .ok()
                .and_then(|p| procs.get(p))
                .map_or(Val::Missing, |t| s(t.exe_name())),
            _ => Val::Missing,
        },
    },
    FieldDef {
        name: "target.unit",
        ty: Ty::Str,
        get: |ev, procs| match &ev.kind {
            EventKind::Signal(x) => u32::try_from(x.target_pid)
                .ok()
                .and_then(|p| procs.get(p))
                .map_or(Val::Missing, |t| opt_s(&t.unit)),
            _ => Val::Missing,
        },
    },
];

static MODULE_LOAD: &[FieldDef] = &[
    field!(ModuleLoad, "pid", Ty::Int, |e| n(e.pid)),
    field!(ModuleLoad, "uid", Ty::Int, |e| n(e.uid)),
    field!(ModuleLoad, "comm", Ty::Str, |e| s(&e.comm)),
    field!(ModuleLoad, "name", Ty::Str, |e| s(&e.name)),
];

static LOG_LINE: &[FieldDef] = &[
    field!(LogLine, "pid", Ty::Int, |e| opt_n(e.pid)),
    field!(LogLine, "service", Ty::Str, |e| s(&e.service)),
    field!(LogLine, "facility", Ty::Int, |e| opt_n(e.facility)),
    field!(LogLine, "message", Ty::Str, |e| s(&e.message)),
];

static LOSS: &[FieldDef] = &[
    field!(Loss, "stage", Ty::Str, |e| s(&e.stage)),
    field!(Loss, "count", Ty::Int, |e| n(
        i64::try_from(e.count).unwrap_or(i64::MAX)
    )),
];

/// Every event kind, by its JSON `kind` name.
pub static KINDS: &[KindDef] = &[
    kind("exec", EXEC, true),
    kind("fork", FORK, true),
    kind("exit", EXIT, true),
    kind("tcp_connect", TCP_CONNECT, true),
    kind("tcp_accept", TCP_ACCEPT, true),
    kind("tcp_listen", TCP_LISTEN, true),
    kind("file_write", FILE_WRITE, true),
    kind("auth_failure", AUTH_FAILURE, true),
    kind("auth_success", AUTH_SUCCESS, true),
    kind("sudo", SUDO, true),
    kind("su", SU, true),
    kind("file_read", FILE_READ, true),
    kind("file_change", FILE_CHANGE, true),
    kind("ptrace", PTRACE, true),
    kind("cred_change", CRED_CHANGE, true),
    kind("memfd_create", MEMFD_CREATE, true),
    kind("fd_dup", FD_DUP, true),
    kind("mem_exec", MEM_EXEC, true),
    kind("mount", MOUNT, true),
    kind("namespace", NAMESPACE, true),
    kind("bpf_load", BPF_LOAD, true),
    kind("signal", SIGNAL, true),
    kind("module_load", MODULE_LOAD, true),
    kind("log_line", LOG_LINE, true),
    kind("loss", LOSS, false),
];

const fn kind(name: &'static str, fields: &'static [FieldDef], has_process: bool) -> KindDef {
    KindDef {
        name,
        fields,
        has_process,
    }
}
