//! `packaging/innerwarden.nft` is the rendered ruleset, and nft accepts it.
//! Regenerate with `INNERWARDEN_BLESS=1 cargo test -p innerwarden --test nft_ruleset_file`.

use std::path::PathBuf;
use std::process::Command;

use innerwarden::respond::nft::render_ruleset;

fn file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packaging/innerwarden.nft")
}

#[test]
fn committed_ruleset_file_is_the_rendered_one() {
    let rendered = render_ruleset();
    if std::env::var_os("INNERWARDEN_BLESS").is_some() {
        std::fs::write(file(), &rendered).expect("writes packaging/innerwarden.nft");
    }
    let committed = std::fs::read_to_string(file()).expect("packaging/innerwarden.nft exists");
    assert_eq!(
        committed, rendered,
        "packaging/innerwarden.nft is stale: rerun with INNERWARDEN_BLESS=1"
    );
}

#[test]
fn nft_accepts_the_ruleset_file() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: not root (unshare -n needs CAP_SYS_ADMIN)");
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        println!("skipped: nft not installed");
        return;
    }
    // A private network namespace: `-c` checks against a real (empty) kernel ruleset there.
    let out = Command::new("unshare")
        .args(["-n", "nft", "-c", "-f"])
        .arg(file())
        .output()
        .expect("runs unshare");
    assert!(
        out.status.success(),
        "nft -c rejected the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
