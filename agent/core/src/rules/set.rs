//! Loading rule files into a [`RuleSet`]: the files shipped in `rules/*.toml` (embedded in the
//! binary) first, then a local directory whose rules add to them or replace an embedded rule
//! with the same id. The edge reads the directory; this module only sees (name, text) pairs.

use std::collections::HashMap;
use std::fmt;

use super::RuleError;
use super::rule::Rule;

/// One rule file's name (as shown in errors and `rules list`) and text.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub name: String,
    pub text: String,
}

/// The shipped rule files, embedded at build time. A test keeps this list equal to the
/// `rules/*.toml` files at the repository root.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "rules/collection.toml",
        include_str!("../../../../rules/collection.toml"),
    ),
    (
        "rules/command_and_control.toml",
        include_str!("../../../../rules/command_and_control.toml"),
    ),
    (
        "rules/credential_access.toml",
        include_str!("../../../../rules/credential_access.toml"),
    ),
    (
        "rules/defense_evasion.toml",
        include_str!("../../../../rules/defense_evasion.toml"),
    ),
    (
        "rules/discovery.toml",
        include_str!("../../../../rules/discovery.toml"),
    ),
    (
        "rules/execution.toml",
        include_str!("../../../../rules/execution.toml"),
    ),
    (
        "rules/exfiltration.toml",
        include_str!("../../../../rules/exfiltration.toml"),
    ),
    (
        "rules/impact.toml",
        include_str!("../../../../rules/impact.toml"),
    ),
    (
        "rules/initial_access.toml",
        include_str!("../../../../rules/initial_access.toml"),
    ),
    (
        "rules/lateral_movement.toml",
        include_str!("../../../../rules/lateral_movement.toml"),
    ),
    (
        "rules/persistence.toml",
        include_str!("../../../../rules/persistence.toml"),
    ),
    (
        "rules/privilege_escalation.toml",
        include_str!("../../../../rules/privilege_escalation.toml"),
    ),
];

/// Every problem found while loading, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}

/// The compiled rules, in load order (embedded files by name, then local files by name).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The embedded rules only.
    pub fn embedded() -> Result<RuleSet, RuleErrors> {
        Self::load(&embedded_files(), &[])
    }

    /// Compile `base` (the shipped files: ids must be unique among them) and then `local` (a
    /// local rule with the id of a base rule replaces it; ids must be unique among local files).
    /// Every error in every file is collected.
    pub fn load(base: &[RuleFile], local: &[RuleFile]) -> Result<RuleSet, RuleErrors> {
        let mut errors = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for (files, may_replace) in [(base, false), (local, true)] {
            let mut seen_here: HashMap<String, String> = HashMap::new();
            for file in files {
                for rule in compile_file(file, &mut errors) {
                    if let Some(first) = seen_here.get(&rule.id) {
                        errors.push(RuleError::Duplicate {
                            file: file.name.clone(),
                            rule: rule.id.clone(),
                            first: first.clone(),
                        });
                        continue;
                    }
                    seen_here.insert(rule.id.clone(), file.name.clone());
                    match by_id.get(&rule.id) {
                        Some(&i) if may_replace => rules[i] = rule,
                        Some(&i) => errors.push(RuleError::Duplicate {
                            file: file.name.clone(),
                            rule: rule.id.clone(),
                            first: rules[i].file.clone(),
                        }),
                        None => {
                            by_id.insert(rule.id.clone(), rules.len());
                            rules.push(rule);
                        }
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(RuleSet { rules })
        } else {
            Err(RuleErrors(errors))
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The embedded files as [`RuleFile`]s.
pub fn embedded_files() -> Vec<RuleFile> {
    EMBEDDED
        .iter()
        .map(|(name, text)| RuleFile {
            name: (*name).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

/// Compile every `[[rule]]` of one file; problems go to `errors`, good rules are returned.
fn compile_file(file: &RuleFile, errors: &mut Vec<RuleError>) -> Vec<Rule> {
    let parse_err = |message: String| RuleError::Parse {
        file: file.name.clone(),
        message,
    };
    let table = match file.text.parse::<toml::Table>() {
        Ok(t) => t,
        Err(e) => {
            errors.push(parse_err(e.to_string().trim().to_owned()));
            return Vec::new();
        }
    };
    if let Some(k) = table.keys().find(|k| k.as_str() != "rule") {
        errors.push(parse_err(format!(
            "unknown top-level key `{k}` (a rule file holds `[[rule]]` tables)"
        )));
        return Vec::new();
    }
    let Some(list) = table.get("rule") else {
        return Vec::new();
    };
    let Some(list) = list.as_array() else {
        errors.push(parse_err(
            "`rule` must be an array of tables: write `[[rule]]`".into(),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        if !v.is_table() {
            errors.push(parse_err(format!("rule #{} is not a table", i + 1)));
            continue;
        }
        match Rule::compile(&file.name, i, v) {
            Ok(r) => out.push(r),
            Err(e) => errors.push(e),
        }
    }
    out
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
