//! Property tests: arbitrary input never panics; generated valid lines parse to their fields.
use proptest::prelude::*;
use std::net::IpAddr;

use super::tests::{P, ctx, fail, kind};
use super::*;
use crate::event::AuthFailureReason as R;

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from),
    ]
}

fn user() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_.-]{0,15}"
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,200}") {
        let _ = parse_line(&s, &ctx());
        let _ = parse_message("sshd", Some(1), &s, ctx().now, Source::Journald);
        let _ = parse_message("sudo", None, &s, ctx().now, Source::Journald);
        let _ = parse_message("su", None, &s, ctx().now, Source::Journald);
        let _ = journal_entry(&s);
        let _ = SessionDecoder::new(ctx()).decode_line(&s);
    }

    #[test]
    fn prefixed_noise_never_panics(tail in "\\PC{0,120}") {
        for head in [P, "2026-11-22T04:53:40Z h sudo[1]: ", "<38>1 2026-11-22T04:53:40Z h su 1 - ", "Nov 22 04:53:40 h x: pam_unix(a:auth): authentication failure;"] {
            let _ = parse_line(&format!("{head}{tail}"), &ctx());
        }
    }

    #[test]
    fn generated_failures_parse(u in user(), ip in ip(), port in any::<u16>(), invalid in any::<bool>(), iso in any::<bool>()) {
        let who = if invalid { format!("invalid user {u}") } else { u.clone() };
        let head = if iso { "2026-11-22T04:53:40.5+00:00 box sshd[77]: " } else { "Nov  2 04:53:40 box sshd[77]: " };
        let f = fail(&format!("{head}Failed password for {who} from {ip} port {port} ssh2"));
        prop_assert_eq!(f.user.as_deref(), Some(u.as_str()));
        prop_assert_eq!(f.src, Some(Host::from(ip)));
        prop_assert_eq!(f.port, Some(port));
        prop_assert_eq!(f.reason, if invalid { R::InvalidUser } else { R::BadCredentials });
        let f = fail(&format!("{head}Invalid user {u} from {ip} port {port}"));
        prop_assert_eq!(f.src, Some(Host::from(ip)));
        let f = fail(&format!("{head}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={u}"));
        prop_assert_eq!((f.src, f.user), (Some(Host::from(ip)), Some(u.clone())));
        match kind(&format!("{head}Accepted publickey for {u} from {ip} port {port} ssh2: ED25519 SHA256:x")) {
            EventKind::AuthSuccess(s) => prop_assert_eq!((s.user, s.src, s.port), (u, Some(Host::from(ip)), Some(port))),
            other => prop_assert!(false, "{other:?}"),
        }
    }
}
