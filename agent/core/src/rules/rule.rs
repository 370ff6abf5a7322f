//! One single-event rule: metadata, a compiled predicate, how to name the entity and how to word
//! the summary.
//!
//! ```toml
//! [[rule]]
//! id = "cron_write"                 # [a-z0-9_]+, unique across all rule files
//! title = "Cron table written by an unexpected process"
//! technique = "T1053.003"           # must be known to attack.rs
//! severity = "medium"               # low | medium | high | critical
//! entity = "process"                # or { user = "<field>" } or { host = "<field>" }
//! summary = "{comm} wrote {path}"   # {field} placeholders, checked against the schema
//! enabled = true                    # optional, default true
//! description = "..."               # optional
//! [rule.match]                      # a predicate table (see matcher.rs)
//! kind = "file_write"
//! path = { startswith = ["/etc/cron", "/var/spool/cron/"] }
//! ```

use serde::Deserialize;

use super::RuleError;
use super::matcher::{Ctx, Field, Predicate};
use super::schema::{Ty, Val};
use crate::attack::{self, Tactic};
use crate::event::{Event, Host};
use crate::finding::{Entity, Finding, Severity};
use crate::proctable::ProcessTable;

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub technique: String,
    pub tactics: &'static [Tactic],
    pub severity: Severity,
    pub enabled: bool,
    pub description: Option<String>,
    /// The file the rule was loaded from (`rules/persistence.toml`, or a path in the local dir).
    pub file: String,
    predicate: Predicate,
    entity: EntitySpec,
    summary: Template,
}

#[derive(Debug, Clone)]
enum EntitySpec {
    Process,
    User(Field),
    Host(Field),
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Field(Field),
}

/// A summary template: literal text and `{field}` placeholders (`{{` and `}}` for braces).
#[derive(Debug, Clone)]
struct Template(Vec<Piece>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: String,
    technique: String,
    severity: Severity,
    #[serde(default = "default_entity")]
    entity: toml::Value,
    summary: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "match")]
    matches: toml::Table,
}

fn default_entity() -> toml::Value {
    toml::Value::String("process".into())
}

fn yes() -> bool {
    true
}

/// Whether `id` is a valid rule or detector id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Rule {
    /// Compile one `[[rule]]` table of `file`; `index` (0-based) names it when it has no id.
    pub fn compile(file: &str, index: usize, value: &toml::Value) -> Result<Rule, RuleError> {
        let fallback = format!("#{}", index + 1);
        let id = value
            .get("id")
            .and_then(toml::Value::as_str)
            .unwrap_or(&fallback)
            .to_owned();
        let ctx = Ctx {
            file,
            rule: id.as_str(),
        };
        let raw =
            RawRule::deserialize(value.clone()).map_err(|e| ctx.err(clean(&e.to_string())))?;
        if !valid_id(&raw.id) {
            return Err(ctx.err("id must be 1-64 characters of a-z, 0-9 and _"));
        }
        let tactics = attack::tactics(&raw.technique).ok_or_else(|| {
            ctx.err(format!(
                "technique `{}` is not a known ATT&CK id (see agent/core/src/attack.rs)",
                raw.technique
            ))
        })?;
        if raw.title.trim().is_empty() {
            return Err(ctx.err("title is empty"));
        }
        let predicate = Predicate::from_table(&raw.matches, &ctx)?;
        let kind = predicate.kind();
        let entity = compile_entity(kind, &raw.entity, &ctx)?;
        let summary = Template::compile(kind, &raw.summary, &ctx)?;
        Ok(Rule {
            id: raw.id,
            title: raw.title,
            technique: raw.technique,
            tactics,
            severity: raw.severity,
            enabled: raw.enabled,
            description: raw.description,
            file: file.to_owned(),
            predicate,
            entity,
            summary,
        })
    }

    /// The event kind the rule applies to.
    pub fn kind(&self) -> &'static str {
        self.predicate.kind()
    }

    pub fn predicate(&self) -> &Predicate {
        &self.predicate
    }

    /// The finding for `ev` if the rule matches it.
    pub fn check(&self, ev: &Event, procs: &ProcessTable) -> Option<Finding> {
        if !self.predicate.matches(ev, procs) {
            return None;
        }
        Some(Finding {
            ts: ev.ts,
            detector: self.id.clone(),
            technique: self.technique.clone(),
            severity: self.severity,
            entity: self.entity_of(ev, procs),
            summary: self.summary.render(ev, procs),
            evidence: vec![crate::detect::evidence(ev)],
            author: None,
            stage: None,
        })
    }

    fn entity_of(&self, ev: &Event, procs: &ProcessTable) -> Entity {
        match &self.entity {
            EntitySpec::User(f) => match f.get(ev, procs) {
                Val::Str(name) if !name.is_empty() => {
                    return Entity::User {
                        name: name.into_owned(),
                    };
                }
                _ => {}
            },
            EntitySpec::Host(f) => match f.get(ev, procs) {
                Val::Ip(ip) => return Entity::Host { host: ip.into() },
                Val::Str(s) => {
                    if let Ok(host) = s.parse::<Host>() {
                        return Entity::Host { host };
                    }
                }
                _ => {}
            },
            EntitySpec::Process => {}
        }
        process_entity(ev, procs)
    }
}

/// The process an event is about (the entity when a rule names none, or its field is absent).
pub fn process_entity(ev: &Event, procs: &ProcessTable) -> Entity {
    let pid = ev.kind.pid().unwrap_or(0);
    let known = procs.get(pid);
    let started = known.and_then(|p| p.started).unwrap_or(ev.ts);
    Entity::Process {
        pid,
        start_ns: started.timestamp_nanos_opt().map_or(0, |n| n as u64),
        exe: known.map_or_else(String::new, |p| {
            if p.exe.is_empty() {
                p.comm.clone()
            } else {
                p.exe.clone()
            }
        }),
    }
}

fn compile_entity(kind: &str, v: &toml::Value, ctx: &Ctx<'_>) -> Result<EntitySpec, RuleError> {
    let bad =
        || ctx.err("entity must be \"process\", { user = \"<field>\" } or { host = \"<field>\" }");
    match v {
        toml::Value::String(s) if s == "process" => Ok(EntitySpec::Process),
        toml::Value::Table(t) if t.len() == 1 => {
            let (which, field) = t.iter().next().ok_or_else(bad)?;
            let field = field.as_str().ok_or_else(bad)?;
            let f = Field::compile(kind, field, ctx)?;
            match (which.as_str(), f.ty()) {
                ("user", Ty::Str) => Ok(EntitySpec::User(f)),
                ("host", Ty::Ip | Ty::Host) => Ok(EntitySpec::Host(f)),
                ("user" | "host", ty) => Err(ctx.err(format!(
                    "entity {which} field `{field}` is {}",
                    ty.describe()
                ))),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

impl Template {
    fn compile(kind: &str, text: &str, ctx: &Ctx<'_>) -> Result<Template, RuleError> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(ctx.err(format!("summary: unclosed `{{{name}`"))),
                        }
                    }
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    let f = Field::compile(kind, name.trim(), ctx)
                        .map_err(|e| ctx.err(format!("summary: {}", problem(&e))))?;
                    pieces.push(Piece::Field(f));
                }
                '}' => return Err(ctx.err("summary: a lone `}` (write `}}`)")),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        if pieces.is_empty() {
            return Err(ctx.err("summary is empty"));
        }
        Ok(Template(pieces))
    }

    fn render(&self, ev: &Event, procs: &ProcessTable) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Field(f) => {
                    let v = f.get(ev, procs).render();
                    // Bounded: argv and command lines can be long.
                    out.extend(v.chars().take(200));
                }
            }
        }
        out
    }
}

fn problem(e: &RuleError) -> String {
    match e {
        RuleError::Invalid { problem, .. } => problem.clone(),
        other => other.to_string(),
    }
}

/// toml's messages carry a position block that means nothing for a re-deserialized value.
fn clean(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
