//! Small constructors of [`Val`] and the names of the contract's enums.

use std::borrow::Cow;

use super::Val;
use crate::event::{AuthFailureReason, AuthService, Host, Source};

pub(super) fn s(v: &str) -> Val<'_> {
    Val::Str(Cow::Borrowed(v))
}

pub(super) fn n(v: impl Into<i64>) -> Val<'static> {
    Val::Int(v.into())
}

pub(super) fn opt_s(v: &Option<String>) -> Val<'_> {
    v.as_deref().map_or(Val::Missing, s)
}

pub(super) fn opt_n<T: Into<i64> + Copy>(v: Option<T>) -> Val<'static> {
    v.map_or(Val::Missing, n)
}

pub(super) fn host(v: &Option<Host>) -> Val<'_> {
    match v {
        Some(Host::Ip(ip)) => Val::Ip(*ip),
        Some(Host::Name(name)) => s(name),
        None => Val::Missing,
    }
}

/// `u64` flags as `i64` bits (the same bit pattern, so bit tests work).
pub(super) fn bits(v: u64) -> Val<'static> {
    Val::Int(v as i64)
}

pub const SOURCES: &[&str] = &["ebpf", "journald", "authlog", "agent", "inotify"];
pub const AUTH_SERVICES: &[&str] = &["sshd", "sudo", "su", "pam"];
pub const FAILURE_REASONS: &[&str] = &[
    "bad_credentials",
    "invalid_user",
    "not_allowed",
    "too_many_failures",
    "preauth_disconnect",
    "protocol_error",
    "pam_failure",
];
pub const FILE_OPS: &[&str] = &["unlink", "rename", "truncate", "chmod", "chown", "link"];

pub(super) fn source_name(src: Source) -> &'static str {
    match src {
        Source::Ebpf => "ebpf",
        Source::Journald => "journald",
        Source::Authlog => "authlog",
        Source::Agent => "agent",
        Source::Inotify => "inotify",
    }
}

pub(super) fn service_name(svc: AuthService) -> &'static str {
    match svc {
        AuthService::Sshd => "sshd",
        AuthService::Sudo => "sudo",
        AuthService::Su => "su",
        AuthService::Pam => "pam",
    }
}

pub(super) fn reason_name(r: AuthFailureReason) -> &'static str {
    match r {
        AuthFailureReason::BadCredentials => "bad_credentials",
        AuthFailureReason::InvalidUser => "invalid_user",
        AuthFailureReason::NotAllowed => "not_allowed",
        AuthFailureReason::TooManyFailures => "too_many_failures",
        AuthFailureReason::PreauthDisconnect => "preauth_disconnect",
        AuthFailureReason::ProtocolError => "protocol_error",
        AuthFailureReason::PamFailure => "pam_failure",
    }
}
