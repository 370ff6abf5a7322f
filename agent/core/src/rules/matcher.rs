//! The compiled field-predicate language rules (and correlation stages) match events with.
//!
//! A predicate is a TOML table: `kind` names the event kind, every other key names a field of
//! that kind's schema ([`super::schema`]) and says what it must be. All keys must hold.
//!
//! ```toml
//! kind = "exec"
//! name = ["nc", "ncat"]                        # an array: equals one of
//! argv = { any = ["-e", "-c"] }                # (sugar for `in`) any argv element is one of
//! filename = { startswith = ["/tmp/", "/dev/shm/"] }
//! cmdline = { regex = 'curl .*\|\s*sh' }
//! uid = { ge = 1000 }
//! parent.name = { not = ["sshd", "login"] }    # dotted keys name process-context fields
//! any_of = [ { "ancestors.name" = "cron" }, { "process.unit" = { endswith = ".timer" } } ]
//! not = { "process.user" = "root" }
//! ```
//!
//! Operators (several in one table must all hold): `equals`, `in`/`any`, `contains`,
//! `startswith`, `endswith`, `regex`, `cidr`, `gt`, `ge`, `lt`, `le`, `bits_any` (`v & m != 0`),
//! `bits_all` (`v & m == m`), `exists`, `nocase` (a modifier for the string operators), `not` (an
//! operator table, scalar or array negated), `any_of`/`all_of` (arrays of operator tables). The
//! string operators take one value or an array (any of them). On list fields (argv, ancestors)
//! an operator holds when it holds for any element. An absent optional field satisfies nothing
//! but `exists = false` (and so `not` of anything).
//!
//! Every field, operator, value type and regex is checked at compile time; errors name the file,
//! the rule and the field.

use std::net::IpAddr;

use regex::Regex;

use super::RuleError;
use super::compile::{compile_table, order_cheap_first};
use super::schema::{self, FieldDef, KindDef, Ty, Val};
use crate::event::Event;
use crate::proctable::ProcessTable;

/// Where a predicate comes from, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub file: &'a str,
    pub rule: &'a str,
}

impl Ctx<'_> {
    pub fn err(&self, problem: impl Into<String>) -> RuleError {
        RuleError::Invalid {
            file: self.file.to_owned(),
            rule: self.rule.to_owned(),
            problem: problem.into(),
        }
    }
}

/// A compiled predicate over events of one kind.
#[derive(Debug, Clone)]
pub struct Predicate {
    kind: &'static KindDef,
    root: Node,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Cond(&'static FieldDef, Test),
}

/// A test on one field's value.
#[derive(Debug, Clone)]
pub(super) enum Test {
    All(Vec<Test>),
    Any(Vec<Test>),
    Not(Box<Test>),
    Exists(bool),
    Str(StrOp, Vec<String>, bool),
    Regex(Regex),
    Int(IntOp),
    Bool(bool),
    Ip(Vec<IpAddr>),
    Cidr(Vec<Net>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StrOp {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone)]
pub(super) enum IntOp {
    In(Vec<i64>),
    Gt(i64),
    Ge(i64),
    Lt(i64),
    Le(i64),
    BitsAny(i64),
    BitsAll(i64),
}

/// A CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// `10.0.0.0/8`, `fd00::/8` or a single address.
    pub fn parse(text: &str) -> Option<Net> {
        let (a, p) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Net {
            addr: crate::event::normalize_ip(addr),
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, crate::event::normalize_ip(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl Predicate {
    /// Compile `table` (a predicate table, which may repeat `kind`) for events of `kind`.
    pub fn compile(kind: &str, table: &toml::Table, ctx: &Ctx<'_>) -> Result<Self, RuleError> {
        let def = schema::kind_def(kind).ok_or_else(|| {
            ctx.err(format!(
                "unknown event kind `{kind}` (known: {})",
                schema::KINDS
                    .iter()
                    .map(|k| k.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if let Some(k) = table.get("kind")
            && k.as_str() != Some(kind)
        {
            return Err(ctx.err(format!("`kind = {k}` contradicts kind `{kind}`")));
        }
        let mut root = compile_table(def, "", table, ctx)?;
        order_cheap_first(&mut root);
        Ok(Self { kind: def, root })
    }

    /// Compile a table that names its own `kind`.
    pub fn from_table(table: &toml::Table, ctx: &Ctx<'_>) -> Result<Self, RuleError> {
        let kind = table
            .get("kind")
            .and_then(toml::Value::as_str)
            .ok_or_else(|| ctx.err("the match table needs `kind = \"<event kind>\"`"))?;
        Self::compile(kind, table, ctx)
    }

    /// The event kind (JSON name) this predicate applies to.
    pub fn kind(&self) -> &'static str {
        self.kind.name
    }

    /// Whether `ev` is of this predicate's kind and satisfies it.
    pub fn matches(&self, ev: &Event, procs: &ProcessTable) -> bool {
        ev.kind.name() == self.kind.name && self.root.eval(ev, procs)
    }
}

/// A field of one kind, compiled once, for code that needs a value (entity, summary template,
/// correlation keys).
#[derive(Debug, Clone, Copy)]
pub struct Field(&'static FieldDef);

impl Field {
    pub fn compile(kind: &str, path: &str, ctx: &Ctx<'_>) -> Result<Self, RuleError> {
        let def = schema::kind_def(kind)
            .ok_or_else(|| ctx.err(format!("unknown event kind `{kind}`")))?;
        field_def(def, path, ctx).map(Field)
    }

    pub fn name(&self) -> &'static str {
        self.0.name
    }

    pub fn ty(&self) -> Ty {
        self.0.ty
    }

    pub fn get<'a>(&self, ev: &'a Event, procs: &'a ProcessTable) -> Val<'a> {
        (self.0.get)(ev, procs)
    }
}

pub(super) fn field_def(
    def: &'static KindDef,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<&'static FieldDef, RuleError> {
    schema::lookup(def, path).ok_or_else(|| {
        ctx.err(format!(
            "unknown field `{path}` for kind `{}` (fields: {})",
            def.name,
            schema::field_names(def).join(", ")
        ))
    })
}

impl Node {
    fn eval(&self, ev: &Event, procs: &ProcessTable) -> bool {
        match self {
            Node::All(v) => v.iter().all(|n| n.eval(ev, procs)),
            Node::Any(v) => v.iter().any(|n| n.eval(ev, procs)),
            Node::Not(n) => !n.eval(ev, procs),
            Node::Cond(f, t) => t.eval(&(f.get)(ev, procs)),
        }
    }
}

impl Test {
    fn eval(&self, v: &Val<'_>) -> bool {
        match self {
            Test::All(ts) => ts.iter().all(|t| t.eval(v)),
            Test::Any(ts) => ts.iter().any(|t| t.eval(v)),
            Test::Not(t) => !t.eval(v),
            Test::Exists(want) => !matches!(v, Val::Missing) == *want,
            _ => match v {
                Val::Missing => false,
                Val::List(items) => items.iter().any(|s| self.eval_str(s)),
                scalar => self.eval_scalar(scalar),
            },
        }
    }

    fn eval_str(&self, s: &str) -> bool {
        match self {
            Test::Str(op, pats, nocase) => str_test(*op, pats, *nocase, s),
            Test::Regex(re) => re.is_match(s),
            _ => false,
        }
    }

    fn eval_scalar(&self, v: &Val<'_>) -> bool {
        match (self, v) {
            (_, Val::Str(s)) => self.eval_str(s),
            (Test::Str(op, pats, nocase), Val::Ip(ip)) => {
                str_test(*op, pats, *nocase, &ip.to_string())
            }
            (Test::Regex(re), Val::Ip(ip)) => re.is_match(&ip.to_string()),
            (Test::Int(op), Val::Int(n)) => int_test(op, *n),
            (Test::Bool(b), Val::Bool(x)) => b == x,
            (Test::Ip(ips), Val::Ip(ip)) => ips.contains(ip),
            (Test::Cidr(nets), Val::Ip(ip)) => nets.iter().any(|n| n.contains(*ip)),
            _ => false,
        }
    }
}

fn str_test(op: StrOp, pats: &[String], nocase: bool, s: &str) -> bool {
    let lowered;
    let s = if nocase {
        lowered = s.to_lowercase();
        lowered.as_str()
    } else {
        s
    };
    pats.iter().any(|p| match op {
        StrOp::Equals => s == p,
        StrOp::Contains => s.contains(p.as_str()),
        StrOp::StartsWith => s.starts_with(p.as_str()),
        StrOp::EndsWith => s.ends_with(p.as_str()),
    })
}

fn int_test(op: &IntOp, n: i64) -> bool {
    match op {
        IntOp::In(v) => v.contains(&n),
        IntOp::Gt(x) => n > *x,
        IntOp::Ge(x) => n >= *x,
        IntOp::Lt(x) => n < *x,
        IntOp::Le(x) => n <= *x,
        IntOp::BitsAny(m) => n & m != 0,
        IntOp::BitsAll(m) => n & m == *m,
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
