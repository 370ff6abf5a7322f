//! Which file paths are persistence or credential locations: the pure predicates shared by the
//! kernel decoder (for records the kernel flagged for userspace filtering) and the inotify
//! fallback sensor.
//!
//! Home directories are watched by prefix (`/home/`, `/root/`), but only a few files in a home
//! are persistence: `.ssh/` (authorized_keys, rc, config), the shell start-up files, user systemd
//! units and desktop autostart entries. Everything else written in a home is dropped.

/// Shell start-up files that run code at login or for every shell.
const SHELL_RC: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".kshrc",
    ".cshrc",
    ".tcshrc",
    ".xinitrc",
    ".xsession",
    ".xprofile",
];

/// Directories inside a home whose every file is persistence.
const HOME_DIRS: &[&str] = &[
    ".ssh",
    ".config/systemd/user",
    ".config/autostart",
    ".local/share/systemd/user",
    ".config/environment.d",
];

/// True when `path` is a persistence file of a home directory: `<home>/.bashrc` and the other
/// shell rc files, or anything under `<home>/.ssh/`, `<home>/.config/systemd/user/`,
/// `<home>/.config/autostart/`. The home is any directory (the kernel matched a home prefix
/// such as `/home/` or `/root/` before).
pub fn is_home_persistence(path: &str) -> bool {
    let (dir, name) = match path.rsplit_once('/') {
        Some(split) => split,
        None => ("", path),
    };
    if SHELL_RC.contains(&name) {
        return true;
    }
    HOME_DIRS.iter().any(|d| {
        // "/x/.ssh" itself (a chmod/rename of the directory) or anything below it.
        let needle = format!("/{d}");
        dir.ends_with(&needle) || path.ends_with(&needle) || dir.contains(&format!("{needle}/"))
    })
}

/// True for an SSH public key (`*.pub`): a read of one is not credential access.
pub fn is_public_key(path: &str) -> bool {
    path.ends_with(".pub")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn home_persistence_files() {
        for p in [
            "/home/alice/.bashrc",
            "/root/.profile",
            "/home/bob/.ssh/authorized_keys",
            "/home/bob/.ssh",
            "/home/bob/.ssh/keys/x",
            "/home/c/.config/systemd/user/evil.service",
            "/home/c/.config/systemd/user/default.target.wants/evil.service",
            "/home/c/.config/autostart/x.desktop",
        ] {
            assert!(is_home_persistence(p), "{p}");
        }
        for p in [
            "/home/alice/notes.txt",
            "/home/alice/.cache/x",
            "/home/alice/src/proj/main.rs",
            "/home/alice/.sshx/y",
            "/home/alice/.config/systemd/userland",
            "/root/.bash_history",
        ] {
            assert!(!is_home_persistence(p), "{p}");
        }
    }

    #[test]
    fn public_keys() {
        assert!(is_public_key("/etc/ssh/ssh_host_ed25519_key.pub"));
        assert!(!is_public_key("/etc/ssh/ssh_host_ed25519_key"));
    }

    proptest! {
        #[test]
        fn never_panics(path in ".{0,300}") {
            let _ = is_home_persistence(&path);
            let _ = is_public_key(&path);
        }
    }
}
