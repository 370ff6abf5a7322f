//! Many outbound SSH connections in a short time from one parent (a worm, or a script spraying
//! stolen keys across the network). ATT&CK T1021.004. Configuration management and parallel-ssh
//! tools that do this by design are left alone.

use std::net::IpAddr;

use super::tuning::SshOutboundBurstConfig;
use super::window::{Keyed, secs};
use super::{Detector, evidence};
use crate::event::{Event, EventKind};
use crate::finding::{Finding, Severity};
use crate::proctable::ProcessTable;
use crate::rules::rule::process_entity;

const FLEET_TOOLS: &[&str] = &[
    "ansible",
    "ansible-playbook",
    "ansible-playboo",
    "salt-ssh",
    "pssh",
    "parallel-ssh",
    "clush",
    "pdsh",
    "mussh",
    "fabric",
    "fab",
    "nagios",
    "icinga2",
    "check_by_ssh",
    "rundeck",
    "gitlab-runner",
    "jenkins",
];

pub struct SshOutboundBurst {
    by_parent: Keyed<u32, (IpAddr, serde_json::Value)>,
    cfg: SshOutboundBurstConfig,
}

impl SshOutboundBurst {
    pub fn new(cfg: SshOutboundBurstConfig) -> Self {
        Self {
            by_parent: Keyed::new(secs(cfg.window_secs as i64), 10_000),
            cfg,
        }
    }
}

impl Default for SshOutboundBurst {
    fn default() -> Self {
        Self::new(SshOutboundBurstConfig::default())
    }
}

impl Detector for SshOutboundBurst {
    fn id(&self) -> &'static str {
        "ssh_outbound_burst"
    }

    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>) {
        let EventKind::TcpConnect(c) = &ev.kind else {
            return;
        };
        if c.dport != 22 || c.daddr.is_loopback() {
            return;
        }
        let Some(pid) = c.pid else {
            return;
        };
        if FLEET_TOOLS.contains(&c.comm.as_str())
            || procs.ancestors(pid).any(|a| {
                FLEET_TOOLS.contains(&a.exe_name()) || FLEET_TOOLS.contains(&a.comm.as_str())
            })
        {
            return;
        }
        // One ssh process per host: the parent (the script) is the actor.
        let key = procs
            .get(pid)
            .map_or(pid, |p| if p.ppid > 1 { p.ppid } else { pid });
        let window = self.by_parent.window();
        let r = self.by_parent.entry(&key, ev.ts);
        r.push(ev.ts, (c.daddr, evidence(ev)), window, 256);
        let mut dests: Vec<IpAddr> = r.iter().map(|(d, _)| *d).collect();
        dests.sort_unstable();
        dests.dedup();
        if dests.len() < self.cfg.threshold || r.recently_fired(window) {
            return;
        }
        r.last_fired = Some(r.last_seen);
        let all: Vec<_> = r.iter().map(|(_, v)| v.clone()).collect();
        let evidence = all[all.len().saturating_sub(10)..].to_vec();
        r.clear();
        let actor = procs
            .get(key)
            .map_or_else(|| c.comm.clone(), |p| p.exe_name().to_owned());
        let entity_ev = procs.get(key).map_or(ev.clone(), |_| {
            let mut e = ev.clone();
            if let EventKind::TcpConnect(tc) = &mut e.kind {
                tc.pid = Some(key);
            }
            e
        });
        out.push(Finding {
            ts: ev.ts,
            detector: self.id().into(),
            technique: "T1021.004".into(),
            severity: Severity::High,
            entity: process_entity(&entity_ev, procs),
            summary: format!(
                "{actor} (pid {key}) opened SSH connections to {} hosts within {}s ({}, ...)",
                dests.len(),
                self.cfg.window_secs,
                dests
                    .iter()
                    .take(5)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence,
            author: None,
            stage: None,
        });
    }
}
