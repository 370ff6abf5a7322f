//! A small POSIX-shell reader for replay QA: splits a script into the simple commands a shell
//! would run (argv after quote removal, and the files it would redirect output to), following
//! `;`, `&&`, `||`, `|`, `&` and newlines, and command substitutions `$(...)` and backquotes.
//!
//! It does not expand variables, globs or aliases, nor evaluate conditions: every command of
//! every branch is taken as run. That is the documented limit of the Atomic Red Team
//! conversion (see [`super::atomic`]).

/// One simple command: its words, and output redirections (`>` truncates, `>>` appends).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimpleCommand {
    pub words: Vec<String>,
    pub redirects: Vec<Redirect>,
    /// Commands run by `$(...)` or backquotes inside this one's words.
    pub substitutions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub path: String,
    pub append: bool,
}

/// Split `script` into simple commands, in order. Never fails: an unterminated quote runs to
/// the end of the script, as a forgiving reader of test data should.
pub fn split(script: &str) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    let mut cur = SimpleCommand::default();
    let mut word = String::new();
    let mut in_word = false;
    let mut pending_redirect: Option<bool> = None;
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;

    let end_word = |cur: &mut SimpleCommand,
                    word: &mut String,
                    in_word: &mut bool,
                    pending: &mut Option<bool>| {
        if !*in_word {
            return;
        }
        let w = std::mem::take(word);
        *in_word = false;
        if let Some(append) = pending.take() {
            cur.redirects.push(Redirect { path: w, append });
        } else {
            cur.words.push(w);
        }
    };

    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                if chars[i + 1] != '\n' {
                    word.push(chars[i + 1]);
                    in_word = true;
                }
                i += 2;
                continue;
            }
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() && "\"\\$`".contains(chars[i + 1]) {
                        word.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if chars[i] == '$' && chars.get(i + 1) == Some(&'(') {
                        let (inner, next) = balanced(&chars, i + 2);
                        cur.substitutions.push(inner);
                        in_word = true;
                        i = next;
                        continue;
                    }
                    if chars[i] == '`' {
                        let (inner, next) = backquoted(&chars, i + 1);
                        cur.substitutions.push(inner);
                        in_word = true;
                        i = next;
                        continue;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                let (inner, next) = balanced(&chars, i + 2);
                cur.substitutions.push(inner);
                in_word = true;
                i = next;
                continue;
            }
            '`' => {
                let (inner, next) = backquoted(&chars, i + 1);
                cur.substitutions.push(inner);
                in_word = true;
                i = next;
                continue;
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ' ' | '\t' => end_word(&mut cur, &mut word, &mut in_word, &mut pending_redirect),
            '\n' | ';' | '|' | '&' | '(' | ')' => {
                end_word(&mut cur, &mut word, &mut in_word, &mut pending_redirect);
                // `2>&1`, `>&2`: a descriptor duplication, not a command separator.
                if c == '&' && i > 0 && chars[i - 1] == '>' {
                    while i + 1 < chars.len() && chars[i + 1].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    pending_redirect = None;
                } else if !cur.words.is_empty() || !cur.redirects.is_empty() {
                    out.push(std::mem::take(&mut cur));
                } else {
                    cur.substitutions.clear();
                }
            }
            '>' | '<' => {
                // A descriptor number just before (`2>`) belongs to the operator.
                if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                } else {
                    end_word(&mut cur, &mut word, &mut in_word, &mut pending_redirect);
                }
                let append = c == '>' && chars.get(i + 1) == Some(&'>');
                if append || chars.get(i + 1) == Some(&'<') {
                    i += 1;
                }
                pending_redirect = (c == '>').then_some(append);
                if c == '<' {
                    // Input: swallow the next word without recording it.
                    i += 1;
                    while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
                        i += 1;
                    }
                    while i < chars.len() && !" \t\n;|&)".contains(chars[i]) {
                        i += 1;
                    }
                    pending_redirect = None;
                    continue;
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    end_word(&mut cur, &mut word, &mut in_word, &mut pending_redirect);
    if !cur.words.is_empty() || !cur.redirects.is_empty() {
        out.push(cur);
    }
    out
}

/// The text up to the `)` closing a `$(` opened before `start`; returns it and the index after.
fn balanced(chars: &[char], start: usize) -> (String, usize) {
    let mut depth = 1;
    let mut i = start;
    let mut s = String::new();
    while i < chars.len() {
        match chars[i] {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return (s, i + 1);
                }
            }
            _ => {}
        }
        s.push(chars[i]);
        i += 1;
    }
    (s, i)
}

fn backquoted(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    let mut s = String::new();
    while i < chars.len() && chars[i] != '`' {
        s.push(chars[i]);
        i += 1;
    }
    (s, i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        split(script).into_iter().map(|c| c.words).collect()
    }

    #[test]
    fn splits_lists_pipes_quotes_and_redirects() {
        assert_eq!(
            words("cat /etc/passwd | grep -v 'no login' && echo \"a b\"; id\nuname -a &"),
            vec![
                vec!["cat", "/etc/passwd"],
                vec!["grep", "-v", "no login"],
                vec!["echo", "a b"],
                vec!["id"],
                vec!["uname", "-a"],
            ]
        );
        let c = split("echo x >> /etc/rc.local 2>&1\ncat /dev/null > ~/.bash_history 2>/dev/null");
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0].redirects,
            vec![Redirect {
                path: "/etc/rc.local".into(),
                append: true
            }]
        );
        assert_eq!(c[1].words, vec!["cat", "/dev/null"]);
        assert_eq!(c[1].redirects.len(), 2);
        assert_eq!(c[1].redirects[0].path, "~/.bash_history");
        let s = split("x=$(whoami); echo `hostname` \"$(id -u)\"");
        assert_eq!(s[0].substitutions, vec!["whoami"]);
        assert_eq!(s[1].substitutions, vec!["hostname", "id -u"]);
        assert_eq!(s[1].words, vec!["echo", "", ""]);
        assert_eq!(
            words("sh -c 'wc -l < /etc/passwd'")[0][2],
            "wc -l < /etc/passwd"
        );
        assert_eq!(words("wc -l < /etc/passwd # count"), vec![vec!["wc", "-l"]]);
    }

    proptest! {
        #[test]
        fn never_panics_and_words_are_nonempty_commands(s in "\\PC{0,200}") {
            for c in split(&s) {
                prop_assert!(!c.words.is_empty() || !c.redirects.is_empty());
            }
        }
    }
}
