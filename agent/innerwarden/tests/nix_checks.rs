//! The offline Nix checks (`scripts/nix-check.sh`), one test each, so every check counts in the
//! `tests:` summary: the .nix files parse, have no unused bindings and are nixfmt-formatted; the
//! flake lock reads offline; the module's nft table and systemd unit equal the shipped ones and
//! pass `nft -c`, `systemd-analyze verify` and the exposure budget; one NixOS test per scenario;
//! the module evaluates under `lib.evalModules` and the flake's outputs under stand-in inputs
//! (both with `NIXPKGS_LIB`), and the configuration the module renders is accepted by the
//! agent's own `check-config`.
//!
//! A check whose tool is missing prints `skipped: <why>` (the script says which tool and how to
//! install it: `scripts/install-nix-tools.sh`, run by `scripts/setup.sh deps`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs one check; passes when it passed or was skipped (the `skipped:` line is printed).
fn check(name: &str) {
    let script = repo().join("scripts/nix-check.sh");
    if !script.exists() {
        // e.g. the flake's crane test derivation, whose source holds no scripts/ or Nix files.
        println!("skipped: {name}: scripts/nix-check.sh is not in this source tree");
        return;
    }
    let out = Command::new("bash")
        .arg(script)
        .arg(name)
        .env("INNERWARDEN_BIN", env!("CARGO_BIN_EXE_innerwarden"))
        .output()
        .expect("run scripts/nix-check.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Only the check's own lines: `ok:`/`FAIL:`/`skipped:` (the summary line is the script's).
    for line in stdout.lines().filter(|l| !l.starts_with("nix-check: ")) {
        println!("{line}");
    }
    assert!(
        out.status.success(),
        "nix-check {name} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("ok: {name}")) || first.starts_with(&format!("skipped: {name}")),
        "unexpected output from nix-check {name}: {stdout}"
    );
}

#[test]
fn nix_files_parse() {
    check("parse");
}

#[test]
fn nix_files_have_no_unused_bindings() {
    check("deadnix");
}

#[test]
fn nix_files_are_nixfmt_formatted() {
    check("nixfmt");
}

#[test]
fn flake_lock_reads_offline_and_pins_nixpkgs_and_crane() {
    check("flake-lock");
}

#[test]
fn module_nft_table_is_valid_and_equals_the_agents() {
    check("nft-table");
}

#[test]
fn module_unit_equals_packaging_unit() {
    check("unit-diff");
}

#[test]
fn module_unit_verifies() {
    check("unit-verify");
}

#[test]
fn module_unit_exposure_is_at_most_2_5() {
    check("unit-security");
}

#[test]
fn one_nixos_test_per_scenario() {
    check("scenarios");
}

#[test]
fn module_evaluates_with_nixpkgs_lib() {
    check("module-eval");
}

#[test]
fn flake_outputs_evaluate_with_stand_in_inputs() {
    check("flake-eval");
}

/// The settings the module renders (defaults, and the appliance's enforcing ones), turned into
/// TOML, must pass `innerwarden check-config`: the module's typed options and the agent's
/// `deny_unknown_fields` config cannot disagree on a key name, type or value.
#[test]
fn module_settings_pass_check_config() {
    let lib_ok = std::env::var_os("NIXPKGS_LIB")
        .is_some_and(|l| Path::new(&l).join("lib/default.nix").exists());
    if !lib_ok {
        println!(
            "skipped: NIXPKGS_LIB is not set to a nixpkgs or nixpkgs.lib checkout (module settings vs check-config)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for case in ["defaults", "appliance"] {
        let out = Command::new("bash")
            .arg(repo().join("scripts/nix-check.sh"))
            .args(["settings", case])
            .output()
            .expect("run nix-check.sh settings");
        assert!(
            out.status.success(),
            "rendering the module's {case} settings: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("settings are JSON");
        let toml_text = toml::to_string(&json).expect("settings convert to TOML");
        let path = dir.path().join(format!("{case}.toml"));
        std::fs::write(&path, &toml_text).expect("write config");
        let check = Command::new(env!("CARGO_BIN_EXE_innerwarden"))
            .arg("--config")
            .arg(&path)
            .args(["check-config", "--print"])
            .output()
            .expect("run check-config");
        let printed = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.status.success(),
            "check-config refused the module's {case} settings:\n{toml_text}\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let mode = if case == "appliance" {
            "enforce"
        } else {
            "dry_run"
        };
        assert!(
            printed.contains(&format!("mode = \"{mode}\"")),
            "{case}: expected mode {mode} in:\n{printed}"
        );
        println!("module settings ({case}) pass check-config (mode {mode})");
    }
}
