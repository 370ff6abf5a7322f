//! SSH (and PAM) brute force: at least `threshold` failed authentications from one source within
//! a sliding `window`. ATT&CK T1110.001 (Password Guessing).
//!
//! What counts: one failed attempt is logged by sshd as several lines (the pam_unix failure,
//! `Failed password`, a `PAM N more` summary, the preauth disconnect). Only the line that stands
//! for the attempt itself counts ([`attempts`]): bad credentials, invalid or refused users, and
//! PAM failures of services other than sshd. Summaries, sshd's PAM echo and disconnects count
//! zero. (`Invalid user X from` and the first `Failed password for invalid user X` both count,
//! as in fail2ban.)
//!
//! State is one small ring of (time, count) per source, bounded by `max_tracked_sources`. After a
//! finding the source is quiet for one window, so a long attack yields one finding per window,
//! each carrying the failures since the previous one as evidence.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Detector, evidence};
use crate::config::SshBruteforceConfig;
use crate::event::{AuthFailure, AuthFailureReason, AuthService, Event, EventKind, Host};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::ProcessTable;

/// How many failure events a finding carries as evidence (the most recent ones).
const MAX_EVIDENCE: usize = 10;

#[derive(Debug, Default)]
struct SourceState {
    /// (time, failures) within the window, oldest first.
    hits: VecDeque<(DateTime<Utc>, u32)>,
    in_window: u64,
    last_seen: Option<DateTime<Utc>>,
    last_fired: Option<DateTime<Utc>>,
    users: Vec<String>,
    evidence: VecDeque<serde_json::Value>,
}

/// How many authentication attempts one failure line stands for (see the module docs).
pub fn attempts(f: &AuthFailure) -> u32 {
    match f.reason {
        AuthFailureReason::BadCredentials
        | AuthFailureReason::InvalidUser
        | AuthFailureReason::NotAllowed => f.count.max(1),
        AuthFailureReason::PamFailure if f.service != AuthService::Sshd => f.count.max(1),
        AuthFailureReason::PamFailure
        | AuthFailureReason::TooManyFailures
        | AuthFailureReason::PreauthDisconnect
        | AuthFailureReason::ProtocolError => 0,
    }
}

pub struct SshBruteforce {
    cfg: SshBruteforceConfig,
    window: TimeDelta,
    sources: HashMap<Host, SourceState>,
}

impl SshBruteforce {
    pub fn new(cfg: SshBruteforceConfig) -> Self {
        let window = TimeDelta::seconds(i64::try_from(cfg.window_secs).unwrap_or(i64::MAX / 2));
        Self {
            cfg,
            window,
            sources: HashMap::new(),
        }
    }

    /// Sources currently tracked (for status and tests).
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }

    fn make_room(&mut self, now: DateTime<Utc>) {
        if self.sources.len() < self.cfg.max_tracked_sources {
            return;
        }
        let window = self.window;
        self.sources
            .retain(|_, s| s.last_seen.is_some_and(|t| now - t <= window));
        if self.sources.len() >= self.cfg.max_tracked_sources {
            // Still full of active sources: forget the stalest one.
            if let Some(stalest) = self
                .sources
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(h, _)| h.clone())
            {
                self.sources.remove(&stalest);
            }
        }
    }
}

impl Detector for SshBruteforce {
    fn id(&self) -> &'static str {
        "ssh_bruteforce"
    }

    fn on_event(&mut self, ev: &Event, _procs: &ProcessTable, out: &mut Vec<Finding>) {
        let Some(host) = ev.failed_auth_host() else {
            return;
        };
        let count = match &ev.kind {
            EventKind::AuthFailure(f) => attempts(f),
            _ => 0,
        };
        if count == 0 {
            return;
        }
        let user = match &ev.kind {
            EventKind::AuthFailure(f) => f.user.clone(),
            _ => None,
        };
        if !self.sources.contains_key(host) {
            self.make_room(ev.ts);
        }
        let window = self.window;
        let s = self.sources.entry(host.clone()).or_default();
        // Event time may step back slightly across sources; never let it run the window back.
        let now = s.last_seen.map_or(ev.ts, |t| t.max(ev.ts));
        s.last_seen = Some(now);
        s.hits.push_back((now, count));
        s.in_window += u64::from(count);
        while let Some(&(t, n)) = s.hits.front() {
            if now - t > window {
                s.hits.pop_front();
                s.in_window -= u64::from(n);
            } else {
                break;
            }
        }
        if let Some(u) = user
            && !s.users.contains(&u)
            && s.users.len() < 16
        {
            s.users.push(u);
        }
        if s.evidence.len() == MAX_EVIDENCE {
            s.evidence.pop_front();
        }
        s.evidence.push_back(evidence(ev));

        let quiet = s.last_fired.is_none_or(|t| now - t > window);
        if s.in_window >= u64::from(self.cfg.threshold) && quiet {
            s.last_fired = Some(now);
            let users = if s.users.is_empty() {
                String::from("unknown users")
            } else {
                s.users.join(", ")
            };
            out.push(Finding {
                ts: ev.ts,
                detector: "ssh_bruteforce".into(),
                technique: "T1110.001".into(),
                severity: Severity::High,
                entity: Entity::Host { host: host.clone() },
                summary: format!(
                    "{} failed logins from {host} within {}s (users: {users})",
                    s.in_window, self.cfg.window_secs
                ),
                evidence: s.evidence.drain(..).collect(),
                author: None,
                stage: None,
            });
            s.users.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Source;

    fn fail(secs: i64, host: &str) -> Event {
        let ts = DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("in range");
        Event::new(
            ts,
            Source::Authlog,
            EventKind::AuthFailure(AuthFailure {
                service: AuthService::Sshd,
                reason: AuthFailureReason::BadCredentials,
                user: Some("root".into()),
                src: Some(host.parse().expect("host")),
                port: Some(22),
                pid: None,
                count: 1,
                pam_service: None,
            }),
        )
    }

    fn run(det: &mut SshBruteforce, evs: &[Event]) -> Vec<Finding> {
        let t = ProcessTable::default();
        let mut out = Vec::new();
        for e in evs {
            det.on_event(e, &t, &mut out);
        }
        out
    }

    #[test]
    fn fires_at_threshold_within_window_once_per_window() {
        let mut d = SshBruteforce::new(SshBruteforceConfig::default());
        let evs: Vec<_> = (0..12).map(|i| fail(i, "203.0.113.9")).collect();
        let f = run(&mut d, &evs);
        assert_eq!(f.len(), 1, "one finding per window");
        assert_eq!(f[0].entity.key(), "host:203.0.113.9");
        assert_eq!(f[0].evidence.len(), 5);
        // After the quiet window, a fresh burst fires again.
        let later: Vec<_> = (100..105).map(|i| fail(i, "203.0.113.9")).collect();
        assert_eq!(run(&mut d, &later).len(), 1);
    }

    #[test]
    fn slow_failures_and_spread_sources_do_not_fire() {
        let mut d = SshBruteforce::new(SshBruteforceConfig::default());
        let slow: Vec<_> = (0..10).map(|i| fail(i * 61, "203.0.113.9")).collect();
        assert!(run(&mut d, &slow).is_empty());
        let spread: Vec<_> = (0..40)
            .map(|i| fail(i, &format!("198.51.100.{}", i % 10)))
            .collect();
        assert!(
            run(&mut d, &spread).is_empty(),
            "4 per source stays under 5"
        );
    }

    #[test]
    fn echoes_summaries_and_disconnects_do_not_count() {
        let mut d = SshBruteforce::new(SshBruteforceConfig::default());
        let mut evs = Vec::new();
        for i in 0..10 {
            for reason in [
                AuthFailureReason::PamFailure,
                AuthFailureReason::PreauthDisconnect,
                AuthFailureReason::TooManyFailures,
            ] {
                let mut e = fail(i, "203.0.113.9");
                if let EventKind::AuthFailure(f) = &mut e.kind {
                    f.reason = reason;
                }
                evs.push(e);
            }
        }
        assert!(run(&mut d, &evs).is_empty());
    }

    #[test]
    fn tracked_sources_are_bounded() {
        let cfg = SshBruteforceConfig {
            max_tracked_sources: 100,
            ..SshBruteforceConfig::default()
        };
        let mut d = SshBruteforce::new(cfg);
        let evs: Vec<_> = (0..1000)
            .map(|i| fail(i, &format!("10.0.{}.{}", i / 256, i % 256)))
            .collect();
        run(&mut d, &evs);
        assert!(d.tracked() <= 100);
    }
}
