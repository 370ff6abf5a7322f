//! Rule-level tests: YAML in, match or reject out, over real events and a process table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::condition::CondError;
use super::rule::Reject;
use super::value::ValueError;
use super::{RuleSet, SigmaDetector, SigmaRule};
use crate::detect::Detector;
use crate::event::{Event, EventKind, Exec, FileWrite, Source, TcpConn};
use crate::finding::{Entity, Severity};
use crate::proctable::{ProcInfo, ProcessTable};

fn ts() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T04:53:40Z")
        .expect("valid literal")
        .with_timezone(&Utc)
}

fn rule(category: &str, detection: &str) -> String {
    format!(
        "title: Test rule\nid: 11111111-2222-3333-4444-555555555555\nauthor: Jane Doe\n\
         tags:\n  - attack.execution\n  - attack.t1059.004\n\
         logsource:\n  product: linux\n  category: {category}\n\
         detection:\n{detection}\nlevel: high\n"
    )
}

fn load(category: &str, detection: &str) -> SigmaRule {
    SigmaRule::parse("t.yml", &rule(category, detection)).expect("rule loads")
}

fn reject(category: &str, detection: &str) -> Reject {
    SigmaRule::parse("t.yml", &rule(category, detection)).expect_err("rule is rejected")
}

fn exec(pid: u32, ppid: u32, uid: u32, file: &str, argv: &[&str]) -> Event {
    Event::new(
        ts(),
        Source::Ebpf,
        EventKind::Exec(Exec {
            pid,
            ppid,
            uid,
            gid: uid,
            comm: file.rsplit('/').next().unwrap_or(file).into(),
            filename: file.into(),
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            argv_truncated: false,
            cgroup_id: 0,
        }),
    )
}

/// Run one rule over one event with a parent (pid 10, `/usr/sbin/sshd -D`) in the table.
fn fires(r: &SigmaRule, ev: &Event) -> bool {
    let mut procs = ProcessTable::default();
    procs.insert(ProcInfo {
        pid: 10,
        ppid: 1,
        exe: "/usr/sbin/sshd".into(),
        argv: vec!["/usr/sbin/sshd".into(), "-D".into()],
        ..ProcInfo::default()
    });
    procs.apply_before_detect(ev);
    let users = HashMap::from([(0, "root".to_owned()), (1000, "alice".to_owned())]);
    let set = RuleSet {
        rules: vec![r.clone()],
        rejected: Vec::new(),
    };
    let d = SigmaDetector::new(set, users);
    !d.matching(ev, &procs).is_empty()
}

#[test]
fn process_creation_maps_image_cmdline_parent_and_user() {
    let r = load(
        "process_creation",
        "  selection:\n    Image|endswith: '/bash'\n    CommandLine|contains|all: ['-c', 'id']\n    \
         ParentImage|endswith: '/sshd'\n    ParentCommandLine: '/usr/sbin/sshd -D'\n    User: root\n  \
         condition: selection",
    );
    assert!(fires(
        &r,
        &exec(20, 10, 0, "/bin/bash", &["bash", "-c", "id"])
    ));
    // Wrong user, wrong parent, missing one of the `all` values: each alone defeats it.
    assert!(!fires(
        &r,
        &exec(20, 10, 1000, "/bin/bash", &["bash", "-c", "id"])
    ));
    assert!(!fires(
        &r,
        &exec(20, 11, 0, "/bin/bash", &["bash", "-c", "id"])
    ));
    assert!(!fires(
        &r,
        &exec(20, 10, 0, "/bin/bash", &["bash", "-c", "ls"])
    ));
    // An unknown uid has no user name: the field is absent, never a wildcard.
    assert!(!fires(
        &r,
        &exec(20, 10, 4242, "/bin/bash", &["bash", "-c", "id"])
    ));
}

#[test]
fn file_event_maps_target_filename_and_image() {
    let r = load(
        "file_event",
        "  selection:\n    TargetFilename|startswith: '/etc/cron.d/'\n  \
         filter:\n    Image: '/usr/sbin/anacron'\n  condition: selection and not filter",
    );
    let write = |path: &str| {
        Event::new(
            ts(),
            Source::Ebpf,
            EventKind::FileWrite(FileWrite {
                pid: 10,
                uid: 0,
                comm: "sshd".into(),
                path: path.into(),
                flags: 0,
            }),
        )
    };
    assert!(fires(&r, &write("/etc/cron.d/evil")));
    assert!(!fires(&r, &write("/etc/crontab")));
}

#[test]
fn network_connection_maps_direction_ports_and_cidr() {
    let r = load(
        "network_connection",
        "  selection:\n    Initiated: 'true'\n    DestinationPort: [4444, 2222]\n  \
         filter_main_local:\n    DestinationIp|cidr: ['10.0.0.0/8', '::1/128']\n  \
         condition: selection and not 1 of filter_main_*",
    );
    let conn = |outbound: bool, daddr: &str, dport: u16| {
        let c = TcpConn {
            pid: Some(10),
            comm: "sshd".into(),
            saddr: "192.0.2.1".parse().expect("ip"),
            sport: 40000,
            daddr: daddr.parse().expect("ip"),
            dport,
        };
        let kind = if outbound {
            EventKind::TcpConnect(c)
        } else {
            EventKind::TcpAccept(c)
        };
        Event::new(ts(), Source::Ebpf, kind)
    };
    assert!(fires(&r, &conn(true, "198.51.100.7", 4444)));
    assert!(!fires(&r, &conn(true, "10.1.2.3", 4444)), "filtered range");
    assert!(!fires(&r, &conn(false, "198.51.100.7", 4444)), "inbound");
    assert!(!fires(&r, &conn(true, "198.51.100.7", 443)), "other port");
}

#[test]
fn list_of_maps_is_or_and_condition_forms_work() {
    let r = load(
        "process_creation",
        "  selection_img:\n    - Image|endswith: '/nc'\n    - Image|endswith: '/ncat'\n  \
         selection_cli:\n    CommandLine|contains: ' -e '\n  \
         condition: all of selection_*",
    );
    assert!(fires(
        &r,
        &exec(20, 10, 0, "/usr/bin/ncat", &["ncat", "-e", "/bin/sh"])
    ));
    assert!(!fires(
        &r,
        &exec(20, 10, 0, "/usr/bin/ncat", &["ncat", "-l"])
    ));
    let r = load(
        "process_creation",
        "  a:\n    Image|endswith: '/nc'\n  b:\n    CommandLine|contains: ' -e '\n  \
         condition: (a or b) and not a",
    );
    assert!(fires(&r, &exec(20, 10, 0, "/bin/x", &["x", "-e", "y"])));
    assert!(!fires(&r, &exec(20, 10, 0, "/bin/nc", &["nc", "-e", "y"])));
}

#[test]
fn finding_carries_author_title_id_level_and_technique() {
    let r = load(
        "process_creation",
        "  selection:\n    Image|endswith: '/bash'\n  condition: selection",
    );
    let set = RuleSet {
        rules: vec![r],
        rejected: Vec::new(),
    };
    let mut d = SigmaDetector::new(set, HashMap::new());
    let ev = exec(20, 10, 0, "/bin/bash", &["bash"]);
    let mut procs = ProcessTable::default();
    procs.apply_before_detect(&ev);
    let mut out = Vec::new();
    d.on_event(&ev, &procs, &mut out);
    assert_eq!(out.len(), 1);
    let f = &out[0];
    assert_eq!(f.detector, "sigma");
    assert_eq!(f.author.as_deref(), Some("Jane Doe"));
    assert_eq!(f.technique, "T1059.004");
    assert_eq!(f.severity, Severity::High);
    assert!(f.summary.contains("Test rule"), "{}", f.summary);
    assert!(
        f.summary.contains("11111111-2222-3333-4444-555555555555"),
        "{}",
        f.summary
    );
    assert!(matches!(f.entity, Entity::Process { pid: 20, .. }));
    assert_eq!(f.evidence.len(), 1);
    let mut none = Vec::new();
    d.on_event(&exec(21, 10, 0, "/bin/zsh", &["zsh"]), &procs, &mut none);
    assert!(none.is_empty());
}

#[test]
fn rejections_state_their_reason() {
    let unmapped = reject(
        "process_creation",
        "  selection:\n    CurrentDirectory: /tmp\n  condition: selection",
    );
    assert_eq!(
        unmapped,
        Reject::UnmappedField {
            field: "CurrentDirectory".into(),
            category: "process_creation"
        }
    );
    // A field of another category is unmapped here, not ignored.
    let cross = reject(
        "file_event",
        "  selection:\n    CommandLine: x\n  condition: selection",
    );
    assert!(matches!(cross, Reject::UnmappedField { .. }), "{cross}");
    let keyword = reject(
        "process_creation",
        "  keywords:\n    - 'evil'\n  condition: keywords",
    );
    assert_eq!(keyword, Reject::Keyword("keywords".into()));
    let modifier = reject(
        "process_creation",
        "  selection:\n    CommandLine|utf16le|base64: x\n  condition: selection",
    );
    assert!(
        matches!(
            &modifier,
            Reject::Value {
                source: ValueError::Modifier(m),
                ..
            } if m == "utf16le"
        ),
        "{modifier}"
    );
    let agg = reject(
        "process_creation",
        "  selection:\n    Image: x\n  condition: selection | count() > 5",
    );
    assert_eq!(agg, Reject::Condition(CondError::Aggregation));
    assert_eq!(agg.kind(), "aggregation");
    let tf = reject(
        "process_creation",
        "  selection:\n    Image: x\n  timeframe: 5m\n  condition: selection",
    );
    assert_eq!(tf.kind(), "aggregation");
    let cat = reject(
        "dns_query",
        "  selection:\n    Image: x\n  condition: selection",
    );
    assert!(matches!(cat, Reject::Logsource(_)), "{cat}");
    let bad = SigmaRule::parse("t.yml", "title: [unclosed").expect_err("bad yaml");
    assert!(matches!(bad, Reject::Yaml(_)), "{bad}");
    let two = format!(
        "{}---\n{}",
        rule("process_creation", "  s:\n    Image: x\n  condition: s"),
        rule("process_creation", "  s:\n    Image: y\n  condition: s")
    );
    assert_eq!(
        SigmaRule::parse("t.yml", &two).expect_err("two docs"),
        Reject::MultiDocument
    );
}

#[test]
fn condition_list_is_or_and_them_skips_underscore() {
    let r = SigmaRule::parse(
        "t.yml",
        &rule(
            "process_creation",
            "  a:\n    Image: /bin/a\n  b:\n    Image: /bin/b\n  _c:\n    Image: /bin/c\n  \
             condition:\n    - a\n    - 1 of them",
        ),
    )
    .expect("loads");
    assert!(fires(&r, &exec(20, 10, 0, "/bin/b", &["b"])));
    assert!(!fires(&r, &exec(20, 10, 0, "/bin/c", &["c"])));
}

#[test]
fn null_value_matches_an_absent_parent() {
    let r = load(
        "process_creation",
        "  selection:\n    Image: /bin/x\n    ParentImage: null\n  condition: selection",
    );
    // Parent 99 is not in the table: ParentImage is absent.
    assert!(fires(&r, &exec(20, 99, 0, "/bin/x", &["x"])));
    assert!(!fires(&r, &exec(20, 10, 0, "/bin/x", &["x"])));
}

mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Untrusted rule files: any text loads or is rejected, never panics.
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = SigmaRule::parse("p.yml", &s);
        }

        /// Rule-shaped files with arbitrary keys, modifiers, values and conditions.
        #[test]
        fn rule_shaped_input_never_panics(
            key in "[A-Za-z]{0,12}(\\|[a-z0-9]{0,12}){0,3}",
            value in "[ -~]{0,24}",
            cond in "[a-z_* ()0-9|]{0,30}",
        ) {
            let det = format!("  sel:\n    '{key}': '{}'\n  condition: '{cond}'", value.replace('\'', "''"));
            if let Ok(r) = SigmaRule::parse("p.yml", &rule("process_creation", &det)) {
                let _ = fires(&r, &exec(20, 10, 0, "/bin/x", &["x", &value]));
            }
        }
    }
}

#[test]
fn a_cut_command_line_never_widens_a_match() {
    let cut = |argv: &[&str]| {
        let mut ev = exec(20, 10, 0, "/usr/bin/tar", argv);
        if let EventKind::Exec(e) = &mut ev.kind {
            e.argv_truncated = true;
        }
        ev
    };
    let ends = load(
        "process_creation",
        "  selection:\n    CommandLine|endswith: ' /'\n  condition: selection",
    );
    assert!(fires(
        &ends,
        &exec(20, 10, 0, "/usr/bin/tar", &["tar", "czf", "x", "/"])
    ));
    assert!(
        !fires(&ends, &cut(&["tar", "czf", "x", "/"])),
        "the real line goes on"
    );
    let filtered = load(
        "process_creation",
        "  selection:\n    CommandLine|contains: 'czf'\n  \
         filter:\n    CommandLine|contains: '--exclude'\n  condition: selection and not filter",
    );
    assert!(fires(
        &filtered,
        &exec(20, 10, 0, "/usr/bin/tar", &["tar", "czf", "x"])
    ));
    // The filter's text may lie past the cut: not a certain match.
    assert!(!fires(&filtered, &cut(&["tar", "czf", "x"])));
    let contains = load(
        "process_creation",
        "  selection:\n    CommandLine|contains: 'czf'\n  condition: selection",
    );
    // What the prefix proves still fires.
    assert!(fires(&contains, &cut(&["tar", "czf", "x"])));
}

#[test]
fn a_parent_argv_at_the_capture_limit_counts_as_possibly_cut() {
    let r = load(
        "process_creation",
        "  selection:\n    ParentCommandLine|endswith: 'x16'\n  condition: selection",
    );
    let argv: Vec<String> = (1..=16).map(|i| format!("x{i}")).collect();
    let mut procs = ProcessTable::default();
    procs.insert(ProcInfo {
        pid: 10,
        ppid: 1,
        exe: "/bin/p".into(),
        argv,
        ..ProcInfo::default()
    });
    let ev = exec(20, 10, 0, "/bin/c", &["c"]);
    procs.apply_before_detect(&ev);
    let d = SigmaDetector::new(
        RuleSet {
            rules: vec![r],
            rejected: Vec::new(),
        },
        HashMap::new(),
    );
    assert!(d.matching(&ev, &procs).is_empty());
}

fn log_rule(service: Option<&str>, detection: &str) -> Result<SigmaRule, Reject> {
    let svc = service.map_or(String::new(), |s| format!("  service: {s}\n"));
    let text = format!(
        "title: Log rule\nid: log-1\nauthor: Jane Doe\n\
         logsource:\n  product: linux\n{svc}detection:\n{detection}\nlevel: medium\n"
    );
    SigmaRule::parse("log.yml", &text)
}

fn log_line(service: &str, facility: Option<u8>, message: &str) -> Event {
    Event::new(
        ts(),
        Source::Journald,
        EventKind::LogLine(crate::event::LogLine {
            service: service.into(),
            pid: None,
            facility,
            message: message.into(),
        }),
    )
}

#[test]
fn keyword_rules_search_log_lines_of_their_service_only() {
    let r = log_rule(
        Some("sshd"),
        "  keywords:\n    - 'Corrupted MAC*input'\n  condition: keywords",
    )
    .expect("loads");
    assert!(fires(
        &r,
        &log_line("sshd", Some(4), "x: CORRUPTED MAC on input")
    ));
    assert!(!fires(&r, &log_line("sshd", Some(4), "MAC ok")));
    // Same text, another program: out of the rule's scope.
    assert!(!fires(
        &r,
        &log_line("nginx", None, "Corrupted MAC on input")
    ));
    // A log-line rule never matches a process event.
    assert!(!fires(
        &r,
        &exec(20, 10, 0, "/bin/echo", &["echo", "Corrupted MAC on input"])
    ));
}

#[test]
fn log_sources_we_cannot_place_or_keyword_anchors_are_refused() {
    let unknown = log_rule(
        Some("auditd"),
        "  keywords:\n    - x\n  condition: keywords",
    );
    assert_eq!(
        unknown.expect_err("refused"),
        Reject::Logsource("service auditd".into())
    );
    let anchored = log_rule(
        None,
        "  keywords:\n    '|startswith':\n      - x\n  condition: keywords",
    );
    assert!(
        matches!(anchored, Err(Reject::Value { .. })),
        "{anchored:?}"
    );
    let field = log_rule(None, "  sel:\n    Image: /bin/x\n  condition: sel");
    assert!(
        matches!(
            field,
            Err(Reject::UnmappedField {
                category: "log_line",
                ..
            })
        ),
        "{field:?}"
    );
}
