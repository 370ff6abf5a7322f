//! Decide: incident + score → a [`Decision`] with planned actions, each marked dry-run or
//! enforced. This is the one place dry-run is decided.
//!
//! Tiers: confidence ≥ `act_threshold` acts (block, kill, quarantine); between the thresholds a
//! soft action (rate-limit, throttle) plus an escalation; below, audit only. Guards then remove
//! actions that would touch what must never be touched, and a budget with a circuit breaker
//! turns everything into dry-run when the agent acts too often.
//!
//! # Layout
//! - [`action`]: the typed actions with TTLs and reversals.
//! - [`score`]: the [`score::Scorer`] seam and the interim evidence scorer.
//! - [`guard`]: allowlists, protected sources, the budget and circuit breaker.
//! - [`config`]: the `[response]` configuration section.

pub mod action;
pub mod config;
pub mod guard;
pub mod score;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::finding::Entity;
use action::{Action, ActionKind, ExecImage, QuarantineMode};
use config::{Mode, ResponseConfig};
use guard::{Budget, GuardHit, HostContext};
use score::{IncidentView, Reason, Score};

/// Which band the confidence fell in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Act,
    Soft,
    AuditOnly,
}

/// One planned action and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    pub action: Action,
    /// True: recorded exactly as if enforced, nothing executed. The only field in which a
    /// dry-run record differs from an enforced one; why it is dry-run follows from the
    /// configuration (`response.mode`, `response.enforce`) and the breaker's own record.
    pub dry_run: bool,
    pub reversal: String,
}

/// The outcome of deciding on one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub ts: DateTime<Utc>,
    pub incident_id: i64,
    pub confidence: f64,
    pub tier: Tier,
    pub scorer: String,
    /// The top contributing features (for a model score: log-odds contributions, largest
    /// magnitude first).
    pub reasons: Vec<Reason>,
    /// Every feature the scorer saw (empty for the evidence scorer); feedback retrains on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<score::FeatureValue>,
    pub actions: Vec<Planned>,
    /// Actions the guards removed, with the guard that removed them.
    pub suppressed: Vec<(Action, GuardHit)>,
    /// A human should look (soft tier, or an act-tier action suppressed by a guard).
    pub escalate: bool,
    /// This decision tripped the circuit breaker.
    pub breaker_tripped: bool,
}

/// Tier for a confidence under the configured thresholds.
pub fn tier(confidence: f64, cfg: &ResponseConfig) -> Tier {
    if confidence >= cfg.act_threshold {
        Tier::Act
    } else if confidence >= cfg.soft_threshold {
        Tier::Soft
    } else {
        Tier::AuditOnly
    }
}

/// The actions a tier calls for on this incident's entity, before guards.
pub fn plan(incident: &IncidentView, tier: Tier, cfg: &ResponseConfig) -> Vec<Action> {
    let t = &cfg.ttl;
    match (tier, &incident.entity) {
        (Tier::AuditOnly, _) => Vec::new(),
        (Tier::Act, Entity::Host { host }) => host
            .ip()
            .map(|addr| Action::Block {
                addr,
                prefix: if addr.is_ipv4() { 32 } else { 128 },
                ttl_secs: t.block_secs,
            })
            .into_iter()
            .collect(),
        (Tier::Soft, Entity::Host { host }) => host
            .ip()
            .map(|addr| Action::RateLimit {
                addr,
                per_minute: cfg.rate_limit_per_minute,
                ttl_secs: t.rate_limit_secs,
            })
            .into_iter()
            .collect(),
        (Tier::Act, Entity::Process { pid, start_ns, exe }) => {
            let mut v = vec![Action::Kill {
                pid: *pid,
                start_ns: *start_ns,
                exe: exe.clone(),
                tree: true,
            }];
            if let Some(unit) = service_unit(incident) {
                v.push(Action::Quarantine {
                    unit,
                    mode: QuarantineMode::CutNetwork,
                    ttl_secs: t.quarantine_secs,
                });
            }
            match ExecImage::of(exe) {
                ExecImage::OnDisk(path)
                    if !path.starts_with("/usr/") && !path.starts_with("/bin/") =>
                {
                    v.push(Action::DenyExec {
                        path: path.to_owned(),
                        ttl_secs: t.deny_exec_secs,
                    });
                }
                // Never root: a host-wide fileless deny for root would also stop container
                // runtimes that exec a memfd copy of themselves (runc); the kill and the
                // quarantine stand alone there.
                ExecImage::Fileless => {
                    if let Some(uid) = incident.uid.filter(|&u| u != 0) {
                        v.push(Action::DenyFileless {
                            uid,
                            ttl_secs: t.deny_exec_secs,
                        });
                    }
                }
                _ => {}
            }
            // The process's command-and-control peers (a reverse shell's listener).
            v.extend(incident.peers.iter().map(|&addr| Action::Block {
                addr,
                prefix: if addr.is_ipv4() { 32 } else { 128 },
                ttl_secs: t.block_secs,
            }));
            v
        }
        (Tier::Soft, Entity::Process { .. }) => service_unit(incident)
            .map(|unit| Action::Throttle {
                unit,
                cpu_percent: cfg.throttle_cpu_percent,
                ttl_secs: t.throttle_secs,
            })
            .into_iter()
            .collect(),
        (_, Entity::User { .. }) => Vec::new(),
    }
}

/// A service unit worth quarantining (not a login session scope or the init scope).
fn service_unit(incident: &IncidentView) -> Option<String> {
    incident.unit.clone().filter(|u| u.ends_with(".service"))
}

/// Detectors whose rules are third-party (Sigma): their level is the rule author's, not a
/// calibrated confidence on this host, so on their own they never reach the act tier.
pub const THIRD_PARTY_DETECTORS: &[&str] = &["sigma"];

/// The tier an incident gets: [`tier`] of its confidence, capped at [`Tier::Soft`] when every
/// finding comes from a third-party rule (a Sigma hit is escalated and soft-actioned, and acts
/// only once one of our own detectors or correlation rules agrees).
pub fn incident_tier(confidence: f64, incident: &IncidentView, cfg: &ResponseConfig) -> Tier {
    let t = tier(confidence, cfg);
    if t == Tier::Act && incident.only_from(THIRD_PARTY_DETECTORS) {
        Tier::Soft
    } else {
        t
    }
}

/// Decide on one scored incident. `budget` is the agent's running action budget.
pub fn decide(
    incident: &IncidentView,
    score: Score,
    cfg: &ResponseConfig,
    ctx: &HostContext,
    budget: &mut Budget,
    now: DateTime<Utc>,
) -> Decision {
    let tier = incident_tier(score.confidence, incident, cfg);
    let mut actions = Vec::new();
    let mut suppressed = Vec::new();
    let mut breaker_tripped = false;
    for action in plan(incident, tier, cfg) {
        if let Some(hit) = guard::check(&action, incident, cfg, ctx) {
            suppressed.push((action, hit));
            continue;
        }
        let dry_run = if cfg.mode == Mode::DryRun
            || !cfg.enforce.contains(&action.kind())
            || budget.tripped_until(now).is_some()
        {
            true
        } else if budget.spend(now, &cfg.budget) {
            false
        } else {
            breaker_tripped = true;
            true
        };
        actions.push(Planned {
            reversal: action.reversal(),
            dry_run,
            action,
        });
    }
    let escalate =
        tier == Tier::Soft || (tier == Tier::Act && !suppressed.is_empty()) || breaker_tripped;
    Decision {
        ts: now,
        incident_id: incident.id,
        confidence: score.confidence,
        tier,
        scorer: score.scorer,
        reasons: score.reasons,
        features: score.features,
        actions,
        suppressed,
        escalate,
        breaker_tripped,
    }
}

/// Kinds a decision would enforce under `cfg` right now (for status output).
pub fn enforced_kinds(cfg: &ResponseConfig) -> Vec<ActionKind> {
    if cfg.mode == Mode::DryRun {
        Vec::new()
    } else {
        cfg.enforce.clone()
    }
}

/// The decide stage's state: configuration, scorer, budget, and the tier last decided per
/// incident (an incident is decided again only when new findings raise its tier).
pub struct Decider {
    cfg: ResponseConfig,
    scorer: Box<dyn score::Scorer>,
    budget: Budget,
    last_tier: std::collections::HashMap<i64, Tier>,
}

/// At most this many incidents' last tiers are remembered.
const MAX_REMEMBERED: usize = 100_000;

impl Decider {
    pub fn new(cfg: ResponseConfig, scorer: Box<dyn score::Scorer>) -> Self {
        Self {
            cfg,
            scorer,
            budget: Budget::default(),
            last_tier: std::collections::HashMap::new(),
        }
    }

    pub fn config(&self) -> &ResponseConfig {
        &self.cfg
    }

    /// Swap the scorer (a retrained model). Budget and decided tiers are kept.
    pub fn set_scorer(&mut self, scorer: Box<dyn score::Scorer>) {
        self.scorer = scorer;
    }

    /// Score without deciding (for tests, benches and `model` tooling).
    pub fn score(&self, incident: &IncidentView) -> Score {
        self.scorer.score(incident)
    }

    /// Replace the configuration (SIGHUP reload); the budget and decided tiers are kept.
    pub fn set_config(&mut self, cfg: ResponseConfig) {
        self.cfg = cfg;
    }

    /// Switch the global mode (the D-Bus SetMode method).
    pub fn set_mode(&mut self, mode: Mode) {
        self.cfg.mode = mode;
    }

    /// Decide on `incident` unless an earlier decision on it already had this tier or a
    /// higher one. Returns `None` when there is nothing new to decide.
    pub fn on_incident(
        &mut self,
        incident: &IncidentView,
        ctx: &HostContext,
        now: DateTime<Utc>,
    ) -> Option<Decision> {
        let score = self.scorer.score(incident);
        let t = incident_tier(score.confidence, incident, &self.cfg);
        let rank = |t: Tier| match t {
            Tier::AuditOnly => 0,
            Tier::Soft => 1,
            Tier::Act => 2,
        };
        if let Some(prev) = self.last_tier.get(&incident.id)
            && rank(*prev) >= rank(t)
        {
            return None;
        }
        if self.last_tier.len() >= MAX_REMEMBERED {
            self.last_tier.clear();
        }
        self.last_tier.insert(incident.id, t);
        Some(decide(
            incident,
            score,
            &self.cfg,
            ctx,
            &mut self.budget,
            now,
        ))
    }
}
