//! Unit tests of the correlator over hand-built findings and events.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::event::{AuthSuccess, Event, EventKind, Exec, Host, Source};
use crate::finding::Severity;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("in range") + Duration::seconds(s)
}

fn known() -> HashSet<String> {
    ["ssh_bruteforce", "exec_from_tmp", "pipe_to_shell"]
        .map(String::from)
        .into()
}

fn correlator(text: &str) -> Correlator {
    let rules = compile(
        &[RuleSource {
            file: "test.toml".into(),
            text: text.into(),
        }],
        &known(),
    )
    .expect("compiles");
    Correlator::new(rules, &CorrelationConfig::default())
}

fn host_finding(at: i64, ip: &str, detector: &str) -> Finding {
    Finding {
        ts: t(at),
        detector: detector.into(),
        technique: "T1110.001".into(),
        severity: Severity::Medium,
        entity: Entity::Host {
            host: ip.parse().expect("ip"),
        },
        summary: "x".into(),
        evidence: vec![],
        author: None,
        stage: None,
    }
}

fn login(at: i64, ip: &str, pid: u32) -> Event {
    Event::new(
        t(at),
        Source::Journald,
        EventKind::AuthSuccess(AuthSuccess {
            service: crate::event::AuthService::Sshd,
            user: "alice".into(),
            src: Some(ip.parse::<Host>().expect("host")),
            port: Some(2222),
            method: Some("password".into()),
            pid: Some(pid),
        }),
    )
}

fn exec(at: i64, pid: u32, ppid: u32, file: &str) -> Event {
    Event::new(
        t(at),
        Source::Ebpf,
        EventKind::Exec(Exec {
            pid,
            ppid,
            uid: 1000,
            gid: 1000,
            comm: crate::proctable::basename(file).into(),
            filename: file.into(),
            argv: vec![file.into()],
            argv_truncated: false,
            cgroup_id: 0,
        }),
    )
}

const BRUTE_LOGIN_EXEC: &str = r#"
[[rule]]
id = "brute_login_exec"
title = "brute force, login, exec"
severity = "high"
join = "source"
within = "10m"
max_gap = "5m"
partial_at = 2

[[rule.stage]]
name = "brute force"
finding = { detector = ["ssh_bruteforce"] }

[[rule.stage]]
name = "login"
event = { kind = "auth_success" }

[[rule.stage]]
name = "exec in the session"
technique = "T1059.004"
event = { kind = "exec" }
"#;

fn feed_events(c: &mut Correlator, procs: &mut ProcessTable, evs: &[Event]) -> Vec<Finding> {
    let mut out = Vec::new();
    for ev in evs {
        procs.apply_before_detect(ev);
        c.on_event(ev, procs, &mut out);
        procs.apply_after_detect(ev);
    }
    out
}

#[test]
fn source_join_follows_the_login_into_its_session() {
    let mut c = correlator(BRUTE_LOGIN_EXEC);
    let mut procs = ProcessTable::default();
    let mut out = Vec::new();
    c.on_finding(
        &host_finding(0, "203.0.113.9", "ssh_bruteforce"),
        &procs,
        &mut out,
    );
    assert!(out.is_empty());
    out.extend(feed_events(
        &mut c,
        &mut procs,
        &[
            login(30, "203.0.113.9", 700),
            exec(31, 701, 700, "/usr/bin/bash"),
        ],
    ));
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(out[0].stage, Some(2));
    assert_eq!(out[0].severity, Severity::Medium);
    assert!(
        out[0].summary.starts_with("partial 2/3"),
        "{}",
        out[0].summary
    );
    let f = &out[1];
    assert_eq!(f.detector, "corr.brute_login_exec");
    assert_eq!(f.stage, Some(3));
    assert_eq!(f.technique, "T1059.004");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.entity.key(), "host:203.0.113.9");
    assert_eq!(f.evidence.len(), 3);
    assert_eq!(c.runs_len(), 0, "a completed run is dropped");
}

#[test]
fn other_source_window_and_gap_do_not_fire() {
    // Another source logs in.
    let mut c = correlator(BRUTE_LOGIN_EXEC);
    let mut procs = ProcessTable::default();
    let mut out = Vec::new();
    c.on_finding(
        &host_finding(0, "203.0.113.9", "ssh_bruteforce"),
        &procs,
        &mut out,
    );
    out.extend(feed_events(
        &mut c,
        &mut procs,
        &[
            login(30, "198.51.100.1", 700),
            exec(31, 701, 700, "/usr/bin/bash"),
        ],
    ));
    assert!(out.is_empty(), "{out:#?}");
    // Same source, but the login comes after max_gap.
    let mut c = correlator(BRUTE_LOGIN_EXEC);
    c.on_finding(
        &host_finding(0, "203.0.113.9", "ssh_bruteforce"),
        &procs,
        &mut out,
    );
    out.extend(feed_events(
        &mut c,
        &mut procs,
        &[
            login(400, "203.0.113.9", 800),
            exec(401, 801, 800, "/usr/bin/bash"),
        ],
    ));
    assert!(out.is_empty(), "{out:#?}");
    // Wrong order: login first, then brute force, then exec.
    let mut c = correlator(BRUTE_LOGIN_EXEC);
    out.extend(feed_events(
        &mut c,
        &mut procs,
        &[login(0, "203.0.113.9", 900)],
    ));
    c.on_finding(
        &host_finding(5, "203.0.113.9", "ssh_bruteforce"),
        &procs,
        &mut out,
    );
    out.extend(feed_events(
        &mut c,
        &mut procs,
        &[exec(6, 901, 900, "/bin/sh")],
    ));
    assert!(out.is_empty(), "{out:#?}");
}

#[test]
fn finding_stages_match_technique_prefix_tactic_and_severity() {
    let text = r#"
[[rule]]
id = "cred_then_c2"
title = "credential access then c2"
technique = "T1041"
severity = "high"
join = "source"
within = "1h"

[[rule.stage]]
name = "credential access"
finding = { tactic = ["credential_access"], min_severity = "medium" }

[[rule.stage]]
name = "brute force again"
finding = { technique_prefix = ["T1110"] }
"#;
    let mut c = correlator(text);
    let procs = ProcessTable::default();
    let mut out = Vec::new();
    let mut low = host_finding(0, "203.0.113.9", "ssh_bruteforce");
    low.severity = Severity::Low;
    c.on_finding(&low, &procs, &mut out);
    c.on_finding(
        &host_finding(1, "203.0.113.9", "pipe_to_shell"),
        &procs,
        &mut out,
    );
    assert!(out.is_empty(), "a low finding does not start it: {out:#?}");
    c.on_finding(
        &host_finding(2, "203.0.113.9", "ssh_bruteforce"),
        &procs,
        &mut out,
    );
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].stage, Some(2));
    let err = compile(
        &[RuleSource {
            file: "t.toml".into(),
            text: text.replace("credential_access", "credential_acess"),
        }],
        &known(),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("unknown tactic \"credential_acess\""), "{err}");
}

#[test]
fn unit_join_ties_processes_of_one_service() {
    let text = r#"
[[rule]]
id = "unit_shell_then_curl"
title = "a service runs a shell, then curl, in the same unit"
technique = "T1105"
severity = "medium"
join = "unit"
within = "10m"

[[rule.stage]]
name = "shell"
event = { kind = "exec", name = "sh" }

[[rule.stage]]
name = "download"
event = { kind = "exec", name = "curl" }
"#;
    let mut c = correlator(text);
    let mut procs = ProcessTable::default();
    for (pid, unit) in [(100, "app.service"), (200, "other.service")] {
        procs.insert(crate::proctable::ProcInfo {
            pid,
            ppid: 1,
            exe: "/usr/bin/app".into(),
            unit: Some(unit.into()),
            ..Default::default()
        });
    }
    // The shell in app.service; curl in other.service: different units, nothing.
    let out = feed_events(
        &mut c,
        &mut procs,
        &[
            exec(0, 101, 100, "/usr/bin/sh"),
            exec(1, 201, 200, "/usr/bin/curl"),
        ],
    );
    assert!(out.is_empty(), "{out:#?}");
    // curl under app.service (a grandchild of the unit's main process): fires.
    let out = feed_events(&mut c, &mut procs, &[exec(2, 102, 101, "/usr/bin/curl")]);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(
        out[0].summary.contains("unit app.service"),
        "{}",
        out[0].summary
    );
    assert_eq!(out[0].entity.key().split(':').nth(1), Some("102"));
}

#[test]
fn correlation_findings_are_not_fed_back() {
    let mut c = correlator(BRUTE_LOGIN_EXEC);
    let procs = ProcessTable::default();
    let mut out = Vec::new();
    c.on_finding(
        &host_finding(0, "203.0.113.9", "corr.brute_login_exec"),
        &procs,
        &mut out,
    );
    assert_eq!(c.runs_len(), 0);
}

#[test]
fn process_tree_counts_distinct_descendants() {
    let text = r#"
[[rule]]
id = "tree"
title = "shell then three distinct commands"
technique = "T1082"
severity = "medium"
join = "process_tree"
within = "1m"

[[rule.stage]]
name = "shell"
event = { kind = "exec" }

[[rule.stage]]
name = "commands"
event = { kind = "exec" }
count = 3
distinct = "exe"
"#;
    let mut c = correlator(text);
    let mut procs = ProcessTable::default();
    let out = feed_events(
        &mut c,
        &mut procs,
        &[
            exec(0, 10, 1, "/bin/sh"),
            exec(1, 11, 10, "/usr/bin/id"),
            exec(2, 12, 10, "/usr/bin/id"),
            exec(3, 13, 10, "/usr/bin/uname"),
            exec(4, 14, 13, "/usr/bin/hostname"),
        ],
    );
    let ours: Vec<_> = out.iter().filter(|f| f.stage == Some(2)).collect();
    assert_eq!(ours.len(), 1, "{out:#?}");
    assert_eq!(
        ours[0].entity.key(),
        format!("proc:14:{}", t(4).timestamp_nanos_opt().unwrap_or(0))
    );
}

#[test]
fn load_errors_name_file_rule_and_problem() {
    let cases = [
        (
            BRUTE_LOGIN_EXEC.replace("ssh_bruteforce", "ssh_brutforce"),
            "unknown detector id \"ssh_brutforce\"",
        ),
        (
            BRUTE_LOGIN_EXEC.replace("within = \"10m\"", "within = \"10 minutes\""),
            "within:",
        ),
        (
            BRUTE_LOGIN_EXEC.replace("max_gap = \"5m\"", "max_gap = \"1h\""),
            "max_gap is longer",
        ),
        (
            BRUTE_LOGIN_EXEC.replace("partial_at = 2", "partial_at = 3"),
            "partial_at = 3",
        ),
        (
            BRUTE_LOGIN_EXEC.replace("technique = \"T1059.004\"\n", ""),
            "no technique",
        ),
    ];
    for (text, want) in cases {
        let err = compile(
            &[RuleSource {
                file: "x.toml".into(),
                text,
            }],
            &known(),
        )
        .err()
        .unwrap_or_else(|| panic!("must fail: {want}"))
        .to_string();
        assert!(
            err.starts_with("x.toml: rule `brute_login_exec`: "),
            "{err}"
        );
        assert!(err.contains(want), "{err} lacks {want}");
    }
    let err = compile(
        &[RuleSource {
            file: "y.toml".into(),
            text: BRUTE_LOGIN_EXEC.replace("join = ", "jion = "),
        }],
        &known(),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.starts_with("y.toml:") && err.contains("jion"), "{err}");
}

#[test]
fn later_source_overrides_by_id_and_disabled_rules_drop() {
    let a = RuleSource {
        file: "a.toml".into(),
        text: BRUTE_LOGIN_EXEC.into(),
    };
    let b = RuleSource {
        file: "b.toml".into(),
        text: BRUTE_LOGIN_EXEC.replace("severity = \"high\"", "severity = \"low\""),
    };
    let rules = compile(&[a.clone(), b], &known()).expect("compiles");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].file, "b.toml");
    let off = RuleSource {
        file: "c.toml".into(),
        text: BRUTE_LOGIN_EXEC.replace("partial_at = 2", "partial_at = 2\nenabled = false"),
    };
    assert!(compile(&[a, off], &known()).expect("compiles").is_empty());
}

#[test]
fn shipped_rules_compile() {
    let known: HashSet<String> = crate::detect::ALL.iter().map(|s| (*s).to_owned()).collect();
    let rules = compile(&embedded::sources(), &known)
        .unwrap_or_else(|e| panic!("shipped rules must compile: {e}"));
    println!("{} shipped correlation rules", rules.len());
    assert!(rules.len() >= 30, "{}", rules.len());
    // The embedded list is the directory.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/correlation");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("rules/correlation exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = embedded::FILES
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    assert_eq!(
        on_disk, embedded,
        "embedded.rs lists every rules/correlation file"
    );
}

mod loader_props {
    use super::*;
    use proptest::prelude::*;

    fn compile_text(text: &str) -> Result<Vec<Rule>, CorrelateError> {
        compile(
            &[RuleSource {
                file: "p.toml".into(),
                text: text.into(),
            }],
            &known(),
        )
    }

    proptest! {
        /// Arbitrary text never panics the loader; an error always names the file.
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
            if let Err(e) = compile_text(&s) {
                prop_assert!(e.to_string().starts_with("p.toml"));
            }
        }

        /// Rule-shaped text with mutated values (durations, joins, counts, kinds, fields)
        /// never panics either.
        #[test]
        fn mutated_rules_never_panic(
            within in "[0-9a-z ]{0,6}",
            join in "(source|user|process_tree|session|unit|host|)",
            count in 0u32..5,
            kind in "(exec|file_write|auth_success|nope|)",
            field in "(name|path|user|comm|bogus)",
            partial in 0u32..4,
        ) {
            let text = format!(
                "[[rule]]\nid = \"r\"\ntitle = \"t\"\ntechnique = \"T1059\"\nseverity = \"low\"\n\
                 join = \"{join}\"\nwithin = \"{within}\"\npartial_at = {partial}\n\
                 [[rule.stage]]\nname = \"a\"\ncount = {count}\nevent = {{ kind = \"{kind}\", {field} = \"x\" }}\n\
                 [[rule.stage]]\nname = \"b\"\nfinding = {{ detector = [\"ssh_bruteforce\"] }}\n"
            );
            if let Err(e) = compile_text(&text) {
                prop_assert!(e.to_string().starts_with("p.toml"), "{e}");
            }
        }
    }
}
