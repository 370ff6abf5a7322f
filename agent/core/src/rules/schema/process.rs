//! Fields every kind has (`source`) and the process-context fields read from the process
//! table for kinds that name a process.

use std::borrow::Cow;

use super::helpers::{SOURCES, n, opt_s, s, source_name};
use super::{FieldDef, Ty, Val};
use crate::event::Event;
use crate::proctable::{Image, ProcInfo, ProcessTable};

/// Fields every kind has.
pub(super) static COMMON: &[FieldDef] = &[FieldDef {
    name: "source",
    ty: Ty::Enum(SOURCES),
    get: |ev, _| s(source_name(ev.source)),
}];

/// The process an event is about, as the table knows it.
fn this_proc<'a>(ev: &Event, procs: &'a ProcessTable) -> Option<&'a ProcInfo> {
    procs.get(ev.kind.pid()?)
}

fn parent_proc<'a>(ev: &Event, procs: &'a ProcessTable) -> Option<&'a ProcInfo> {
    let me = this_proc(ev, procs)?;
    procs.get(me.ppid).filter(|p| p.pid != me.pid)
}

fn previous_image<'a>(ev: &Event, procs: &'a ProcessTable) -> Option<&'a Image> {
    this_proc(ev, procs)?.previous.as_deref()
}

fn user_of<'a>(procs: &'a ProcessTable, p: Option<&ProcInfo>) -> Val<'a> {
    p.and_then(|p| procs.user_name(p.uid))
        .map_or(Val::Missing, s)
}

fn cmdline_of(p: &ProcInfo) -> Val<'_> {
    Val::Str(Cow::Owned(p.argv.join(" ")))
}

fn ancestors_list<'a>(
    ev: &Event,
    procs: &'a ProcessTable,
    f: impl Fn(&'a ProcInfo) -> Cow<'a, str>,
) -> Val<'a> {
    match ev.kind.pid() {
        Some(pid) => Val::List(procs.ancestors(pid).map(f).collect()),
        None => Val::Missing,
    }
}

macro_rules! proc_field {
    ($name:literal, $ty:expr, $which:ident, |$p:ident, $procs:ident| $body:expr) => {
        FieldDef {
            name: $name,
            ty: $ty,
            get: |ev, $procs| match $which(ev, $procs) {
                Some($p) => $body,
                None => Val::Missing,
            },
        }
    };
}

/// Process-context fields for kinds that name a process.
pub(super) static PROCESS: &[FieldDef] = &[
    proc_field!("process.exe", Ty::Str, this_proc, |p, _t| s(&p.exe)),
    proc_field!("process.name", Ty::Str, this_proc, |p, _t| s(p.exe_name())),
    proc_field!("process.comm", Ty::Str, this_proc, |p, _t| s(&p.comm)),
    proc_field!("process.cmdline", Ty::Str, this_proc, |p, _t| cmdline_of(p)),
    proc_field!("process.argv", Ty::List, this_proc, |p, _t| Val::List(
        p.argv.iter().map(|a| Cow::Borrowed(a.as_str())).collect()
    )),
    proc_field!("process.uid", Ty::Int, this_proc, |p, _t| n(p.uid)),
    proc_field!("process.ppid", Ty::Int, this_proc, |p, _t| n(p.ppid)),
    FieldDef {
        name: "process.user",
        ty: Ty::Str,
        get: |ev, procs| user_of(procs, this_proc(ev, procs)),
    },
    proc_field!("process.unit", Ty::Str, this_proc, |p, _t| opt_s(&p.unit)),
    proc_field!("parent.exe", Ty::Str, parent_proc, |p, _t| s(&p.exe)),
    proc_field!("parent.name", Ty::Str, parent_proc, |p, _t| s(p.exe_name())),
    proc_field!("parent.comm", Ty::Str, parent_proc, |p, _t| s(&p.comm)),
    proc_field!("parent.cmdline", Ty::Str, parent_proc, |p, _t| cmdline_of(
        p
    )),
    proc_field!("parent.argv", Ty::List, parent_proc, |p, _t| Val::List(
        p.argv.iter().map(|a| Cow::Borrowed(a.as_str())).collect()
    )),
    proc_field!("parent.uid", Ty::Int, parent_proc, |p, _t| n(p.uid)),
    FieldDef {
        name: "parent.user",
        ty: Ty::Str,
        get: |ev, procs| user_of(procs, parent_proc(ev, procs)),
    },
    proc_field!("parent.unit", Ty::Str, parent_proc, |p, _t| opt_s(&p.unit)),
    proc_field!("previous.exe", Ty::Str, previous_image, |p, _t| s(&p.exe)),
    proc_field!("previous.name", Ty::Str, previous_image, |p, _t| s(
        p.exe_name()
    )),
    proc_field!("previous.comm", Ty::Str, previous_image, |p, _t| s(&p.comm)),
    proc_field!("previous.cmdline", Ty::Str, previous_image, |p, _t| {
        Val::Str(Cow::Owned(p.argv.join(" ")))
    }),
    FieldDef {
        name: "ancestors.exe",
        ty: Ty::List,
        get: |ev, procs| ancestors_list(ev, procs, |p| Cow::Borrowed(p.exe.as_str())),
    },
    FieldDef {
        name: "ancestors.name",
        ty: Ty::List,
        get: |ev, procs| ancestors_list(ev, procs, |p| Cow::Borrowed(p.exe_name())),
    },
    FieldDef {
        name: "ancestors.comm",
        ty: Ty::List,
        get: |ev, procs| ancestors_list(ev, procs, |p| Cow::Borrowed(p.comm.as_str())),
    },
    FieldDef {
        name: "ancestors.cmdline",
        ty: Ty::List,
        get: |ev, procs| ancestors_list(ev, procs, |p| Cow::Owned(p.argv.join(" "))),
    },
];
