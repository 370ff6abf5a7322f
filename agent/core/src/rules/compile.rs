//! Compiling predicate tables into [`Node`]s and operator tables into [`Test`]s: every field,
//! operator, value type and regex is checked here, and every error names the file, the rule and
//! the field.

use std::net::IpAddr;

use super::RuleError;
use super::matcher::{Ctx, IntOp, Net, Node, StrOp, Test, field_def};
use super::schema::{self, FieldDef, KindDef, Ty};

/// Keys of a predicate table that are not fields.
const RESERVED: &[&str] = &["kind", "any_of", "all_of", "not"];

pub(super) fn compile_table(
    def: &'static KindDef,
    prefix: &str,
    table: &toml::Table,
    ctx: &Ctx<'_>,
) -> Result<Node, RuleError> {
    let mut all = Vec::new();
    for (key, value) in table {
        if prefix.is_empty() && RESERVED.contains(&key.as_str()) {
            match key.as_str() {
                "kind" => {}
                "not" => {
                    let t = value
                        .as_table()
                        .ok_or_else(|| ctx.err("`not` takes a table of fields"))?;
                    all.push(Node::Not(Box::new(compile_table(def, "", t, ctx)?)));
                }
                comb => {
                    let arr = value.as_array().ok_or_else(|| {
                        ctx.err(format!("`{comb}` takes an array of tables of fields"))
                    })?;
                    let mut nodes = Vec::new();
                    for v in arr {
                        let t = v.as_table().ok_or_else(|| {
                            ctx.err(format!("`{comb}` takes an array of tables of fields"))
                        })?;
                        nodes.push(compile_table(def, "", t, ctx)?);
                    }
                    if nodes.is_empty() {
                        return Err(ctx.err(format!("`{comb}` is empty")));
                    }
                    all.push(if comb == "any_of" {
                        Node::Any(nodes)
                    } else {
                        Node::All(nodes)
                    });
                }
            }
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if let Some(field) = schema::lookup(def, &path) {
            let test = compile_test(field, value, ctx)?;
            all.push(Node::Cond(field, test));
        } else if let (Some(t), true) = (value.as_table(), schema::is_prefix(def, &path)) {
            all.push(compile_table(def, &path, t, ctx)?);
        } else {
            return Err(field_def(def, &path, ctx).unwrap_err());
        }
    }
    Ok(if all.len() == 1 {
        all.pop().unwrap_or(Node::All(Vec::new()))
    } else {
        Node::All(all)
    })
}

/// Evaluate event fields before process-context ones (which walk the process table).
pub(super) fn order_cheap_first(node: &mut Node) {
    fn cost(n: &Node) -> u8 {
        match n {
            Node::Cond(f, _) if f.name.contains('.') => 2,
            Node::Cond(..) => 0,
            Node::Not(inner) => cost(inner),
            Node::All(v) | Node::Any(v) => v.iter().map(cost).max().unwrap_or(0).max(1),
        }
    }
    match node {
        Node::All(v) | Node::Any(v) => {
            v.iter_mut().for_each(order_cheap_first);
            v.sort_by_key(cost);
        }
        Node::Not(inner) => order_cheap_first(inner),
        Node::Cond(..) => {}
    }
}

const OPERATORS: &[&str] = &[
    "equals",
    "in",
    "any",
    "contains",
    "startswith",
    "endswith",
    "regex",
    "cidr",
    "gt",
    "ge",
    "lt",
    "le",
    "bits_any",
    "bits_all",
    "exists",
    "nocase",
    "not",
    "any_of",
    "all_of",
];

fn compile_test(
    field: &'static FieldDef,
    value: &toml::Value,
    ctx: &Ctx<'_>,
) -> Result<Test, RuleError> {
    match value {
        toml::Value::Table(t) => {
            let nocase = match t.get("nocase") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(_) => {
                    return Err(ctx.err(format!("`{}`: `nocase` takes true or false", field.name)));
                }
            };
            let mut tests = Vec::new();
            for (op, arg) in t {
                if op == "nocase" {
                    continue;
                }
                tests.push(compile_op(field, op, arg, nocase, ctx)?);
            }
            if tests.is_empty() {
                return Err(ctx.err(format!("`{}`: empty operator table", field.name)));
            }
            Ok(if tests.len() == 1 {
                tests.pop().unwrap_or(Test::All(Vec::new()))
            } else {
                Test::All(tests)
            })
        }
        v => compile_op(field, "equals", v, false, ctx),
    }
}

fn compile_op(
    field: &'static FieldDef,
    op: &str,
    arg: &toml::Value,
    nocase: bool,
    ctx: &Ctx<'_>,
) -> Result<Test, RuleError> {
    let name = field.name;
    let bad = |what: String| ctx.err(format!("`{name}`: {what}"));
    let scalars = |arg: &toml::Value| -> Vec<toml::Value> {
        match arg {
            toml::Value::Array(a) => a.clone(),
            v => vec![v.clone()],
        }
    };
    let strings = |arg: &toml::Value| -> Result<Vec<String>, RuleError> {
        let vals = scalars(arg);
        if vals.is_empty() {
            return Err(bad(format!("`{op}` has an empty list")));
        }
        vals.iter()
            .map(|v| {
                v.as_str()
                    .map(|s| {
                        if nocase {
                            s.to_lowercase()
                        } else {
                            s.to_owned()
                        }
                    })
                    .ok_or_else(|| bad(format!("`{op}` expects strings, got {v}")))
            })
            .collect()
    };
    let int = |arg: &toml::Value| -> Result<i64, RuleError> {
        arg.as_integer()
            .ok_or_else(|| bad(format!("`{op}` expects an integer, got {arg}")))
    };
    let stringy = matches!(field.ty, Ty::Str | Ty::List | Ty::Host | Ty::Enum(_));
    let need = |ok: bool, kind: &str| -> Result<(), RuleError> {
        if ok {
            Ok(())
        } else {
            Err(bad(format!(
                "`{op}` needs {kind}, but the field is {}",
                field.ty.describe()
            )))
        }
    };
    match op {
        "equals" | "in" | "any" => match field.ty {
            Ty::Int => {
                let vals = scalars(arg);
                if vals.is_empty() {
                    return Err(bad(format!("`{op}` has an empty list")));
                }
                Ok(Test::Int(IntOp::In(
                    vals.iter().map(int).collect::<Result<_, _>>()?,
                )))
            }
            Ty::Bool => {
                let b = arg
                    .as_bool()
                    .ok_or_else(|| bad(format!("expects true or false, got {arg}")))?;
                Ok(Test::Bool(b))
            }
            Ty::Ip => {
                let vals = strings(arg)?;
                let ips = vals
                    .iter()
                    .map(|s| {
                        s.parse::<IpAddr>()
                            .map(crate::event::normalize_ip)
                            .map_err(|_| bad(format!("{s:?} is not an IP address")))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Test::Ip(ips))
            }
            Ty::Enum(allowed) => {
                let vals = strings(arg)?;
                if let Some(v) = vals
                    .iter()
                    .find(|v| !allowed.iter().any(|a| a == &v.as_str()))
                {
                    return Err(bad(format!("{v:?} is not one of {}", allowed.join(", "))));
                }
                Ok(Test::Str(StrOp::Equals, vals, nocase))
            }
            Ty::Str | Ty::List | Ty::Host => Ok(Test::Str(StrOp::Equals, strings(arg)?, nocase)),
        },
        "contains" | "startswith" | "endswith" => {
            need(stringy, "a string field")?;
            let sop = match op {
                "contains" => StrOp::Contains,
                "startswith" => StrOp::StartsWith,
                _ => StrOp::EndsWith,
            };
            Ok(Test::Str(sop, strings(arg)?, nocase))
        }
        "regex" => {
            need(stringy, "a string field")?;
            let pats = strings(arg)?;
            let joined = pats
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            let joined = if nocase {
                format!("(?i){joined}")
            } else {
                joined
            };
            let re = regex::RegexBuilder::new(&joined)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| bad(format!("bad regex: {e}")))?;
            Ok(Test::Regex(re))
        }
        "cidr" => {
            need(matches!(field.ty, Ty::Ip | Ty::Host), "an address field")?;
            let nets = strings(arg)?
                .iter()
                .map(|s| Net::parse(s).ok_or_else(|| bad(format!("{s:?} is not a CIDR block"))))
                .collect::<Result<_, _>>()?;
            Ok(Test::Cidr(nets))
        }
        "gt" | "ge" | "lt" | "le" | "bits_any" | "bits_all" => {
            need(field.ty == Ty::Int, "an integer field")?;
            let v = int(arg)?;
            Ok(Test::Int(match op {
                "gt" => IntOp::Gt(v),
                "ge" => IntOp::Ge(v),
                "lt" => IntOp::Lt(v),
                "le" => IntOp::Le(v),
                "bits_any" => IntOp::BitsAny(v),
                _ => IntOp::BitsAll(v),
            }))
        }
        "exists" => {
            Ok(Test::Exists(arg.as_bool().ok_or_else(|| {
                bad("`exists` takes true or false".into())
            })?))
        }
        "not" => {
            let inner = match arg {
                toml::Value::Table(_) => compile_test(field, arg, ctx)?,
                v => compile_op(field, "equals", v, nocase, ctx)?,
            };
            Ok(Test::Not(Box::new(inner)))
        }
        "any_of" | "all_of" => {
            let arr = arg
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| bad(format!("`{op}` takes a non-empty array of operator tables")))?;
            let tests = arr
                .iter()
                .map(|v| compile_test(field, v, ctx))
                .collect::<Result<_, _>>()?;
            Ok(if op == "any_of" {
                Test::Any(tests)
            } else {
                Test::All(tests)
            })
        }
        other => Err(bad(format!(
            "unknown operator `{other}` (operators: {})",
            OPERATORS.join(", ")
        ))),
    }
}
