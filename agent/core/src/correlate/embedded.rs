//! The correlation rules shipped in the binary: every file of `rules/correlation/`, embedded at
//! build time (a test checks that this list and the directory agree).

use super::RuleSource;

/// (file name, text) of each shipped rule file.
pub const FILES: &[(&str, &str)] = &[
    (
        "access.toml",
        include_str!("../../../../rules/correlation/access.toml"),
    ),
    (
        "evasion.toml",
        include_str!("../../../../rules/correlation/evasion.toml"),
    ),
    (
        "execution.toml",
        include_str!("../../../../rules/correlation/execution.toml"),
    ),
    (
        "exfiltration.toml",
        include_str!("../../../../rules/correlation/exfiltration.toml"),
    ),
    (
        "impact.toml",
        include_str!("../../../../rules/correlation/impact.toml"),
    ),
    (
        "persistence.toml",
        include_str!("../../../../rules/correlation/persistence.toml"),
    ),
    (
        "privilege.toml",
        include_str!("../../../../rules/correlation/privilege.toml"),
    ),
    (
        "webshell.toml",
        include_str!("../../../../rules/correlation/webshell.toml"),
    ),
];

/// The shipped rules as sources named `embedded:FILE`.
pub fn sources() -> Vec<RuleSource> {
    FILES
        .iter()
        .map(|(name, text)| RuleSource {
            file: format!("embedded:{name}"),
            text: (*text).to_owned(),
        })
        .collect()
}
