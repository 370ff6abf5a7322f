//! The field schema rules are checked against: for every event kind, the fields a predicate may
//! name, their types, and how to read them from an [`Event`] (and the [`ProcessTable`] for the
//! process-context fields). A field path that is not here is a load error, so a misspelled
//! field never silently matches nothing.
//!
//! Field names are the JSON names of the event contract (`filename`, `argv`, `dport`, ...), plus
//! a few derived ones (`name`: the basename of an exec'd file, `cmdline`: argv joined by spaces,
//! `arg0`), plus the process context every kind with a pid has:
//! `process.{exe,name,comm,cmdline,argv,uid,user,unit}`, `parent.{...same}`,
//! `previous.{exe,name,comm,cmdline}` (the image the process ran before its latest exec: the
//! program that exec'd in place, or the parent image a forked child was cloned from) and
//! `ancestors.{exe,name,comm,cmdline}` (a list: an operator matches when any ancestor does).

use std::borrow::Cow;
use std::net::IpAddr;

use crate::event::Event;
use crate::proctable::ProcessTable;

mod helpers;
mod kinds;
mod process;

pub use helpers::{AUTH_SERVICES, FAILURE_REASONS, FILE_OPS, SOURCES};
pub use kinds::KINDS;
use process::{COMMON, PROCESS};

/// A field's value in one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// The field is optional and absent here (or the process is unknown to the table).
    Missing,
    Str(Cow<'a, str>),
    Int(i64),
    Bool(bool),
    Ip(IpAddr),
    /// A list (argv, ancestors): string operators match when any element does.
    List(Vec<Cow<'a, str>>),
}

impl Val<'_> {
    /// A plain-text rendering for summaries (lists joined by spaces, missing as `-`).
    pub fn render(&self) -> String {
        match self {
            Val::Missing => "-".into(),
            Val::Str(s) => s.to_string(),
            Val::Int(n) => n.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Ip(ip) => ip.to_string(),
            Val::List(v) => v.join(" "),
        }
    }
}

/// A field's type, which decides the operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Int,
    Bool,
    Ip,
    /// An address or a host name (auth sources): string operators and `cidr`.
    Host,
    /// A list of strings.
    List,
    /// A string out of a closed set: equality values are checked against it at load.
    Enum(&'static [&'static str]),
}

impl Ty {
    pub fn describe(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Int => "an integer",
            Ty::Bool => "a boolean",
            Ty::Ip => "an IP address",
            Ty::Host => "a host (address or name)",
            Ty::List => "a list of strings",
            Ty::Enum(_) => "one of a fixed set of names",
        }
    }
}

/// Reads one field out of an event.
pub type Getter = for<'a> fn(&'a Event, &'a ProcessTable) -> Val<'a>;

/// One field a rule may name.
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Ty,
    pub get: Getter,
}

impl std::fmt::Debug for FieldDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {:?}", self.name, self.ty)
    }
}

impl std::fmt::Debug for KindDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// One event kind and its own fields (the common and process-context fields are added to
/// every kind by [`lookup`]).
pub struct KindDef {
    pub name: &'static str,
    pub fields: &'static [FieldDef],
    /// Whether events of this kind name a process (and so have process-context fields).
    pub has_process: bool,
}

/// The schema of one kind, by its JSON name.
pub fn kind_def(kind: &str) -> Option<&'static KindDef> {
    KINDS.iter().find(|k| k.name == kind)
}

/// The field `name` of kind `kind`: its own fields first, then the common and (for kinds with a
/// process) the process-context fields.
pub fn lookup(kind: &'static KindDef, name: &str) -> Option<&'static FieldDef> {
    let own = kind.fields.iter();
    let common = COMMON.iter();
    let process = PROCESS.iter().filter(|_| kind.has_process);
    own.chain(common).chain(process).find(|f| f.name == name)
}

/// Every field name `kind` accepts, for error messages and docs.
pub fn field_names(kind: &KindDef) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = kind.fields.iter().map(|f| f.name).collect();
    v.extend(COMMON.iter().map(|f| f.name));
    if kind.has_process {
        v.extend(PROCESS.iter().map(|f| f.name));
    }
    v
}

/// Whether some field of `kind` starts with `prefix.` (so a nested TOML table can name it).
pub fn is_prefix(kind: &KindDef, prefix: &str) -> bool {
    field_names(kind).iter().any(|f| {
        f.len() > prefix.len() && f.starts_with(prefix) && f.as_bytes()[prefix.len()] == b'.'
    })
}

/// Whether `ev` is of the kind named `kind`.
pub fn is_kind(ev: &Event, kind: &str) -> bool {
    ev.kind.name() == kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_has_a_schema() {
        for k in KINDS {
            assert!(!k.fields.is_empty(), "{}", k.name);
        }
        assert_eq!(KINDS.len(), 25);
        assert!(lookup(kind_def("exec").expect("exec"), "filename").is_some());
        assert!(lookup(kind_def("exec").expect("exec"), "parent.exe").is_some());
        assert!(lookup(kind_def("loss").expect("loss"), "parent.exe").is_none());
        assert!(lookup(kind_def("exec").expect("exec"), "filname").is_none());
        assert!(is_prefix(kind_def("exec").expect("exec"), "parent"));
        assert!(!is_prefix(kind_def("exec").expect("exec"), "pare"));
    }
}
