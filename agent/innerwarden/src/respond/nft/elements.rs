//! Set elements for actions, and the `nft -j` runner.
//!
//! An action becomes one [`ElementSpec`]: which set, which key (a prefix masked to its network
//! address, or one address) and the kernel timeout. Both paths (the `nft -j` JSON transaction
//! here and the netlink batch in `netlink`) speak from the same spec.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use innerwarden_core::decide::action::Action;
use nftables::expr::{Elem, Expression, NamedExpression, Prefix};
use nftables::schema::{Element, NfCmd, NfListObject};
use nftables::types::NfFamily;
use serde_json::Value;

use super::NftError;
use super::ruleset::{SetName, TABLE};

/// The `nft` binary (found on `PATH`).
pub const NFT: &str = "nft";

/// One set element: what an action puts into the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElementSpec {
    pub set: SetName,
    /// The network address (host bits cleared) or the single address.
    pub addr: IpAddr,
    /// 32 / 128 for one address.
    pub prefix: u8,
    /// Kernel timeout in seconds, at least 1 (0 would mean "never expires" to nft).
    pub timeout_secs: u32,
}

impl ElementSpec {
    /// The element for a Block or RateLimit action; `None` for other kinds.
    pub fn from_action(action: &Action) -> Result<Option<ElementSpec>, NftError> {
        let (addr, prefix, ttl, block) = match action {
            Action::Block {
                addr,
                prefix,
                ttl_secs,
            } => (*addr, *prefix, *ttl_secs, true),
            Action::RateLimit { addr, ttl_secs, .. } => (*addr, full_len(addr), *ttl_secs, false),
            _ => return Ok(None),
        };
        if prefix > full_len(&addr) || prefix == 0 {
            return Err(NftError::BadPrefix { addr, prefix });
        }
        let set = match (block, addr.is_ipv6()) {
            (true, false) => SetName::BlockV4,
            (true, true) => SetName::BlockV6,
            (false, false) => SetName::RateLimitV4,
            (false, true) => SetName::RateLimitV6,
        };
        Ok(Some(ElementSpec {
            set,
            addr: network(addr, prefix),
            prefix,
            timeout_secs: u32::try_from(ttl).unwrap_or(u32::MAX).max(1),
        }))
    }

    pub fn single(&self) -> bool {
        self.prefix == full_len(&self.addr)
    }

    /// `203.0.113.5` or `198.51.100.0/24`.
    pub fn key_text(&self) -> String {
        if self.single() {
            self.addr.to_string()
        } else {
            format!("{}/{}", self.addr, self.prefix)
        }
    }

    /// The JSON `elem` value, with the timeout when adding.
    fn json_elem(&self, with_timeout: bool) -> Expression<'static> {
        let val = if self.single() {
            Expression::String(self.addr.to_string().into())
        } else {
            Expression::Named(NamedExpression::Prefix(Prefix {
                addr: Box::new(Expression::String(self.addr.to_string().into())),
                len: u32::from(self.prefix),
            }))
        };
        if !with_timeout {
            return val;
        }
        Expression::Named(NamedExpression::Elem(Elem {
            val: Box::new(val),
            timeout: Some(self.timeout_secs),
            expires: None,
            comment: None,
            counter: None,
        }))
    }
}

pub fn full_len(addr: &IpAddr) -> u8 {
    if addr.is_ipv6() { 128 } else { 32 }
}

/// `addr` with the bits past `prefix` cleared.
pub fn network(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// One transaction adding (`add = true`) or deleting `specs`, grouped per set.
pub fn elements_batch(specs: &[ElementSpec], add: bool) -> Result<Value, NftError> {
    let mut cmds = Vec::new();
    for set in [
        SetName::BlockV4,
        SetName::BlockV6,
        SetName::RateLimitV4,
        SetName::RateLimitV6,
    ] {
        let elem: Vec<Expression<'static>> = specs
            .iter()
            .filter(|s| s.set == set)
            .map(|s| s.json_elem(add))
            .collect();
        if elem.is_empty() {
            continue;
        }
        let obj = NfListObject::Element(Element {
            family: NfFamily::INet,
            table: TABLE.into(),
            name: set.as_str().into(),
            elem: elem.into(),
        });
        cmds.push(if add {
            NfCmd::Add(obj)
        } else {
            NfCmd::Delete(obj)
        });
    }
    let doc = serde_json::json!({ "nftables": cmds });
    Ok(doc)
}

/// Run `nft -j -f -` with `payload` on stdin: one process, one kernel transaction.
pub fn run_json(op: &'static str, payload: &Value) -> Result<String, NftError> {
    let text = serde_json::to_string(payload).map_err(|source| NftError::Json { source })?;
    run(op, &["-j", "-f", "-"], Some(text.as_bytes()))
}

/// Run `nft ARGS`, stdin from `input`; stdout on success, [`NftError::Nft`] with stderr else.
pub fn run(op: &'static str, args: &[&str], input: Option<&[u8]>) -> Result<String, NftError> {
    let spawn = |source| NftError::Spawn {
        program: NFT,
        source,
    };
    let mut child = Command::new(NFT)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        stdin.write_all(input).map_err(spawn)?;
    }
    let out = child.wait_with_output().map_err(spawn)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(NftError::Nft {
            op,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_masked_and_single_addresses_stay_plain() {
        let a = Action::Block {
            addr: "198.51.100.77".parse().unwrap(),
            prefix: 24,
            ttl_secs: 0,
        };
        let s = ElementSpec::from_action(&a).unwrap().unwrap();
        assert_eq!(s.key_text(), "198.51.100.0/24");
        assert_eq!(
            s.timeout_secs, 1,
            "ttl 0 must not become nft's 'no timeout'"
        );
        let r = Action::RateLimit {
            addr: "2001:db8::5".parse().unwrap(),
            per_minute: 10,
            ttl_secs: 60,
        };
        let s = ElementSpec::from_action(&r).unwrap().unwrap();
        assert_eq!(
            (s.set, s.key_text().as_str()),
            (SetName::RateLimitV6, "2001:db8::5")
        );
        let bad = Action::Block {
            addr: "10.0.0.1".parse().unwrap(),
            prefix: 33,
            ttl_secs: 5,
        };
        assert!(ElementSpec::from_action(&bad).is_err());
    }

    #[test]
    fn batch_json_groups_per_set() {
        let specs: Vec<ElementSpec> = ["10.0.0.1", "10.0.0.2", "2001:db8::1"]
            .iter()
            .map(|a| {
                ElementSpec::from_action(&Action::Block {
                    addr: a.parse().unwrap(),
                    prefix: if a.contains(':') { 128 } else { 32 },
                    ttl_secs: 30,
                })
                .unwrap()
                .unwrap()
            })
            .collect();
        let v = elements_batch(&specs, true).unwrap();
        let cmds = v["nftables"].as_array().unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0]["add"]["element"]["name"], "block_v4");
        assert_eq!(cmds[0]["add"]["element"]["elem"][1]["elem"]["timeout"], 30);
        assert_eq!(
            cmds[0]["add"]["element"]["elem"][1]["elem"]["val"],
            "10.0.0.2"
        );
    }
}
