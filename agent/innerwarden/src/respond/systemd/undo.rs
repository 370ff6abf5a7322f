//! The pure part of the systemd responder: the serializable [`Undo`] the lead stores in the
//! action ledger, the `IPAddressAllow`/`IPAddressDeny` entry type, and unit/quota helpers.

use serde::{Deserialize, Serialize};

/// One `IPAddressAllow`/`IPAddressDeny` entry as systemd exposes it (`(iayu)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpPrefix {
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub family: i32,
    pub addr: Vec<u8>,
    pub prefix_len: u32,
}

impl IpPrefix {
    /// `any` = 0.0.0.0/0 and ::/0.
    pub fn any() -> Vec<IpPrefix> {
        vec![
            IpPrefix {
                family: libc::AF_INET,
                addr: vec![0; 4],
                prefix_len: 0,
            },
            IpPrefix {
                family: libc::AF_INET6,
                addr: vec![0; 16],
                prefix_len: 0,
            },
        ]
    }
}

pub(super) type Wire = Vec<(i32, Vec<u8>, u32)>;

pub(super) fn to_wire(v: &[IpPrefix]) -> Wire {
    v.iter()
        .map(|p| (p.family, p.addr.clone(), p.prefix_len))
        .collect()
}

pub(super) fn from_wire(v: Wire) -> Vec<IpPrefix> {
    v.into_iter()
        .map(|(family, addr, prefix_len)| IpPrefix {
            family,
            addr,
            prefix_len,
        })
        .collect()
}

/// How to undo one systemd action, with the values it replaced. Store it with the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
pub enum Undo {
    Thaw {
        unit: String,
    },
    RestoreNetwork {
        unit: String,
        ip_address_allow: Vec<IpPrefix>,
        ip_address_deny: Vec<IpPrefix>,
    },
    Start {
        unit: String,
    },
    RestoreLimits {
        unit: String,
        /// `u64::MAX` = no quota.
        cpu_quota_per_sec_usec: u64,
        /// `u64::MAX` = infinity.
        tasks_max: u64,
    },
}

impl Undo {
    pub fn unit(&self) -> &str {
        match self {
            Undo::Thaw { unit }
            | Undo::RestoreNetwork { unit, .. }
            | Undo::Start { unit }
            | Undo::RestoreLimits { unit, .. } => unit,
        }
    }

    /// The `undo={json}` suffix written into [`Applied::detail`].
    pub fn to_detail_suffix(&self) -> String {
        // Serializing plain data with derived impls cannot fail.
        format!("undo={}", serde_json::to_string(self).unwrap_or_default())
    }

    /// Recover the undo from an [`Applied::detail`] written by this responder.
    pub fn from_detail(detail: &str) -> Option<Undo> {
        let json = &detail[detail.rfind("undo=")? + "undo=".len()..];
        serde_json::from_str(json).ok()
    }
}

/// The D-Bus interface carrying a unit's cgroup properties, from its suffix.
pub fn cgroup_interface(unit: &str) -> Option<&'static str> {
    Some(match unit.rsplit_once('.')?.1 {
        "service" => "org.freedesktop.systemd1.Service",
        "scope" => "org.freedesktop.systemd1.Scope",
        "slice" => "org.freedesktop.systemd1.Slice",
        "socket" => "org.freedesktop.systemd1.Socket",
        "mount" => "org.freedesktop.systemd1.Mount",
        "swap" => "org.freedesktop.systemd1.Swap",
        _ => return None,
    })
}

/// `cpu_percent` of one CPU as `CPUQuotaPerSecUSec` (1 % = 10 ms per second, at least 1 ms).
pub fn cpu_quota_usec(cpu_percent: u32) -> u64 {
    (u64::from(cpu_percent) * 10_000).max(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_round_trips_through_detail() {
        let u = Undo::RestoreNetwork {
            unit: "web.service".into(),
            ip_address_allow: vec![IpPrefix {
                family: 2,
                addr: vec![127, 0, 0, 1],
                prefix_len: 32,
            }],
            ip_address_deny: vec![],
        };
        let detail = format!("cut the network of web.service; {}", u.to_detail_suffix());
        assert_eq!(Undo::from_detail(&detail), Some(u));
        assert_eq!(Undo::from_detail("no undo here"), None);
    }

    #[test]
    fn interfaces_and_quota() {
        assert_eq!(
            cgroup_interface("a.service"),
            Some("org.freedesktop.systemd1.Service")
        );
        assert_eq!(
            cgroup_interface("session-1.scope"),
            Some("org.freedesktop.systemd1.Scope")
        );
        assert_eq!(cgroup_interface("multi-user.target"), None);
        assert_eq!(cpu_quota_usec(20), 200_000);
        assert_eq!(cpu_quota_usec(0), 1_000);
        assert_eq!(IpPrefix::any().len(), 2);
    }
}
