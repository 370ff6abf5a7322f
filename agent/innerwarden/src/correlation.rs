//! Builds the [`Engine`] with the configured correlation rule directory: the one place that
//! reads correlation rule files from disk (the core only compiles text). Detection rules come
//! first ([`crate::rules_dir::engine`]), so a correlation stage may name any of their ids.

use std::path::Path;

use anyhow::Context;
use innerwarden_core::config::Config;
use innerwarden_core::correlate::RuleSource;
use innerwarden_core::engine::Engine;

/// The engine for `cfg`: detectors and rules, Sigma rules when enabled, shipped correlation
/// rules, then
/// `detectors.correlation.dir`. A bad rule file is an error naming the file and the rule.
pub fn engine(cfg: &Config) -> anyhow::Result<Engine> {
    let mut engine = crate::rules_dir::engine(cfg)?;
    if let Some(sigma) =
        crate::sigma_rules::build(&cfg.detectors.sigma).context("detectors.sigma.dir")?
    {
        tracing::info!(
            rules = sigma.len(),
            dir = %cfg.detectors.sigma.dir.display(),
            "sigma rules loaded"
        );
        engine.add_detector(Box::new(sigma));
    }
    let c = &cfg.detectors.correlation;
    if c.enabled {
        let local = read_dir(&c.dir)?;
        if !local.is_empty() {
            engine.set_correlation(&cfg.detectors, &local)?;
        }
    }
    Ok(engine)
}

/// Every `*.toml` file of `dir`, in name order; none when the directory does not exist.
pub fn read_dir(dir: &Path) -> anyhow::Result<Vec<RuleSource>> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other,
    };
    let mut paths: Vec<_> = entries
        .with_context(|| format!("reading correlation rule directory {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("reading correlation rules {}", p.display()))?;
            Ok(RuleSource {
                file: p.display().to_string(),
                text,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_local_rule_names_its_file_and_rule() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("local.toml"),
            r#"
[[rule]]
id = "mine"
title = "t"
technique = "T1059"
severity = "low"
join = "source"
within = "1m"
[[rule.stage]]
name = "a"
finding = { detector = ["no_such_detector"] }
[[rule.stage]]
name = "b"
finding = { detector = ["ssh_bruteforce"] }
"#,
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "ignored").expect("write");
        let mut cfg = Config::default();
        cfg.detectors.rules.dir = dir.path().join("no-rules");
        cfg.detectors.correlation.dir = dir.path().to_owned();
        let err = engine(&cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(
                "local.toml: rule `mine`: stage 1 (\"a\"): unknown detector id \"no_such_detector\""
            ),
            "{err}"
        );
        cfg.detectors.correlation.dir = dir.path().join("absent");
        let e = engine(&cfg).expect("a missing directory is no local rules");
        assert!(e.correlator().rule_ids().len() >= 30);
        std::fs::write(
            dir.path().join("local.toml"),
            "[[rule]]\nid = \"download_chmod_exec\"\nenabled = false\ntitle = \"t\"\n\
             technique = \"T1105\"\nseverity = \"low\"\njoin = \"source\"\nwithin = \"1m\"\n\
             [[rule.stage]]\nname = \"a\"\nfinding = { detector = [\"ssh_bruteforce\"] }\n\
             [[rule.stage]]\nname = \"b\"\nfinding = { detector = [\"ssh_bruteforce\"] }\n",
        )
        .expect("write");
        cfg.detectors.correlation.dir = dir.path().to_owned();
        let e = engine(&cfg).expect("a local file switching a shipped rule off");
        let ids = e.correlator().rule_ids();
        assert!(
            !ids.contains(&"corr.download_chmod_exec".to_owned()),
            "{ids:?}"
        );
    }
}
