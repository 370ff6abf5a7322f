//! The `[response]` configuration section.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::action::ActionKind;

/// Global switch. `dry_run` records every decision and executes nothing, whatever `enforce` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    DryRun,
    Enforce,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseConfig {
    /// Default `dry_run`: out of the box nothing is enforced.
    pub mode: Mode,
    /// Action kinds enforced when `mode = "enforce"`. Default none.
    pub enforce: Vec<ActionKind>,
    /// Confidence at or above which the agent acts. Default 0.85.
    pub act_threshold: f64,
    /// Confidence at or above which a soft action and an escalation follow. Default 0.50.
    pub soft_threshold: f64,
    /// New connections per minute allowed from a rate-limited source. Default 10.
    pub rate_limit_per_minute: u32,
    /// CPU quota for a throttled unit, in percent of one CPU. Default 10.
    pub throttle_cpu_percent: u32,
    pub ttl: TtlConfig,
    pub allow: AllowConfig,
    pub budget: BudgetConfig,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        Self {
            mode: Mode::DryRun,
            enforce: Vec::new(),
            act_threshold: 0.85,
            soft_threshold: 0.50,
            rate_limit_per_minute: 10,
            throttle_cpu_percent: 10,
            ttl: TtlConfig::default(),
            allow: AllowConfig::default(),
            budget: BudgetConfig::default(),
        }
    }
}

/// How long each reversible action lasts, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtlConfig {
    /// Default 3600.
    pub block_secs: u64,
    /// Default 900.
    pub rate_limit_secs: u64,
    /// Default 1800.
    pub quarantine_secs: u64,
    /// Default 900.
    pub throttle_secs: u64,
    /// Default 86400.
    pub deny_exec_secs: u64,
}

impl Default for TtlConfig {
    fn default() -> Self {
        Self {
            block_secs: 3600,
            rate_limit_secs: 900,
            quarantine_secs: 1800,
            throttle_secs: 900,
            deny_exec_secs: 86_400,
        }
    }
}

/// What the agent never acts against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AllowConfig {
    /// Sources never blocked or rate-limited. Default loopback.
    pub cidrs: Vec<Cidr>,
    /// Management networks: never blocked, like the admin's live SSH sessions.
    pub management_cidrs: Vec<Cidr>,
    pub users: Vec<String>,
    pub units: Vec<String>,
    pub executables: Vec<String>,
}

impl Default for AllowConfig {
    fn default() -> Self {
        Self {
            cidrs: vec![
                Cidr::new(IpAddr::from([127, 0, 0, 0]), 8),
                Cidr::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), 128),
            ],
            management_cidrs: Vec::new(),
            users: Vec::new(),
            units: Vec::new(),
            executables: Vec::new(),
        }
    }
}

/// At most `max_actions` enforced actions per `window_secs`; past that the breaker opens for
/// `cooldown_secs` and every action is dry-run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Default 30.
    pub max_actions: u32,
    /// Default 300.
    pub window_secs: u64,
    /// Default 900.
    pub cooldown_secs: u64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            max_actions: 30,
            window_secs: 300,
            cooldown_secs: 900,
        }
    }
}

/// An address prefix, written `a.b.c.d/n` or `x::/n` (a bare address means a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CIDR prefix: {text:?}")]
pub struct BadCidr {
    pub text: String,
}

impl Cidr {
    pub fn new(addr: IpAddr, prefix: u8) -> Self {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        Self {
            addr,
            prefix: prefix.min(max),
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = crate::event::normalize_ip(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadCidr { text: s.to_owned() };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl ResponseConfig {
    /// Checks the types cannot express; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !unit(self.act_threshold) {
            return Err(("response.act_threshold", "must be within [0, 1]".into()));
        }
        if !unit(self.soft_threshold) || self.soft_threshold > self.act_threshold {
            return Err((
                "response.soft_threshold",
                "must be within [0, act_threshold]".into(),
            ));
        }
        let t = &self.ttl;
        for (key, v) in [
            ("response.ttl.block_secs", t.block_secs),
            ("response.ttl.rate_limit_secs", t.rate_limit_secs),
            ("response.ttl.quarantine_secs", t.quarantine_secs),
            ("response.ttl.throttle_secs", t.throttle_secs),
            ("response.ttl.deny_exec_secs", t.deny_exec_secs),
        ] {
            if v == 0 {
                return Err((key, "a TTL must be at least 1 second".into()));
            }
        }
        if self.budget.max_actions == 0 || self.budget.window_secs == 0 {
            return Err((
                "response.budget",
                "max_actions and window_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
