//! `[detectors.correlation]`: switches and bounds of the correlation engine.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorrelationConfig {
    /// Run the correlation rules over detector findings and events. Default true.
    pub enabled: bool,
    /// Use the rules shipped inside the binary (rules/correlation/*.toml). Default true.
    pub embedded: bool,
    /// A directory of local `*.toml` correlation rule files, loaded after the embedded ones; a
    /// rule with the id of a shipped rule replaces it. A missing directory means none (as for
    /// `detectors.rules.dir`). Default `/etc/innerwarden/correlation.d`.
    pub dir: PathBuf,
    /// Partial sequences kept per rule at once; the least recently advanced are forgotten
    /// first (counted). Default 4096.
    pub max_runs_per_rule: usize,
    /// SSH login sessions remembered (sshd pid → source, user) for the `source`, `user` and
    /// `session` joins of process events. Default 65536.
    pub max_sessions: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            embedded: true,
            dir: PathBuf::from("/etc/innerwarden/correlation.d"),
            max_runs_per_rule: 4096,
            max_sessions: 65_536,
        }
    }
}

impl CorrelationConfig {
    /// Checks the types cannot express: (key, problem).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.max_runs_per_rule == 0 {
            return Err((
                "detectors.correlation.max_runs_per_rule",
                "must be at least 1".into(),
            ));
        }
        if self.max_sessions == 0 {
            return Err((
                "detectors.correlation.max_sessions",
                "must be at least 1".into(),
            ));
        }
        if !self.dir.is_absolute() {
            return Err((
                "detectors.correlation.dir",
                format!("{} is not an absolute path", self.dir.display()),
            ));
        }
        Ok(())
    }
}
