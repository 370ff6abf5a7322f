//! Shell and command-line vocabulary shared by the execution detectors.

use crate::proctable::basename;

/// Programs that read a script from stdin or `-c` and run it.
pub fn is_shell(name: &str) -> bool {
    matches!(
        name.trim_start_matches('-'),
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "fish" | "busybox"
    )
}

/// Script interpreters that also execute code read from stdin.
pub fn is_interpreter(name: &str) -> bool {
    is_shell(name)
        || matches!(name, "perl" | "ruby" | "php" | "node" | "lua")
        || name.starts_with("python")
}

/// Programs that fetch a URL to stdout or a file.
pub fn is_downloader(name: &str) -> bool {
    matches!(name, "curl" | "wget" | "fetch" | "aria2c" | "lwp-download")
}

/// The program a shell command segment runs, skipping `sudo`, `env`, `nohup`, `exec`,
/// `command`, variable assignments and their flags: `sudo -E bash -s` → `bash`.
pub fn segment_program(segment: &str) -> Option<&str> {
    let mut words = segment.split_whitespace();
    let mut after_wrapper = false;
    loop {
        let w = words.next()?;
        // sudo/doas flags that take a value: `sudo -u root bash` runs bash, not root.
        if after_wrapper && matches!(w, "-u" | "-g" | "-C" | "-h" | "-p" | "-r" | "-t" | "-U") {
            words.next();
            continue;
        }
        let w = w.trim_start_matches(['(', '{']);
        if w.is_empty() || w.contains('=') && !w.starts_with('-') && !w.contains('/') {
            continue;
        }
        let name = basename(w);
        if matches!(
            name,
            "sudo" | "env" | "nohup" | "exec" | "command" | "doas" | "time"
        ) {
            // skip this wrapper's own flags
            after_wrapper = true;
            continue;
        }
        if w.starts_with('-') {
            continue;
        }
        return Some(name);
    }
}

/// The `-c` script of a shell invocation: `sh -c 'curl x | sh'` → `curl x | sh`.
pub fn dash_c_script(argv: &[String]) -> Option<&str> {
    let pos = argv
        .iter()
        .skip(1)
        .position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))?;
    argv.get(pos + 2).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_program_skips_wrappers() {
        assert_eq!(segment_program(" sudo -E bash -s"), Some("bash"));
        assert_eq!(
            segment_program("FOO=1 /usr/bin/env python3 -"),
            Some("python3")
        );
        assert_eq!(segment_program("   "), None);
        assert_eq!(segment_program("sudo -u root bash"), Some("bash"));
    }

    #[test]
    fn dash_c_finds_the_script() {
        let argv: Vec<String> = ["bash", "-lc", "curl x | sh"].map(String::from).to_vec();
        assert_eq!(dash_c_script(&argv), Some("curl x | sh"));
        let argv: Vec<String> = ["bash", "script.sh"].map(String::from).to_vec();
        assert_eq!(dash_c_script(&argv), None);
    }
}
