//! Syslog prefixes: timestamp, host, program, pid.
//!
//! Accepted forms (the message follows the tag):
//! - RFC 3164: `Mmm dd hh:mm:ss host prog[pid]: msg`, day padded with a space, a zero or not at
//!   all; the host may be missing (`Nov 23 21:50:19 sshd[8148]: ...`); the tag may be `[sshd]:`
//!   or `[sshd]` (no colon); an optional `<PRI>` before the date.
//! - RFC 3339 / ISO 8601 (rsyslog `RSYSLOG_FileFormat`, journalctl `-o short-iso`):
//!   `2026-11-22T04:53:40.123456+00:00 host prog[pid]: msg`.
//! - RFC 5424: `<38>1 2019-07-08T17:40:16.954167-04:00 host app procid msgid [sd]... msg`.
//! - No timestamp (`host prog[pid]: msg`, as `journalctl -o short` without date or the fail2ban
//!   journal fixtures): the context's `now` is used.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use super::LineContext;

/// A syslog line split into its parts. Borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    pub ts: DateTime<Utc>,
    pub host: Option<&'a str>,
    pub program: &'a str,
    pub pid: Option<u32>,
    pub message: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Split a raw syslog line. The error is a static reason for the caller's unparsed counter.
pub fn split_syslog<'a>(line: &'a str, ctx: &LineContext) -> Result<SyslogLine<'a>, &'static str> {
    let line = line.trim_end_matches(['\n', '\r']);
    let (line, had_pri) = strip_pri(line);
    if had_pri && let Some(rest) = line.strip_prefix("1 ") {
        return rfc5424(rest);
    }
    if let Some((ts, rest)) = rfc3164_ts(line, ctx) {
        return host_and_tag(ts, rest);
    }
    if let Some((ts, rest)) = iso_ts(line) {
        return host_and_tag(ts, rest);
    }
    host_and_tag(ctx.now, line).map_err(|_| "no syslog timestamp")
}

fn strip_pri(line: &str) -> (&str, bool) {
    if let Some(rest) = line.strip_prefix('<')
        && let Some(end) = rest.find('>')
        && end <= 3
        && rest[..end].bytes().all(|b| b.is_ascii_digit())
    {
        return (&rest[end + 1..], true);
    }
    (line, false)
}

/// `Mmm dd hh:mm:ss ` with the year inferred from the context.
fn rfc3164_ts<'a>(line: &'a str, ctx: &LineContext) -> Option<(DateTime<Utc>, &'a str)> {
    let month = MONTHS.iter().position(|m| line.starts_with(m))? as u32 + 1;
    let rest = line.get(3..)?.strip_prefix(' ')?.trim_start_matches(' ');
    let (day, rest) = rest.split_once(' ')?;
    let day: u32 = day.parse().ok()?;
    let (time, rest) = rest.split_once(' ')?;
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S").ok()?;
    let year = ctx.now.year();
    // Try this year, then the years before (rolling back when the date would be in the future,
    // and past Feb 29 of a non-leap year).
    for y in [year, year - 1, year - 2, year - 3, year - 4] {
        let Some(date) = NaiveDate::from_ymd_opt(y, month, day) else {
            continue;
        };
        let local = date.and_time(time);
        let ts = ctx
            .local_offset
            .from_local_datetime(&local)
            .single()?
            .with_timezone(&Utc);
        if ts <= ctx.now + Duration::days(1) {
            return Some((ts, rest));
        }
    }
    None
}

/// `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm) `.
fn iso_ts(line: &str) -> Option<(DateTime<Utc>, &str)> {
    let b = line.as_bytes();
    if b.len() < 20 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let (ts, rest) = line.split_once(' ')?;
    let ts = DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc);
    Some((ts, rest))
}

/// After the timestamp: `host tag msg` or `tag msg`.
fn host_and_tag(ts: DateTime<Utc>, rest: &str) -> Result<SyslogLine<'_>, &'static str> {
    let rest = rest.trim_start_matches(' ');
    let (first, after) = rest.split_once(' ').unwrap_or((rest, ""));
    if first.is_empty() {
        return Err("missing host or tag");
    }
    if let Some((program, pid)) = tag(first) {
        return Ok(SyslogLine {
            ts,
            host: None,
            program,
            pid,
            message: after,
        });
    }
    let (second, msg) = after.split_once(' ').unwrap_or((after, ""));
    match tag(second) {
        Some((program, pid)) => Ok(SyslogLine {
            ts,
            host: Some(first),
            program,
            pid,
            message: msg,
        }),
        None => Err("missing program tag"),
    }
}

/// A tag token: `prog[pid]:`, `prog:`, `[prog]:` or `[prog]`.
fn tag(tok: &str) -> Option<(&str, Option<u32>)> {
    if let Some(inner) = tok.strip_prefix('[') {
        let inner = inner.strip_suffix(':').unwrap_or(inner);
        let name = inner.strip_suffix(']')?;
        return valid_program(name).then_some((name, None));
    }
    let tok = tok.strip_suffix(':')?;
    if let Some(open) = tok.find('[')
        && let Some(pid) = tok[open + 1..].strip_suffix(']')
    {
        let name = &tok[..open];
        let pid = pid.parse().ok()?;
        return valid_program(name).then_some((name, Some(pid)));
    }
    valid_program(tok).then_some((tok, None))
}

fn valid_program(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'[' && b != b']')
}

/// RFC 5424 after `<PRI>1 `: `TIMESTAMP HOST APP PROCID MSGID SD MSG`.
fn rfc5424(rest: &str) -> Result<SyslogLine<'_>, &'static str> {
    let mut parts = rest.splitn(6, ' ');
    let mut next = || parts.next().ok_or("short rfc5424 header");
    let ts = next()?;
    let host = next()?;
    let app = next()?;
    let procid = next()?;
    let _msgid = next()?;
    let tail = next()?;
    let ts = if ts == "-" {
        return Err("rfc5424 without timestamp");
    } else {
        DateTime::parse_from_rfc3339(ts)
            .map_err(|_| "bad rfc5424 timestamp")?
            .with_timezone(&Utc)
    };
    let message = skip_structured_data(tail).ok_or("bad rfc5424 structured data")?;
    Ok(SyslogLine {
        ts,
        host: (host != "-").then_some(host),
        program: app,
        pid: procid.parse().ok(),
        message,
    })
}

/// Skip `-` or one or more `[id k="v" ...]` elements (values may contain escaped `"` and `]`).
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(msg) = s.strip_prefix("-") {
        return Some(msg.strip_prefix(' ').unwrap_or(msg));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut in_quotes = false;
        i += 1;
        loop {
            match b.get(i)? {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    let msg = s.get(i..)?;
    Some(msg.strip_prefix(' ').unwrap_or(msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Source;

    fn ctx() -> LineContext {
        let now = DateTime::parse_from_rfc3339("2026-01-10T00:00:00Z")
            .expect("literal")
            .with_timezone(&Utc);
        LineContext::new(now, Source::Authlog)
    }

    #[test]
    fn rfc3164_year_rolls_back_for_future_dates() {
        let l = split_syslog("Dec 31 23:59:59 box sshd[1]: hi", &ctx()).expect("parses");
        assert_eq!(l.ts.to_rfc3339(), "2025-12-31T23:59:59+00:00");
        let l = split_syslog("Jan  9 01:02:03 box sshd[1]: hi", &ctx()).expect("parses");
        assert_eq!(l.ts.to_rfc3339(), "2026-01-09T01:02:03+00:00");
        assert_eq!(
            (l.host, l.program, l.pid, l.message),
            (Some("box"), "sshd", Some(1), "hi")
        );
    }

    #[test]
    fn odd_tags_and_missing_host() {
        let l = split_syslog("Mar  3 00:17:22 [sshd]: User root", &ctx()).expect("parses");
        assert_eq!(
            (l.host, l.program, l.pid, l.message),
            (None, "sshd", None, "User root")
        );
        let l = split_syslog("Jun 25 23:53:34 [sshd] User root", &ctx()).expect("parses");
        assert_eq!((l.program, l.message), ("sshd", "User root"));
        let l = split_syslog("Nov 23 21:50:19 sshd[8148]: Disc", &ctx()).expect("parses");
        assert_eq!((l.host, l.pid), (None, Some(8148)));
        let l = split_syslog("Feb 7 16:01:07 h sshd-session[5]: x", &ctx()).expect("parses");
        assert_eq!((l.program, l.pid), ("sshd-session", Some(5)));
    }

    #[test]
    fn iso_and_rfc5424() {
        let l = split_syslog(
            "2015-04-16T18:02:50.321974+02:00 host sshd[2716]: m",
            &ctx(),
        )
        .expect("parses");
        assert_eq!(l.ts.to_rfc3339(), "2015-04-16T16:02:50.321974+00:00");
        let line = r#"<38>1 2019-07-08T17:40:17.954167-04:00 h.example sshd 55555 - [t a="1"][x@1 t="[b]"] Failed"#;
        let l = split_syslog(line, &ctx()).expect("parses");
        assert_eq!(
            (l.program, l.pid, l.message),
            ("sshd", Some(55555), "Failed")
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for line in [
            "",
            " ",
            "Dec",
            "Dec 99 99:99:99",
            "<1>1 x",
            "2026-01-01T",
            "ab cd",
        ] {
            assert!(split_syslog(line, &ctx()).is_err(), "{line:?}");
        }
    }
}
