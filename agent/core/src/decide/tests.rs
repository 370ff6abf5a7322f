use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

use super::action::{Action, ActionKind};
use super::config::{Cidr, Mode, ResponseConfig};
use super::guard::{Budget, GuardHit, HostContext};
use super::score::{EvidenceScorer, FindingView, IncidentView, Scorer};
use super::*;
use crate::finding::{Entity, Severity};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("in range")
}

fn brute(host: &str, findings: usize) -> IncidentView {
    IncidentView {
        id: 1,
        entity: Entity::Host {
            host: host.parse().expect("host"),
        },
        findings: (0..findings)
            .map(|_| FindingView {
                detector: "ssh_bruteforce".into(),
                technique: "T1110.001".into(),
                severity: Severity::High,
            })
            .collect(),
        unit: None,
        user: None,
        uid: None,
        context: Default::default(),
        peers: Vec::new(),
    }
}

fn enforcing() -> ResponseConfig {
    ResponseConfig {
        mode: Mode::Enforce,
        enforce: ActionKind::ALL.to_vec(),
        ..ResponseConfig::default()
    }
}

fn run(inc: &IncidentView, cfg: &ResponseConfig, ctx: &HostContext, b: &mut Budget) -> Decision {
    decide(inc, EvidenceScorer.score(inc), cfg, ctx, b, now())
}

#[test]
fn tiers_follow_the_thresholds() {
    let cfg = ResponseConfig::default();
    assert_eq!(tier(0.85, &cfg), Tier::Act);
    assert_eq!(tier(0.84, &cfg), Tier::Soft);
    assert_eq!(tier(0.50, &cfg), Tier::Soft);
    assert_eq!(tier(0.49, &cfg), Tier::AuditOnly);
}

#[test]
fn one_brute_force_window_rate_limits_and_escalates_a_sustained_one_blocks() {
    let cfg = enforcing();
    let ctx = HostContext::default();
    let d = run(&brute("203.0.113.5", 1), &cfg, &ctx, &mut Budget::default());
    assert_eq!(d.tier, Tier::Soft);
    assert!(d.escalate);
    assert!(matches!(d.actions[0].action, Action::RateLimit { .. }));
    let d = run(&brute("203.0.113.5", 2), &cfg, &ctx, &mut Budget::default());
    assert_eq!(d.tier, Tier::Act);
    assert!(!d.actions[0].dry_run);
    assert!(matches!(
        d.actions[0].action,
        Action::Block {
            prefix: 32,
            ttl_secs: 3600,
            ..
        }
    ));
}

#[test]
fn dry_run_record_differs_from_enforced_only_in_dry_run() {
    let inc = brute("203.0.113.5", 2);
    let ctx = HostContext::default();
    let enforced = run(&inc, &enforcing(), &ctx, &mut Budget::default());
    let dry = run(
        &inc,
        &ResponseConfig::default(),
        &ctx,
        &mut Budget::default(),
    );
    let mut a = serde_json::to_value(&enforced).expect("json");
    let b = serde_json::to_value(&dry).expect("json");
    assert_eq!(a["actions"][0]["dry_run"], false);
    assert_eq!(b["actions"][0]["dry_run"], true);
    a["actions"][0]["dry_run"] = true.into();
    assert_eq!(a, b, "nothing but dry_run may differ");
}

#[test]
fn kinds_not_enforced_stay_dry_run() {
    let cfg = ResponseConfig {
        mode: Mode::Enforce,
        enforce: vec![ActionKind::Kill],
        ..ResponseConfig::default()
    };
    let d = run(
        &brute("203.0.113.5", 2),
        &cfg,
        &HostContext::default(),
        &mut Budget::default(),
    );
    assert!(d.actions[0].dry_run, "block is not enforced");
}

#[test]
fn guards_protect_loopback_admin_sessions_and_management_networks() {
    let mut cfg = enforcing();
    cfg.allow.management_cidrs = vec!["10.20.0.0/16".parse().expect("cidr")];
    let ctx = HostContext {
        admin_sources: vec!["198.51.100.7".parse().expect("ip")],
        ..HostContext::default()
    };
    for (host, want) in [
        ("127.0.0.1", "allowlisted_source"),
        ("::ffff:198.51.100.7", "admin_session"),
        ("10.20.3.4", "management_network"),
    ] {
        let d = run(&brute(host, 2), &cfg, &ctx, &mut Budget::default());
        assert!(d.actions.is_empty(), "{host}");
        let hit = serde_json::to_value(&d.suppressed[0].1).expect("json");
        assert_eq!(hit["guard"], want, "{host}");
        assert!(d.escalate, "a suppressed act-tier action is escalated");
    }
}

#[test]
fn never_kill_init_or_the_agent() {
    let cfg = enforcing();
    let ctx = HostContext {
        agent_pid: 4242,
        ..HostContext::default()
    };
    for pid in [1, 4242] {
        let inc = IncidentView {
            id: 2,
            entity: Entity::Process {
                pid,
                start_ns: 1,
                exe: "/tmp/x".into(),
            },
            findings: vec![
                FindingView {
                    detector: "exec_from_tmp".into(),
                    technique: "T1620".into(),
                    severity: Severity::Critical,
                };
                2
            ],
            unit: None,
            user: None,
            uid: None,
            context: Default::default(),
            peers: Vec::new(),
        };
        let d = run(&inc, &cfg, &ctx, &mut Budget::default());
        assert!(
            d.suppressed
                .iter()
                .any(|(a, h)| matches!(a, Action::Kill { .. })
                    && matches!(h, GuardHit::ProtectedProcess { .. }))
        );
        assert!(
            !d.actions
                .iter()
                .any(|p| matches!(p.action, Action::Kill { .. }))
        );
    }
}

#[test]
fn budget_trips_the_breaker_into_dry_run() {
    let mut cfg = enforcing();
    cfg.budget.max_actions = 2;
    let ctx = HostContext::default();
    let mut b = Budget::default();
    let results: Vec<Decision> = (1..=4)
        .map(|i| run(&brute(&format!("203.0.113.{i}"), 2), &cfg, &ctx, &mut b))
        .collect();
    assert!(!results[0].actions[0].dry_run);
    assert!(!results[1].actions[0].dry_run);
    assert!(results[2].actions[0].dry_run && results[2].breaker_tripped);
    assert!(
        results[3].actions[0].dry_run && !results[3].breaker_tripped,
        "still open"
    );
    assert!(
        b.tripped_until(now() + TimeDelta::seconds(901)).is_none(),
        "closes after cooldown"
    );
}

#[test]
fn cidrs_parse_and_match() {
    let c: Cidr = "192.0.2.0/24".parse().expect("cidr");
    assert!(c.contains("192.0.2.200".parse::<IpAddr>().expect("ip")));
    assert!(!c.contains("192.0.3.1".parse::<IpAddr>().expect("ip")));
    let c: Cidr = "2001:db8::/32".parse().expect("cidr");
    assert!(c.contains("2001:db8:1::1".parse::<IpAddr>().expect("ip")));
    assert!(
        "0.0.0.0/0"
            .parse::<Cidr>()
            .expect("any")
            .contains("8.8.8.8".parse().expect("ip"))
    );
    assert!("10.0.0.0/33".parse::<Cidr>().is_err());
    assert!("nonsense".parse::<Cidr>().is_err());
}

#[test]
fn decider_decides_again_only_when_the_tier_rises() {
    let mut d = Decider::new(enforcing(), Box::new(EvidenceScorer));
    let ctx = HostContext::default();
    let first = d
        .on_incident(&brute("203.0.113.5", 1), &ctx, now())
        .expect("first decision");
    assert_eq!(first.tier, Tier::Soft);
    assert!(
        d.on_incident(&brute("203.0.113.5", 1), &ctx, now())
            .is_none(),
        "same tier"
    );
    let second = d
        .on_incident(&brute("203.0.113.5", 2), &ctx, now())
        .expect("tier rose");
    assert_eq!(second.tier, Tier::Act);
    assert!(
        d.on_incident(&brute("203.0.113.5", 3), &ctx, now())
            .is_none(),
        "already acted"
    );
}

#[test]
fn a_third_party_rule_alone_never_acts_but_agreement_does() {
    let cfg = ResponseConfig::default();
    let mut inc = brute("203.0.113.5", 1);
    inc.findings[0].detector = "sigma".into();
    inc.findings[0].severity = Severity::Critical;
    assert_eq!(incident_tier(0.97, &inc, &cfg), Tier::Soft);
    assert_eq!(incident_tier(0.60, &inc, &cfg), Tier::Soft);
    assert_eq!(incident_tier(0.10, &inc, &cfg), Tier::AuditOnly);
    inc.findings.push(FindingView {
        detector: "reverse_shell".into(),
        technique: "T1059.004".into(),
        severity: Severity::High,
    });
    assert_eq!(incident_tier(0.97, &inc, &cfg), Tier::Act);
    let d = decide(
        &brute("203.0.113.5", 0),
        EvidenceScorer.score(&brute("203.0.113.5", 0)),
        &cfg,
        &HostContext::default(),
        &mut Budget::default(),
        now(),
    );
    assert_eq!(d.tier, Tier::AuditOnly);
}

fn reverse_shell(peers: Vec<IpAddr>) -> IncidentView {
    IncidentView {
        id: 7,
        entity: Entity::Process {
            pid: 900,
            start_ns: 1,
            exe: "/usr/bin/bash".into(),
        },
        findings: vec![FindingView {
            detector: "reverse_shell".into(),
            technique: "T1059.004".into(),
            severity: Severity::Critical,
        }],
        unit: None,
        user: None,
        uid: None,
        context: Default::default(),
        peers,
    }
}

#[test]
fn a_process_incident_that_connected_out_blocks_its_peer() {
    let cfg = ResponseConfig::default();
    let peer: IpAddr = "203.0.113.9".parse().expect("ip");
    let actions = plan(&reverse_shell(vec![peer]), Tier::Act, &cfg);
    assert!(matches!(actions[0], Action::Kill { pid: 900, .. }));
    assert!(actions.contains(&Action::Block {
        addr: peer,
        prefix: 32,
        ttl_secs: cfg.ttl.block_secs,
    }));
    // Without a connect in the evidence there is nothing to block.
    let none = plan(&reverse_shell(Vec::new()), Tier::Act, &cfg);
    assert!(!none.iter().any(|a| matches!(a, Action::Block { .. })));
    // Below the act tier a peer is not blocked either.
    let soft = plan(&reverse_shell(vec![peer]), Tier::Soft, &cfg);
    assert!(!soft.iter().any(|a| matches!(a, Action::Block { .. })));
}

#[test]
fn a_peer_on_a_management_network_is_not_blocked() {
    let cfg = ResponseConfig {
        mode: Mode::Enforce,
        enforce: vec![ActionKind::Kill, ActionKind::Block],
        ..ResponseConfig::default()
    };
    let peer: IpAddr = "127.0.0.1".parse().expect("ip");
    let score = score::Score {
        confidence: 0.95,
        reasons: Vec::new(),
        scorer: "test".into(),
        features: Default::default(),
    };
    let d = decide(
        &reverse_shell(vec![peer]),
        score,
        &cfg,
        &HostContext::default(),
        &mut Budget::default(),
        now(),
    );
    assert!(
        d.actions
            .iter()
            .all(|p| !matches!(p.action, Action::Block { .. }))
    );
    assert!(
        d.suppressed
            .iter()
            .any(|(a, _)| matches!(a, Action::Block { .. }))
    );
}

#[test]
fn connect_peers_reads_tcp_connect_evidence_only() {
    let ev: Vec<serde_json::Value> = vec![
        serde_json::json!({"kind": "exec", "pid": 1}),
        serde_json::json!({"kind": "tcp_connect", "daddr": "10.99.0.2", "dport": 4444}),
        serde_json::json!({"kind": "tcp_connect", "daddr": "10.99.0.2", "dport": 4445}),
        serde_json::json!({"kind": "tcp_accept", "daddr": "10.0.0.1"}),
        serde_json::json!({"kind": "tcp_connect", "daddr": "::ffff:10.1.1.1"}),
        serde_json::json!({"kind": "tcp_connect", "daddr": "not an address"}),
    ];
    let peers = score::connect_peers(ev.iter());
    assert_eq!(
        peers,
        vec![
            "10.99.0.2".parse::<IpAddr>().expect("ip"),
            "10.1.1.1".parse().expect("ip")
        ]
    );
}

#[test]
fn an_agent_stop_through_the_service_manager_is_escalated_not_acted_on() {
    let stop = |detectors: &[&str]| IncidentView {
        id: 7,
        entity: Entity::Process {
            pid: 4242,
            start_ns: 1,
            exe: "/usr/bin/systemctl".into(),
        },
        findings: detectors
            .iter()
            .map(|d| FindingView {
                detector: (*d).into(),
                technique: "T1562.001".into(),
                severity: Severity::Critical,
            })
            .collect(),
        unit: Some("deploy.service".into()),
        user: None,
        uid: None,
        context: Default::default(),
        peers: Vec::new(),
    };
    let cfg = enforcing();
    let ctx = HostContext::default();
    let d = run(
        &stop(&["agent_service_stopped"]),
        &cfg,
        &ctx,
        &mut Budget::default(),
    );
    assert_eq!(d.tier, Tier::Act);
    assert!(d.actions.is_empty(), "{:?}", d.actions);
    assert!(
        d.suppressed
            .iter()
            .all(|(_, hit)| *hit == GuardHit::AgentStopRequest)
            && !d.suppressed.is_empty()
    );
    assert!(d.escalate);
    // Anything else in the same incident is acted on as usual.
    let d = run(
        &stop(&["agent_service_stopped", "exec_from_tmp"]),
        &cfg,
        &ctx,
        &mut Budget::default(),
    );
    assert!(matches!(d.actions[0].action, Action::Kill { .. }));
}

fn exec_incident(exe: &str, uid: Option<u32>) -> IncidentView {
    let mut inc = reverse_shell(Vec::new());
    inc.entity = Entity::Process {
        pid: 900,
        start_ns: 1,
        exe: exe.into(),
    };
    inc.uid = uid;
    inc
}

fn denies(actions: &[Action]) -> Vec<&Action> {
    actions
        .iter()
        .filter(|a| a.kind() == ActionKind::DenyExec)
        .collect()
}

#[test]
fn a_dropped_file_is_denied_by_path_and_a_fileless_image_by_user() {
    let cfg = ResponseConfig::default();
    let ttl = cfg.ttl.deny_exec_secs;
    let file = plan(&exec_incident("/tmp/.x/payload", Some(33)), Tier::Act, &cfg);
    assert_eq!(
        denies(&file),
        [&Action::DenyExec {
            path: "/tmp/.x/payload".into(),
            ttl_secs: ttl
        }]
    );
    for exe in [
        "/proc/self/fd/3",
        "/dev/fd/4",
        "/memfd:x (deleted)",
        "/tmp/p (deleted)",
    ] {
        let fileless = plan(&exec_incident(exe, Some(33)), Tier::Act, &cfg);
        assert_eq!(
            denies(&fileless),
            [&Action::DenyFileless {
                uid: 33,
                ttl_secs: ttl
            }],
            "{exe}"
        );
        assert_eq!(fileless[0].kind(), ActionKind::Kill, "{exe}");
        // Root's fileless deny would stop runc's memfd re-exec host-wide: never planned.
        assert!(denies(&plan(&exec_incident(exe, Some(0)), Tier::Act, &cfg)).is_empty());
        assert!(denies(&plan(&exec_incident(exe, None), Tier::Act, &cfg)).is_empty());
    }
    // Packaged binaries and relative paths (the cwd is unknown here) are not denied.
    for exe in ["/usr/bin/bash", "/bin/sh", "./payload", ""] {
        assert!(
            denies(&plan(&exec_incident(exe, Some(33)), Tier::Act, &cfg)).is_empty(),
            "{exe}"
        );
    }
    // Below the act tier nothing is denied.
    assert!(
        denies(&plan(
            &exec_incident("/memfd:x", Some(33)),
            Tier::Soft,
            &cfg
        ))
        .is_empty()
    );
}

#[test]
fn a_fileless_deny_for_root_is_refused_by_the_guard() {
    let cfg = ResponseConfig::default();
    let inc = exec_incident("/memfd:x", Some(0));
    let root = Action::DenyFileless {
        uid: 0,
        ttl_secs: 60,
    };
    assert_eq!(
        guard::check(&root, &inc, &cfg, &HostContext::default()),
        Some(GuardHit::ProtectedUser { uid: 0 })
    );
    let user = Action::DenyFileless {
        uid: 33,
        ttl_secs: 60,
    };
    assert_eq!(
        guard::check(&user, &inc, &cfg, &HostContext::default()),
        None
    );
    assert_eq!(user.target(), "fileless-uid:33");
    assert!(
        user.reversal()
            .ends_with("innerwarden allow-exec fileless-uid:33")
    );
}
