//! su's own log lines (util-linux and shadow-utils):
//! - `(to root) alice on pts/0` / `Successful su for root by alice` / `+ pts/0 alice:root`,
//! - `FAILED SU (to root) alice on pts/0` / `FAILED su for root by alice` / `- pts/0 alice:root`.
//!
//! PAM lines logged by su go through the PAM decoder (`pam_unix(su:auth)` failures,
//! `pam_unix(su:session): session opened` successes).

use super::{Decoded, pam};
use crate::event::{EventKind, Su};

pub(crate) fn decode(msg: &str) -> Decoded {
    if let Some(d) = pam::decode_in_daemon("su", msg) {
        return d;
    }
    let msg = msg.trim();
    if let Some(rest) = msg.strip_prefix("FAILED SU ") {
        return to_form(rest, false);
    }
    if msg.starts_with("(to ") {
        return to_form(msg, true);
    }
    if let Some(rest) = msg.strip_prefix("Successful su for ") {
        return for_by(rest, true);
    }
    if let Some(rest) = msg.strip_prefix("FAILED su for ") {
        return for_by(rest, false);
    }
    if let Some(rest) = msg.strip_prefix("+ ") {
        return shadow(rest, true);
    }
    if let Some(rest) = msg.strip_prefix("- ") {
        return shadow(rest, false);
    }
    Decoded::Ignored
}

fn su(user: &str, target: &str, success: bool, tty: Option<&str>) -> Decoded {
    if user.is_empty() || target.is_empty() {
        return Decoded::Unparsed("su line without users");
    }
    Decoded::Other(EventKind::Su(Su {
        user: user.to_owned(),
        target_user: target.to_owned(),
        success,
        tty: tty
            .filter(|t| !t.is_empty() && *t != "none")
            .map(str::to_owned),
        pid: None,
    }))
}

/// `(to TARGET) USER on TTY`.
fn to_form(rest: &str, success: bool) -> Decoded {
    let Some((target, rest)) = rest.strip_prefix("(to ").and_then(|r| r.split_once(") ")) else {
        return Decoded::Unparsed("su (to ...) form");
    };
    let (user, tty) = match rest.rsplit_once(" on ") {
        Some((u, t)) => (u, Some(t)),
        None => (rest, None),
    };
    su(user.trim(), target.trim(), success, tty)
}

/// `TARGET by USER`.
fn for_by(rest: &str, success: bool) -> Decoded {
    match rest.split_once(" by ") {
        Some((target, user)) => su(user.trim(), target.trim(), success, None),
        None => Decoded::Unparsed("su for/by form"),
    }
}

/// shadow-utils sulog style: `TTY USER:TARGET`.
fn shadow(rest: &str, success: bool) -> Decoded {
    let Some((tty, users)) = rest.split_once(' ') else {
        return Decoded::Unparsed("su +/- form");
    };
    match users.split_once(':') {
        Some((user, target)) => su(user.trim(), target.trim(), success, Some(tty)),
        None => Decoded::Unparsed("su +/- form users"),
    }
}
