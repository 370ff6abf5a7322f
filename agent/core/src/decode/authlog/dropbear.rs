//! dropbear (the small SSH server of embedded systems and initramfs). Its events use
//! [`AuthService::Sshd`]: the service is "the SSH server", whichever implementation.
//! - `Bad password attempt for 'root' from 1.2.3.4:60588`
//! - `Login attempt for nonexistent user from ::ffff:1.2.3.4:60495`
//! - `Exit before auth (user 'root', 10 fails): Max auth tries reached - user 'root' from H:P`
//! - `Exit before auth from <H:P>: (user 'root', 10 fails): Max auth tries reached - ...`
//! - `Password auth succeeded for 'root' from H:P`, `Pubkey auth succeeded for 'x' with key ... from H:P`
//!
//! Some builds repeat pid and time inside the message (`[825] Jul 10 23:53:52 ...`).

use super::Decoded;
use super::addr;
use super::sshd::failure;
use crate::event::{AuthFailureReason as R, AuthService, AuthSuccess, Host};

pub(crate) fn decode(msg: &str) -> Decoded {
    let msg = strip_inner_stamp(msg.trim());
    let lower = msg
        .get(..1)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = msg.get(1..).unwrap_or("");
    if lower == "b" && rest.starts_with("ad password attempt for ") {
        return with_peer(msg, R::BadCredentials);
    }
    if lower == "l" && rest.starts_with("ogin attempt for nonexistent user") {
        return with_peer(msg, R::InvalidUser);
    }
    if msg.starts_with("Exit before auth") {
        if msg.contains("Max auth tries reached") {
            return with_peer(msg, R::TooManyFailures);
        }
        return Decoded::Ignored;
    }
    for (prefix, method) in [
        ("Password auth succeeded for ", "password"),
        ("Pubkey auth succeeded for ", "publickey"),
    ] {
        if let Some(r) = msg.strip_prefix(prefix) {
            let user = r
                .strip_prefix('\'')
                .and_then(|u| u.split_once('\''))
                .map(|(u, _)| u);
            return match (user, peer(msg)) {
                (Some(u), Some((src, port))) => Decoded::Success(AuthSuccess {
                    service: AuthService::Sshd,
                    user: u.to_owned(),
                    src: Some(src),
                    port,
                    method: Some(method.to_owned()),
                    pid: None,
                }),
                _ => Decoded::Unparsed("dropbear success form"),
            };
        }
    }
    Decoded::Ignored
}

fn with_peer(msg: &str, reason: R) -> Decoded {
    let user = msg
        .split_once("user '")
        .or_else(|| msg.split_once("for '"))
        .and_then(|(_, r)| r.split_once('\''))
        .map(|(u, _)| u);
    match peer(msg) {
        Some((src, port)) => failure(reason, user, Some(src), port),
        None => Decoded::Unparsed("dropbear peer"),
    }
}

/// `from HOST:PORT` at the end, or `from <HOST:PORT>:` in `Exit before auth from <...>`.
fn peer(msg: &str) -> Option<(Host, Option<u16>)> {
    let at = msg.rfind(" from ")?;
    let tok = msg[at + 6..].split(' ').next()?;
    let tok = tok.trim_end_matches(':');
    let tok = tok
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(tok);
    let (h, p) = tok.rsplit_once(':')?;
    Some((addr::host(h)?, p.parse().ok()))
}

/// `[825] Jul 10 23:53:52 ` repeated inside the message.
fn strip_inner_stamp(msg: &str) -> &str {
    if let Some(r) = msg.strip_prefix('[')
        && let Some((pid, r)) = r.split_once("] ")
        && pid.bytes().all(|b| b.is_ascii_digit())
        && r.len() > 16
        && r.as_bytes().get(15) == Some(&b' ')
    {
        return &r[16..];
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(d: &Decoded) -> Option<(R, Option<Host>)> {
        match d {
            Decoded::Failure(f) => Some((f.reason, f.src.clone())),
            _ => None,
        }
    }

    #[test]
    fn dropbear_forms() {
        let h = |s: &str| s.parse::<Host>().ok();
        assert_eq!(
            src(&decode(
                "Bad password attempt for 'root' from 198.51.100.87:5543"
            )),
            Some((R::BadCredentials, h("198.51.100.87")))
        );
        assert_eq!(
            src(&decode(
                "login attempt for nonexistent user from ::ffff:198.51.100.215:60495"
            )),
            Some((R::InvalidUser, h("198.51.100.215")))
        );
        assert_eq!(
            src(&decode(
                "[825] Jul 10 23:57:29 Exit before auth from <192.0.2.3:52289>: (user 'root', 10 fails): Max auth tries reached - user 'root'"
            )),
            Some((R::TooManyFailures, h("192.0.2.3")))
        );
        assert!(matches!(
            decode("Password auth succeeded for 'root' from 1.2.3.4:22"),
            Decoded::Success(_)
        ));
        assert_eq!(
            decode("Exit before auth from <192.0.2.3:5>: Exited normally"),
            Decoded::Ignored
        );
        assert_eq!(
            decode("Child connection from 192.0.2.3:5"),
            Decoded::Ignored
        );
    }
}
