//! Named features of an incident. The model file lists the names it was trained on; a model
//! whose names differ from [`FEATURE_NAMES`] is refused at load, so a feature can never be
//! silently shifted onto another's weight.
//!
//! | name | value |
//! |---|---|
//! | `prior_logit` | log-odds of the strongest finding's detector/rule prior ([`crate::decide::score::detector_prior`]) |
//! | `severity` | highest finding severity, low 0 … critical 1 |
//! | `distinct_detectors` | distinct detectors that fired, minus one, capped at 3 |
//! | `findings_log` | ln(number of findings) |
//! | `corr_stage` | highest correlation stage reached, capped at 5 |
//! | `tactic.<name>` | 1 when a finding's technique belongs to that ATT&CK tactic |
//! | `ancestry.web_server`, `.database`, `.interactive_tty`, `.system_unit`, `.container` | process ancestry flags |
//! | `user.root`, `user.system`, `user.human` | user class one-hot (all 0: unknown) |
//! | `new.parent_child`, `.binary`, `.destination`, `.listen_port`, `.login_source` | never seen in the host's baseline |
//! | `known.login_source` | the login source of an authentication finding has logged in here before |
//! | `baseline.learning` | the baseline is still learning (rarity flags are then 0) |
//! | `history.incidents_log` | ln(1 + earlier incidents on the same entity) |
//! | `history.benign_feedback`, `.malicious_feedback` | operator verdicts on the same entity, capped at 3 |
//! | `allowlist.near` | next to an allowlist entry, not in it |

use crate::decide::score::{FeatureValue, IncidentView, detector_prior};
use crate::finding::Severity;

use super::context::{Tactic, UserClass, tactics};

/// Every feature, in model order.
pub const FEATURE_NAMES: [&str; 36] = [
    "prior_logit",
    "severity",
    "distinct_detectors",
    "findings_log",
    "corr_stage",
    "tactic.initial_access",
    "tactic.execution",
    "tactic.persistence",
    "tactic.privilege_escalation",
    "tactic.defense_evasion",
    "tactic.credential_access",
    "tactic.discovery",
    "tactic.lateral_movement",
    "tactic.collection",
    "tactic.command_and_control",
    "tactic.exfiltration",
    "tactic.impact",
    "ancestry.web_server",
    "ancestry.database",
    "ancestry.interactive_tty",
    "ancestry.system_unit",
    "ancestry.container",
    "user.root",
    "user.system",
    "user.human",
    "new.parent_child",
    "new.binary",
    "new.destination",
    "new.listen_port",
    "new.login_source",
    "baseline.learning",
    "history.incidents_log",
    "history.benign_feedback",
    "history.malicious_feedback",
    "allowlist.near",
    "known.login_source",
];

/// Number of features.
pub const N_FEATURES: usize = FEATURE_NAMES.len();

const TACTIC_BASE: usize = 5;

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The feature vector of an incident, in [`FEATURE_NAMES`] order.
pub fn extract(view: &IncidentView) -> [f64; N_FEATURES] {
    let mut x = [0.0; N_FEATURES];
    let prior = view
        .findings
        .iter()
        .map(|f| detector_prior(&f.detector, f.severity))
        .fold(0.0_f64, f64::max);
    let p = prior.clamp(0.01, 0.99);
    x[0] = if view.findings.is_empty() {
        0.0
    } else {
        (p / (1.0 - p)).ln()
    };
    x[1] = view
        .findings
        .iter()
        .map(|f| match f.severity {
            Severity::Low => 0.0,
            Severity::Medium => 1.0 / 3.0,
            Severity::High => 2.0 / 3.0,
            Severity::Critical => 1.0,
        })
        .fold(0.0, f64::max);
    let mut detectors: Vec<&str> = view.findings.iter().map(|f| f.detector.as_str()).collect();
    detectors.sort_unstable();
    detectors.dedup();
    x[2] = detectors.len().saturating_sub(1).min(3) as f64;
    x[3] = (view.findings.len().max(1) as f64).ln();
    let c = &view.context;
    x[4] = f64::from(c.max_stage.min(5));
    for f in &view.findings {
        for t in tactics(&f.technique) {
            if let Some(i) = Tactic::ALL.iter().position(|a| a == t) {
                x[TACTIC_BASE + i] = 1.0;
            }
        }
    }
    let a = &c.ancestry;
    x[17] = flag(a.web_server);
    x[18] = flag(a.database);
    x[19] = flag(a.interactive_tty);
    x[20] = flag(a.system_unit);
    x[21] = flag(a.container);
    x[22] = flag(c.user_class == Some(UserClass::Root));
    x[23] = flag(c.user_class == Some(UserClass::System));
    x[24] = flag(c.user_class == Some(UserClass::Human));
    let r = &c.rarity;
    let rare = |b: bool| flag(b && !c.learning);
    x[25] = rare(r.parent_child);
    x[26] = rare(r.binary);
    x[27] = rare(r.destination);
    x[28] = rare(r.listen_port);
    x[29] = rare(r.login_source);
    x[30] = flag(c.learning);
    x[31] = f64::from(c.history.prior_incidents).ln_1p();
    x[32] = f64::from(c.history.benign_feedback.min(3));
    x[33] = f64::from(c.history.malicious_feedback.min(3));
    x[34] = flag(c.allowlist_near);
    x[35] = rare(r.known_login_source);
    x
}

/// The vector as named values (for the decision record).
pub fn named(x: &[f64]) -> Vec<FeatureValue> {
    FEATURE_NAMES
        .iter()
        .zip(x)
        .map(|(n, v)| FeatureValue {
            name: (*n).to_owned(),
            value: *v,
        })
        .collect()
}

/// Back from named values to a vector; names not known are an error naming them, missing
/// ones are 0 (a decision stored before a feature existed).
pub fn from_named(values: &[FeatureValue]) -> Result<[f64; N_FEATURES], String> {
    let mut x = [0.0; N_FEATURES];
    for v in values {
        let i = FEATURE_NAMES
            .iter()
            .position(|n| *n == v.name)
            .ok_or_else(|| format!("unknown feature {:?}", v.name))?;
        if !v.value.is_finite() {
            return Err(format!("feature {:?} is not finite", v.name));
        }
        x[i] = v.value;
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::score::FindingView;
    use crate::finding::Entity;
    use crate::model::context::IncidentContext;

    fn view(detectors: &[(&str, &str)], ctx: IncidentContext) -> IncidentView {
        IncidentView {
            id: 1,
            entity: Entity::User {
                name: "root".into(),
            },
            findings: detectors
                .iter()
                .map(|(d, t)| FindingView {
                    detector: (*d).into(),
                    technique: (*t).into(),
                    severity: Severity::High,
                })
                .collect(),
            unit: None,
            user: None,
            uid: None,
            context: ctx,
            peers: Vec::new(),
        }
    }

    #[test]
    fn names_are_unique_and_tactics_line_up() {
        let mut n = FEATURE_NAMES.to_vec();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), N_FEATURES);
        for (i, t) in Tactic::ALL.iter().enumerate() {
            assert_eq!(
                FEATURE_NAMES[TACTIC_BASE + i],
                format!("tactic.{}", t.as_str())
            );
        }
        assert_eq!(FEATURE_NAMES[17], "ancestry.web_server");
        assert_eq!(FEATURE_NAMES[34], "allowlist.near");
    }

    #[test]
    fn two_detectors_and_their_tactics() {
        let x = extract(&view(
            &[
                ("ssh_bruteforce", "T1110.001"),
                ("pipe_to_shell", "T1059.004"),
            ],
            IncidentContext::default(),
        ));
        assert!((x[0] - (0.75f64 / 0.25).ln()).abs() < 1e-12);
        assert_eq!(x[2], 1.0);
        assert_eq!(x[TACTIC_BASE + 1], 1.0, "execution");
        assert_eq!(x[TACTIC_BASE + 5], 1.0, "credential access");
        assert_eq!(x.iter().filter(|v| **v != 0.0).count(), 6);
    }

    #[test]
    fn rarity_is_silent_while_learning() {
        let mut ctx = IncidentContext::default();
        ctx.rarity.binary = true;
        ctx.learning = true;
        let x = extract(&view(&[("exec_from_tmp", "T1059")], ctx.clone()));
        assert_eq!((x[26], x[30]), (0.0, 1.0));
        ctx.learning = false;
        let x = extract(&view(&[("exec_from_tmp", "T1059")], ctx));
        assert_eq!((x[26], x[30]), (1.0, 0.0));
    }

    #[test]
    fn named_round_trips_and_refuses_unknown_names() {
        let x = extract(&view(
            &[("ssh_bruteforce", "T1110")],
            IncidentContext::default(),
        ));
        assert_eq!(from_named(&named(&x)).expect("round trip"), x);
        let bad = vec![FeatureValue {
            name: "bogus".into(),
            value: 1.0,
        }];
        assert!(from_named(&bad).expect_err("unknown").contains("bogus"));
    }
}
