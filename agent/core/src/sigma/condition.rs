//! The Sigma `condition` language: identifiers, `and`, `or`, `not`, parentheses and the
//! quantifiers `1 of sel*`, `all of sel*`, `N of them`. Precedence is `not` > `and` > `or`.
//! Aggregations (`| count() by x > 5`) and the deprecated `near` are refused, never ignored.
//!
//! [`parse`] gives a syntax tree over names; [`Cond::resolve`] binds it to the rule's selection
//! list, so an unknown name or a pattern that names nothing is a load error.

use std::fmt;

use super::tri::Tri;

/// Why a condition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CondError {
    #[error("condition syntax: {problem} at token {at}")]
    Syntax { problem: String, at: usize },
    #[error("aggregation (`|`) in condition is not supported")]
    Aggregation,
    #[error("condition names unknown selection `{name}`")]
    UnknownName { name: String },
    #[error("condition pattern `{pattern}` matches no selection")]
    EmptyPattern { pattern: String },
    #[error("condition is nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// Nesting bound: keeps the recursive parser and evaluator off the end of the stack.
pub const MAX_DEPTH: usize = 64;

/// How many of the named selections must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    All,
    /// At least this many (`1 of`, `2 of`).
    AtLeast(u32),
}

/// A parsed condition over names (not yet bound to selections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Name(String),
    /// `<quant> of <pattern>`; pattern `them` means every selection not starting with `_`.
    Of(Quant, String),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

/// A condition bound to selection indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Sel(usize),
    Of(Quant, Vec<usize>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Evaluate in Kleene logic with `sel(i)` giving selection `i`'s truth.
    pub fn eval(&self, sel: &mut impl FnMut(usize) -> Tri) -> Tri {
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::Of(Quant::All, v) => Tri::all(v.iter().map(|i| sel(*i))),
            Expr::Of(Quant::AtLeast(n), v) => {
                let (mut yes, mut maybe) = (0u32, 0u32);
                for i in v {
                    match sel(*i) {
                        Tri::True => yes += 1,
                        Tri::Unknown => maybe += 1,
                        Tri::False => {}
                    }
                    if yes >= *n {
                        return Tri::True;
                    }
                }
                if yes + maybe >= *n {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
            Expr::Not(e) => e.eval(sel).not(),
            Expr::And(a, b) => {
                let l = a.eval(sel);
                if l == Tri::False {
                    return Tri::False;
                }
                l.and(b.eval(sel))
            }
            Expr::Or(a, b) => {
                let l = a.eval(sel);
                if l == Tri::True {
                    return Tri::True;
                }
                l.or(b.eval(sel))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    Of,
    All,
    Num(u32),
    Word(String),
}

fn lex(text: &str) -> Result<Vec<Tok>, CondError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '|' => return Err(CondError::Aggregation),
            c if c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.' => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '*' || d == '-' || d == '.' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let w = &text[i..end];
                out.push(match w.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "all" => Tok::All,
                    "near" => {
                        return Err(CondError::Syntax {
                            problem: "`near` is not supported".into(),
                            at: out.len(),
                        });
                    }
                    _ => match w.parse::<u32>() {
                        Ok(n) => Tok::Num(n),
                        Err(_) => Tok::Word(w.to_owned()),
                    },
                });
            }
            other => {
                return Err(CondError::Syntax {
                    problem: format!("unexpected character {other:?}"),
                    at: out.len(),
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn err<T>(&self, problem: impl Into<String>) -> Result<T, CondError> {
        Err(CondError::Syntax {
            problem: problem.into(),
            at: self.pos,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self, depth: usize) -> Result<Cond, CondError> {
        if depth > MAX_DEPTH {
            return Err(CondError::TooDeep);
        }
        let mut left = self.and(depth)?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Cond, CondError> {
        let mut left = self.unary(depth)?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Cond, CondError> {
        if depth > MAX_DEPTH {
            return Err(CondError::TooDeep);
        }
        let Some(tok) = self.peek().cloned() else {
            return self.err("unexpected end");
        };
        self.pos += 1;
        match tok {
            Tok::Not => Ok(Cond::Not(Box::new(self.unary(depth + 1)?))),
            Tok::Open => {
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::Close) {
                    return self.err("expected `)`");
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::All | Tok::Num(_) => {
                let quant = match tok {
                    Tok::Num(0) => return self.err("`0 of` is meaningless"),
                    Tok::Num(n) => Quant::AtLeast(n),
                    _ => Quant::All,
                };
                if self.peek() != Some(&Tok::Of) {
                    return self.err("expected `of`");
                }
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Word(p)) => {
                        self.pos += 1;
                        Ok(Cond::Of(quant, p))
                    }
                    _ => self.err("expected a name pattern or `them` after `of`"),
                }
            }
            Tok::Word(w) if !w.contains('*') => Ok(Cond::Name(w)),
            Tok::Word(w) => self.err(format!("wildcard `{w}` outside `of`")),
            other => {
                self.pos -= 1;
                self.err(format!("unexpected {other:?}"))
            }
        }
    }
}

/// Parse condition text.
pub fn parse(text: &str) -> Result<Cond, CondError> {
    let toks = lex(text)?;
    let mut p = Parser { toks, pos: 0 };
    let c = p.or(0)?;
    if p.pos != p.toks.len() {
        return p.err("trailing tokens");
    }
    Ok(c)
}

/// Glob over selection names: `*` matches any run of characters (the only wildcard Sigma
/// allows in condition patterns).
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(mut tail) = name.strip_prefix(head) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            loop {
                if name_matches(rest, tail) {
                    return true;
                }
                let mut it = tail.chars();
                if it.next().is_none() {
                    return false;
                }
                tail = it.as_str();
            }
        }
    }
}

impl Cond {
    /// Bind names to indices in `names` (the rule's selections in file order).
    pub fn resolve(&self, names: &[String]) -> Result<Expr, CondError> {
        Ok(match self {
            Cond::Name(n) => Expr::Sel(
                names
                    .iter()
                    .position(|x| x == n)
                    .ok_or_else(|| CondError::UnknownName { name: n.clone() })?,
            ),
            Cond::Of(q, p) => {
                let idx: Vec<usize> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| {
                        if p == "them" {
                            !n.starts_with('_')
                        } else {
                            name_matches(p, n)
                        }
                    })
                    .map(|(i, _)| i)
                    .collect();
                if idx.is_empty() {
                    return Err(CondError::EmptyPattern { pattern: p.clone() });
                }
                Expr::Of(*q, idx)
            }
            Cond::Not(c) => Expr::Not(Box::new(c.resolve(names)?)),
            Cond::And(a, b) => Expr::And(Box::new(a.resolve(names)?), Box::new(b.resolve(names)?)),
            Cond::Or(a, b) => Expr::Or(Box::new(a.resolve(names)?), Box::new(b.resolve(names)?)),
        })
    }
}

/// Fully parenthesised text; parsing it again gives the same tree.
impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cond::Name(n) => f.write_str(n),
            Cond::Of(Quant::All, p) => write!(f, "all of {p}"),
            Cond::Of(Quant::AtLeast(n), p) => write!(f, "{n} of {p}"),
            Cond::Not(c) => write!(f, "not ({c})"),
            Cond::And(a, b) => write!(f, "({a}) and ({b})"),
            Cond::Or(a, b) => write!(f, "({a}) or ({b})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn eval(cond: &str, sels: &[&str], hits: &[bool]) -> bool {
        let e = parse(cond)
            .expect("parses")
            .resolve(&names(sels))
            .expect("resolves");
        e.eval(&mut |i| Tri::from_bool(hits[i])) == Tri::True
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // a or b and not c  ==  a or (b and (not c))
        assert!(eval(
            "a or b and not c",
            &["a", "b", "c"],
            &[true, false, true]
        ));
        assert!(!eval(
            "a or b and not c",
            &["a", "b", "c"],
            &[false, true, true]
        ));
        assert!(eval(
            "(a or b) and not c",
            &["a", "b", "c"],
            &[false, true, false]
        ));
        assert!(!eval(
            "(a or b) and not c",
            &["a", "b", "c"],
            &[true, false, true]
        ));
    }

    #[test]
    fn quantifiers_over_patterns_and_them() {
        let s = ["selection_a", "selection_b", "filter_x", "_hidden"];
        assert!(eval("1 of selection_*", &s, &[false, true, false, false]));
        assert!(!eval(
            "all of selection_*",
            &s,
            &[false, true, false, false]
        ));
        assert!(eval("all of selection*", &s, &[true, true, false, false]));
        assert!(eval("2 of them", &s, &[true, false, true, false]));
        assert!(!eval("2 of them", &s, &[true, false, false, true]));
        assert!(eval("all of them", &s, &[true, true, true, false]));
        assert!(!eval(
            "1 of selection_* and not 1 of filter_*",
            &s,
            &[true, false, true, false]
        ));
        assert!(eval("1 of sel*_b", &s, &[false, true, false, false]));
    }

    #[test]
    fn bad_conditions_are_named() {
        assert_eq!(parse("sel | count() > 5"), Err(CondError::Aggregation));
        assert!(matches!(parse("a and"), Err(CondError::Syntax { .. })));
        assert!(matches!(parse("(a or b"), Err(CondError::Syntax { .. })));
        assert!(matches!(parse("a b"), Err(CondError::Syntax { .. })));
        assert!(matches!(parse("sel*"), Err(CondError::Syntax { .. })));
        assert!(matches!(parse("0 of them"), Err(CondError::Syntax { .. })));
        assert!(matches!(parse("a near b"), Err(CondError::Syntax { .. })));
        let c = parse("nope").expect("parses");
        assert_eq!(
            c.resolve(&names(&["a"])),
            Err(CondError::UnknownName {
                name: "nope".into()
            })
        );
        let c = parse("1 of filter_*").expect("parses");
        assert!(matches!(
            c.resolve(&names(&["a"])),
            Err(CondError::EmptyPattern { .. })
        ));
        let deep = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(parse(&deep), Err(CondError::TooDeep));
    }

    #[test]
    fn unknown_selections_propagate_in_kleene_logic() {
        use Tri::*;
        let run = |cond: &str, vals: &[Tri]| {
            parse(cond)
                .expect("parses")
                .resolve(&names(&["a", "b", "c"]))
                .expect("resolves")
                .eval(&mut |i| vals[i])
        };
        assert_eq!(run("a and not b", &[True, Unknown, False]), Unknown);
        assert_eq!(run("a or b", &[Unknown, True, False]), True);
        assert_eq!(run("2 of them", &[True, Unknown, False]), Unknown);
        assert_eq!(run("2 of them", &[True, False, False]), False);
        assert_eq!(run("2 of them", &[True, Unknown, True]), True);
        assert_eq!(run("all of them", &[True, Unknown, False]), False);
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert!(eval("A AND NOT b", &["A", "b"], &[true, false]));
        assert!(eval("1 OF them", &["A", "b"], &[false, true]));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn arb_cond() -> impl Strategy<Value = Cond> {
        let leaf = prop_oneof![
            "[a-z][a-z0-9_]{0,6}"
                .prop_filter("not a keyword", |s| {
                    !["and", "or", "not", "of", "all", "near", "them"].contains(&s.as_str())
                })
                .prop_map(Cond::Name),
            ("[a-z][a-z_]{0,4}\\*", 1u32..4).prop_map(|(p, n)| Cond::Of(Quant::AtLeast(n), p)),
            "[a-z][a-z_]{0,4}\\*".prop_map(|p| Cond::Of(Quant::All, p)),
            Just(Cond::Of(Quant::All, "them".into())),
        ];
        leaf.prop_recursive(6, 48, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn token_soup_never_panics(v in proptest::collection::vec(
            prop_oneof![
                Just("and"), Just("or"), Just("not"), Just("("), Just(")"), Just("1"),
                Just("all"), Just("of"), Just("them"), Just("sel*"), Just("a"), Just("|"),
            ], 0..24)) {
            let text = v.join(" ");
            if let Ok(c) = parse(&text) {
                let _ = c.resolve(&["a".to_owned(), "sel1".to_owned()]);
            }
        }

        #[test]
        fn display_round_trips(c in arb_cond()) {
            let text = c.to_string();
            prop_assert_eq!(parse(&text).expect("printed condition parses"), c);
        }
    }
}
