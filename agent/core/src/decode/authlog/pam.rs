//! Linux-PAM module messages, from any program:
//! - `pam_unix(<svc>:auth): authentication failure; logname= uid= euid= tty= ruser= rhost=H  user=U`
//!   (also `pam_sss(...)`, `(pam_unix) authentication failure;`, `pam_unix: ...`,
//!   `pam_unix(auth): ...` without the service),
//! - `PAM N more authentication failures; ... rhost=H` (count N),
//! - `pam_unix(su:session): session opened for user root by alice(uid=1000)` (a su success).

use super::{Decoded, addr};
use crate::event::{AuthFailure, AuthFailureReason, AuthService, EventKind, Host, Su};

/// A PAM line logged by `program` (any daemon); `None` when `msg` is not a PAM module line.
pub(crate) fn decode_generic(program: &str, msg: &str) -> Option<Decoded> {
    decode_in_daemon(program, msg)
}

/// As [`decode_generic`]; the caller has already routed by program.
pub(crate) fn decode_in_daemon(program: &str, msg: &str) -> Option<Decoded> {
    let msg = msg.trim();
    if let Some(rest) = msg.strip_prefix("PAM ")
        && let Some((n, kv)) = rest.split_once(" more authentication failure")
        && let Ok(n) = n.parse::<u32>()
    {
        let kv = kv.trim_start_matches(['s', ';', ' ']);
        return Some(auth_failure(program, kv, n));
    }
    let (svc, kind, rest) = module_prefix(msg)?;
    let svc = svc.unwrap_or(program);
    match kind {
        Some("session") => Some(session(svc, rest)),
        Some("auth") | None => {
            if let Some(kv) = rest.strip_prefix("authentication failure;") {
                Some(auth_failure(svc, kv, 1))
            } else {
                Some(Decoded::Ignored)
            }
        }
        Some(_) => Some(Decoded::Ignored),
    }
}

/// `pam_X(svc:type): rest`, `pam_X(type): rest`, `(pam_X) rest`, `pam_X: rest`.
/// Returns (service, type, rest).
fn module_prefix(msg: &str) -> Option<(Option<&str>, Option<&str>, &str)> {
    if let Some(rest) = msg.strip_prefix("(pam_") {
        let (_, rest) = rest.split_once(") ")?;
        return Some((None, None, rest.trim_start()));
    }
    let rest = msg.strip_prefix("pam_")?;
    let name_end = rest.find(['(', ':'])?;
    if !rest[..name_end]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    let rest = &rest[name_end..];
    if let Some(r) = rest.strip_prefix(':') {
        return Some((None, None, r.trim_start()));
    }
    let (inside, r) = rest.strip_prefix('(')?.split_once("):")?;
    let (svc, kind) = match inside.split_once(':') {
        Some((s, k)) => (Some(s), Some(k)),
        None => (None, Some(inside)),
    };
    Some((svc, kind, r.trim_start()))
}

fn service_of(svc: &str) -> AuthService {
    match svc {
        s if super::is_sshd(s) => AuthService::Sshd,
        "sudo" | "sudo-i" => AuthService::Sudo,
        "su" | "su-l" => AuthService::Su,
        _ => AuthService::Pam,
    }
}

/// The `logname= uid= euid= tty= ruser= rhost= [user=]` tail of an authentication failure.
fn auth_failure(svc: &str, kv: &str, count: u32) -> Decoded {
    let (src, user) = rhost_and_user(kv);
    let user = user.or_else(|| field(kv, "ruser=").filter(|u| !u.is_empty()));
    Decoded::Failure(AuthFailure {
        service: service_of(svc),
        reason: AuthFailureReason::PamFailure,
        user: user.map(str::to_owned),
        src,
        port: None,
        pid: None,
        count: count.max(1),
        pam_service: Some(svc.to_owned()),
    })
}

/// The first `rhost=` whose value is followed by the end or by ` user=`: `ruser` (before) and
/// `user` (after) are attacker-chosen and may themselves contain `rhost=`.
fn rhost_and_user(kv: &str) -> (Option<Host>, Option<&str>) {
    let mut search = 0;
    while let Some(off) = kv[search..].find("rhost=") {
        let at = search + off + 6;
        let value_end = kv[at..].find(' ').map_or(kv.len(), |e| at + e);
        let value = &kv[at..value_end];
        let after = kv[value_end..].trim_start();
        let user = if after.is_empty() {
            Some(None)
        } else {
            after.strip_prefix("user=").map(|u| Some(u.trim_end()))
        };
        if let Some(user) = user {
            let user = user.filter(|u| !u.is_empty());
            return (addr::host(value), user);
        }
        search = at;
    }
    (None, None)
}

/// The value of `key` (up to the next space).
fn field<'a>(kv: &'a str, key: &str) -> Option<&'a str> {
    let at = kv.find(key)? + key.len();
    Some(kv[at..].split(' ').next().unwrap_or(""))
}

/// `session opened for user T[(uid=N)] by U[(uid=N)]`: for su this is the switch succeeding.
fn session(svc: &str, rest: &str) -> Decoded {
    if service_of(svc) != AuthService::Su {
        return Decoded::Ignored;
    }
    let Some(r) = rest.strip_prefix("session opened for user ") else {
        return Decoded::Ignored;
    };
    let Some((target, by)) = r.split_once(" by ") else {
        return Decoded::Unparsed("pam su session without invoking user");
    };
    let strip_uid = |s: &str| s.split('(').next().unwrap_or(s).trim().to_owned();
    Decoded::Other(EventKind::Su(Su {
        user: strip_uid(by),
        target_user: strip_uid(target),
        success: true,
        tty: None,
        pid: None,
    }))
}
