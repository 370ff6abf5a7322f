//! Native Sigma: rule files for Linux (`process_creation`, `file_event`,
//! `network_connection`, and keyword rules over log lines) compiled against our events and
//! process table.
//!
//! A rule either loads with its exact semantics or is rejected with a reason (unsupported
//! logsource, keyword search outside a log, unmapped field, unsupported modifier, aggregation, ...): nothing
//! is approximated in a way that could widen a match.
//!
//! # Layout
//! - [`condition`]: the condition language (parser, binding to selections, evaluation).
//! - [`value`]: modifiers and value patterns (wildcards, contains/startswith/endswith, re,
//!   cidr, windash, base64, base64offset, exists, cased).
//! - [`field`]: log source categories and the field map onto events + process table.
//! - [`logscope`]: which log lines a keyword rule reads (its `service`), and their union.
//! - [`tri`]: Kleene truth for values the sensor may have cut short (never widen a match).
//! - [`rule`]: one YAML file → [`SigmaRule`] or [`Reject`].
//! - [`detector`]: [`SigmaDetector`], the [`crate::detect::Detector`] running a [`RuleSet`].
//! - [`users`]: uid → name from passwd text (the `User` field).
//! - [`bench`]: matcher throughput over a realistic exec stream.
//!
//! The edge reads the directory and hands `(file name, text)` pairs to [`RuleSet::load`].

pub mod bench;
pub mod condition;
pub mod detector;
pub mod encode;
pub mod field;
pub mod logscope;
pub mod rule;
pub mod tri;
pub mod users;
pub mod value;

use std::collections::BTreeMap;

pub use detector::SigmaDetector;
pub use field::Category;
pub use logscope::{LogScope, LogWant};
pub use rule::{Reject, SigmaRule};
pub use users::users_from_passwd;

/// A rule file that did not load, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub file: String,
    pub reason: Reject,
}

/// The rules of one directory: loaded and rejected.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<SigmaRule>,
    pub rejected: Vec<Rejected>,
}

impl RuleSet {
    /// Compile every `(file name, text)` pair; file order is kept.
    pub fn load<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut set = RuleSet::default();
        for (file, text) in files {
            match SigmaRule::parse(file, text) {
                Ok(r) => set.rules.push(r),
                Err(reason) => set.rejected.push(Rejected {
                    file: file.to_owned(),
                    reason,
                }),
            }
        }
        set
    }

    /// Loaded rules per category and rejected rules per reason kind, sorted.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for r in &self.rules {
            *t.loaded.entry(r.category.as_str()).or_default() += 1;
        }
        for r in &self.rejected {
            *t.rejected.entry(r.reason.kind()).or_default() += 1;
        }
        t
    }
}

/// Counts for `innerwarden sigma check` and the dataset test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub loaded: BTreeMap<&'static str, usize>,
    pub rejected: BTreeMap<String, usize>,
}

impl Tally {
    pub fn loaded_total(&self) -> usize {
        self.loaded.values().sum()
    }

    pub fn rejected_total(&self) -> usize {
        self.rejected.values().sum()
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:<44} {:>6}", "loaded", self.loaded_total())?;
        for (k, n) in &self.loaded {
            writeln!(f, "  {k:<42} {n:>6}")?;
        }
        writeln!(f, "{:<44} {:>6}", "rejected", self.rejected_total())?;
        for (k, n) in &self.rejected {
            writeln!(f, "  {k:<42} {n:>6}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
