//! Classifying the lines of a replay file: JSONL events (the contract), raw log lines, and
//! `#` comments (fixture headers such as `# expect: 1`).

use crate::event::Event;

/// One line of a replay file.
#[derive(Debug)]
pub enum ReplayLine<'a> {
    /// Blank line or `#` comment.
    Skip,
    /// A JSON object: an event of the contract, or the reason it is not one.
    Json(Result<Event, serde_json::Error>),
    /// Anything else: a raw log line for the auth-log decoder.
    Raw(&'a str),
}

pub fn classify_line(line: &str) -> ReplayLine<'_> {
    let t = line.trim_end_matches(['\r', '\n']);
    let lead = t.trim_start();
    if lead.is_empty() || lead.starts_with('#') {
        ReplayLine::Skip
    } else if lead.starts_with('{') {
        ReplayLine::Json(serde_json::from_str(lead))
    } else {
        ReplayLine::Raw(t)
    }
}

/// The `# expect: N` header of a fixture file, if present.
pub fn expected_count(text: &str) -> Option<usize> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('#'))
        .filter_map(|l| l.trim().strip_prefix("expect:"))
        .find_map(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_lines() {
        assert!(matches!(classify_line("   "), ReplayLine::Skip));
        assert!(matches!(classify_line("# expect: 1"), ReplayLine::Skip));
        assert!(matches!(
            classify_line("{not json"),
            ReplayLine::Json(Err(_))
        ));
        assert!(matches!(
            classify_line("Jan  5 01:31:41 www sshd[1]: x"),
            ReplayLine::Raw(_)
        ));
        assert_eq!(expected_count("# a fixture\n# expect: 3\n{}"), Some(3));
    }
}
