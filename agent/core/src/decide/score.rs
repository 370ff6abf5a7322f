//! Scoring: an incident in, a confidence in [0,1] and its reasons out.
//!
//! [`Scorer`] is the seam the local model ([`crate::model::ModelScorer`]) plugs into.
//! [`EvidenceScorer`] is the documented fallback used only when no model file can be loaded:
//! a transparent sum of a per-detector prior (an estimate of that detector's precision), a
//! bonus for independent detectors agreeing, and a bonus for a sustained incident.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::finding::{Entity, Severity};

/// One finding of an incident, as the scorer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    pub detector: String,
    pub technique: String,
    pub severity: Severity,
}

/// What the decision layer knows about an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: i64,
    pub entity: Entity,
    pub findings: Vec<FindingView>,
    /// systemd unit of the process, when the entity is a process and the unit is known.
    pub unit: Option<String>,
    /// The local user involved, when known.
    pub user: Option<String>,
    /// The uid of the process, when the entity is a process and it is known.
    #[serde(default)]
    pub uid: Option<u32>,
    /// What the model's features need beyond the findings: ancestry, user class, rarity
    /// against the host's baseline, local history, closeness to the allowlist. Built by the
    /// edge (`respond::stage`) or the corpus builder; empty means "nothing known".
    #[serde(default)]
    pub context: crate::model::IncidentContext,
    /// Remote addresses of the outgoing connections named in the findings' evidence
    /// (`tcp_connect` events): a process incident's command-and-control peers.
    #[serde(default)]
    pub peers: Vec<IpAddr>,
}

impl IncidentView {
    /// The incident has findings and every one comes from a detector in `detectors`.
    pub fn only_from(&self, detectors: &[&str]) -> bool {
        !self.findings.is_empty()
            && self
                .findings
                .iter()
                .all(|f| detectors.contains(&f.detector.as_str()))
    }
}

/// One named feature value of a scored incident (kept with the decision, so operator
/// feedback can retrain on exactly what the model saw).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureValue {
    pub name: String,
    pub value: f64,
}

/// At most this many peers are taken from one incident's evidence.
pub const MAX_PEERS: usize = 4;

/// The destinations of the `tcp_connect` events in `evidence` (JSONL contract objects),
/// deduplicated, at most [`MAX_PEERS`].
pub fn connect_peers<'a>(evidence: impl IntoIterator<Item = &'a serde_json::Value>) -> Vec<IpAddr> {
    let mut peers: Vec<IpAddr> = Vec::new();
    for ev in evidence {
        if ev.get("kind").and_then(|k| k.as_str()) != Some("tcp_connect") {
            continue;
        }
        let Some(addr) = ev
            .get("daddr")
            .and_then(|a| a.as_str())
            .and_then(|a| a.parse::<IpAddr>().ok())
        else {
            continue;
        };
        let addr = crate::event::normalize_ip(addr);
        if !peers.contains(&addr) && peers.len() < MAX_PEERS {
            peers.push(addr);
        }
    }
    peers
}

/// One term of a score, for the decision record and `innerwarden incidents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub feature: String,
    pub contribution: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// In [0,1].
    pub confidence: f64,
    pub reasons: Vec<Reason>,
    /// Which scorer produced it (`evidence-v1`, or a model file's version).
    pub scorer: String,
    /// The full feature vector the scorer saw (empty for the evidence scorer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<FeatureValue>,
}

pub trait Scorer: Send {
    fn score(&self, incident: &IncidentView) -> Score;
}

/// The interim, rule-of-thumb scorer (documented fallback when no model file is present).
#[derive(Debug, Default, Clone)]
pub struct EvidenceScorer;

/// Prior confidence that a finding of this detector is a true attack.
pub fn detector_prior(detector: &str, severity: Severity) -> f64 {
    match detector {
        // Five failures in a minute from one source: usually a bot, sometimes a lost password.
        "ssh_bruteforce" => 0.75,
        // Real installers do pipe curl into sh; the command alone is not proof.
        "pipe_to_shell" => 0.70,
        // Build trees and installers run from /tmp; memfd execution (critical/high) rarely is.
        // Downloaded to a temp dir and run at once (a dropper); installers that do this
        // (rustup-init) need an allowlist entry in enforce mode.
        "exec_from_tmp" if severity >= Severity::Critical => 0.90,
        "exec_from_tmp" if severity >= Severity::High => 0.80,
        "exec_from_tmp" => 0.45,
        // A shell-shaped command line whose process then connected out, or a socket dup'ed
        // onto an interpreter's stdio: very rarely anything else.
        "reverse_shell" if severity >= Severity::Critical => 0.90,
        _ => match severity {
            Severity::Low => 0.20,
            Severity::Medium => 0.45,
            Severity::High => 0.70,
            Severity::Critical => 0.85,
        },
    }
}

impl Scorer for EvidenceScorer {
    fn score(&self, incident: &IncidentView) -> Score {
        let mut reasons = Vec::new();
        let best = incident
            .findings
            .iter()
            .map(|f| (detector_prior(&f.detector, f.severity), f))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let Some((prior, top)) = best else {
            return Score {
                confidence: 0.0,
                reasons,
                scorer: "evidence-v1".into(),
                features: Vec::new(),
            };
        };
        reasons.push(Reason {
            feature: format!("prior:{}", top.detector),
            contribution: prior,
        });
        let mut detectors: Vec<&str> = incident
            .findings
            .iter()
            .map(|f| f.detector.as_str())
            .collect();
        detectors.sort_unstable();
        detectors.dedup();
        if detectors.len() > 1 {
            let bonus = 0.10 * (detectors.len() - 1).min(2) as f64;
            reasons.push(Reason {
                feature: format!("independent_detectors:{}", detectors.len()),
                contribution: bonus,
            });
        }
        if incident.findings.len() > 1 {
            reasons.push(Reason {
                feature: format!("sustained:{}_findings", incident.findings.len()),
                contribution: 0.10,
            });
        }
        let confidence = reasons
            .iter()
            .map(|r| r.contribution)
            .sum::<f64>()
            .clamp(0.0, 1.0);
        Score {
            confidence,
            reasons,
            scorer: "evidence-v1".into(),
            features: Vec::new(),
        }
    }
}
