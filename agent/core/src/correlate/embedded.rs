//! The correlation rules shipped in the binary: every file of `rules/correlation/`, embedded at
//! build time (a test checks that this list and the directory agree).

use super::RuleSource;

/// (file name, text) of each shipped rule file.
pub const FILES: &[(&str, &str)] = &[];

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
