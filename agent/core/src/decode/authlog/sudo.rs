//! sudo's own log lines:
//! - `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id` (allowed),
//! - `alice : user NOT in sudoers ; TTY=... ; COMMAND=...` (refused),
//! - `alice : 3 incorrect password attempts ; TTY=... ; COMMAND=...` (refused),
//! - `alice : command not allowed ; ...`, `alice : a password is required ; ...` (refused).
//!
//! PAM lines logged by sudo (`pam_unix(sudo:auth): authentication failure; ...`) are failures
//! with service `sudo`; `pam_unix(sudo:session)` lines are bookkeeping.

use super::{Decoded, pam};
use crate::event::{EventKind, Sudo};

pub(crate) fn decode(msg: &str) -> Decoded {
    if let Some(d) = pam::decode_in_daemon("sudo", msg) {
        return d;
    }
    let msg = msg.trim();
    let Some((user, rest)) = msg.split_once(" : ") else {
        return Decoded::Ignored;
    };
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return Decoded::Unparsed("sudo line without user");
    }
    // COMMAND is last and may itself contain " ; ".
    let (fields, command) = match rest.find("COMMAND=") {
        Some(at) => (&rest[..at], Some(rest[at + 8..].trim())),
        None => (rest, None),
    };
    let mut allowed = true;
    let mut tty = None;
    let mut pwd = None;
    let mut target = None;
    for part in fields.split(" ; ").map(str::trim).filter(|p| !p.is_empty()) {
        let part = part.trim_end_matches(" ;").trim_end_matches(';');
        if let Some(v) = part.strip_prefix("TTY=") {
            tty = Some(v.to_owned());
        } else if let Some(v) = part.strip_prefix("PWD=") {
            pwd = Some(v.to_owned());
        } else if let Some(v) = part.strip_prefix("USER=") {
            target = Some(v.to_owned());
        } else if part.contains('=') {
            // GROUP=, ENV=, TSID=: not part of the event.
        } else {
            // "user NOT in sudoers", "3 incorrect password attempts", "command not allowed", ...
            allowed = false;
        }
    }
    let Some(command) = command else {
        return Decoded::Unparsed("sudo line without COMMAND");
    };
    Decoded::Other(EventKind::Sudo(Sudo {
        user: user.to_owned(),
        target_user: target.unwrap_or_else(|| "root".to_owned()),
        command: command.to_owned(),
        tty,
        pwd,
        allowed,
        pid: None,
    }))
}
