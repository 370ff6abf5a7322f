//! Guards: what the agent must never act against, and the action budget.

use std::collections::VecDeque;
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::action::Action;
use super::config::{BudgetConfig, ResponseConfig};
use super::score::IncidentView;

/// Facts about the host the edge gathers before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostContext {
    /// Peers of currently established SSH sessions of administrators.
    pub admin_sources: Vec<IpAddr>,
    /// The agent's own pid.
    pub agent_pid: u32,
    /// The agent's own systemd unit.
    pub agent_unit: Option<String>,
}

/// Why a guard removed an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "guard", rename_all = "snake_case")]
pub enum GuardHit {
    AllowlistedSource {
        cidr: String,
    },
    ManagementNetwork {
        cidr: String,
    },
    AdminSession {
        addr: IpAddr,
    },
    AllowlistedUser {
        user: String,
    },
    AllowlistedUnit {
        unit: String,
    },
    AllowlistedExecutable {
        exe: String,
    },
    ProtectedProcess {
        pid: u32,
        why: String,
    },
    ProtectedUnit {
        unit: String,
    },
    /// A fileless exec deny for root (uid 0) would hit the host's own tooling.
    ProtectedUser {
        uid: u32,
    },
    /// The incident is the agent being stopped through the service manager. The stop goes
    /// through systemd and completes whatever happens to the client, so killing `systemctl`
    /// or cutting the unit it ran in cannot keep the agent up: it would only hit whoever
    /// stopped it (an admin's session, a deployment job). Recorded and escalated instead.
    AgentStopRequest,
}

/// Detectors whose findings mean "the service manager was asked to stop the agent".
pub const AGENT_STOP_DETECTORS: &[&str] = &["agent_service_stopped"];

/// The first guard that forbids `action`, if any.
pub fn check(
    action: &Action,
    incident: &IncidentView,
    cfg: &ResponseConfig,
    ctx: &HostContext,
) -> Option<GuardHit> {
    let allow = &cfg.allow;
    if incident.only_from(AGENT_STOP_DETECTORS) {
        return Some(GuardHit::AgentStopRequest);
    }
    if let Some(user) = &incident.user
        && allow.users.contains(user)
    {
        return Some(GuardHit::AllowlistedUser { user: user.clone() });
    }
    match action {
        Action::Block { addr, .. } | Action::RateLimit { addr, .. } => {
            if let Some(c) = allow.cidrs.iter().find(|c| c.contains(*addr)) {
                return Some(GuardHit::AllowlistedSource {
                    cidr: c.to_string(),
                });
            }
            if let Some(c) = allow.management_cidrs.iter().find(|c| c.contains(*addr)) {
                return Some(GuardHit::ManagementNetwork {
                    cidr: c.to_string(),
                });
            }
            let addr = crate::event::normalize_ip(*addr);
            if ctx
                .admin_sources
                .iter()
                .any(|a| crate::event::normalize_ip(*a) == addr)
            {
                return Some(GuardHit::AdminSession { addr });
            }
        }
        Action::Kill { pid, exe, .. } => {
            if *pid <= 1 {
                return Some(GuardHit::ProtectedProcess {
                    pid: *pid,
                    why: "init".into(),
                });
            }
            if *pid == ctx.agent_pid {
                return Some(GuardHit::ProtectedProcess {
                    pid: *pid,
                    why: "the agent itself".into(),
                });
            }
            if allow.executables.contains(exe) {
                return Some(GuardHit::AllowlistedExecutable { exe: exe.clone() });
            }
        }
        Action::DenyExec { path, .. } => {
            if allow.executables.contains(path) {
                return Some(GuardHit::AllowlistedExecutable { exe: path.clone() });
            }
        }
        Action::DenyFileless { uid, .. } => {
            // The planner never names root; a hand-made action must not either (runc and
            // other root tools exec memfd copies of themselves).
            if *uid == 0 {
                return Some(GuardHit::ProtectedUser { uid: *uid });
            }
        }
        Action::Quarantine { unit, .. } | Action::Throttle { unit, .. } => {
            if allow.units.contains(unit) {
                return Some(GuardHit::AllowlistedUnit { unit: unit.clone() });
            }
            let critical = matches!(
                unit.as_str(),
                "init.scope"
                    | "dbus.service"
                    | "systemd-journald.service"
                    | "sshd.service"
                    | "ssh.service"
            );
            if critical || ctx.agent_unit.as_deref() == Some(unit.as_str()) {
                return Some(GuardHit::ProtectedUnit { unit: unit.clone() });
            }
        }
    }
    if let Some(unit) = &incident.unit
        && allow.units.contains(unit)
    {
        return Some(GuardHit::AllowlistedUnit { unit: unit.clone() });
    }
    None
}

/// A sliding-window count of enforced actions with a circuit breaker.
#[derive(Debug, Default, Clone)]
pub struct Budget {
    spent: VecDeque<DateTime<Utc>>,
    open_until: Option<DateTime<Utc>>,
}

impl Budget {
    /// When the breaker is open at `now`, until when.
    pub fn tripped_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.open_until.filter(|t| *t > now)
    }

    /// Try to spend one action. False means the budget is exhausted: the breaker is now open.
    pub fn spend(&mut self, now: DateTime<Utc>, cfg: &BudgetConfig) -> bool {
        let window = TimeDelta::seconds(i64::try_from(cfg.window_secs).unwrap_or(i64::MAX / 2));
        while self.spent.front().is_some_and(|t| now - *t >= window) {
            self.spent.pop_front();
        }
        if self.spent.len() >= cfg.max_actions as usize {
            let cooldown = TimeDelta::seconds(i64::try_from(cfg.cooldown_secs).unwrap_or(3600));
            self.open_until = Some(now + cooldown);
            self.spent.clear();
            return false;
        }
        self.spent.push_back(now);
        true
    }
}
