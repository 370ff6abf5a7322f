//! Builds the [`Engine`] with the configured correlation rule directory: the one place that
//! reads rule files from disk (the core only compiles text).

use std::path::Path;

use anyhow::Context;
use innerwarden_core::config::Config;
use innerwarden_core::correlate::RuleSource;
use innerwarden_core::engine::Engine;

/// The engine for `cfg`: detectors, shipped correlation rules, then `detectors.correlation.dir`.
/// A bad rule file is an error naming the file and the rule.
pub fn engine(cfg: &Config) -> anyhow::Result<Engine> {
    let c = &cfg.detectors.correlation;
    let extra = match (&c.dir, c.enabled) {
        (Some(dir), true) => read_dir(dir)?,
        _ => Vec::new(),
    };
    Ok(Engine::with_correlation(&cfg.detectors, &extra)?)
}

/// Every `*.toml` file of `dir`, in name order.
pub fn read_dir(dir: &Path) -> anyhow::Result<Vec<RuleSource>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
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
        cfg.detectors.correlation.dir = Some(dir.path().to_owned());
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
        cfg.detectors.correlation.dir = Some(dir.path().join("absent"));
        let err = engine(&cfg)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("reading correlation rule directory"), "{err}");
    }
}
