//! The shipped packaging files: the D-Bus bus policy parses and says what it should; the systemd
//! unit verifies and stays within the exposure budget (when systemd-analyze is installed).

use std::path::{Path, PathBuf};
use std::process::Command;

fn packaging(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(rel)
}

const READ_METHODS: [&str; 6] = [
    "Status",
    "ListIncidents",
    "GetIncident",
    "ListActions",
    "GetMode",
    "VerifyAudit",
];
const NAME: &str = "org.innerwarden.Agent1";

#[test]
fn bus_policy_parses_and_has_the_expected_rules() {
    let text = std::fs::read_to_string(packaging("dbus/org.innerwarden.Agent1.conf"))
        .expect("policy file");
    let doc = roxmltree::Document::parse_with_options(
        &text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("policy is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "busconfig");
    let policies: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("policy"))
        .collect();
    let policy = |attr: &str, value: &str| {
        policies
            .iter()
            .find(|p| p.attribute(attr) == Some(value))
            .unwrap_or_else(|| panic!("no <policy {attr}=\"{value}\">"))
    };
    let rules = |p: &roxmltree::Node, kind: &str| -> Vec<Vec<(String, String)>> {
        p.children()
            .filter(|n| n.has_tag_name(kind))
            .map(|n| {
                n.attributes()
                    .map(|a| (a.name().to_owned(), a.value().to_owned()))
                    .collect()
            })
            .collect()
    };
    let has = |list: &[Vec<(String, String)>], want: &[(&str, &str)]| {
        list.iter().any(|r| {
            r.len() == want.len()
                && want
                    .iter()
                    .all(|(k, v)| r.iter().any(|(rk, rv)| rk == k && rv == v))
        })
    };

    // Only root owns the name; root and the admin group may call everything.
    let root_p = policy("user", "root");
    assert!(has(&rules(root_p, "allow"), &[("own", NAME)]));
    assert!(has(&rules(root_p, "allow"), &[("send_destination", NAME)]));
    let admin = policy("group", "innerwarden-admin");
    assert!(has(&rules(admin, "allow"), &[("send_destination", NAME)]));
    assert!(
        !has(&rules(admin, "allow"), &[("own", NAME)]),
        "the admin group must not own the name"
    );

    // Everyone else: no ownership, no calls except the read methods and introspection.
    let default = policy("context", "default");
    let deny = rules(default, "deny");
    let allow = rules(default, "allow");
    assert!(has(&deny, &[("own", NAME)]));
    assert!(has(&deny, &[("send_destination", NAME)]));
    for m in READ_METHODS {
        assert!(
            has(
                &allow,
                &[
                    ("send_destination", NAME),
                    ("send_interface", NAME),
                    ("send_member", m)
                ]
            ),
            "default policy should allow {m}"
        );
    }
    assert!(has(
        &allow,
        &[
            ("send_destination", NAME),
            ("send_interface", "org.freedesktop.DBus.Introspectable")
        ]
    ));
    for m in ["Block", "Unblock", "SetMode"] {
        assert!(
            !allow
                .iter()
                .any(|r| r.iter().any(|(k, v)| k == "send_member" && v == m)),
            "default policy must not allow {m}"
        );
    }
    assert_eq!(
        allow.len(),
        READ_METHODS.len() + 2,
        "unexpected extra allow rules in the default policy: {allow:?}"
    );
}

fn systemd_analyze() -> Option<&'static str> {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some("systemd-analyze")
}

/// The unit with ExecStart pointing at the freshly built binary (verify checks it exists).
fn unit_copy(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(packaging("innerwarden.service")).expect("unit file");
    let text = text.replace("/usr/bin/innerwarden", env!("CARGO_BIN_EXE_innerwarden"));
    let path = dir.join("innerwarden.service");
    std::fs::write(&path, text).expect("write unit copy");
    path
}

#[test]
fn systemd_unit_verifies() {
    let Some(analyze) = systemd_analyze() else {
        eprintln!("skipped: systemd-analyze not found (apt package systemd provides it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_copy(dir.path());
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
}

/// "→ Overall exposure level for innerwarden.service: 2.5 OK 🙂" → 2.5
fn exposure(output: &str) -> Option<f64> {
    let line = output
        .lines()
        .find(|l| l.contains("Overall exposure level"))?;
    let after = line.rsplit_once(':')?.1.trim();
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn exposure_line_parses() {
    assert_eq!(
        exposure("x\n→ Overall exposure level for innerwarden.service: 2.5 OK 🙂\n"),
        Some(2.5)
    );
    assert_eq!(exposure("nothing here"), None);
}

#[test]
fn systemd_unit_exposure_is_at_most_2_5() {
    let Some(analyze) = systemd_analyze() else {
        eprintln!("skipped: systemd-analyze not found (apt package systemd provides it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_copy(dir.path());
    let out = Command::new(analyze)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze security");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let score = exposure(&text).unwrap_or_else(|| panic!("no exposure line in:\n{text}"));
    eprintln!("systemd-analyze security exposure: {score}");
    assert!(score <= 2.5, "exposure {score} > 2.5:\n{text}");
}
