//! The event-predicate stage: an adapter over the rules engine's compiled field predicate
//! ([`crate::rules::Predicate`]), so correlation and single-event rules share one matcher, one
//! schema and one error vocabulary.
//!
//! A stage's `event` is one predicate table (`event = { kind = "exec", name = "curl" }`) or an
//! array of them (`[[rule.stage.event]]`), any of which may match — the way to let one stage
//! accept several kinds (an `exec` of chmod or a `file_change` chmod).

use crate::event::Event;
use crate::proctable::ProcessTable;
use crate::rules::{Ctx, Predicate, RuleError};

/// A compiled event predicate (one or several, any of which matches).
#[derive(Debug)]
pub struct EventMatch {
    any: Vec<Predicate>,
}

impl EventMatch {
    /// Compile a stage's `event` value. The error is the problem, without file or rule (the
    /// caller adds them).
    pub fn compile(value: &toml::Value, file: &str, rule: &str) -> Result<Self, String> {
        let ctx = Ctx { file, rule };
        let tables: Vec<&toml::Table> = match value {
            toml::Value::Table(t) => vec![t],
            toml::Value::Array(a) if !a.is_empty() => a
                .iter()
                .map(|v| v.as_table().ok_or("`event` array holds a non-table"))
                .collect::<Result<_, _>>()?,
            _ => return Err("`event` is a predicate table or a non-empty array of them".into()),
        };
        let any = tables
            .into_iter()
            .map(|t| Predicate::from_table(t, &ctx).map_err(problem))
            .collect::<Result<_, _>>()?;
        Ok(Self { any })
    }

    /// The event kinds this stage can match.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.any.iter().map(Predicate::kind)
    }

    pub fn matches(&self, ev: &Event, procs: &ProcessTable) -> bool {
        self.any.iter().any(|p| p.matches(ev, procs))
    }
}

/// The matcher's message without its own file/rule prefix (the correlation error adds them).
fn problem(e: RuleError) -> String {
    match e {
        RuleError::Invalid { problem, .. } => problem,
        other => other.to_string(),
    }
}
