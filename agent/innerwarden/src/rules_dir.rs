//! The edge of rules as data: read the local rule directory (`detectors.rules.dir`), compile it
//! with the shipped rules, and build the detection engine the agent, replay and check-config
//! share. The account names rules see as `process.user` come from /etc/passwd here.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use innerwarden_core::config::Config;
use innerwarden_core::engine::Engine;
use innerwarden_core::rules::set::embedded_files;
use innerwarden_core::rules::{RuleFile, RuleSet};

/// The `*.toml` files of `dir`, sorted by name. A missing directory is no files; an unreadable
/// one or file is an error naming it.
pub fn read_dir(dir: &Path) -> anyhow::Result<Vec<RuleFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("reading rule directory {}", dir.display()));
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading rule directory {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("reading rule file {}", p.display()))?;
            Ok(RuleFile {
                name: p.display().to_string(),
                text,
            })
        })
        .collect()
}

/// Shipped rules plus the files of `dir`; every compile error is in the message, one per line.
pub fn load(dir: &Path) -> anyhow::Result<RuleSet> {
    let local = read_dir(dir)?;
    RuleSet::load(&embedded_files(), &local)
        .map_err(|e| anyhow::anyhow!("rules do not compile:\n{e}"))
}

/// uid → name from /etc/passwd (empty when unreadable).
pub fn user_names(passwd: &str) -> HashMap<u32, String> {
    passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            (!name.is_empty() && !name.starts_with('#')).then(|| (uid, name.to_owned()))
        })
        .collect()
}

/// The engine for `cfg`: code detectors, shipped and local rules, `detectors.disabled` checked.
pub fn engine(cfg: &Config) -> anyhow::Result<Engine> {
    let rules = load(&cfg.detectors.rules.dir)?;
    let mut engine = Engine::try_new(&cfg.detectors, &rules)?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    engine.processes_mut().set_user_names(user_names(&passwd));
    Ok(engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_names() {
        let m = user_names(
            "root:x:0:0:root:/root:/bin/bash\n# c\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nbad\n",
        );
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&33).map(String::as_str), Some("www-data"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn missing_dir_is_shipped_rules_only_and_bad_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let set = load(&dir.path().join("absent")).expect("missing dir is fine");
        assert!(set.len() >= 40);
        std::fs::write(dir.path().join("local.toml"), "[[rule]]\nid = \"x\"\n").expect("write");
        let err = load(dir.path()).expect_err("incomplete rule").to_string();
        assert!(err.contains("local.toml: rule `x`"), "{err}");
    }
}
