//! Rules as data: detection logic that is a match over event fields lives in TOML files
//! (`rules/*.toml` at the repository root, embedded in the binary, and a configured directory),
//! compiled at load against the event schema.
//!
//! # Layout
//! - [`schema`]: every event kind's fields, their types and how to read them (plus the
//!   process-context fields from the [`crate::proctable::ProcessTable`]).
//! - [`matcher`]: the compiled field-predicate language ([`matcher::Predicate`]), shared with
//!   the correlation engine's event stages.
//! - [`rule`]: one `[[rule]]`: metadata, predicate, entity, summary template.
//! - [`set`]: loading the embedded files and a local directory into a [`RuleSet`].
//!
//! The detector running them is [`crate::detect::rules::RulesDetector`].

mod compile;
pub mod matcher;
pub mod rule;
pub mod schema;
pub mod set;

pub use matcher::{Ctx, Field, Net, Predicate};
pub use rule::Rule;
pub use set::{RuleErrors, RuleFile, RuleSet};

/// Why a rule file or a rule was refused. Every variant names the file, and the rule when the
/// problem is inside one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: not a valid rule file: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: rule `{rule}`: {problem}")]
    Invalid {
        file: String,
        rule: String,
        problem: String,
    },
    #[error("{file}: rule `{rule}` is already defined in {first}")]
    Duplicate {
        file: String,
        rule: String,
        first: String,
    },
}
