//! Atomic Red Team's Linux tests as synthetic event streams, for the detection gate.
//!
//! A test's `sh`/`bash` command (with `#{arg}` replaced by the argument's default) becomes what
//! the agent would see if an operator ran it from an SSH login:
//! 1. a login shell (`-bash`, uid 0 when the test needs elevation, else 1000) whose parent is
//!    the session's sshd;
//! 2. `sh -c COMMAND` (or `bash -c`) as its child — how ART's executor runs a test;
//! 3. one `exec` per simple command a shell would run, child of that shell, in order, with
//!    `sudo X` as a sudo process (uid of the caller) whose child X runs as uid 0, nested
//!    `sh -c`/`bash -c` strings expanded the same way, and `$(...)`/backquote substitutions as
//!    children too;
//! 4. a `file_write` by the shell for each output redirection (`>`, `>>`) whose target is
//!    under the agent's default watched prefixes (what the eBPF sensor reports).
//!
//! 5. what the command line says for certain about files and wrapped commands
//!    ([`super::atomic_effects`]): a `file_read` when a reader (`cat`, `grep P FILE`, `cp SRC`,
//!    ...) names a file under the sensor's default `read_paths`; a `file_write` when `tee`,
//!    `sed -i`, `cp`/`install`, `dd of=` or `touch` names a watched file; the command run by
//!    `nohup`, `setsid`, `nice`, `ionice`, `timeout`, `stdbuf` or `env` as a child exec;
//! 6. simple variables: `NAME=literal`, `NAME=$(which X ...)` (the path X resolves to) and
//!    `NAME=$(mktemp)` (`/tmp/tmp.XXXXXXXXXX`, or the template given) assigned by a command of
//!    their own are expanded as `$NAME` and `${NAME}` in later words.
//!
//! Not synthesised (limits): what a program does by itself beyond that — the files `useradd`
//! writes, connections `curl` or `ssh` open, chmods, module loads, ptrace, what an editor or
//! interpreter opens from its own input — and shell builtins (`echo`, `cd`, `export`, `[`,
//! `read < file`): no guessed events. Other variables, globs and conditions are not evaluated:
//! every command of every branch is taken as run. So the gate measures what a detector can see
//! from process execution and the watched file opens the command lines name.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use std::collections::BTreeMap;

use super::atomic_effects::{reads, watched_read, watched_write, wrapped, writes};
use super::shell_split::{SimpleCommand, split};
use crate::event::{Event, EventKind, Exec, FileRead, FileWrite, Source};
use crate::proctable::basename;

/// One test of the ART extract (the fields the conversion needs).
#[derive(Debug, Clone, Deserialize)]
pub struct AtomicTest {
    pub technique: String,
    pub name: String,
    pub guid: String,
    pub executor: String,
    #[serde(default)]
    pub elevation: bool,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub input_arguments: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub agent_area: String,
    #[serde(default)]
    pub flags: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Extract {
    tests: Vec<AtomicTest>,
}

/// Parse `art_linux_tests_dev.json`.
pub fn load(text: &str) -> Result<Vec<AtomicTest>, serde_json::Error> {
    serde_json::from_str::<Extract>(text).map(|e| e.tests)
}

/// Why a test is not converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Excluded {
    /// PowerShell or manual executors: nothing a shell would run.
    NotShell,
    /// The FreeBSD/macOS variant of a test (`freebsd_variant` flag).
    OtherOs,
    /// No command.
    Empty,
}

const SBIN: &[&str] = &[
    "useradd",
    "userdel",
    "usermod",
    "groupadd",
    "iptables",
    "ip6tables",
    "nft",
    "modprobe",
    "insmod",
    "rmmod",
    "lsmod",
    "setcap",
    "getcap",
    "sshd",
    "auditctl",
    "service",
    "shutdown",
    "reboot",
    "halt",
    "poweroff",
    "ufw",
    "chpasswd",
    "visudo",
    "ifconfig",
    "arp",
    "tcpdump",
    "sysctl",
    "swapoff",
    "setenforce",
    "getenforce",
    "chroot",
    "cron",
    "depmod",
    "ip",
    "ss",
];

/// Shell words that are builtins or syntax, not programs.
const BUILTINS: &[&str] = &[
    "echo", "printf", "cd", "export", "set", "unset", "read", "local", "exit", "return", "source",
    ".", "eval", "[", "[[", "test", "true", "false", "alias", "unalias", "shift", "wait", "trap",
    "ulimit", "umask", "type", "history", "if", "then", "else", "elif", "fi", "for", "while",
    "until", "do", "done", "case", "esac", "{", "}", "!", "function", "declare", "let", "break",
    "continue", "exec", "hash", "jobs", "fg", "bg", "disown", "readonly",
];

/// Replace `#{name}` with the argument's default.
pub fn substitute(test: &AtomicTest, text: &str) -> String {
    let mut s = text.to_owned();
    for (name, arg) in &test.input_arguments {
        let default = match arg.get("default") {
            Some(serde_json::Value::String(v)) => v.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        };
        s = s.replace(&format!("#{{{name}}}"), &default);
    }
    s
}

/// The synthetic event stream of one test, starting at `t0`, or why there is none.
pub fn synthesize(test: &AtomicTest, t0: DateTime<Utc>) -> Result<Vec<Event>, Excluded> {
    if !matches!(test.executor.as_str(), "sh" | "bash") {
        return Err(Excluded::NotShell);
    }
    if test.flags.iter().any(|f| f == "freebsd_variant") {
        return Err(Excluded::OtherOs);
    }
    let command = test
        .command
        .as_deref()
        .map(|c| substitute(test, c))
        .filter(|c| !c.trim().is_empty())
        .ok_or(Excluded::Empty)?;
    let uid = if test.elevation { 0 } else { 1000 };
    let mut s = Synth {
        events: Vec::new(),
        t0,
        next_pid: 4001,
        home: if uid == 0 { "/root" } else { "/home/art" },
        vars: BTreeMap::new(),
    };
    let login = s.exec(3999, uid, "/usr/bin/bash", vec!["-bash".into()]);
    let shell = format!("/usr/bin/{}", test.executor);
    let sh = s.exec(
        login,
        uid,
        &shell,
        vec![test.executor.clone(), "-c".into(), command.clone()],
    );
    s.script(sh, uid, &command, 0);
    Ok(s.events)
}

struct Synth {
    events: Vec<Event>,
    t0: DateTime<Utc>,
    next_pid: u32,
    home: &'static str,
    /// Simple variables assigned so far (item 6 of the module docs).
    vars: BTreeMap<String, String>,
}

impl Synth {
    fn ts(&self) -> DateTime<Utc> {
        self.t0 + Duration::milliseconds(10 * self.events.len() as i64)
    }

    fn exec(&mut self, ppid: u32, uid: u32, file: &str, argv: Vec<String>) -> u32 {
        let pid = self.next_pid;
        self.next_pid += 1;
        let comm: String = basename(file).chars().take(15).collect();
        self.events.push(Event::new(
            self.ts(),
            Source::Ebpf,
            EventKind::Exec(Exec {
                pid,
                ppid,
                uid,
                gid: uid,
                comm,
                filename: file.to_owned(),
                argv,
                argv_truncated: false,
                cgroup_id: 0,
            }),
        ));
        pid
    }

    /// Every simple command of `script`, run by the shell `sh`.
    fn script(&mut self, sh: u32, uid: u32, script: &str, depth: u32) {
        if depth > 4 {
            return;
        }
        for cmd in split(script) {
            self.command(sh, uid, &cmd, depth);
        }
    }

    fn command(&mut self, sh: u32, uid: u32, cmd: &SimpleCommand, depth: u32) {
        for sub in &cmd.substitutions {
            self.script(sh, uid, sub, depth + 1);
        }
        for r in &cmd.redirects {
            let path = self.expand_home(&self.expand_vars(&r.path));
            self.write(sh, uid, "sh", path, r.append);
        }
        if cmd.words.iter().all(|w| is_assignment(w)) {
            self.assign(cmd);
            return;
        }
        // Leading assignments (`X=1 cmd`) are not programs.
        let expanded: Vec<String> = cmd.words.iter().map(|w| self.expand_vars(w)).collect();
        let words: Vec<&String> = expanded
            .iter()
            .filter(|w| !w.is_empty())
            .skip_while(|w| is_assignment(w))
            .collect();
        let Some(first) = words.first() else { return };
        if BUILTINS.contains(&first.as_str()) {
            // `then cmd`, `do cmd`, `! cmd`, `exec cmd`: the rest is a command.
            if matches!(
                first.as_str(),
                "then" | "else" | "do" | "!" | "{" | "exec" | "elif" | "if" | "while"
            ) && words.len() > 1
            {
                let rest = SimpleCommand {
                    words: words[1..].iter().map(|w| (*w).clone()).collect(),
                    redirects: Vec::new(),
                    substitutions: Vec::new(),
                };
                self.command(sh, uid, &rest, depth);
            }
            return;
        }
        let argv: Vec<String> = words.iter().map(|w| (*w).clone()).collect();
        let file = resolve(first, self.home);
        let pid = self.exec(sh, uid, &file, argv.clone());
        let name = basename(&file);
        self.effects(pid, uid, name, &argv);
        if let Some(rest) = wrapped(name, &argv) {
            let inner = SimpleCommand {
                words: rest,
                redirects: Vec::new(),
                substitutions: Vec::new(),
            };
            self.command(pid, uid, &inner, depth + 1);
        } else if name == "sudo" {
            let rest: Vec<String> = argv
                .iter()
                .skip(1)
                .skip_while(|a| a.starts_with('-'))
                .cloned()
                .collect();
            if !rest.is_empty() {
                let inner = SimpleCommand {
                    words: rest,
                    redirects: Vec::new(),
                    substitutions: Vec::new(),
                };
                self.command(pid, 0, &inner, depth + 1);
            }
        } else if matches!(name, "sh" | "bash" | "dash" | "zsh")
            && let Some(i) = argv.iter().position(|a| a == "-c")
            && let Some(inner) = argv.get(i + 1)
        {
            self.script(pid, uid, inner, depth + 1);
        }
    }

    /// The file reads and writes the command line of `name` names (module docs, item 5).
    fn effects(&mut self, pid: u32, uid: u32, name: &str, argv: &[String]) {
        let comm: String = name.chars().take(15).collect();
        for path in reads(name, argv) {
            let path = self.expand_home(path);
            if watched_read(&path) {
                self.events.push(Event::new(
                    self.ts(),
                    Source::Ebpf,
                    EventKind::FileRead(FileRead {
                        pid,
                        uid,
                        comm: comm.clone(),
                        path,
                    }),
                ));
            }
        }
        let append = name == "tee" && argv.iter().any(|a| a == "-a" || a == "--append");
        for path in writes(name, argv) {
            let path = self.expand_home(&path);
            self.write(pid, uid, &comm, path, append);
        }
    }

    /// A write-open of `path` by `pid`, when the sensor watches it.
    fn write(&mut self, pid: u32, uid: u32, comm: &str, path: String, append: bool) {
        if !watched_write(&path) {
            return;
        }
        // O_WRONLY|O_CREAT and O_APPEND or O_TRUNC.
        let flags = if append { 0o2101 } else { 0o1101 };
        self.events.push(Event::new(
            self.ts(),
            Source::Ebpf,
            EventKind::FileWrite(FileWrite {
                pid,
                uid,
                comm: comm.to_owned(),
                path,
                flags,
            }),
        ));
    }

    /// Record `NAME=literal` and `NAME=$(which X ...)` (module docs, item 6).
    fn assign(&mut self, cmd: &SimpleCommand) {
        for w in &cmd.words {
            let Some((name, value)) = w.split_once('=') else {
                continue;
            };
            let value = if value.is_empty() {
                // The value is the (single) substitution: only `which X` and `mktemp` are known.
                match cmd.substitutions.as_slice() {
                    [sub] => match sub.split_whitespace().collect::<Vec<_>>().as_slice() {
                        ["which", prog, ..] if !prog.starts_with('-') => resolve(prog, self.home),
                        // mktemp prints `$TMPDIR/tmp.XXXXXXXXXX` (random letters for the Xs)
                        // or the template it is given.
                        ["mktemp", args @ ..] => match args.iter().find(|a| !a.starts_with('-')) {
                            Some(template) => (*template).to_owned(),
                            None => "/tmp/tmp.XXXXXXXXXX".to_owned(),
                        },
                        _ => continue,
                    },
                    _ => continue,
                }
            } else if value.contains('$') {
                continue;
            } else {
                self.expand_vars(value)
            };
            self.vars.insert(name.to_owned(), value);
        }
    }

    /// `$NAME` and `${NAME}` of known variables replaced; anything else left as written.
    fn expand_vars(&self, w: &str) -> String {
        if !w.contains('$') || self.vars.is_empty() {
            return w.to_owned();
        }
        let mut out = String::new();
        let mut rest = w;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, consumed) = match after.strip_prefix('{') {
                Some(b) => match b.find('}') {
                    Some(end) => (&b[..end], end + 2),
                    None => ("", 0),
                },
                None => {
                    let end = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    (&after[..end], end)
                }
            };
            match self.vars.get(name) {
                Some(v) if consumed > 0 => {
                    out.push_str(v);
                    rest = &after[consumed..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn expand_home(&self, p: &str) -> String {
        match p.strip_prefix('~') {
            Some(rest) => format!("{}{rest}", self.home),
            None => p.replace("$HOME", self.home),
        }
    }
}

fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit()
    })
}

/// Where a command word would be found: absolute as is, `./x` under the home, bare names in
/// /usr/sbin or /usr/bin.
fn resolve(word: &str, home: &str) -> String {
    if word.starts_with('/') {
        word.to_owned()
    } else if let Some(rest) = word.strip_prefix("./") {
        format!("{home}/{rest}")
    } else if let Some(rest) = word.strip_prefix('~') {
        format!("{home}{rest}")
    } else if word.contains('/') {
        format!("{home}/{word}")
    } else if SBIN.contains(&word) {
        format!("/usr/sbin/{word}")
    } else {
        format!("/usr/bin/{word}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_of(executor: &str, command: &str, elevation: bool) -> AtomicTest {
        AtomicTest {
            technique: "T1003.008".into(),
            name: "t".into(),
            guid: "g".into(),
            executor: executor.into(),
            elevation,
            command: Some(command.into()),
            input_arguments: serde_json::json!({"output_file": {"default": "/tmp/out.txt"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            agent_area: "cred_access".into(),
            flags: vec![],
        }
    }

    fn execs(evs: &[Event]) -> Vec<(u32, u32, u32, String)> {
        evs.iter()
            .filter_map(|e| match &e.kind {
                EventKind::Exec(x) => Some((x.pid, x.ppid, x.uid, x.filename.clone())),
                _ => None,
            })
            .collect()
    }

    fn execs_argv(evs: &[Event], file: &str) -> Vec<Vec<String>> {
        evs.iter()
            .filter_map(|e| match &e.kind {
                EventKind::Exec(x) if x.filename == file => Some(x.argv.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sudo_and_substitution_become_a_process_tree() {
        let t = test_of(
            "sh",
            "sudo cat /etc/shadow > #{output_file}\ncat #{output_file}\n",
            false,
        );
        let evs = synthesize(&t, Utc::now()).expect("converts");
        assert_eq!(
            execs(&evs),
            vec![
                (4001, 3999, 1000, "/usr/bin/bash".into()),
                (4002, 4001, 1000, "/usr/bin/sh".into()),
                (4003, 4002, 1000, "/usr/bin/sudo".into()),
                (4004, 4003, 0, "/usr/bin/cat".into()),
                (4005, 4002, 1000, "/usr/bin/cat".into()),
            ]
        );
        let EventKind::Exec(sh) = &evs[1].kind else {
            panic!("sh -c expected")
        };
        assert_eq!(
            sh.argv[2],
            "sudo cat /etc/shadow > /tmp/out.txt\ncat /tmp/out.txt\n"
        );
    }

    #[test]
    fn watched_redirects_become_writes_and_builtins_do_not_exec() {
        let t = test_of(
            "bash",
            "echo '* * * * * root id' >> /etc/crontab; bash -c \"id; $(whoami)\"",
            true,
        );
        let evs = synthesize(&t, Utc::now()).expect("converts");
        let writes: Vec<_> = evs
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::FileWrite(w) => Some(w.path.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(writes, vec!["/etc/crontab"]);
        let files: Vec<String> = execs(&evs).into_iter().map(|e| e.3).collect();
        assert_eq!(
            files,
            vec![
                "/usr/bin/bash",
                "/usr/bin/bash",
                "/usr/bin/whoami",
                "/usr/bin/bash",
                "/usr/bin/id"
            ]
        );
        assert_eq!(
            synthesize(&test_of("powershell", "Get-Process", false), Utc::now()).err(),
            Some(Excluded::NotShell)
        );
    }

    #[test]
    fn variables_reads_writes_and_wrappers() {
        let t = test_of(
            "sh",
            "p=$(which python3 || which python)\nB=/etc\nsudo cat ${B}/shadow\nT=$(mktemp)\nbash $T\n\
             $p -c 'import pty'\nsudo sed -i 1d /etc/pam.d/su-l\nnohup $q tunnel &",
            false,
        );
        let evs = synthesize(&t, Utc::now()).expect("converts");
        let files: Vec<String> = execs(&evs).into_iter().map(|e| e.3).collect();
        assert!(files.contains(&"/usr/bin/python3".to_owned()), "{files:?}");
        assert!(
            files.contains(&"/usr/bin/$q".to_owned()),
            "unknown variables stay"
        );
        let bash_t = execs_argv(&evs, "/usr/bin/bash");
        assert!(bash_t.contains(&vec!["bash".to_owned(), "/tmp/tmp.XXXXXXXXXX".to_owned()]));
        let other: Vec<(String, String, u32)> = evs
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::FileRead(r) => Some(("read".into(), r.path.clone(), r.uid)),
                EventKind::FileWrite(w) => Some((w.comm.clone(), w.path.clone(), w.uid)),
                _ => None,
            })
            .collect();
        assert_eq!(
            other,
            vec![
                ("read".into(), "/etc/shadow".into(), 0),
                ("sed".into(), "/etc/pam.d/su-l".into(), 0)
            ]
        );
    }

    proptest::proptest! {
        /// Any command text converts without panicking, and every synthesised read or write is
        /// one the default sensor configuration reports.
        #[test]
        fn any_command_converts_to_watched_opens_only(cmd in "[ -~\n]{0,120}") {
            // A blank command is refused (Excluded::Empty); anything else converts.
            let evs = synthesize(&test_of("sh", &cmd, true), Utc::now()).unwrap_or_default();
            proptest::prop_assert!(cmd.trim().is_empty() || evs.len() >= 2);
            for e in &evs {
                match &e.kind {
                    EventKind::FileRead(r) => proptest::prop_assert!(watched_read(&r.path)),
                    EventKind::FileWrite(w) => proptest::prop_assert!(watched_write(&w.path)),
                    _ => {}
                }
            }
        }
    }
}
