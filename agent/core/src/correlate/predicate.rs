//! The event-predicate stage: an adapter over the rules engine's compiled field predicate, so
//! correlation and single-event rules share one matcher and one error vocabulary.

use crate::event::Event;
use crate::proctable::ProcessTable;

/// A compiled event predicate (`event = { kind = "exec", ... }` in a stage).
#[derive(Debug)]
pub struct EventMatch {
    kind: String,
}

impl EventMatch {
    /// Compile a stage's `event` table. The error is the problem, without file or rule (the
    /// caller adds them).
    pub fn compile(table: &toml::Table) -> Result<Self, String> {
        let kind = match table.get("kind") {
            Some(toml::Value::String(k)) => k.clone(),
            Some(_) => return Err("`kind` must be a string".into()),
            None => return Err("event stage needs a `kind`".into()),
        };
        if let Some(k) = table.keys().find(|k| *k != "kind") {
            return Err(format!("unknown field `{k}`"));
        }
        Ok(Self { kind })
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn matches(&self, ev: &Event, _procs: &ProcessTable) -> bool {
        ev.kind.name() == self.kind
    }
}
