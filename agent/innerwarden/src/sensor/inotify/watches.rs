//! Which directories the fallback watches, and the table from watch descriptor to directory.
//!
//! - A prefix ending in `/` (`/etc/`) is a tree: the directory and every directory below it.
//! - Another prefix (`/etc/cron`, `/etc/ld.so.preload`) watches its parent directory, keeping
//!   only entries whose path starts with the prefix; directories matching it are trees.
//! - A home root (`/home/`, `/root/`): the root and each non-hidden subdirectory is a home
//!   watched for its rc files, plus its `.ssh`, `.config/systemd/user` and `.config/autostart`
//!   trees; everything is filtered by `innerwarden_core::persistence::is_home_persistence`.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use innerwarden_core::persistence::is_home_persistence;

/// What a watched directory stands for: decides which entries are reported and what a new
/// subdirectory becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// Everything inside is reported; new subdirectories are watched too.
    Tree,
    /// Only entries whose full path starts with the prefix; a new matching directory is a tree.
    Parent { prefix: String },
    /// A home directory (or the root of homes): only persistence files.
    Home,
    /// `.ssh` and the like inside a home: persistence files, new subdirectories watched.
    HomeTree,
}

impl Watch {
    /// Whether an event on `path` in a directory watched as `self` is reported.
    pub fn keeps(&self, path: &str) -> bool {
        match self {
            Watch::Tree => true,
            Watch::Parent { prefix } => path.starts_with(prefix.as_str()),
            Watch::Home | Watch::HomeTree => is_home_persistence(path),
        }
    }
}

/// Directories inside a home whose trees are watched.
const HOME_TREES: &[&str] = &[".ssh", ".config/systemd/user", ".config/autostart"];
/// Deepest tree walked.
const MAX_DEPTH: usize = 12;

/// The inotify watch table.
pub struct Watches {
    fd: i32,
    mask: u32,
    max: usize,
    by_wd: HashMap<i32, (PathBuf, Watch)>,
    /// Directories not watched because `max` was reached.
    pub over_limit: u64,
}

impl Watches {
    pub fn new(fd: i32, mask: u32, max: usize) -> Self {
        Self {
            fd,
            mask,
            max,
            by_wd: HashMap::new(),
            over_limit: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.by_wd.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_wd.is_empty()
    }

    pub fn get(&self, wd: i32) -> Option<&(PathBuf, Watch)> {
        self.by_wd.get(&wd)
    }

    pub fn remove(&mut self, wd: i32) {
        self.by_wd.remove(&wd);
    }

    /// Add one directory; false when it could not be watched.
    pub fn add(&mut self, dir: &Path, watch: Watch) -> bool {
        if self.by_wd.len() >= self.max {
            self.over_limit += 1;
            return false;
        }
        let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a valid inotify fd and a NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd, c.as_ptr(), self.mask) };
        if wd < 0 {
            return false;
        }
        self.by_wd.insert(wd, (dir.to_path_buf(), watch));
        true
    }

    /// Add `dir` and every directory below it (symlinks not followed).
    pub fn add_tree(&mut self, dir: &Path, watch: Watch) {
        self.walk(dir, &watch, 0);
    }

    fn walk(&mut self, dir: &Path, watch: &Watch, depth: usize) {
        if depth > MAX_DEPTH || !self.add(dir, watch.clone()) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                self.walk(&e.path(), watch, depth + 1);
            }
        }
    }

    /// Watch what a prefix from `sensors.ebpf.watch_paths` covers.
    pub fn add_prefix(&mut self, prefix: &str) {
        if let Some(dir) = prefix.strip_suffix('/') {
            let dir = if dir.is_empty() { "/" } else { dir };
            self.add_tree(Path::new(dir), Watch::Tree);
            return;
        }
        let path = Path::new(prefix);
        let (Some(parent), Some(stem)) = (path.parent(), path.file_name()) else {
            return;
        };
        self.add(
            parent,
            Watch::Parent {
                prefix: prefix.to_owned(),
            },
        );
        let Ok(entries) = std::fs::read_dir(parent) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_name().as_bytes().starts_with(stem.as_bytes())
                && e.file_type().is_ok_and(|t| t.is_dir())
            {
                self.add_tree(&e.path(), Watch::Tree);
            }
        }
    }

    /// Watch a home root (`/home/`) or a home (`/root/`): see the module docs.
    pub fn add_home_root(&mut self, root: &str) {
        let root = Path::new(root.trim_end_matches('/'));
        self.add_home(root);
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for e in entries.flatten() {
            let hidden = e.file_name().as_bytes().starts_with(b".");
            if !hidden && e.file_type().is_ok_and(|t| t.is_dir()) {
                self.add_home(&e.path());
            }
        }
    }

    /// Watch one home: the directory itself and its persistence trees that exist.
    pub fn add_home(&mut self, home: &Path) {
        if !self.add(home, Watch::Home) {
            return;
        }
        for t in HOME_TREES {
            let dir = home.join(t);
            if dir.is_dir() {
                self.add_tree(&dir, Watch::HomeTree);
            }
        }
    }

    /// A directory `path` appeared inside a watched directory of kind `parent`: watch it when
    /// it belongs to what is watched.
    pub fn on_new_dir(&mut self, path: &Path, parent: &Watch) {
        let text = path.to_string_lossy();
        match parent {
            Watch::Tree => self.add_tree(path, Watch::Tree),
            Watch::Parent { prefix } if text.starts_with(prefix.as_str()) => {
                self.add_tree(path, Watch::Tree)
            }
            Watch::HomeTree => self.add_tree(path, Watch::HomeTree),
            Watch::Home => {
                let name = path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
                if name == b".ssh" {
                    self.add_tree(path, Watch::HomeTree);
                } else if !name.starts_with(b".") {
                    // A new home under a root of homes (`useradd -m`).
                    self.add_home(path);
                }
            }
            Watch::Parent { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let p = Watch::Parent {
            prefix: "/etc/cron".into(),
        };
        assert!(p.keeps("/etc/crontab"));
        assert!(p.keeps("/etc/cron.d"));
        assert!(!p.keeps("/etc/passwd"));
        assert!(Watch::Tree.keeps("/anything"));
        assert!(Watch::Home.keeps("/home/a/.bashrc"));
        assert!(!Watch::Home.keeps("/home/a/notes"));
        assert!(Watch::HomeTree.keeps("/home/a/.ssh/authorized_keys"));
    }
}
