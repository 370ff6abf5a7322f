//! The nftables responder: blocks and rate limits as elements of the agent's own sets, each
//! with a kernel timeout, so a block expires on time even when the agent is down.
//!
//! The table (`inet innerwarden`, see [`ruleset`]) is set up with the `nftables` crate's JSON
//! schema through `nft -j`, as one transaction. Elements are added and deleted through one of
//! two [`Backend`]s: `nft -j` (one process per transaction) or a raw netlink batch
//! (`NFT_MSG_NEWSETELEM`/`DELSETELEM`, no process), which is the default because it commits a
//! single block in tens of microseconds instead of milliseconds (see [`bench`]).
//!
//! Everything acts on the calling thread's network namespace; tests and the benchmark run it
//! in a thread that entered a private one ([`netns`]).
//!
//! # Layout
//! - [`ruleset`]: the table as a JSON transaction and as nft text (`packaging/innerwarden.nft`).
//! - [`elements`]: action → set element, and the `nft -j` runner.
//! - [`netlink`]: the nf_tables netlink batch for elements.
//! - [`netns`]: run a closure in a fresh or a named network namespace.
//! - [`bench`]: `bench_block`, decision-to-commit latency of each path.

pub mod bench;
pub mod elements;
pub mod netlink;
pub mod netns;
pub mod ruleset;

use std::collections::HashMap;
use std::net::IpAddr;

use innerwarden_core::decide::action::{Action, ActionKind};
use serde_json::Value;

use self::elements::ElementSpec;
use self::ruleset::{METER_V4, METER_V6, TABLE};
use super::{Applied, RespondError, Responder};

pub use self::ruleset::{render_ruleset, render_ruleset_with};

/// Errors of the nftables responder.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("running {program}")]
    Spawn {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("nft failed while {op} ({status}): {stderr}")]
    Nft {
        op: &'static str,
        status: String,
        stderr: String,
    },
    #[error("building the nft JSON document")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    #[error("netlink while {op}")]
    Netlink {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("prefix /{prefix} is invalid for {addr}")]
    BadPrefix { addr: IpAddr, prefix: u8 },
    #[error("the nftables responder does not handle {kind} actions")]
    Unsupported { kind: ActionKind },
}

impl From<NftError> for RespondError {
    fn from(e: NftError) -> RespondError {
        RespondError::Failed {
            responder: "nftables",
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

/// How elements reach the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// `nft -j -f -`, one process per transaction.
    NftJson,
    /// One nf_tables netlink batch per transaction, on a socket the responder keeps.
    #[default]
    Netlink,
}

/// What [`NftResponder::reassert`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReassertReport {
    /// The table was missing and has been recreated.
    pub recreated_table: bool,
    /// Elements written back with their remaining TTL.
    pub restored: usize,
    /// Actions that could not be restored, with why.
    pub failed: Vec<(Action, String)>,
}

/// Blocks and rate limits through the `inet innerwarden` table.
///
/// Acts on the network namespace of the calling thread; the netlink socket, opened on first
/// use, stays in the namespace it was opened in.
pub struct NftResponder {
    backend: Backend,
    netlink: Option<netlink::NlSocket>,
    /// False until the first [`Responder::maintain`]: the first one after start re-adds every
    /// active element even though `setup` has just created the (empty) table.
    reasserted: bool,
    /// New connections per minute per rate-limited source, written into the rule.
    per_minute: u32,
}

impl NftResponder {
    /// A responder using `backend`; does not touch the kernel until used.
    pub fn new(backend: Backend) -> NftResponder {
        NftResponder {
            backend,
            netlink: None,
            reasserted: false,
            per_minute: ruleset::default_rate_per_minute(),
        }
    }

    /// The rate limit written into the rule (`response.rate_limit_per_minute`).
    pub fn with_rate(mut self, per_minute: u32) -> NftResponder {
        self.per_minute = per_minute.max(1);
        self
    }

    /// [`new`](Self::new) then [`ensure_table`](Self::ensure_table).
    pub fn setup(backend: Backend) -> Result<NftResponder, NftError> {
        Self::setup_with_rate(backend, ruleset::default_rate_per_minute())
    }

    /// [`setup`](Self::setup) with the configured rate limit.
    pub fn setup_with_rate(backend: Backend, per_minute: u32) -> Result<NftResponder, NftError> {
        let r = NftResponder::new(backend).with_rate(per_minute);
        r.ensure_table()?;
        Ok(r)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Create the table, its sets and chains if missing and (re)write the chains' rules, in one
    /// transaction (flush and refill commit together: no moment without the drop rules).
    /// Idempotent; elements already in the sets are kept.
    pub fn ensure_table(&self) -> Result<(), NftError> {
        let with_meters = !self.meters_present()?;
        let doc = ruleset::setup_batch(with_meters, self.per_minute)
            .map_err(|source| NftError::Json { source })?;
        elements::run_json("setting up the table", &doc)?;
        Ok(())
    }

    /// Whether `inet innerwarden` exists (false after `nft flush ruleset`). Terse listing: the
    /// sets' elements are not printed.
    pub fn table_present(&self) -> bool {
        elements::run(
            "listing the table",
            &["-t", "list", "table", "inet", TABLE],
            None,
        )
        .is_ok()
    }

    fn meters_present(&self) -> Result<bool, NftError> {
        let out = match elements::run("listing sets", &["-t", "-j", "list", "sets", "inet"], None) {
            Ok(out) => out,
            // No inet table at all: nothing to list.
            Err(NftError::Nft { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let v: Value = serde_json::from_str(&out).map_err(|source| NftError::Json { source })?;
        let names: Vec<&str> = v["nftables"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|o| o["set"]["table"] == TABLE)
                    .filter_map(|o| o["set"]["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        Ok(names.contains(&METER_V4) && names.contains(&METER_V6))
    }

    /// Add the elements of many actions in ONE transaction (duplicates keep the longest TTL).
    pub fn apply_many(&mut self, actions: &[Action]) -> Result<Applied, NftError> {
        let mut by_key: HashMap<(ruleset::SetName, IpAddr, u8), ElementSpec> = HashMap::new();
        for a in actions {
            let spec =
                ElementSpec::from_action(a)?.ok_or(NftError::Unsupported { kind: a.kind() })?;
            by_key
                .entry((spec.set, spec.addr, spec.prefix))
                .and_modify(|s| s.timeout_secs = s.timeout_secs.max(spec.timeout_secs))
                .or_insert(spec);
        }
        let specs: Vec<ElementSpec> = by_key.into_values().collect();
        self.add(&specs)?;
        Ok(Applied {
            detail: format!(
                "added {} elements to inet {TABLE} in one transaction",
                specs.len()
            ),
        })
    }

    /// Add `specs` in one transaction; if that fails because the table is gone (someone ran
    /// `nft flush ruleset`), recreate the table and try once more.
    fn add(&mut self, specs: &[ElementSpec]) -> Result<(), NftError> {
        match self.write(specs, true) {
            Ok(_) => Ok(()),
            Err(e) if self.table_present() => Err(e),
            Err(_) => {
                self.ensure_table()?;
                self.write(specs, true).map(|_| ())
            }
        }
    }

    /// Add or delete `specs` in one transaction through the backend. Deleting an absent
    /// element is reported as `Ok(false)`.
    fn write(&mut self, specs: &[ElementSpec], add: bool) -> Result<bool, NftError> {
        if specs.is_empty() {
            return Ok(true);
        }
        match self.backend {
            Backend::NftJson => {
                let doc = elements::elements_batch(specs, add)?;
                match elements::run_json(
                    if add {
                        "adding elements"
                    } else {
                        "deleting elements"
                    },
                    &doc,
                ) {
                    Ok(_) => Ok(true),
                    Err(NftError::Nft { stderr, .. })
                        if !add
                            && (stderr.contains("No such file or directory")
                                || stderr.contains("element does not exist")) =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(e),
                }
            }
            Backend::Netlink => {
                let sock = match &mut self.netlink {
                    Some(s) => s,
                    None => self.netlink.insert(netlink::NlSocket::open()?),
                };
                match sock.write_elements(specs, add) {
                    Ok(()) => Ok(true),
                    Err(NftError::Netlink { source, .. })
                        if !add && source.raw_os_error() == Some(libc::ENOENT) =>
                    {
                        Ok(false)
                    }
                    Err(e) => {
                        // Start the next transaction on a fresh socket: no stale ACKs.
                        self.netlink = None;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Bring the kernel back in line with the ledger: recreate the table if it is missing and
    /// re-add every active action with the TTL it has left (callers pass `ttl_secs` already
    /// reduced to the remaining time; actions with none left are skipped). One transaction for
    /// all; if it fails (say one conflicting interval) each is retried on its own.
    /// How many of the ledger's active blocks and rate limits are missing from the kernel's
    /// sets (also counts a missing drop rule as missing everything). One `nft -j list table`.
    pub fn missing_elements(&self, active: &[Action]) -> Result<usize, NftError> {
        let out = elements::run(
            "listing the table",
            &["-j", "list", "table", "inet", TABLE],
            None,
        )?;
        let doc: serde_json::Value =
            serde_json::from_str(&out).map_err(|source| NftError::Json { source })?;
        let (present, rules) = ruleset::count_elements(&doc);
        let mut expected: std::collections::HashMap<&'static str, usize> = Default::default();
        for a in active {
            if let Ok(Some(spec)) = ElementSpec::from_action(a) {
                *expected.entry(spec.set.as_str()).or_default() += 1;
            }
        }
        let total: usize = expected.values().sum();
        if rules < ruleset::INPUT_RULES {
            return Ok(total.max(1));
        }
        Ok(expected
            .iter()
            .map(|(set, n)| n.saturating_sub(present.get(*set).copied().unwrap_or(0)))
            .sum())
    }

    pub fn reassert(&mut self, active: &[Action]) -> Result<ReassertReport, NftError> {
        let mut report = ReassertReport::default();
        if !self.table_present() {
            self.ensure_table()?;
            report.recreated_table = true;
        } else if self.missing_elements(&[])? > 0 {
            // The drop rules are gone (a chain flushed by hand): rewrite them.
            self.ensure_table()?;
        }
        let live: Vec<Action> = active
            .iter()
            .filter(|a| matches!(a, Action::Block { .. } | Action::RateLimit { .. }))
            .filter(|a| a.ttl_secs().is_some_and(|t| t > 0))
            .cloned()
            .collect();
        if live.is_empty() {
            return Ok(report);
        }
        if self.apply_many(&live).is_ok() {
            report.restored = live.len();
            return Ok(report);
        }
        for a in live {
            match self.apply_many(std::slice::from_ref(&a)) {
                Ok(_) => report.restored += 1,
                Err(e) => report.failed.push((a, e.to_string())),
            }
        }
        Ok(report)
    }
}

impl Responder for NftResponder {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn kinds(&self) -> &'static [ActionKind] {
        &[ActionKind::Block, ActionKind::RateLimit]
    }

    fn apply(&mut self, action: &Action) -> Result<Applied, RespondError> {
        let spec = ElementSpec::from_action(action)?.ok_or(RespondError::Unsupported {
            kind: action.kind(),
        })?;
        self.add(&[spec])?;
        let mut detail = format!(
            "added {} to set inet {TABLE} {} timeout {}s",
            spec.key_text(),
            spec.set.as_str(),
            spec.timeout_secs
        );
        if let Action::RateLimit { per_minute, .. } = action {
            // The sets hold addresses only: the rate is the rule's, set from the config.
            detail.push_str(&format!(
                " (limit {}/minute per source; asked {per_minute}/minute)",
                self.per_minute
            ));
        }
        Ok(Applied { detail })
    }

    fn revert(&mut self, action: &Action) -> Result<Applied, RespondError> {
        let spec = ElementSpec::from_action(action)?.ok_or(RespondError::Unsupported {
            kind: action.kind(),
        })?;
        let was_there = self.write(&[spec], false)?;
        let what = if was_there {
            "removed"
        } else {
            "already absent:"
        };
        Ok(Applied {
            detail: format!(
                "{what} {} from set inet {TABLE} {}",
                spec.key_text(),
                spec.set.as_str()
            ),
        })
    }

    /// The table may vanish (`nft flush ruleset`, a firewall reload): recreate it and re-add
    /// every active block and rate limit with its remaining TTL.
    fn maintain(&mut self, active: &[Action]) -> Option<String> {
        let first = !self.reasserted;
        self.reasserted = true;
        let mut emptied = false;
        if !first {
            // One listing per tick: the table may be gone (flushed), or present but recreated
            // empty (an nftables reload of a configuration that declares the table, as the
            // NixOS module does) or with elements deleted by hand.
            match self.missing_elements(active) {
                Ok(0) => return None,
                Ok(_) => emptied = true,
                // No table to list: reassert recreates it.
                Err(NftError::Nft { .. }) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not list the nftables table");
                    return None;
                }
            }
        }
        Some(match self.reassert(active) {
            Ok(r) if emptied => format!(
                "nftables table had lost elements (reloaded or edited): {} restored, {} failed",
                r.restored,
                r.failed.len()
            ),
            Ok(r) if first && !r.recreated_table && r.restored == 0 && r.failed.is_empty() => {
                return None;
            }
            Ok(r) => format!(
                "{}: {} elements restored, {} failed",
                if r.recreated_table {
                    "nftables table was missing and was recreated"
                } else {
                    "ledger re-asserted at start"
                },
                r.restored,
                r.failed.len()
            ),
            Err(e) => format!("nftables table is missing and could not be recreated: {e}"),
        })
    }
}
