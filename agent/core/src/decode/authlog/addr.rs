//! Peer extraction shared by the message parsers.
//!
//! Log lines embed attacker-chosen text (user names, client banners) before the peer address, so
//! every helper anchors on the fixed text *after* the address (` port N`, end of line,
//! ` [preauth]`) rather than on the first `from`.

use crate::event::Host;

/// A host token: an address (IPv4, IPv6, `::ffff:` mapped, optionally in brackets) or a name.
pub(crate) fn host(tok: &str) -> Option<Host> {
    let tok = tok.trim_end_matches([',', ';']);
    let tok = tok
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(tok);
    if tok.is_empty() {
        return None;
    }
    tok.parse().ok()
}

/// Strip a trailing ` [preauth]` (or `[preauth]`); report whether it was there.
pub(crate) fn strip_preauth(s: &str) -> (&str, bool) {
    match s.trim_end().strip_suffix("[preauth]") {
        Some(rest) => (rest.trim_end(), true),
        None => (s.trim_end(), false),
    }
}

/// Strip a trailing ` port N`.
pub(crate) fn strip_port(s: &str) -> (&str, Option<u16>) {
    if let Some(i) = s.rfind(" port ")
        && let Ok(p) = s[i + 6..].parse::<u16>()
    {
        return (&s[..i], Some(p));
    }
    (s, None)
}

/// Who a connection-level message is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    pub user: Option<String>,
    pub invalid_user: bool,
    pub host: Host,
    pub port: Option<u16>,
}

/// `[(invalid|authenticating) user U ]HOST[ port P]` — the form of `Connection closed by`,
/// `Disconnected from`, `Connection reset by`. The user name may contain spaces (and addresses),
/// so the host is the last token before the port.
pub(crate) fn user_host_port(s: &str) -> Option<Peer> {
    let (s, port) = strip_port(s.trim_end());
    let (head, last) = match s.rsplit_once(' ') {
        Some((h, l)) => (Some(h), l),
        None => (None, s),
    };
    let host = host(last)?;
    let (user, invalid_user) = match head {
        None => (None, false),
        Some(h) => {
            if let Some(u) = h.strip_prefix("invalid user ") {
                (Some(u), true)
            } else if let Some(u) = h.strip_prefix("authenticating user ") {
                (Some(u), false)
            } else if let Some(u) = h.strip_prefix("user ") {
                (Some(u), false)
            } else if h == "invalid user" {
                (Some(""), true)
            } else {
                return None;
            }
        }
    };
    Some(Peer {
        user: user.filter(|u| !u.is_empty()).map(str::to_owned),
        invalid_user,
        host,
        port,
    })
}

/// Split `<who> from HOST[ port N][ sshN][: info]` at the `from` that is followed by a valid
/// tail, trying candidates left to right (a user name may itself contain ` from X`).
/// Returns (who, host, port).
pub(crate) fn split_from(s: &str) -> Option<(&str, Host, Option<u16>)> {
    let mut search = 0;
    while let Some(off) = s[search..].find(" from ") {
        let at = search + off;
        if let Some((h, p)) = from_tail(&s[at + 6..]) {
            return Some((&s[..at], h, p));
        }
        search = at + 1;
    }
    // `from` at the very start (empty user).
    if let Some(rest) = s.strip_prefix("from ")
        && let Some((h, p)) = from_tail(rest)
    {
        return Some(("", h, p));
    }
    None
}

/// `HOST[ port N][ sshN[: info]]` to the end of the message.
fn from_tail(t: &str) -> Option<(Host, Option<u16>)> {
    let (t, _) = strip_preauth(t);
    let (h, rest) = t.split_once(' ').unwrap_or((t, ""));
    let host = host(h)?;
    let mut rest = rest;
    let mut port = None;
    if let Some(r) = rest.strip_prefix("port ") {
        let (p, r) = r.split_once(' ').unwrap_or((r, ""));
        port = Some(p.parse::<u16>().ok()?);
        rest = r;
    }
    if rest.is_empty() {
        return Some((host, port));
    }
    let after_proto = rest
        .strip_prefix("ssh2")
        .or_else(|| rest.strip_prefix("ssh1"))?;
    (after_proto.is_empty() || after_proto.starts_with(": ") || after_proto == ":")
        .then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Host {
        s.parse().expect("host literal")
    }

    #[test]
    fn from_resists_injection_in_user_and_info() {
        let s = "invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2";
        let (who, host, port) = split_from(s).expect("parses");
        assert_eq!(
            (who, host, port),
            (
                "invalid user test from 10.10.1.2 port 55555 ssh2",
                h("127.0.0.1"),
                Some(58946)
            )
        );
        let s = "invalid user test from 127.0.0.1 port 58946 ssh2: from 10.10.1.2 port 55555 ssh2";
        assert_eq!(split_from(s).expect("parses").1, h("127.0.0.1"));
        let s = "invalid user from 10.10.1.1 from 127.0.0.1 port 58946 ssh2";
        let (who, host, _) = split_from(s).expect("parses");
        assert_eq!((who, host), ("invalid user from 10.10.1.1", h("127.0.0.1")));
        assert!(split_from("root from").is_none());
    }

    #[test]
    fn user_host_port_takes_the_last_token() {
        let p =
            user_host_port("authenticating user test 127.0.0.1 port 12345 192.0.2.11 port 46039")
                .expect("parses");
        assert_eq!(p.host, h("192.0.2.11"));
        assert_eq!(p.user.as_deref(), Some("test 127.0.0.1 port 12345"));
        let p = user_host_port("invalid user  192.0.2.68 port 34916").expect("parses");
        assert_eq!((p.user, p.invalid_user), (None, true));
        assert!(user_host_port("something else 1.2.3.4").is_none());
    }
}
