//! sshd connection-level messages: disconnects, resets and closes before authentication,
//! identification and key-exchange failures, tcp_wrappers refusals, timeouts.
//!
//! Policy: anything that ends a connection in the `[preauth]` phase is a failure
//! ([`AuthFailureReason::PreauthDisconnect`] or [`AuthFailureReason::ProtocolError`]) — this is
//! fail2ban's `aggressive` mode, the most inclusive. The same message outside preauth (a user
//! logging out) only names the peer.

use super::Decoded;
use super::addr::{self, strip_port, strip_preauth, user_host_port};
use super::sshd::failure;
use crate::event::AuthFailureReason::{
    self, NotAllowed, PreauthDisconnect, ProtocolError, TooManyFailures,
};

pub(crate) fn decode(msg: &str) -> Decoded {
    let msg = msg
        .strip_prefix("error: ")
        .or_else(|| msg.strip_prefix("fatal: "))
        .unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("Received disconnect from ") {
        return received_disconnect(rest);
    }
    for (prefix, reason) in [
        ("Connection closed by ", PreauthDisconnect),
        ("Connection reset by ", PreauthDisconnect),
        ("Disconnected from ", PreauthDisconnect),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            return closed(rest, reason);
        }
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting ") {
        return disconnecting_user(rest);
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting: ") {
        return disconnecting(rest);
    }
    if let Some(rest) = msg.strip_prefix("Did not receive identification string from ") {
        return peer_port(rest, ProtocolError);
    }
    if let Some(rest) = msg.strip_prefix("Bad protocol version identification ") {
        return match rest.rfind(" from ") {
            Some(at) => peer_port(&rest[at + 6..], ProtocolError),
            None => Decoded::Unparsed("sshd bad protocol version peer"),
        };
    }
    for prefix in [
        "banner exchange: Connection from ",
        "ssh_dispatch_run_fatal: Connection from ",
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let who = rest.split(": ").next().unwrap_or(rest);
            return match user_host_port(who) {
                Some(p) => failure(ProtocolError, p.user.as_deref(), Some(p.host), p.port),
                None => Decoded::Unparsed("sshd dispatch peer"),
            };
        }
    }
    if let Some(rest) = msg.strip_prefix("Unable to negotiate with ") {
        let who = rest.split(": ").next().unwrap_or(rest);
        return peer_port(who, ProtocolError);
    }
    if let Some(rest) = msg.strip_prefix("Timeout before authentication for ") {
        if let Some(r) = rest.strip_prefix("connection from ") {
            let h = r.split(' ').next().unwrap_or(r);
            return match addr::host(h) {
                Some(src) => failure(PreauthDisconnect, None, Some(src), None),
                None => Decoded::Unparsed("sshd timeout peer"),
            };
        }
        return peer_port(rest, PreauthDisconnect);
    }
    if let Some(rest) = msg.strip_prefix("refused connect from ") {
        return refused_connect(rest);
    }
    hostless(msg)
}

/// `HOST[ port N][ [preauth]]` to the end.
fn peer_port(rest: &str, reason: AuthFailureReason) -> Decoded {
    let (rest, _) = strip_preauth(rest);
    let (h, port) = strip_port(rest);
    match addr::host(h) {
        Some(src) => failure(reason, None, Some(src), port),
        None => Decoded::Unparsed("sshd connection peer"),
    }
}

/// `HOST[ port N]: CODE: TEXT[ [preauth]]` (also `port N:CODE:` without a space).
fn received_disconnect(rest: &str) -> Decoded {
    let (rest, preauth) = strip_preauth(rest);
    let who = match rest.find(" port ") {
        Some(i) => {
            let p = &rest[i + 6..];
            let end = p.find(':').unwrap_or(p.len());
            &rest[..i + 6 + end]
        }
        None => rest.split(": ").next().unwrap_or(rest),
    };
    let who = who.strip_suffix(':').unwrap_or(who);
    let (h, port) = strip_port(who);
    let Some(src) = addr::host(h) else {
        return Decoded::Unparsed("sshd received disconnect peer");
    };
    // Codes 3 (key exchange failed) and 14 (no more auth methods) are failures even after the
    // preauth phase marker disappeared from the log format (OpenSSH < 6.x).
    let code = rest[who.len()..]
        .trim_start_matches([':', ' '])
        .split(':')
        .next()
        .and_then(|c| c.trim().parse::<u32>().ok());
    if preauth || matches!(code, Some(3 | 14)) {
        failure(PreauthDisconnect, None, Some(src), port)
    } else {
        Decoded::Peer(src)
    }
}

/// `[(invalid|authenticating) user U ]HOST[ port N][ [preauth]]`.
fn closed(rest: &str, reason: AuthFailureReason) -> Decoded {
    let (rest, preauth) = strip_preauth(rest);
    let Some(p) = user_host_port(rest) else {
        return Decoded::Unparsed("sshd close peer");
    };
    if preauth || p.invalid_user {
        let reason = if p.invalid_user {
            AuthFailureReason::InvalidUser
        } else {
            reason
        };
        failure(reason, p.user.as_deref(), Some(p.host), p.port)
    } else {
        Decoded::Peer(p.host)
    }
}

/// `Disconnecting (invalid|authenticating) user U HOST port N: WHY [preauth]`.
///
/// `Too many authentication failures` here always follows `maximum authentication attempts
/// exceeded` (OpenSSH >= 6.8), which is the failure we count; this line only names the peer.
fn disconnecting_user(rest: &str) -> Decoded {
    let (rest, _) = strip_preauth(rest);
    let Some((who, why)) = rest.split_once(": ") else {
        return Decoded::Unparsed("sshd Disconnecting user");
    };
    let Some(p) = user_host_port(who) else {
        return Decoded::Unparsed("sshd Disconnecting user peer");
    };
    if why.starts_with("Too many authentication failures") {
        return Decoded::Peer(p.host);
    }
    failure(PreauthDisconnect, p.user.as_deref(), Some(p.host), p.port)
}

/// `Disconnecting: Too many authentication failures[ for U] [preauth]` (OpenSSH < 6.8, no peer).
fn disconnecting(rest: &str) -> Decoded {
    let (rest, _) = strip_preauth(rest);
    if let Some(r) = rest.strip_prefix("Too many authentication failures") {
        let user = r
            .strip_prefix(" for ")
            .map(|u| u.strip_prefix("invalid user ").unwrap_or(u));
        return failure(TooManyFailures, user, None, None);
    }
    Decoded::Ignored
}

/// tcp_wrappers: `refused connect from NAME@ADDR (ADDR)` or `refused connect from HOST (ADDR)`.
fn refused_connect(rest: &str) -> Decoded {
    let inner = rest
        .rsplit_once(" (")
        .and_then(|(_, r)| r.strip_suffix(')'))
        .unwrap_or_else(|| rest.rsplit('@').next().unwrap_or(rest));
    match addr::host(inner.trim()) {
        Some(src) => failure(NotAllowed, None, Some(src), None),
        None => Decoded::Unparsed("sshd refused connect peer"),
    }
}

/// Failures that carry no peer (it was named on an earlier line of the same process), then the
/// recognised benign messages. Anything else is unparsed.
fn hostless(msg: &str) -> Decoded {
    let (m, preauth) = strip_preauth(msg);
    if m.starts_with("kex_exchange_identification: ")
        || m.starts_with("Unable to negotiate a key exchange method")
        || (m.starts_with("no matching ") && m.contains(" found"))
        || m.starts_with("ssh_dispatch_run_fatal: ")
    {
        return failure(ProtocolError, None, None, None);
    }
    if preauth
        && (m.starts_with("Read from socket failed: ")
            || m.starts_with("Write failed: ")
            || m.starts_with("Read error from remote host"))
    {
        return failure(PreauthDisconnect, None, None, None);
    }
    if let Some(rest) = m.strip_prefix("Connection from ") {
        let h = rest.split(' ').next().unwrap_or(rest);
        return addr::host(h).map_or(Decoded::Ignored, Decoded::Peer);
    }
    if let Some(rest) = m.strip_prefix("SSH: Server;")
        && let Some(at) = rest.find("Remote: ")
    {
        let remote = rest[at + 8..].split(';').next().unwrap_or("");
        let h = remote.rsplit_once('-').map_or(remote, |(h, _)| h);
        return addr::host(h).map_or(Decoded::Ignored, Decoded::Peer);
    }
    const BENIGN: [&str; 21] = [
        "input_userauth_request: invalid user ",
        "Postponed ",
        "Partial publickey",
        "reverse mapping checking getaddrinfo",
        "Address ",
        "PAM service(",
        "Server listening on ",
        "Received signal ",
        "Exiting on signal",
        "pam_unix(",
        "pam_systemd(",
        "pam_env(",
        "Starting session",
        "Close session",
        "Connection closed by remote host",
        "Read from socket failed",
        "Write failed",
        "User child is on pid",
        "Transferred: ",
        "Set /proc/self/oom_score_adj",
        "Invalid user",
    ];
    if BENIGN.iter().any(|p| m.starts_with(p)) || m.starts_with("subsystem request") {
        return Decoded::Ignored;
    }
    Decoded::Unparsed("unknown sshd message")
}
