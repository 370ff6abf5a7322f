//! The edge of native Sigma: read a rule directory (recursively, `*.yml`/`*.yaml`, sorted) and
//! the passwd database, hand them to the pure core, and build the [`SigmaDetector`].

use std::path::{Path, PathBuf};

use innerwarden_core::config::SigmaConfig;
use innerwarden_core::sigma::{Reject, Rejected, RuleSet, SigmaDetector, users_from_passwd};

/// Why a rule directory could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SigmaDirError {
    #[error("reading Sigma rule directory {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a directory")]
    NotADirectory { path: PathBuf },
}

/// Depth bound for the recursive walk (symlink loops).
const MAX_DEPTH: usize = 16;

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), SigmaDirError> {
    let read = |source| SigmaDirError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, out)?;
            }
        } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Load every rule under `dir`. A file that cannot be read or is not UTF-8 is a rejected rule
/// (named, with the reason); only an unreadable directory is an error.
pub fn load_dir(dir: &Path) -> Result<RuleSet, SigmaDirError> {
    if !dir.is_dir() {
        return match std::fs::metadata(dir) {
            Err(source) => Err(SigmaDirError::Read {
                path: dir.to_owned(),
                source,
            }),
            Ok(_) => Err(SigmaDirError::NotADirectory {
                path: dir.to_owned(),
            }),
        };
    }
    let mut files = Vec::new();
    walk(dir, 0, &mut files)?;
    files.sort();
    let mut texts = Vec::new();
    let mut unreadable = Vec::new();
    for p in &files {
        let name = p.strip_prefix(dir).unwrap_or(p).display().to_string();
        match std::fs::read(p).map(String::from_utf8) {
            Ok(Ok(text)) => texts.push((name, text)),
            Ok(Err(_)) => unreadable.push(Rejected {
                file: name,
                reason: Reject::Invalid("not UTF-8".into()),
            }),
            Err(e) => unreadable.push(Rejected {
                file: name,
                reason: Reject::Invalid(format!("unreadable: {e}")),
            }),
        }
    }
    let mut set = RuleSet::load(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())));
    set.rejected.extend(unreadable);
    Ok(set)
}

/// The detector for `cfg`, or None when Sigma is off. Rejected rules are logged, not fatal.
pub fn build(cfg: &SigmaConfig) -> Result<Option<SigmaDetector>, SigmaDirError> {
    if !cfg.enabled {
        return Ok(None);
    }
    let set = load_dir(&cfg.dir)?;
    let tally = set.tally();
    tracing::info!(
        dir = %cfg.dir.display(),
        loaded = tally.loaded_total(),
        rejected = tally.rejected_total(),
        "sigma rules loaded (see `innerwarden sigma check` for the rejected ones)"
    );
    for r in &set.rejected {
        tracing::debug!(file = %r.file, reason = %r.reason, "sigma rule rejected");
    }
    // Without a passwd file the User field is simply absent (rules on it never match).
    let users = std::fs::read_to_string("/etc/passwd")
        .map(|t| users_from_passwd(&t))
        .unwrap_or_default();
    Ok(Some(SigmaDetector::new(set, users)))
}
