//! One Sigma rule file: YAML → checked metadata → compiled selections and condition.
//! Everything the matcher could not honour exactly is a [`Reject`] with a reason.

use serde_norway::Value;

use super::condition::{self, CondError, Expr};
use super::field::{Category, Field, Fields};
use super::logscope::LogScope;
use super::tri::Tri;
use super::value::{self, Modifiers, Pattern, Scalar, ValueError};
use crate::finding::Severity;

/// Why a rule was not loaded. [`Reject::kind`] is the short label the tally groups by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("multi-document rule collections are not supported")]
    MultiDocument,
    #[error("invalid rule: {0}")]
    Invalid(String),
    #[error("unsupported logsource: {0}")]
    Logsource(String),
    #[error("keyword search reads log lines; this rule's logsource is not a log (selection `{0}`)")]
    Keyword(String),
    #[error("unmapped field `{field}` for {category}")]
    UnmappedField {
        field: String,
        category: &'static str,
    },
    #[error("field `{field}`: {source}")]
    Value {
        field: String,
        #[source]
        source: ValueError,
    },
    #[error("aggregation or time window (`{0}`) is not supported")]
    Aggregation(String),
    #[error("condition: {0}")]
    Condition(#[source] CondError),
}

impl Reject {
    /// Short label for tallies.
    pub fn kind(&self) -> String {
        match self {
            Reject::Yaml(_) => "yaml".into(),
            Reject::MultiDocument => "multi-document".into(),
            Reject::Invalid(_) => "invalid rule".into(),
            Reject::Logsource(l) => {
                let short = l.split(" (").next().unwrap_or(l);
                format!("unsupported logsource {short}")
            }
            Reject::Keyword(_) => "keyword search".into(),
            Reject::UnmappedField { field, .. } => format!("unmapped field {field}"),
            Reject::Value {
                source: ValueError::Modifier(m),
                ..
            } => format!("unsupported modifier {m}"),
            Reject::Value {
                source: ValueError::Regex(_),
                ..
            } => "regex not expressible".into(),
            Reject::Value { .. } => "invalid value".into(),
            Reject::Aggregation(_) => "aggregation".into(),
            Reject::Condition(CondError::Aggregation) => "aggregation".into(),
            Reject::Condition(_) => "condition".into(),
        }
    }
}

/// One `field|mods: values` entry.
#[derive(Debug, Clone)]
struct FieldMatch {
    field: Field,
    patterns: Vec<Pattern>,
    /// `all`: every pattern must match; otherwise any.
    all: bool,
}

/// A selection: alternatives (list of maps) each requiring all of its field matches.
#[derive(Debug, Clone)]
struct Selection {
    alternatives: Vec<Vec<FieldMatch>>,
}

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    pub file: String,
    pub id: String,
    pub title: String,
    pub author: Option<String>,
    pub severity: Severity,
    /// First ATT&CK technique tag (`attack.t1059.004` → `T1059.004`), if any.
    pub technique: Option<String>,
    pub category: Category,
    /// For a log-line rule, the lines it reads.
    pub scope: Option<LogScope>,
    selections: Vec<Selection>,
    names: Vec<String>,
    cond: Expr,
}

fn invalid(s: impl Into<String>) -> Reject {
    Reject::Invalid(s.into())
}

fn get<'v>(map: &'v Value, key: &str) -> Option<&'v Value> {
    map.as_mapping()?.get(key)
}

fn string(v: Option<&Value>, key: &str) -> Result<Option<String>, Reject> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("`{key}` is not a string"))),
    }
}

fn scalar(v: &Value, field: &str) -> Result<Scalar, Reject> {
    match v {
        Value::Null => Ok(Scalar::Null),
        Value::String(s) => Ok(Scalar::Str(s.clone())),
        Value::Number(n) => Ok(Scalar::Str(n.to_string())),
        Value::Bool(b) => Ok(Scalar::Str(b.to_string())),
        _ => Err(invalid(format!("field `{field}` has a nested value"))),
    }
}

fn level(v: Option<&str>) -> Result<Severity, Reject> {
    Ok(match v {
        None | Some("informational") | Some("low") => Severity::Low,
        Some("medium") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        Some(other) => return Err(invalid(format!("unknown level `{other}`"))),
    })
}

fn technique(tags: Option<&Value>) -> Option<String> {
    tags?.as_sequence()?.iter().find_map(|t| {
        let t = t.as_str()?.strip_prefix("attack.t")?;
        let ok = t.len() >= 4 && t.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        ok.then(|| format!("T{t}"))
    })
}

fn category(ls: &Value) -> Result<(Category, Option<LogScope>), Reject> {
    let product = get(ls, "product").and_then(Value::as_str);
    if product != Some("linux") {
        return Err(Reject::Logsource(format!(
            "product {}",
            product.unwrap_or("(none)")
        )));
    }
    let service = get(ls, "service").and_then(Value::as_str);
    let cat = get(ls, "category").and_then(Value::as_str);
    match (cat, service) {
        (Some(c), None) => Category::parse(c)
            .map(|c| (c, None))
            .ok_or_else(|| Reject::Logsource(format!("category {c}"))),
        (Some(c), Some(s)) => Err(Reject::Logsource(format!("category {c} with service {s}"))),
        (None, s) => {
            let scope = LogScope::of_service(s).map_err(Reject::Logsource)?;
            Ok((Category::LogLine, Some(scope)))
        }
    }
}

fn value_err(key: &str) -> impl Fn(ValueError) -> Reject + '_ {
    move |source| Reject::Value {
        field: key.to_owned(),
        source,
    }
}

fn is_list_of_maps(v: &Value) -> bool {
    matches!(v, Value::Sequence(items) if !items.is_empty() && items.iter().all(Value::is_mapping))
}

fn field_match(cat: Category, key: &str, v: &Value) -> Result<FieldMatch, Reject> {
    let mut parts = key.split('|');
    let name = parts.next().unwrap_or_default();
    if name.is_empty() {
        if cat != Category::LogLine {
            return Err(Reject::Keyword(key.to_owned()));
        }
        return keyword_match(key, parts, v);
    }
    let field = Field::resolve(cat, name).ok_or_else(|| Reject::UnmappedField {
        field: name.to_owned(),
        category: cat.as_str(),
    })?;
    let mods = Modifiers::parse(parts).map_err(value_err(key))?;
    compile_match(key, v, field, &mods)
}

/// Keywords of a log-line rule (a list, one value, or `'|all': [...]`): searched in the
/// message. The search is a substring search, so `contains` is implied; an anchor
/// (startswith/endswith) has no meaning over a whole line and is refused.
fn keyword_match<'a>(
    key: &str,
    mods: impl Iterator<Item = &'a str>,
    v: &Value,
) -> Result<FieldMatch, Reject> {
    let mut m = Modifiers::parse(mods).map_err(value_err(key))?;
    if m.startswith || m.endswith || m.cidr || m.exists {
        return Err(value_err(key)(ValueError::Misuse {
            modifier: "startswith/endswith/cidr/exists",
            problem: "applied to keywords",
        }));
    }
    m.contains = !m.re;
    compile_match(key, v, Field::Message, &m)
}

/// The values of `key` (one or a list) compiled under `mods` for `field`.
fn compile_match(
    key: &str,
    v: &Value,
    field: Field,
    mods: &Modifiers,
) -> Result<FieldMatch, Reject> {
    let values: Vec<Scalar> = match v {
        Value::Sequence(s) if s.is_empty() => {
            return Err(invalid(format!("field `{key}` has an empty value list")));
        }
        Value::Sequence(s) => s.iter().map(|x| scalar(x, key)).collect::<Result<_, _>>()?,
        other => vec![scalar(other, key)?],
    };
    let mut patterns = Vec::new();
    let mut groups = Vec::new();
    for s in &values {
        let p = value::compile(s, mods).map_err(value_err(key))?;
        groups.push(p.len());
        patterns.extend(p);
    }
    if mods.all && groups.iter().any(|n| *n != 1) {
        // `all` over expanded alternatives (windash, base64offset) would demand every
        // variant at once; refuse rather than guess.
        return Err(value_err(key)(ValueError::Misuse {
            modifier: "all",
            problem: "combined with an expanding modifier",
        }));
    }
    Ok(FieldMatch {
        field,
        patterns,
        all: mods.all,
    })
}

fn selection(cat: Category, name: &str, v: &Value) -> Result<Selection, Reject> {
    if cat == Category::LogLine && !v.is_mapping() && !is_list_of_maps(v) {
        return Ok(Selection {
            alternatives: vec![vec![keyword_match(name, std::iter::empty(), v)?]],
        });
    }
    let maps: Vec<&Value> = match v {
        Value::Mapping(_) => vec![v],
        Value::Sequence(items) if is_list_of_maps(v) => items.iter().collect(),
        Value::Sequence(_) | Value::String(_) | Value::Number(_) => {
            return Err(Reject::Keyword(name.to_owned()));
        }
        _ => return Err(invalid(format!("selection `{name}` is not a map or list"))),
    };
    let mut alternatives = Vec::new();
    for m in maps {
        let Some(map) = m.as_mapping() else { continue };
        if map.is_empty() {
            return Err(invalid(format!("selection `{name}` is empty")));
        }
        let mut all = Vec::new();
        for (k, v) in map {
            let Some(k) = k.as_str() else {
                return Err(invalid(format!("selection `{name}` has a non-string key")));
            };
            all.push(field_match(cat, k, v)?);
        }
        alternatives.push(all);
    }
    Ok(Selection { alternatives })
}

impl SigmaRule {
    /// Parse and compile one rule file.
    pub fn parse(file: &str, text: &str) -> Result<Self, Reject> {
        let mut docs = serde_norway::Deserializer::from_str(text);
        let first = docs.next().ok_or_else(|| invalid("empty file"))?;
        let doc: Value =
            serde::Deserialize::deserialize(first).map_err(|e| Reject::Yaml(e.to_string()))?;
        if docs.next().is_some() {
            return Err(Reject::MultiDocument);
        }
        if !doc.is_mapping() {
            return Err(invalid("top level is not a map"));
        }
        let title = string(get(&doc, "title"), "title")?.ok_or_else(|| invalid("no title"))?;
        let id = string(get(&doc, "id"), "id")?.unwrap_or_else(|| file.to_owned());
        let author = string(get(&doc, "author"), "author")?;
        let lvl = string(get(&doc, "level"), "level")?;
        let severity = level(lvl.as_deref())?;
        let technique = technique(get(&doc, "tags"));
        let ls = get(&doc, "logsource").ok_or_else(|| invalid("no logsource"))?;
        let (category, scope) = category(ls)?;
        let det = get(&doc, "detection")
            .and_then(Value::as_mapping)
            .ok_or_else(|| invalid("no detection map"))?;
        let mut names = Vec::new();
        let mut selections = Vec::new();
        let mut cond_text: Vec<String> = Vec::new();
        for (k, v) in det {
            let Some(k) = k.as_str() else {
                return Err(invalid("detection has a non-string key"));
            };
            match k {
                "condition" => match v {
                    Value::String(s) => cond_text.push(s.clone()),
                    Value::Sequence(s) => {
                        for c in s {
                            let c = c.as_str().ok_or_else(|| invalid("condition not text"))?;
                            cond_text.push(c.to_owned());
                        }
                    }
                    _ => return Err(invalid("condition not text")),
                },
                "timeframe" => return Err(Reject::Aggregation("timeframe".into())),
                name => {
                    selections.push(selection(category, name, v)?);
                    names.push(name.to_owned());
                }
            }
        }
        if cond_text.is_empty() {
            return Err(invalid("no condition"));
        }
        let mut cond: Option<Expr> = None;
        for c in &cond_text {
            let e = condition::parse(c)
                .and_then(|p| p.resolve(&names))
                .map_err(Reject::Condition)?;
            cond = Some(match cond {
                None => e,
                Some(prev) => Expr::Or(Box::new(prev), Box::new(e)),
            });
        }
        let cond = cond.ok_or_else(|| invalid("no condition"))?;
        Ok(SigmaRule {
            file: file.to_owned(),
            id,
            title,
            author,
            severity,
            technique,
            category,
            scope,
            selections,
            names,
            cond,
        })
    }

    /// Does the event (seen through `fields`) certainly match? A value cut short by the sensor
    /// that leaves the answer open is not a match (see [`super::tri`]).
    pub fn matches(&self, fields: &mut Fields<'_>) -> bool {
        let sels = &self.selections;
        self.cond.eval(&mut |i| sels[i].eval(fields)) == Tri::True
    }

    /// Selection names in file order (for the self-check and diagnostics).
    pub fn selection_names(&self) -> &[String] {
        &self.names
    }

    /// The fields and patterns of the first alternative of selection `i` (self-check).
    pub fn first_alternative(&self, i: usize) -> Vec<(Field, &[Pattern], bool)> {
        self.selections[i]
            .alternatives
            .first()
            .map(|a| {
                a.iter()
                    .map(|m| (m.field, m.patterns.as_slice(), m.all))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Selection {
    fn eval(&self, fields: &mut Fields<'_>) -> Tri {
        Tri::any(self.alternatives.iter().map(|alt| {
            Tri::all(alt.iter().map(|m| {
                let v = fields.get(m.field);
                if m.all {
                    Tri::all(m.patterns.iter().map(|p| p.eval(v)))
                } else {
                    Tri::any(m.patterns.iter().map(|p| p.eval(v)))
                }
            }))
        }))
    }
}
