//! The node's Ed25519 signing key: 32 secret bytes in `<state_dir>/node.key`, mode 0600.
//!
//! Created on first start from the OS random source and published atomically: written to a
//! private temporary file, synced, then hard-linked into place (a link never replaces an
//! existing file, so two starting agents cannot overwrite each other's key). A key file that
//! is not a regular file, is readable by group or others, or is not exactly 32 bytes stops the
//! agent with an error naming the path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{SECRET_KEY_LENGTH, SigningKey, VerifyingKey};

/// File name of the node key inside the state directory.
pub const NODE_KEY_FILE: &str = "node.key";

/// Why the node key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("node key {path}: I/O error")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("node key {path} does not exist")]
    Missing { path: PathBuf },
    #[error("node key {path} is not a regular file")]
    NotRegularFile { path: PathBuf },
    #[error(
        "node key {path} has mode {mode:o}; it must not be accessible by group or others (chmod 600)"
    )]
    WidePermissions { path: PathBuf, mode: u32 },
    #[error("node key {path} is {size} bytes; an Ed25519 secret key is exactly 32")]
    WrongSize { path: PathBuf, size: u64 },
    #[error("reading the OS random source for a new node key")]
    Random {
        #[source]
        source: getrandom::Error,
    },
    #[error("public key {text:?} is not 64 hex digits of a valid Ed25519 point")]
    BadPublicKey { text: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Load the node key from `state_dir`, failing if it does not exist.
pub fn load_node_key(state_dir: &Path) -> Result<SigningKey, KeyError> {
    let path = state_dir.join(NODE_KEY_FILE);
    let meta = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(KeyError::Missing { path }),
        Err(e) => return Err(io_err(&path)(e)),
    };
    if !meta.file_type().is_file() {
        return Err(KeyError::NotRegularFile { path });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::WidePermissions { path, mode });
    }
    if meta.len() != SECRET_KEY_LENGTH as u64 {
        return Err(KeyError::WrongSize {
            path,
            size: meta.len(),
        });
    }
    let mut secret = [0u8; SECRET_KEY_LENGTH];
    let mut file = File::open(&path).map_err(io_err(&path))?;
    file.read_exact(&mut secret).map_err(io_err(&path))?;
    Ok(SigningKey::from_bytes(&secret))
}

/// Load the node key, creating it on first start.
pub fn load_or_create_node_key(state_dir: &Path) -> Result<SigningKey, KeyError> {
    match load_node_key(state_dir) {
        Err(KeyError::Missing { path }) => create_node_key(state_dir, &path),
        other => other,
    }
}

fn create_node_key(state_dir: &Path, path: &Path) -> Result<SigningKey, KeyError> {
    let mut secret = [0u8; SECRET_KEY_LENGTH];
    getrandom::fill(&mut secret).map_err(|source| KeyError::Random { source })?;
    let tmp = state_dir.join(format!(".{NODE_KEY_FILE}.tmp-{}", std::process::id()));
    // A stale temporary file from a crashed start is ours to replace.
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&secret)?;
        file.sync_all()
    })();
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            File::open(state_dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(state_dir))?;
            tracing::info!(path = %path.display(), "created node key");
            Ok(SigningKey::from_bytes(&secret))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => load_node_key(state_dir),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Parse a hex Ed25519 public key (a pinned key from configuration).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let bad = || KeyError::BadPublicKey {
        text: text.to_owned(),
    };
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_create_node_key(dir.path()).expect("creates");
        let b = load_or_create_node_key(dir.path()).expect("loads");
        assert_eq!(a.to_bytes(), b.to_bytes());
        let meta = fs::metadata(dir.path().join(NODE_KEY_FILE)).expect("exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let public = hex::encode(a.verifying_key().to_bytes());
        assert_eq!(
            parse_public_key(&public).expect("parses"),
            a.verifying_key()
        );
        assert!(parse_public_key("zz").is_err());
    }

    #[test]
    fn wide_permissions_and_wrong_size_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_create_node_key(dir.path()).expect("creates");
        let path = dir.path().join(NODE_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = load_or_create_node_key(dir.path()).expect_err("refused");
        assert!(
            matches!(err, KeyError::WidePermissions { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("node.key"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(&path, [1u8; 31]).expect("truncate");
        let err = load_or_create_node_key(dir.path()).expect_err("refused");
        assert!(matches!(err, KeyError::WrongSize { size: 31, .. }), "{err}");
    }
}
