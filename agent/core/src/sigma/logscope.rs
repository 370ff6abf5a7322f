//! Which log lines a Sigma log-line rule reads, from its `logsource.service`, and what the
//! journal sensor must therefore hand over ([`LogWant`]).
//!
//! A service names the programs (journal `SYSLOG_IDENTIFIER`s) that write its log, or, for the
//! two syslog files, the facility split Debian's rsyslog makes: `auth` is facilities auth and
//! authpriv (`/var/log/auth.log`), `syslog` is every other line (`/var/log/syslog`). A service
//! we cannot place is a rejected rule, never "every line" (that would widen its matches).

/// Syslog facility numbers of `auth` (4) and `authpriv` (10).
const AUTH_FACILITIES: [u8; 2] = [4, 10];

/// The programs of the services we can place. `sshd` includes OpenSSH 9.8+'s split processes.
const SERVICES: &[(&str, &[&str])] = &[
    ("sshd", &["sshd", "sshd-session", "sshd-auth"]),
    ("sudo", &["sudo"]),
    ("cron", &["cron", "CRON", "crond"]),
    ("clamav", &["clamd", "freshclam", "clamonacc"]),
    ("vsftpd", &["vsftpd"]),
    ("guacamole", &["guacd"]),
];

/// The lines one rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogScope {
    /// `product: linux` with no service: any log line.
    Any,
    /// Lines written by these programs.
    Programs(&'static [&'static str]),
    /// Facilities auth and authpriv (`service: auth`).
    AuthFacility,
    /// Every other facility, or none (`service: syslog`).
    OtherFacility,
}

impl LogScope {
    /// The scope of `logsource.service` (None = no service). Err names an unknown service.
    pub fn of_service(service: Option<&str>) -> Result<Self, String> {
        let Some(s) = service else {
            return Ok(LogScope::Any);
        };
        match s {
            "auth" => Ok(LogScope::AuthFacility),
            "syslog" => Ok(LogScope::OtherFacility),
            _ => SERVICES
                .iter()
                .find(|(name, _)| *name == s)
                .map(|(_, programs)| LogScope::Programs(programs))
                .ok_or_else(|| format!("service {s}")),
        }
    }

    /// Does a line of `program` at `facility` belong to this scope?
    pub fn admits(&self, program: &str, facility: Option<u8>) -> bool {
        let auth = facility.is_some_and(|f| AUTH_FACILITIES.contains(&f));
        match self {
            LogScope::Any => true,
            LogScope::Programs(p) => p.contains(&program),
            LogScope::AuthFacility => auth,
            LogScope::OtherFacility => !auth,
        }
    }
}

/// The union of the scopes of the loaded log-line rules: what the sensor hands over. Empty
/// means no rule reads log lines and the sensor produces none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogWant {
    scopes: Vec<LogScope>,
}

impl LogWant {
    pub fn add(&mut self, scope: LogScope) {
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
    }

    /// Add every scope of `other`.
    pub fn extend(&mut self, other: &LogWant) {
        for s in &other.scopes {
            self.add(*s);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    pub fn admits(&self, program: &str, facility: Option<u8>) -> bool {
        self.scopes.iter().any(|s| s.admits(program, facility))
    }
}

impl FromIterator<LogScope> for LogWant {
    fn from_iter<I: IntoIterator<Item = LogScope>>(iter: I) -> Self {
        let mut w = LogWant::default();
        for s in iter {
            w.add(s);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_map_to_programs_or_facilities_and_unknown_ones_are_refused() {
        let sshd = LogScope::of_service(Some("sshd")).expect("sshd");
        assert!(sshd.admits("sshd-session", Some(4)));
        assert!(!sshd.admits("sudo", Some(10)));
        let auth = LogScope::of_service(Some("auth")).expect("auth");
        assert!(auth.admits("useradd", Some(10)));
        assert!(!auth.admits("kernel", Some(0)));
        let syslog = LogScope::of_service(Some("syslog")).expect("syslog");
        assert!(syslog.admits("kernel", Some(0)));
        assert!(syslog.admits("nginx", None));
        assert!(!syslog.admits("sshd", Some(4)));
        assert!(LogScope::of_service(None).expect("any").admits("x", None));
        assert_eq!(
            LogScope::of_service(Some("auditd")),
            Err("service auditd".into())
        );
    }

    #[test]
    fn the_want_is_the_union_and_empty_admits_nothing() {
        let mut w = LogWant::default();
        assert!(w.is_empty());
        assert!(!w.admits("sshd", Some(4)));
        w.add(LogScope::of_service(Some("sshd")).expect("sshd"));
        w.add(LogScope::of_service(Some("sshd")).expect("sshd"));
        w.add(LogScope::of_service(Some("cron")).expect("cron"));
        assert!(w.admits("CRON", Some(9)));
        assert!(w.admits("sshd", Some(4)));
        assert!(!w.admits("kernel", Some(0)));
        assert_eq!(w.scopes.len(), 2);
    }
}
