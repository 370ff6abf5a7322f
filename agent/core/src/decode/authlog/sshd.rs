//! sshd authentication messages: `Failed`, `Accepted`, `Invalid user`, `not allowed`,
//! `ROOT LOGIN REFUSED`, `maximum authentication attempts`, `PAM:` errors, `message repeated`.
//! Connection-level messages (disconnects, banners, kex) are in `sshd_conn`.

use super::addr::{self, split_from};
use super::{Decoded, pam, sshd_conn};
use crate::event::{AuthFailure, AuthFailureReason, AuthService, AuthSuccess, Host};

/// Decode one sshd message.
pub(crate) fn decode(msg: &str) -> Decoded {
    let msg = msg.trim();
    if let Some(rest) = msg.strip_prefix("message repeated ") {
        return repeated(rest);
    }
    if let Some(d) = pam::decode_in_daemon("sshd", msg) {
        return d;
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        return failed(rest);
    }
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        return accepted(rest);
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        return invalid_user(rest);
    }
    if let Some(rest) = msg.strip_prefix("User ") {
        return user_not_allowed(rest);
    }
    if let Some(rest) = msg.strip_prefix("ROOT LOGIN REFUSED FROM ") {
        return root_refused(rest);
    }
    if let Some(rest) = msg.strip_prefix("error: maximum authentication attempts exceeded for ") {
        return max_attempts(rest);
    }
    if let Some(rest) = msg.strip_prefix("error: PAM: ") {
        return pam_error(rest);
    }
    sshd_conn::decode(msg)
}

pub(crate) fn failure(
    reason: AuthFailureReason,
    user: Option<&str>,
    src: Option<Host>,
    port: Option<u16>,
) -> Decoded {
    Decoded::Failure(AuthFailure {
        service: AuthService::Sshd,
        reason,
        user: user.filter(|u| !u.is_empty()).map(str::to_owned),
        src,
        port,
        pid: None,
        count: 1,
        pam_service: None,
    })
}

/// `Failed <method> for [invalid user ]<user> from <host>[ port N][ sshN][: info]`.
///
/// A failed *publickey* for an existing user is [`Decoded::Ignored`]: clients offer every key
/// they hold and sshd logs each refusal, so it is ordinary, not a guess (fail2ban gh-1263). Key
/// probing against a valid user still ends in `Too many authentication failures` /
/// `maximum authentication attempts exceeded`, which are failures.
fn failed(rest: &str) -> Decoded {
    let Some((method, rest)) = rest.split_once(" for ") else {
        return Decoded::Unparsed("sshd Failed without user");
    };
    let Some((who, src, port)) = split_from(rest) else {
        return Decoded::Unparsed("sshd Failed without peer");
    };
    let (user, reason) = user_and_reason(who);
    if method == "publickey" && reason == AuthFailureReason::BadCredentials {
        return Decoded::Peer(src);
    }
    failure(reason, Some(user), Some(src), port)
}

fn user_and_reason(who: &str) -> (&str, AuthFailureReason) {
    if let Some(u) = who.strip_prefix("invalid user ") {
        (u, AuthFailureReason::InvalidUser)
    } else if who == "invalid user" || who == "<invalid username>" {
        ("", AuthFailureReason::InvalidUser)
    } else if let Some(u) = who.strip_prefix("illegal user ") {
        (u, AuthFailureReason::InvalidUser)
    } else {
        (who, AuthFailureReason::BadCredentials)
    }
}

/// `Accepted <method> for <user> from <host> port N sshN[: key info]`.
fn accepted(rest: &str) -> Decoded {
    let Some((method, rest)) = rest.split_once(" for ") else {
        return Decoded::Unparsed("sshd Accepted without user");
    };
    let Some((user, src, port)) = split_from(rest) else {
        return Decoded::Unparsed("sshd Accepted without peer");
    };
    Decoded::Success(AuthSuccess {
        service: AuthService::Sshd,
        user: user.to_owned(),
        src: Some(src),
        port,
        method: Some(method.to_owned()),
        pid: None,
    })
}

/// `Invalid user <user> from <host>[ port N]`.
fn invalid_user(rest: &str) -> Decoded {
    match split_from(rest) {
        Some((user, src, port)) => {
            failure(AuthFailureReason::InvalidUser, Some(user), Some(src), port)
        }
        None => Decoded::Unparsed("sshd Invalid user without peer"),
    }
}

/// `User <user> from <host> not allowed because <why>` (AllowUsers, DenyUsers, groups),
/// and the host-less `User <user> not allowed because account is locked` / `shell ... does not
/// exist`.
fn user_not_allowed(rest: &str) -> Decoded {
    let Some((head, _why)) = rest.rsplit_once(" not allowed because ") else {
        return Decoded::Unparsed("sshd User line");
    };
    if let Some(at) = head.rfind(" from ")
        && let Some(src) = addr::host(&head[at + 6..])
    {
        return failure(
            AuthFailureReason::NotAllowed,
            Some(&head[..at]),
            Some(src),
            None,
        );
    }
    failure(AuthFailureReason::NotAllowed, Some(head), None, None)
}

/// `ROOT LOGIN REFUSED FROM <host>[ port N][ [preauth]]`.
fn root_refused(rest: &str) -> Decoded {
    let (rest, _) = addr::strip_preauth(rest);
    let (h, port) = addr::strip_port(rest);
    match addr::host(h) {
        Some(src) => failure(AuthFailureReason::NotAllowed, Some("root"), Some(src), port),
        None => Decoded::Unparsed("sshd ROOT LOGIN REFUSED peer"),
    }
}

/// `error: maximum authentication attempts exceeded for [invalid user ]<u> from <h> port N ssh2 [preauth]`.
fn max_attempts(rest: &str) -> Decoded {
    match split_from(rest) {
        Some((who, src, port)) => {
            let (user, _) = user_and_reason(who);
            failure(
                AuthFailureReason::TooManyFailures,
                Some(user),
                Some(src),
                port,
            )
        }
        None => Decoded::Unparsed("sshd maximum attempts without peer"),
    }
}

/// `error: PAM: <what> for [illegal user ]<user> from <host>[ via <local addr>]` (sshd's own
/// PAM conversation errors on Solaris, macOS and old Linux).
fn pam_error(rest: &str) -> Decoded {
    let lower_start = rest.get(..30).unwrap_or(rest).to_ascii_lowercase();
    let reason = if lower_start.starts_with("user not known") {
        AuthFailureReason::InvalidUser
    } else if lower_start.starts_with("authentication") {
        AuthFailureReason::PamFailure
    } else {
        return Decoded::Ignored;
    };
    let Some((head, tail)) = rest.rsplit_once(" from ") else {
        return Decoded::Unparsed("sshd PAM error without peer");
    };
    let h = tail.split(" via ").next().unwrap_or(tail).trim();
    let Some(src) = addr::host(h) else {
        return Decoded::Unparsed("sshd PAM error peer");
    };
    let user = head.rsplit_once(" for ").map(|(_, u)| u);
    let (user, reason) = match user.map(user_and_reason) {
        Some((u, AuthFailureReason::InvalidUser)) => (Some(u), AuthFailureReason::InvalidUser),
        Some((u, _)) => (Some(u), reason),
        None => (None, reason),
    };
    failure(reason, user, Some(src), None)
}

/// `message repeated N times: [ <message> ]` (rsyslog's reduction): decode the inner message
/// and multiply a failure's count.
fn repeated(rest: &str) -> Decoded {
    let Some((n, inner)) = rest.split_once(" times: [") else {
        return Decoded::Unparsed("sshd message repeated");
    };
    let Ok(n) = n.parse::<u32>() else {
        return Decoded::Unparsed("sshd message repeated count");
    };
    let inner = inner.trim_end().strip_suffix(']').unwrap_or(inner).trim();
    match decode(inner) {
        Decoded::Failure(mut f) => {
            f.count = f.count.saturating_mul(n);
            Decoded::Failure(f)
        }
        other => other,
    }
}
