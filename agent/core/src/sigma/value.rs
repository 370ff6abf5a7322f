//! Sigma values and modifiers, compiled into matchers over one field's text.
//!
//! Plain strings are case-insensitive with `*` (any run), `?` (one character) and `\` escapes
//! (`\*`, `\?`, `\\`); `contains`, `startswith`, `endswith` add the implied `*`. `re` is a
//! search with the `regex` crate (case-sensitive unless `re|i`); a pattern that crate cannot
//! express exactly (look-around, back-references) is a load error, not a looser match.
//! `base64`/`base64offset` and `cased` match case-sensitively, as the encoded text is exact.

use std::net::IpAddr;

use super::encode::{base64, base64offset, windash};
use super::tri::Tri;
use crate::event::normalize_ip;

/// Why a value or modifier chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("unsupported modifier `{0}`")]
    Modifier(String),
    #[error("modifier `{modifier}` {problem}")]
    Misuse {
        modifier: &'static str,
        problem: &'static str,
    },
    #[error("regex not supported by the regex engine: {0}")]
    Regex(String),
    #[error("bad cidr `{0}`")]
    Cidr(String),
}

/// One scalar from the rule (YAML string, number, bool or null).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Null,
}

/// The modifiers after a field name, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modifiers {
    pub contains: bool,
    pub startswith: bool,
    pub endswith: bool,
    pub all: bool,
    pub re: bool,
    pub re_flags: String,
    pub cidr: bool,
    pub windash: bool,
    pub base64: bool,
    pub base64offset: bool,
    pub cased: bool,
    pub exists: bool,
}

impl Modifiers {
    pub fn parse<'a>(mods: impl Iterator<Item = &'a str>) -> Result<Self, ValueError> {
        let mut m = Modifiers::default();
        for name in mods {
            match name {
                "contains" => m.contains = true,
                "startswith" => m.startswith = true,
                "endswith" => m.endswith = true,
                "all" => m.all = true,
                "re" => m.re = true,
                "i" | "m" | "s" if m.re => m.re_flags.push_str(name),
                "cidr" => m.cidr = true,
                "windash" => m.windash = true,
                "base64" => m.base64 = true,
                "base64offset" => m.base64offset = true,
                "cased" => m.cased = true,
                "exists" => m.exists = true,
                other => return Err(ValueError::Modifier(other.to_owned())),
            }
        }
        let position = [m.contains, m.startswith, m.endswith]
            .iter()
            .filter(|b| **b)
            .count();
        if position > 1 {
            return Err(ValueError::Misuse {
                modifier: "contains/startswith/endswith",
                problem: "combined with each other",
            });
        }
        let special = [m.re, m.cidr, m.exists].iter().filter(|b| **b).count();
        if special > 1
            || (special == 1 && (position > 0 || m.windash || m.base64 || m.base64offset))
        {
            return Err(ValueError::Misuse {
                modifier: "re/cidr/exists",
                problem: "combined with a string modifier",
            });
        }
        if m.base64 && m.base64offset {
            return Err(ValueError::Misuse {
                modifier: "base64",
                problem: "combined with base64offset",
            });
        }
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(String),
    Star,
    One,
}

/// A compiled value matcher.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Field absent or empty.
    Null,
    /// `exists: true|false`.
    Exists(bool),
    Exact {
        s: String,
        cased: bool,
    },
    Contains {
        s: String,
        cased: bool,
    },
    StartsWith {
        s: String,
        cased: bool,
    },
    EndsWith {
        s: String,
        cased: bool,
    },
    Glob {
        toks: Vec<GlobTok>,
        cased: bool,
    },
    /// Byte regex, Unicode off: ASCII classes and case folding, as PCRE does by default.
    Regex(regex::bytes::Regex),
    Cidr {
        net: IpAddr,
        prefix: u8,
    },
}

/// Glob token for the general wildcard case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobTok {
    Lit(Vec<char>),
    Star,
    One,
}

/// One field's text, raw and lowercased once per event.
#[derive(Debug, Clone)]
pub struct Text {
    pub raw: String,
    pub lower: String,
    /// The sensor may have cut the value short: `raw` is then only known to be a prefix.
    pub truncated: bool,
}

impl Text {
    pub fn new(raw: String) -> Self {
        Self::with_truncation(raw, false)
    }

    pub fn with_truncation(raw: String, truncated: bool) -> Self {
        let lower = raw.to_lowercase();
        Self {
            raw,
            lower,
            truncated,
        }
    }
}

impl Pattern {
    /// Does the field match, given that a truncated value is only a prefix of the real one?
    /// See [`super::tri`]: `True` only when the full value certainly matches.
    pub fn eval(&self, v: Option<&Text>) -> Tri {
        let Some(t) = v.filter(|t| t.truncated) else {
            return Tri::from_bool(self.matches(v));
        };
        let unknown_unless = |b: bool| if b { Tri::True } else { Tri::Unknown };
        match self {
            // The real value is at least as long as the visible prefix.
            Pattern::Null => {
                if t.raw.is_empty() {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
            Pattern::Exists(_) | Pattern::Cidr { .. } => Tri::from_bool(self.matches(v)),
            Pattern::Exact { s, cased } => {
                if s.starts_with(hay(t, *cased)) {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
            Pattern::StartsWith { s, cased } => {
                let h = hay(t, *cased);
                if h.starts_with(s.as_str()) {
                    Tri::True
                } else if s.starts_with(h) {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
            Pattern::Contains { s, cased } => unknown_unless(hay(t, *cased).contains(s.as_str())),
            Pattern::EndsWith { .. } => Tri::Unknown,
            // A glob ending in `*` that matches the prefix matches any continuation of it.
            Pattern::Glob { toks, .. } => {
                unknown_unless(toks.last() == Some(&GlobTok::Star) && self.matches(v))
            }
            // A match inside the prefix is a match of the whole unless the pattern asserts
            // something about where the text ends or about word boundaries at the cut.
            Pattern::Regex(r) => {
                let src = r.as_str();
                let end_sensitive = src.contains('$')
                    || src.contains("\\b")
                    || src.contains("\\B")
                    || src.contains("\\z")
                    || src.contains("\\Z");
                unknown_unless(!end_sensitive && self.matches(v))
            }
        }
    }

    /// Does the field (None = absent) match, reading the value as complete?
    pub fn matches(&self, v: Option<&Text>) -> bool {
        match (self, v) {
            (Pattern::Null, v) => v.is_none_or(|t| t.raw.is_empty()),
            (Pattern::Exists(want), v) => v.is_some() == *want,
            (_, None) => false,
            (Pattern::Exact { s, cased }, Some(t)) => hay(t, *cased) == s,
            (Pattern::Contains { s, cased }, Some(t)) => hay(t, *cased).contains(s.as_str()),
            (Pattern::StartsWith { s, cased }, Some(t)) => hay(t, *cased).starts_with(s.as_str()),
            (Pattern::EndsWith { s, cased }, Some(t)) => hay(t, *cased).ends_with(s.as_str()),
            (Pattern::Glob { toks, cased }, Some(t)) => {
                let h: Vec<char> = hay(t, *cased).chars().collect();
                glob(toks, &h)
            }
            (Pattern::Regex(r), Some(t)) => r.is_match(t.raw.as_bytes()),
            (Pattern::Cidr { net, prefix }, Some(t)) => match t.raw.parse::<IpAddr>() {
                Ok(ip) => in_cidr(normalize_ip(ip), *net, *prefix),
                Err(_) => false,
            },
        }
    }
}

fn hay(t: &Text, cased: bool) -> &str {
    if cased { &t.raw } else { &t.lower }
}

/// Iterative glob with single-star backtracking: linear in practice, no recursion.
fn glob(toks: &[GlobTok], h: &[char]) -> bool {
    let (mut ti, mut hi) = (0usize, 0usize);
    let mut back: Option<(usize, usize)> = None;
    loop {
        if ti == toks.len() {
            if hi == h.len() {
                return true;
            }
        } else {
            match &toks[ti] {
                GlobTok::Star => {
                    back = Some((ti, hi));
                    ti += 1;
                    continue;
                }
                GlobTok::One if hi < h.len() => {
                    ti += 1;
                    hi += 1;
                    continue;
                }
                GlobTok::Lit(l) if h[hi..].starts_with(l) => {
                    ti += 1;
                    hi += l.len();
                    continue;
                }
                _ => {}
            }
        }
        match back {
            Some((bt, bh)) if bh < h.len() => {
                back = Some((bt, bh + 1));
                ti = bt + 1;
                hi = bh + 1;
            }
            _ => return false,
        }
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn parse_cidr(s: &str) -> Result<(IpAddr, u8), ValueError> {
    let bad = || ValueError::Cidr(s.to_owned());
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let net = normalize_ip(addr.trim().parse::<IpAddr>().map_err(|_| bad())?);
    let max = if net.is_ipv4() { 32 } else { 128 };
    let prefix = match len {
        Some(l) => l.trim().parse::<u8>().map_err(|_| bad())?,
        None => max,
    };
    if prefix > max {
        return Err(bad());
    }
    Ok((net, prefix))
}

/// Sigma wildcard tokens of a plain value.
fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                out.push(if c == '*' { Tok::Star } else { Tok::One });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

fn literal(s: &str) -> Vec<Tok> {
    if s.is_empty() {
        Vec::new()
    } else {
        vec![Tok::Lit(s.to_owned())]
    }
}

fn from_tokens(mut toks: Vec<Tok>, m: &Modifiers, cased: bool) -> Pattern {
    if m.contains || m.endswith {
        toks.insert(0, Tok::Star);
    }
    if m.contains || m.startswith {
        toks.push(Tok::Star);
    }
    // Merge star runs: `**` is `*`.
    toks.dedup_by(|a, b| *a == Tok::Star && *b == Tok::Star);
    let case = |s: &str| {
        if cased {
            s.to_owned()
        } else {
            s.to_lowercase()
        }
    };
    match toks.as_slice() {
        [] => Pattern::Exact {
            s: String::new(),
            cased,
        },
        [Tok::Lit(s)] => Pattern::Exact { s: case(s), cased },
        [Tok::Star, Tok::Lit(s), Tok::Star] => Pattern::Contains { s: case(s), cased },
        [Tok::Lit(s), Tok::Star] => Pattern::StartsWith { s: case(s), cased },
        [Tok::Star, Tok::Lit(s)] => Pattern::EndsWith { s: case(s), cased },
        _ => Pattern::Glob {
            toks: toks
                .into_iter()
                .map(|t| match t {
                    Tok::Lit(s) => GlobTok::Lit(case(&s).chars().collect()),
                    Tok::Star => GlobTok::Star,
                    Tok::One => GlobTok::One,
                })
                .collect(),
            cased,
        },
    }
}

/// Compile one rule value under the modifiers into one or more patterns (windash and
/// base64offset expand into alternatives, which always combine with OR).
pub fn compile(v: &Scalar, m: &Modifiers) -> Result<Vec<Pattern>, ValueError> {
    let s = match v {
        Scalar::Null => {
            if *m != Modifiers::default() {
                return Err(ValueError::Misuse {
                    modifier: "any",
                    problem: "applied to null",
                });
            }
            return Ok(vec![Pattern::Null]);
        }
        Scalar::Str(s) => s,
    };
    if m.exists {
        return match s.as_str() {
            "true" => Ok(vec![Pattern::Exists(true)]),
            "false" => Ok(vec![Pattern::Exists(false)]),
            _ => Err(ValueError::Misuse {
                modifier: "exists",
                problem: "needs true or false",
            }),
        };
    }
    if m.re {
        let mut b = regex::bytes::RegexBuilder::new(s);
        b.unicode(false)
            .case_insensitive(m.re_flags.contains('i'))
            .multi_line(m.re_flags.contains('m'))
            .dot_matches_new_line(m.re_flags.contains('s'))
            .size_limit(1 << 20);
        return Ok(vec![Pattern::Regex(
            b.build().map_err(|e| ValueError::Regex(e.to_string()))?,
        )]);
    }
    if m.cidr {
        let (net, prefix) = parse_cidr(s)?;
        return Ok(vec![Pattern::Cidr { net, prefix }]);
    }
    let variants = if m.windash {
        windash(s)?
    } else {
        vec![s.clone()]
    };
    let mut out = Vec::new();
    for v in variants {
        if m.base64 || m.base64offset {
            if v.contains(['*', '?']) {
                return Err(ValueError::Misuse {
                    modifier: "base64",
                    problem: "on a value with wildcards",
                });
            }
            let encs = if m.base64 {
                vec![base64(v.as_bytes())]
            } else {
                base64offset(v.as_bytes())
            };
            for e in encs {
                if e.is_empty() {
                    // An empty needle would match every value: refuse rather than widen.
                    return Err(ValueError::Misuse {
                        modifier: "base64offset",
                        problem: "on a value too short to encode unambiguously",
                    });
                }
                out.push(from_tokens(literal(&e), m, true));
            }
        } else {
            out.push(from_tokens(tokens(&v), m, m.cased));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "value_tests.rs"]
mod tests;
