use proptest::prelude::*;

use super::*;

fn file(name: &str, text: &str) -> RuleFile {
    RuleFile {
        name: name.into(),
        text: text.into(),
    }
}

const GOOD: &str = r#"
[[rule]]
id = "test_rule"
title = "A test rule"
technique = "T1059.004"
severity = "low"
summary = "{comm} ran {filename} as uid {uid}"
[rule.match]
kind = "exec"
name = "nc"
"#;

#[test]
fn embedded_rules_compile_and_cover_every_file() {
    let set = RuleSet::embedded().unwrap_or_else(|e| panic!("embedded rules:\n{e}"));
    assert!(set.len() >= 40, "{} rules", set.len());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("rules/{n}"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = EMBEDDED.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(embedded, on_disk, "EMBEDDED must list every rules/*.toml");
    for r in set.rules() {
        assert!(!r.tactics.is_empty(), "{}", r.id);
        assert!(
            !crate::detect::ALL.contains(&r.id.as_str()),
            "rule {} has a code detector's id",
            r.id
        );
    }
}

#[test]
fn errors_name_file_and_rule() {
    let bad = GOOD.replace("name = \"nc\"", "nmae = \"nc\"");
    let e = RuleSet::load(&[file("a.toml", &bad)], &[]).expect_err("typo");
    assert_eq!(e.0.len(), 1);
    let msg = e.to_string();
    assert!(
        msg.starts_with("a.toml: rule `test_rule`: unknown field `nmae`"),
        "{msg}"
    );

    let bad = GOOD.replace("T1059.004", "T1059.999");
    let msg = RuleSet::load(&[file("a.toml", &bad)], &[])
        .expect_err("technique")
        .to_string();
    assert!(
        msg.contains("technique `T1059.999` is not a known ATT&CK id"),
        "{msg}"
    );

    let bad = GOOD.replace("{uid}", "{userid}");
    let msg = RuleSet::load(&[file("a.toml", &bad)], &[])
        .expect_err("template")
        .to_string();
    assert!(msg.contains("summary: unknown field `userid`"), "{msg}");

    let bad = GOOD.replace("severity = \"low\"", "severity = \"urgent\"");
    let msg = RuleSet::load(&[file("a.toml", &bad)], &[])
        .expect_err("severity")
        .to_string();
    assert!(
        msg.contains("a.toml: rule `test_rule`") && msg.contains("urgent"),
        "{msg}"
    );

    let bad = GOOD.replace("title = ", "titel = ");
    let msg = RuleSet::load(&[file("a.toml", &bad)], &[])
        .expect_err("unknown key")
        .to_string();
    assert!(msg.contains("titel"), "{msg}");

    let msg = RuleSet::load(&[file("b.toml", "[[rule]\nid=")], &[])
        .expect_err("syntax")
        .to_string();
    assert!(msg.starts_with("b.toml: not a valid rule file"), "{msg}");

    let bad = format!("{GOOD}\nentity = {{ user = \"filename\" }}\n");
    assert!(RuleSet::load(&[file("c.toml", &bad)], &[]).is_err());
}

#[test]
fn duplicates_are_refused_and_local_rules_replace_shipped_ones() {
    let e =
        RuleSet::load(&[file("a.toml", GOOD), file("b.toml", GOOD)], &[]).expect_err("duplicate");
    assert_eq!(
        e.to_string(),
        "b.toml: rule `test_rule` is already defined in a.toml"
    );
    let local = GOOD.replace("severity = \"low\"", "severity = \"high\"");
    let set = RuleSet::load(
        &[file("a.toml", GOOD)],
        &[file("/etc/x/local.toml", &local)],
    )
    .expect("override");
    assert_eq!(set.len(), 1);
    let r = set.get("test_rule").expect("rule");
    assert_eq!(r.severity, crate::finding::Severity::High);
    assert_eq!(r.file, "/etc/x/local.toml");
    let e = RuleSet::load(&[], &[file("l1.toml", GOOD), file("l2.toml", GOOD)])
        .expect_err("duplicate among local");
    assert!(e.to_string().contains("already defined in l1.toml"));
}

#[test]
fn errors_in_several_rules_are_all_reported() {
    let two = format!(
        "{}\n{}",
        GOOD.replace("name = \"nc\"", "nme = 1"),
        GOOD.replace("test_rule", "second")
            .replace("T1059.004", "T0")
    );
    let e = RuleSet::load(&[file("a.toml", &two)], &[]).expect_err("two errors");
    assert_eq!(e.0.len(), 2, "{e}");
}

fn arb_fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "[[rule]]\n",
        "[rule.match]\n",
        "[rule]\n",
        "id = \"x\"\n",
        "id = 3\n",
        "title = \"t\"\n",
        "technique = \"T1059\"\n",
        "technique = \"T9\"\n",
        "severity = \"low\"\n",
        "summary = \"{comm} {\"\n",
        "summary = \"{filename}}\"\n",
        "summary = \"x\"\n",
        "entity = { user = \"comm\" }\n",
        "entity = \"host\"\n",
        "kind = \"exec\"\n",
        "kind = \"file_change\"\n",
        "name = [\"a\", 1]\n",
        "mode = { bits_any = 0o4000 }\n",
        "cmdline = { regex = \"(\" }\n",
        "argv = { any_of = [] }\n",
        "parent.name = { not = { cidr = \"1.2.3.4/40\" } }\n",
        "not = 5\n",
        "any_of = [ { uid = 0 }, 7 ]\n",
        "enabled = false\n",
        "= broken\n",
        "\"\n",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #[test]
    fn loading_arbitrary_rule_text_never_panics(
        frags in prop::collection::vec(arb_fragment(), 0..16),
        noise in "[ -~\n]{0,40}",
    ) {
        let text = format!("{}{}", frags.concat(), noise);
        let _ = RuleSet::load(&[file("fuzz.toml", &text)], &[]);
    }

    #[test]
    fn loading_arbitrary_bytes_never_panics(text in "\\PC{0,200}") {
        let _ = RuleSet::load(&[file("fuzz.toml", &text)], &[]);
    }
}
