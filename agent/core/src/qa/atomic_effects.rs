//! What the kernel sensor would report about a converted ART command besides its exec, where
//! the command line alone says it for certain (used by [`super::atomic`]):
//!
//! - **reads**: programs whose operands are input files (`cat`, `head`, `grep PATTERN FILE`,
//!   `cp SRC DST`, ...) open them read-only; a `file_read` is reported when the path is under
//!   the sensor's default `read_paths` (and is not a public key), as the eBPF sensor does;
//! - **writes**: `tee FILE`, `sed -i ... FILE`, `cp`/`install ... DST`, `dd of=FILE` and
//!   `touch FILE` open their target for writing; a `file_write` is reported when the path is
//!   under the default `watch_paths`, or is a persistence file of a home (`.bashrc`, `.ssh/`,
//!   ...), as the sensor and its home filter do;
//! - **wrappers**: `nohup`, `setsid`, `nice`, `ionice`, `timeout`, `stdbuf` and `env` exec the
//!   command they are given, which the sensor sees as a second exec.
//!
//! Nothing is guessed beyond that: a file whose name is in a variable, a file a program decides
//! to open by itself (ed's `e /etc/shadow`), and every connection stay unseen.

use crate::config::EbpfSensorConfig;
use crate::persistence::{is_home_persistence, is_public_key};

/// Programs whose non-option operands are all files they read.
const READERS: &[&str] = &[
    "cat",
    "tac",
    "head",
    "tail",
    "less",
    "more",
    "nl",
    "strings",
    "base64",
    "base32",
    "xxd",
    "od",
    "hexdump",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "wc",
    "uniq",
    "file",
];

/// True when the default eBPF configuration reports a write-open of `path`.
pub fn watched_write(path: &str) -> bool {
    let cfg = EbpfSensorConfig::default();
    cfg.watch_paths.iter().any(|w| path.starts_with(w.as_str()))
        || (cfg.home_paths.iter().any(|h| path.starts_with(h.as_str()))
            && is_home_persistence(path))
}

/// True when the default eBPF configuration reports a read-only open of `path`.
pub fn watched_read(path: &str) -> bool {
    EbpfSensorConfig::default()
        .read_paths
        .iter()
        .any(|r| path.starts_with(r.as_str()))
        && !is_public_key(path)
}

fn operands(argv: &[String]) -> Vec<&str> {
    argv.iter()
        .skip(1)
        .map(String::as_str)
        .filter(|a| !a.starts_with('-') && !a.is_empty())
        .collect()
}

/// Files `name` (the basename of the program) reads, by its command line.
pub fn reads<'a>(name: &str, argv: &'a [String]) -> Vec<&'a str> {
    let ops = operands(argv);
    match name {
        n if READERS.contains(&n) => ops,
        // `openssl CMD -in FILE`: only the input.
        "openssl" => flag_values(argv, &["-in"]),
        "grep" | "egrep" | "fgrep" | "awk" | "gawk" | "mawk" | "sed" => {
            // The first operand is the pattern or program, unless given with -e/-f.
            let given = argv.iter().any(|a| a == "-e" || a == "-f");
            ops.into_iter().skip(usize::from(!given)).collect()
        }
        "cp" | "scp" | "rsync" | "install" => {
            let n = ops.len().saturating_sub(1);
            ops.into_iter().take(n).collect()
        }
        "dd" => argv.iter().filter_map(|a| a.strip_prefix("if=")).collect(),
        _ => Vec::new(),
    }
}

/// Files `name` opens for writing, by its command line.
pub fn writes(name: &str, argv: &[String]) -> Vec<String> {
    let ops = operands(argv);
    match name {
        "tee" | "touch" => ops.into_iter().map(str::to_owned).collect(),
        "sed"
            if argv
                .iter()
                .any(|a| a.starts_with("-i") || a == "--in-place") =>
        {
            // `sed -i SCRIPT FILE...` (or `-e SCRIPT FILE...`).
            let given = argv.iter().any(|a| a == "-e" || a == "-f");
            ops.into_iter()
                .skip(usize::from(!given))
                .map(str::to_owned)
                .collect()
        }
        "cp" | "install" if ops.len() >= 2 => {
            let dst = ops[ops.len() - 1];
            let srcs = &ops[..ops.len() - 1];
            if dst.ends_with('/') || srcs.len() > 1 {
                srcs.iter()
                    .map(|s| format!("{}/{}", dst.trim_end_matches('/'), base(s)))
                    .collect()
            } else {
                vec![dst.to_owned()]
            }
        }
        "dd" => argv
            .iter()
            .filter_map(|a| a.strip_prefix("of="))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn base(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

fn flag_values<'a>(argv: &'a [String], flags: &[&str]) -> Vec<&'a str> {
    argv.windows(2)
        .filter(|w| flags.contains(&w[0].as_str()))
        .map(|w| w[1].as_str())
        .collect()
}

/// The command a wrapper program runs (`nohup cmd args`, `timeout 5 cmd`, `env A=1 cmd`), if
/// `argv` is one.
pub fn wrapped(name: &str, argv: &[String]) -> Option<Vec<String>> {
    let mut i = 1;
    let at = |i: usize| argv.get(i).map(String::as_str).unwrap_or("");
    match name {
        "nohup" => {}
        "setsid" | "stdbuf" => {
            while at(i).starts_with('-') {
                i += 1;
            }
        }
        "nice" | "ionice" => {
            while at(i).starts_with('-') {
                // `-n 10`, `-c 3`: the option's value is the next word.
                let takes_value = matches!(at(i), "-n" | "-c" | "-p" | "--adjustment");
                i += if takes_value { 2 } else { 1 };
            }
        }
        "timeout" => {
            while at(i).starts_with('-') {
                let takes_value = matches!(at(i), "-s" | "-k" | "--signal" | "--kill-after");
                i += if takes_value { 2 } else { 1 };
            }
            i += 1; // the duration
        }
        "env" => {
            while at(i).starts_with('-') || at(i).contains('=') {
                i += if matches!(at(i), "-u" | "-C" | "--unset" | "--chdir") {
                    2
                } else {
                    1
                };
            }
        }
        _ => return None,
    }
    let rest: Vec<String> = argv.iter().skip(i).cloned().collect();
    (!rest.is_empty()).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn reads_only_operands_that_are_inputs() {
        assert_eq!(reads("cat", &v("cat -n /etc/shadow")), vec!["/etc/shadow"]);
        assert_eq!(
            reads("grep", &v("grep root /etc/shadow")),
            vec!["/etc/shadow"]
        );
        assert_eq!(
            reads("grep", &v("grep -e x -e y a b")),
            vec!["x", "y", "a", "b"]
        );
        assert_eq!(
            reads("cp", &v("cp /root/.ssh/id_rsa /tmp/")),
            vec!["/root/.ssh/id_rsa"]
        );
        assert!(reads("ls", &v("ls /etc/shadow")).is_empty());
        assert!(watched_read("/etc/shadow") && watched_read("/root/.ssh/id_rsa"));
        assert!(!watched_read("/root/.ssh/id_rsa.pub") && !watched_read("/etc/passwd"));
    }

    #[test]
    fn writes_of_tee_sed_cp_dd() {
        assert_eq!(
            writes("tee", &v("tee -a /etc/profile")),
            vec!["/etc/profile"]
        );
        assert_eq!(
            writes("sed", &v("sed -i 1s,^,x,g /etc/pam.d/su-l")),
            vec!["/etc/pam.d/su-l"]
        );
        assert!(writes("sed", &v("sed s/a/b/ /etc/passwd")).is_empty());
        assert_eq!(
            writes("cp", &v("cp evil.service /etc/systemd/system/")),
            vec!["/etc/systemd/system/evil.service"]
        );
        assert_eq!(writes("cp", &v("cp a /etc/b")), vec!["/etc/b"]);
        assert_eq!(writes("dd", &v("dd if=x of=/boot/y")), vec!["/boot/y"]);
        assert!(watched_write("/etc/pam.d/su-l") && watched_write("/home/a/.bashrc"));
        assert!(!watched_write("/home/a/notes.txt") && !watched_write("/tmp/x"));
    }

    #[test]
    fn wrappers_give_their_command() {
        assert_eq!(
            wrapped("nohup", &v("nohup code tunnel")),
            Some(v("code tunnel"))
        );
        assert_eq!(
            wrapped("timeout", &v("timeout -s 9 5 nc -l")),
            Some(v("nc -l"))
        );
        assert_eq!(
            wrapped("env", &v("env -i A=1 sh -c id")),
            Some(v("sh -c id"))
        );
        assert_eq!(wrapped("nice", &v("nice -n 19 xmrig")), Some(v("xmrig")));
        assert_eq!(wrapped("nohup", &v("nohup")), None);
        assert_eq!(wrapped("cat", &v("cat x")), None);
    }
}
