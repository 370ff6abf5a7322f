//! The agent-owned ruleset: table `inet innerwarden`, its sets and its two base chains.
//!
//! The same ruleset exists in two forms built from the same constants: the libnftables JSON
//! transaction that [`ensure_table`](super::NftResponder::ensure_table) applies, and the nft text
//! [`render_ruleset`] writes to `packaging/innerwarden.nft` (checked by `nft -c -f`, shipped by
//! the NixOS module).
//!
//! Idempotence: `add table/set/chain` do not touch what exists (set elements survive), and the
//! two chains are flushed and refilled in the same transaction, so re-applying never duplicates a
//! rule. The rate-limit meter sets are the one exception: once a rule updates them the kernel
//! marks them dynamic, nft 1.0.6's JSON parser cannot say `dynamic`, and re-adding them without
//! the flag fails with EEXIST; so they are only added when the table does not have them yet.

use std::borrow::Cow;
use std::collections::HashSet;

use nftables::batch::Batch;
use nftables::expr::{CT, Expression, NamedExpression, Payload, PayloadField};
use nftables::schema::{
    Chain, FlushObject, NfCmd, NfListObject, Set, SetFlag, SetType, SetTypeValue, Table,
};
use nftables::stmt::{Match, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};
use serde_json::{Value, json};

/// The table's name (family `inet`).
pub const TABLE: &str = "innerwarden";
/// Priority of both base chains: before the usual `filter` (0) chains, so a block wins.
pub const CHAIN_PRIORITY: i32 = -10;
/// New connections per minute allowed from a rate-limited source by default (burst: nft's
/// default, 5): `response.rate_limit_per_minute`'s default.
///
/// One rate for the whole ruleset, written into the rule when the table is set up from
/// `response.rate_limit_per_minute`: nft sets hold addresses, not per-element rates. The meter
/// counts each source separately.
pub fn default_rate_per_minute() -> u32 {
    innerwarden_core::decide::config::ResponseConfig::default().rate_limit_per_minute
}
/// Rules the input chain holds (block v4/v6, rate limit v4/v6).
pub const INPUT_RULES: usize = 4;

/// From `nft -j list table inet innerwarden`: elements per set name, and rules in the input
/// chain.
pub fn count_elements(doc: &Value) -> (std::collections::HashMap<String, usize>, usize) {
    let mut sets = std::collections::HashMap::new();
    let mut input_rules = 0;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for item in items {
        if let Some(set) = item.get("set") {
            let name = set.get("name").and_then(Value::as_str).unwrap_or_default();
            let n = set
                .get("elem")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            sets.insert(name.to_owned(), n);
        }
        if let Some(rule) = item.get("rule")
            && rule.get("chain").and_then(Value::as_str) == Some("input")
        {
            input_rules += 1;
        }
    }
    (sets, input_rules)
}

/// Size and idle timeout of the per-source meters.
const METER_SIZE: u32 = 65535;
const METER_TIMEOUT_SECS: u32 = 60;

/// One of the agent's sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetName {
    BlockV4,
    BlockV6,
    RateLimitV4,
    RateLimitV6,
}

impl SetName {
    pub fn as_str(self) -> &'static str {
        match self {
            SetName::BlockV4 => "block_v4",
            SetName::BlockV6 => "block_v6",
            SetName::RateLimitV4 => "ratelimit_v4",
            SetName::RateLimitV6 => "ratelimit_v6",
        }
    }

    /// Block sets hold prefixes (`flags interval`); rate-limit sets single addresses.
    pub fn interval(self) -> bool {
        matches!(self, SetName::BlockV4 | SetName::BlockV6)
    }

    pub fn v6(self) -> bool {
        matches!(self, SetName::BlockV6 | SetName::RateLimitV6)
    }
}

const ALL_SETS: [SetName; 4] = [
    SetName::BlockV4,
    SetName::BlockV6,
    SetName::RateLimitV4,
    SetName::RateLimitV6,
];

/// The dynamic sets behind the per-source rate limit.
pub const METER_V4: &str = "rl_meter_v4";
pub const METER_V6: &str = "rl_meter_v6";

fn proto(v6: bool) -> &'static str {
    if v6 { "ip6" } else { "ip" }
}

fn key_type(v6: bool) -> &'static str {
    if v6 { "ipv6_addr" } else { "ipv4_addr" }
}

fn saddr(v6: bool) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: proto(v6).into(),
            field: "saddr".into(),
        },
    )))
}

fn saddr_in(set: &str, v6: bool) -> Statement<'static> {
    Statement::Match(Match {
        left: saddr(v6),
        right: Expression::String(Cow::Owned(format!("@{set}"))),
        op: Operator::EQ,
    })
}

fn ct_state_new() -> Statement<'static> {
    Statement::Match(Match {
        left: Expression::Named(NamedExpression::CT(CT {
            key: "state".into(),
            family: None,
            dir: None,
        })),
        right: Expression::String("new".into()),
        op: Operator::IN,
    })
}

fn base_chain(name: &'static str, hook: NfHook) -> Chain<'static> {
    Chain {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: name.into(),
        _type: Some(NfChainType::Filter),
        hook: Some(hook),
        prio: Some(CHAIN_PRIORITY),
        policy: Some(NfChainPolicy::Accept),
        ..Chain::default()
    }
}

fn set_decl(name: &'static str, v6: bool, flags: &[SetFlag]) -> Set<'static> {
    Set {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: name.into(),
        set_type: SetTypeValue::Single(if v6 {
            SetType::Ipv6Addr
        } else {
            SetType::Ipv4Addr
        }),
        flags: Some(flags.iter().copied().collect::<HashSet<_>>()),
        ..Set::default()
    }
}

fn rule(chain: &'static str, expr: Vec<Statement<'static>>) -> NfListObject<'static> {
    NfListObject::Rule(nftables::schema::Rule {
        family: NfFamily::INet,
        table: TABLE.into(),
        chain: chain.into(),
        expr: expr.into(),
        ..nftables::schema::Rule::default()
    })
}

/// The setup transaction. `with_meters`: also declare the meter sets (first creation only).
pub fn setup_batch(with_meters: bool, per_minute: u32) -> Result<Value, serde_json::Error> {
    let mut b = Batch::new();
    b.add(NfListObject::Table(Table {
        family: NfFamily::INet,
        name: TABLE.into(),
        handle: None,
    }));
    for s in ALL_SETS {
        let mut flags = vec![SetFlag::Timeout];
        if s.interval() {
            flags.push(SetFlag::Interval);
        }
        b.add(NfListObject::Set(Box::new(set_decl(
            s.as_str(),
            s.v6(),
            &flags,
        ))));
    }
    if with_meters {
        for (name, v6) in [(METER_V4, false), (METER_V6, true)] {
            let mut s = set_decl(name, v6, &[SetFlag::Timeout]);
            s.size = Some(METER_SIZE);
            s.timeout = Some(METER_TIMEOUT_SECS);
            b.add(NfListObject::Set(Box::new(s)));
        }
    }
    for (name, hook) in [("input", NfHook::Input), ("forward", NfHook::Forward)] {
        b.add(NfListObject::Chain(base_chain(name, hook)));
        b.add_cmd(NfCmd::Flush(FlushObject::Chain(base_chain(name, hook))));
    }
    for chain in ["input", "forward"] {
        for (set, v6) in [(SetName::BlockV4, false), (SetName::BlockV6, true)] {
            b.add(rule(
                chain,
                vec![saddr_in(set.as_str(), v6), Statement::Drop(None)],
            ));
        }
    }
    for (set, meter, v6) in [
        (SetName::RateLimitV4, METER_V4, false),
        (SetName::RateLimitV6, METER_V6, true),
    ] {
        // Completed by `patch_meter_statements`: the crate's set statement has no `stmt`.
        let meter_update = Statement::Set(nftables::stmt::Set {
            op: nftables::stmt::SetOp::Update,
            elem: saddr(v6),
            set: Cow::Owned(format!("@{meter}")),
        });
        b.add(rule(
            "input",
            vec![
                saddr_in(set.as_str(), v6),
                ct_state_new(),
                meter_update,
                Statement::Drop(None),
            ],
        ));
    }
    let mut v = serde_json::to_value(b.to_nftables())?;
    patch_meter_statements(&mut v, per_minute);
    Ok(v)
}

/// Give every `set` statement that updates a meter its `limit rate over N/minute` statement
/// (nft JSON: `"stmt": [{"limit": ...}]`), which the crate's schema cannot express.
fn patch_meter_statements(v: &mut Value, per_minute: u32) {
    match v {
        Value::Object(map) => {
            let is_meter = map
                .get("set")
                .and_then(Value::as_str)
                .is_some_and(|s| s == format!("@{METER_V4}") || s == format!("@{METER_V6}"));
            if is_meter && map.contains_key("op") {
                map.insert(
                    "stmt".to_owned(),
                    json!([{"limit": {"rate": per_minute, "per": "minute", "inv": true}}]),
                );
            }
            map.values_mut()
                .for_each(|v| patch_meter_statements(v, per_minute));
        }
        Value::Array(a) => a
            .iter_mut()
            .for_each(|v| patch_meter_statements(v, per_minute)),
        _ => {}
    }
}

/// The ruleset as nft text, for `nft -f` (idempotent like the JSON transaction: the chains are
/// declared, flushed, then filled; elements already in the sets are kept).
pub fn render_ruleset() -> String {
    render_ruleset_with(default_rate_per_minute())
}

/// [`render_ruleset`] with a rate limit of `per_minute` new connections per source.
pub fn render_ruleset_with(per_minute: u32) -> String {
    let mut s = String::new();
    s.push_str(
        "#!/usr/sbin/nft -f\n\
         # Inner Warden's own table. Generated by `render_ruleset()` in\n\
         # agent/innerwarden/src/respond/nft/ruleset.rs; a test keeps this file equal to it.\n\
         # Loading it again keeps the elements already in the sets (their timeouts run on).\n\n",
    );
    s.push_str(&format!("table inet {TABLE} {{\n"));
    for (name, hook) in [("input", "input"), ("forward", "forward")] {
        s.push_str(&format!(
            "\tchain {name} {{\n\t\ttype filter hook {hook} priority {CHAIN_PRIORITY}; policy accept;\n\t}}\n"
        ));
    }
    s.push_str("}\n");
    for name in ["input", "forward"] {
        s.push_str(&format!("flush chain inet {TABLE} {name}\n"));
    }
    s.push_str(&format!("\ntable inet {TABLE} {{\n"));
    for set in ALL_SETS {
        let flags = if set.interval() {
            "interval,timeout"
        } else {
            "timeout"
        };
        s.push_str(&format!(
            "\tset {} {{\n\t\ttype {}\n\t\tflags {flags}\n\t}}\n\n",
            set.as_str(),
            key_type(set.v6())
        ));
    }
    for (meter, v6) in [(METER_V4, false), (METER_V6, true)] {
        s.push_str(&format!(
            "\tset {meter} {{\n\t\ttype {}\n\t\tsize {METER_SIZE}\n\t\tflags dynamic,timeout\n\t\ttimeout {METER_TIMEOUT_SECS}s\n\t}}\n\n",
            key_type(v6)
        ));
    }
    let block_rules = |s: &mut String| {
        for (set, v6) in [(SetName::BlockV4, false), (SetName::BlockV6, true)] {
            s.push_str(&format!("\t\t{} saddr @{} drop\n", proto(v6), set.as_str()));
        }
    };
    s.push_str("\tchain input {\n");
    block_rules(&mut s);
    for (set, meter, v6) in [
        (SetName::RateLimitV4, METER_V4, false),
        (SetName::RateLimitV6, METER_V6, true),
    ] {
        let p = proto(v6);
        s.push_str(&format!(
            "\t\t{p} saddr @{} ct state new update @{meter} {{ {p} saddr limit rate over {per_minute}/minute }} drop\n",
            set.as_str()
        ));
    }
    s.push_str("\t}\n\n\tchain forward {\n");
    block_rules(&mut s);
    s.push_str("\t}\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_transaction_patches_the_meter_limit_and_skips_existing_meters() {
        let v = setup_batch(true, 30).unwrap();
        let text = v.to_string();
        assert!(
            text.contains(r#""stmt":[{"limit":{"inv":true,"per":"minute","rate":30}}]"#),
            "{text}"
        );
        assert_eq!(
            text.matches(r#""flush""#).count(),
            2,
            "both chains are flushed"
        );
        assert!(text.contains(METER_V4) && text.contains(r#""name":"rl_meter_v6""#));
        let again = setup_batch(false, 30).unwrap().to_string();
        assert!(
            !again.contains(r#""name":"rl_meter_v4""#),
            "meters are declared once"
        );
        assert!(again.contains(r#""set":"@rl_meter_v4""#), "but still used");
    }

    #[test]
    fn text_and_json_agree_on_names_and_priority() {
        let text = render_ruleset_with(30);
        let json = setup_batch(true, 30).unwrap().to_string();
        for set in ALL_SETS {
            assert!(text.contains(&format!("set {} {{", set.as_str())));
            assert!(json.contains(&format!(r#""name":"{}""#, set.as_str())));
        }
        assert!(text.contains("priority -10;") && json.contains(r#""prio":-10"#));
    }

    #[test]
    fn counts_elements_per_set_and_input_rules_from_nft_json() {
        let doc = json!({"nftables": [
            {"metainfo": {"json_schema_version": 1}},
            {"table": {"family": "inet", "name": "innerwarden"}},
            {"set": {"name": "block_v4", "elem": [
                {"elem": {"val": "10.0.0.1", "timeout": 60, "expires": 59}},
                {"elem": {"val": {"prefix": {"addr": "10.1.0.0", "len": 16}}, "timeout": 30}}
            ]}},
            {"set": {"name": "block_v6"}},
            {"rule": {"chain": "input"}}, {"rule": {"chain": "input"}},
            {"rule": {"chain": "forward"}}
        ]});
        let (sets, rules) = count_elements(&doc);
        assert_eq!(sets.get("block_v4"), Some(&2));
        assert_eq!(sets.get("block_v6"), Some(&0));
        assert_eq!(rules, 2);
        assert_eq!(count_elements(&json!({})), (Default::default(), 0));
    }
}
