//! Fixtures for every message form: positive (the fields we expect) and negative (lines that
//! must not become failures).

use super::*;
use crate::event::{AuthFailureReason as R, AuthService, Su, Sudo};

pub(super) fn ctx() -> LineContext {
    let now = DateTime::parse_from_rfc3339("2026-11-22T05:00:00Z")
        .expect("literal")
        .with_timezone(&Utc);
    LineContext::new(now, Source::Authlog)
}

pub(super) fn fail(line: &str) -> AuthFailure {
    match parse_line(line, &ctx()) {
        LineOutcome::Event(Event {
            kind: EventKind::AuthFailure(f),
            ..
        }) => f,
        other => panic!("{line}: expected a failure, got {other:?}"),
    }
}

pub(super) fn kind(line: &str) -> EventKind {
    match parse_line(line, &ctx()) {
        LineOutcome::Event(e) => e.kind,
        other => panic!("{line}: expected an event, got {other:?}"),
    }
}

fn host(s: &str) -> Option<Host> {
    Some(s.parse().expect("host literal"))
}

pub(super) const P: &str = "Nov 22 04:53:40 box sshd[4242]: ";

#[test]
fn sshd_failed_forms() {
    type Case<'a> = (&'a str, R, Option<&'a str>, &'a str, Option<u16>);
    let cases: &[Case] = &[
        (
            "Failed password for root from 203.0.113.9 port 2222 ssh2",
            R::BadCredentials,
            Some("root"),
            "203.0.113.9",
            Some(2222),
        ),
        (
            "Failed password for invalid user admin from 2001:db8::7 port 1 ssh2",
            R::InvalidUser,
            Some("admin"),
            "2001:db8::7",
            Some(1),
        ),
        (
            "Failed password for invalid user ROOT from 194.117.26.70 port 12345",
            R::InvalidUser,
            Some("ROOT"),
            "194.117.26.70",
            Some(12345),
        ),
        (
            "Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1",
            R::InvalidUser,
            Some("ROOT"),
            "aaaa:bbbb:cccc:1234::1:1",
            None,
        ),
        (
            "Failed none for invalid user x from ::ffff:10.1.2.3 port 5 ssh2",
            R::InvalidUser,
            Some("x"),
            "10.1.2.3",
            Some(5),
        ),
        (
            "Failed keyboard-interactive/pam for bob from host.Example.org port 7 ssh2",
            R::BadCredentials,
            Some("bob"),
            "host.example.org",
            Some(7),
        ),
        (
            "Failed publickey for invalid user g from 127.0.0.1 port 3 ssh2: RSA SHA256:abc",
            R::InvalidUser,
            Some("g"),
            "127.0.0.1",
            Some(3),
        ),
        (
            "message repeated 2 times: [ Failed password for root from 1.2.3.4 port 9 ssh2]",
            R::BadCredentials,
            Some("root"),
            "1.2.3.4",
            Some(9),
        ),
    ];
    for (msg, reason, user, src, port) in cases {
        let f = fail(&format!("{P}{msg}"));
        assert_eq!(
            (f.reason, f.user.as_deref(), f.src, f.port),
            (*reason, *user, host(src), *port),
            "{msg}"
        );
        assert_eq!((f.service, f.pid), (AuthService::Sshd, Some(4242)));
    }
    assert_eq!(
        fail(&format!(
            "{P}message repeated 3 times: [ Failed password for root from 1.2.3.4 port 9 ssh2]"
        ))
        .count,
        3
    );
}

#[test]
fn sshd_refusals_and_limits() {
    let cases: &[(&str, R, &str)] = &[
        (
            "Invalid user ftp from 192.0.2.2 port 37220",
            R::InvalidUser,
            "192.0.2.2",
        ),
        (
            "User root from 46.45.128.3 not allowed because listed in DenyUsers",
            R::NotAllowed,
            "46.45.128.3",
        ),
        (
            "User root from 10.0.0.40 not allowed because none of user's groups are listed in AllowGroups",
            R::NotAllowed,
            "10.0.0.40",
        ),
        (
            "ROOT LOGIN REFUSED FROM ::ffff:1.2.3.4",
            R::NotAllowed,
            "1.2.3.4",
        ),
        (
            "refused connect from x@::ffff:218.249.210.161 (::ffff:218.249.210.161)",
            R::NotAllowed,
            "218.249.210.161",
        ),
        (
            "error: maximum authentication attempts exceeded for root from 61.0.0.1 port 49940 ssh2 [preauth]",
            R::TooManyFailures,
            "61.0.0.1",
        ),
        (
            "Did not receive identification string from 192.0.2.5 port 35836",
            R::ProtocolError,
            "192.0.2.5",
        ),
        (
            "Bad protocol version identification 'x' from 192.0.2.1' from 69.61.56.115 port 31778",
            R::ProtocolError,
            "69.61.56.115",
        ),
        (
            "Unable to negotiate with 192.0.2.1 port 55419: no matching cipher found. Their offer: a [preauth]",
            R::ProtocolError,
            "192.0.2.1",
        ),
        (
            "Connection closed by 192.0.2.212 [preauth]",
            R::PreauthDisconnect,
            "192.0.2.212",
        ),
        (
            "Connection reset by authenticating user root 192.0.2.20 port 1558 [preauth]",
            R::PreauthDisconnect,
            "192.0.2.20",
        ),
        (
            "Received disconnect from 198.51.100.76 port 58846:11: Bye Bye [preauth]",
            R::PreauthDisconnect,
            "198.51.100.76",
        ),
        (
            "error: PAM: Authentication failure for stefanor from example.com",
            R::PamFailure,
            "example.com",
        ),
        (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.112  user=root",
            R::PamFailure,
            "192.0.2.112",
        ),
    ];
    for (msg, reason, src) in cases {
        let f = fail(&format!("{P}{msg}"));
        assert_eq!((f.reason, f.src), (*reason, host(src)), "{msg}");
    }
    let f = fail(&format!(
        "{P}PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root"
    ));
    assert_eq!(
        (f.count, f.user.as_deref(), f.src),
        (5, Some("root"), host("1.2.3.4"))
    );
}

#[test]
fn sshd_negatives_are_not_failures() {
    for msg in [
        "Accepted password for rda from 192.0.2.113 port 52100 ssh2",
        "Failed publickey for git from 192.0.2.1 port 57904 ssh2: ECDSA 0e:ff",
        "Connection closed by 192.0.2.5",
        "Received disconnect from 1.2.3.4: 11: disconnected by user",
        "Address 1.2.3.4 maps to x.com, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!",
        "input_userauth_request: invalid user root [preauth]",
        "pam_unix(sshd:session): session opened for user rda by (uid=0)",
        "pam_unix(sshd:auth): check pass; user unknown",
        "Disconnecting invalid user xxx 192.0.2.7 port 49941: Too many authentication failures [preauth]",
        "Server listening on 0.0.0.0 port 22.",
    ] {
        let out = parse_line(&format!("{P}{msg}"), &ctx());
        assert!(
            out.event().and_then(Event::failed_auth_host).is_none(),
            "{msg}: {out:?}"
        );
        assert!(
            !matches!(out, LineOutcome::Unparsed { .. }),
            "{msg}: {out:?}"
        );
    }
    match kind(&format!(
        "{P}Accepted publickey for git from 192.0.2.1 port 57904 ssh2: DSA 36:48"
    )) {
        EventKind::AuthSuccess(s) => {
            assert_eq!(
                (s.user.as_str(), s.method.as_deref(), s.src),
                ("git", Some("publickey"), host("192.0.2.1"))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_line(&format!("{P}something entirely new"), &ctx()),
        LineOutcome::Unparsed {
            reason: "unknown sshd message"
        }
    );
}

#[test]
fn hostless_failure_gets_the_peer_from_the_same_pid() {
    let mut d = SessionDecoder::new(ctx());
    assert_eq!(
        d.decode_line("Feb 12 04:09:18 h sshd[7]: Connection from 115.249.163.77 port 51353"),
        LineOutcome::Ignored
    );
    let out = d.decode_line("Feb 12 04:09:21 h sshd[7]: Disconnecting: Too many authentication failures for root [preauth]");
    assert_eq!(
        out.event().and_then(Event::failed_auth_host),
        host("115.249.163.77").as_ref()
    );
    // Unknown peer: emitted without src at once, with src when the peer is named.
    let out = d.decode_line("Jun  7 04:10:35 h sshd[9]: error: kex_exchange_identification: Connection closed by remote host");
    assert!(out.event().is_some() && out.event().and_then(Event::failed_auth_host).is_none());
    let out =
        d.decode_line("Jun  7 04:10:35 h sshd[9]: Connection closed by 192.0.2.15 port 35352");
    assert_eq!(
        out.event().and_then(Event::failed_auth_host),
        host("192.0.2.15").as_ref()
    );
    let out =
        d.decode_line("Jun  7 04:10:36 h sshd[9]: Connection closed by 192.0.2.15 port 35352");
    assert_eq!(out, LineOutcome::Ignored);
}

#[test]
fn sudo_forms() {
    let s = |line: &str| match kind(line) {
        EventKind::Sudo(s) => s,
        other => panic!("{other:?}"),
    };
    let ok = s(
        "Nov 22 04:00:00 box sudo[99]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u ; echo",
    );
    assert_eq!(
        ok,
        Sudo {
            user: "alice".into(),
            target_user: "root".into(),
            command: "/usr/bin/id -u ; echo".into(),
            tty: Some("pts/0".into()),
            pwd: Some("/home/alice".into()),
            allowed: true,
            pid: Some(99)
        }
    );
    let no = s(
        "Nov 22 04:00:00 box sudo[99]:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
    );
    assert!(!no.allowed);
    let no = s(
        "Nov 22 04:00:00 box sudo[99]:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
    );
    assert_eq!((no.allowed, no.user.as_str()), (false, "bob"));
    let f = fail(
        "Nov 22 04:00:00 box sudo[99]: pam_unix(sudo:auth): authentication failure; logname=bob uid=1000 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob",
    );
    assert_eq!(
        (f.service, f.reason, f.src, f.user.as_deref()),
        (AuthService::Sudo, R::PamFailure, None, Some("bob"))
    );
    assert_eq!(
        parse_line(
            "Nov 22 04:00:00 box sudo[99]: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
            &ctx()
        ),
        LineOutcome::Ignored
    );
}

#[test]
fn su_forms() {
    let s = |line: &str| match kind(line) {
        EventKind::Su(s) => s,
        other => panic!("{other:?}"),
    };
    let want = |success, tty: Option<&str>| Su {
        user: "alice".into(),
        target_user: "root".into(),
        success,
        tty: tty.map(Into::into),
        pid: Some(5),
    };
    assert_eq!(
        s("Nov 22 04:00:00 box su[5]: (to root) alice on pts/0"),
        want(true, Some("pts/0"))
    );
    assert_eq!(
        s("Nov 22 04:00:00 box su[5]: FAILED SU (to root) alice on pts/0"),
        want(false, Some("pts/0"))
    );
    assert_eq!(
        s("Nov 22 04:00:00 box su[5]: FAILED su for root by alice"),
        want(false, None)
    );
    assert_eq!(
        s("Nov 22 04:00:00 box su[5]: Successful su for root by alice"),
        want(true, None)
    );
    assert_eq!(
        s(
            "Nov 22 04:00:00 box su[5]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)"
        ),
        want(true, None)
    );
    let f = fail(
        "Nov 22 04:00:00 box su[5]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root",
    );
    assert_eq!(
        (f.service, f.user.as_deref()),
        (AuthService::Su, Some("root"))
    );
}

#[test]
fn generic_pam_and_injection() {
    let f = fail(
        "Jul 19 18:11:26 srv2 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=an8767 rhost=www.google.com",
    );
    assert_eq!(
        (f.service, f.pam_service.as_deref(), f.src),
        (AuthService::Pam, Some("vsftpd"), host("www.google.com"))
    );
    let f = fail(
        "Jul 19 18:11:50 srv2 daemon: pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser=test rhost=192.0.2.151 rhost=192.0.2.1",
    );
    assert_eq!(f.src, host("192.0.2.1"));
    let f = fail(
        "Jul 19 18:11:52 srv2 daemon: pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser= rhost=192.0.2.2 user=test rhost=192.0.2.152",
    );
    assert_eq!(
        (f.src, f.user.as_deref()),
        (host("192.0.2.2"), Some("test rhost=192.0.2.152"))
    );
    assert_eq!(
        parse_line(
            "Nov 22 04:00:00 box CRON[1]: pam_unix(cron:session): session opened for user root by (uid=0)",
            &ctx()
        ),
        LineOutcome::Ignored
    );
    assert_eq!(
        parse_line("Nov 22 04:00:00 box kernel: [1.0] eth0 up", &ctx()),
        LineOutcome::Ignored
    );
}

#[test]
fn journal_json_entries() {
    let line = r#"{"__CURSOR":"s=abc;i=1","__REALTIME_TIMESTAMP":"1763787220123456","SYSLOG_IDENTIFIER":"sshd-session","_PID":"812","MESSAGE":"Failed password for root from 203.0.113.9 port 2222 ssh2"}"#;
    let e = parse_journal_json(line).expect("parses");
    assert_eq!(e.cursor.as_deref(), Some("s=abc;i=1"));
    let ev = journal_entry(line).into_event().expect("event");
    assert_eq!((ev.source, ev.kind.pid()), (Source::Journald, Some(812)));
    assert_eq!(ev.failed_auth_host(), host("203.0.113.9").as_ref());
    assert_eq!(ev.ts.timestamp_micros(), 1_763_787_220_123_456);
    // Non-UTF-8 MESSAGE arrives as a byte array.
    let bytes = r#"{"__REALTIME_TIMESTAMP":"1","SYSLOG_IDENTIFIER":"sshd","MESSAGE":[73,110,118,97,108,105,100,32,117,115,101,114,32,255,32,102,114,111,109,32,49,46,50,46,51,46,52]}"#;
    assert!(
        journal_entry(bytes)
            .event()
            .and_then(Event::failed_auth_host)
            .is_some()
    );
    assert!(matches!(journal_entry("{"), LineOutcome::Unparsed { .. }));
    assert!(matches!(
        journal_entry(r#"{"MESSAGE":"x"}"#),
        LineOutcome::Unparsed { .. }
    ));
}
