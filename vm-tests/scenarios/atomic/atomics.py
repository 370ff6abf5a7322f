#!/usr/bin/env python3
"""Atomic Red Team, for real, inside the test machine (vm-tests/scenarios/atomic/README.md).

  atomics.py benign        the benign workload; its time window to $STATE/benign.json
  atomics.py run           every selected test; one record per test to $STATE/tests.jsonl
  atomics.py benign-check  exit 1 if an incident holds a finding from the benign window
  atomics.py report        per technique: detected within 60 s or not; exit 1 below FLOOR
  atomics.py list          the selection and the exclusions (no test is run)

The tests come from $INNERWARDEN_ART_JSON (default /job/data/art_linux_tests_dev.json, which
the qemu harness copies from ../shared; it is third-party data and never in the repository).
"""
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict

STATE = os.environ.get("STATE", "/tmp")
ART = os.environ.get("INNERWARDEN_ART_JSON", "/job/data/art_linux_tests_dev.json")
TEST_SECS = 20  # a test (or its prerequisite step, or cleanup) is killed past this
WINDOW_SECS = 60  # an incident counts when its finding is at most this long after the start
GRACE_SECS = 2  # journald lines can land after the test's process has exited
GAP_SECS = 2  # quiet time between tests, so findings attribute to one test
# Times are kept on the agent's clock for kernel events: CLOCK_BOOTTIME plus the wall-clock
# offset at the start. A test that sets the system clock (T1070.006 sets 1971 and back, losing
# the seconds) would otherwise shift every later window; the runner also puts the clock back.
OFFSET = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def now():
    return time.clock_gettime(time.CLOCK_BOOTTIME) + OFFSET


def restore_clock():
    """Undo a test's clock change (no exec: nothing for the agent to report)."""
    if abs(time.time() - now()) > 0.5:
        time.clock_settime(time.CLOCK_REALTIME, now())
        return True
    return False
# Detection rate below which the scenario fails: the rate measured when this was written
# (74/117 = 63% before root_ca_installed and the journal_vacuumed fix; see README.md), less a
# margin for run-to-run noise. The target is 0.80, not reached.
FLOOR = 0.60
EXCLUDE_FLAGS = {
    "prereq_downloads": "needs a download (the guest is offline)",
    "needs_network": "needs the internet",
    "needs_second_host": "needs a second host",
}


def load():
    with open(ART) as f:
        return json.load(f)["tests"]


def select(tests):
    """(selected, Counter of exclusion reasons)."""
    chosen, why = [], Counter()
    for t in tests:
        if not t.get("vm_safe"):
            why["not vm_safe"] += 1
        elif t.get("executor") not in ("sh", "bash"):
            why[f"executor {t.get('executor')}"] += 1
        elif set(t.get("flags", [])) & EXCLUDE_FLAGS.keys():
            flag = sorted(set(t["flags"]) & EXCLUDE_FLAGS.keys())[0]
            why[EXCLUDE_FLAGS[flag]] += 1
        elif not (t.get("command") or "").strip():
            why["no command"] += 1
        else:
            chosen.append(t)
    return chosen, why


def substitute(test, text):
    for name, arg in (test.get("input_arguments") or {}).items():
        default = arg.get("default")
        value = "" if default is None else default if isinstance(default, str) else json.dumps(default)
        text = text.replace("#{" + name + "}", value)
    return text


def as_user(name):
    """preexec_fn: a new session, and the user's ids when not root."""
    import pwd

    pw = pwd.getpwnam(name)

    def pre():
        os.setsid()
        if pw.pw_uid != 0:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)

    env = {"HOME": pw.pw_dir, "USER": name, "LOGNAME": name, "SHELL": "/bin/bash",
           "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    return pre, env, pw.pw_dir


def sh(shell, command, user, log, secs=TEST_SECS):
    """Run `command` under `shell` as `user` in its own session; (rc or None on timeout)."""
    pre, env, home = as_user(user)
    with open(log, "ab") as out:
        # Under `timeout`, a fresh process per test: stateful detectors that key on the session
        # (the nearest ancestor that is not a shell) see each test on its own, not the runner's
        # whole history.
        argv = ["timeout", "-k", "3", str(secs), shell, "-c", command]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, preexec_fn=pre, env=env, cwd=home)
        try:
            rc = p.wait(timeout=secs + 10)
        except subprocess.TimeoutExpired:
            rc = None
        if rc in (124, 137):
            rc = None
        try:  # whatever the test left running in its session
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        p.wait()
    return rc


def shell_of(executor):
    return "/bin/bash" if executor == "bash" else "/bin/sh"


def prereqs_met(t, user, log):
    shell = shell_of(t.get("dependency_executor") or t["executor"])
    for dep in t.get("dependencies") or []:
        check = substitute(t, dep.get("prereq_command") or "true")
        if sh(shell, check, user, log) == 0:
            continue
        sh(shell, substitute(t, dep.get("get_prereq_command") or "true"), user, log, 30)
        if sh(shell, check, user, log) != 0:
            return False
    return True


def agent_running():
    """From /proc, not `systemctl is-active` (a security-tool check the agent itself reports)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/comm").read().strip() == "innerwarden":
                return True
        except OSError:
            pass
    return False


def run():
    tests, _ = select(load())
    logdir = os.path.join(STATE, "atomic-logs")
    os.makedirs(logdir, exist_ok=True)
    out = open(os.path.join(STATE, "tests.jsonl"), "w")
    for i, t in enumerate(tests):
        user = "root" if t.get("elevation") else "atomic"
        log = os.path.join(logdir, f"{i:03d}-{t['technique']}-{t['num']}.log")
        rec = {"i": i, "guid": t["guid"], "technique": t["technique"], "num": t["num"],
               "name": t["name"], "user": user}
        if not prereqs_met(t, user, log):
            rec.update(status="prereq_unmet")
        else:
            time.sleep(GAP_SECS)
            rec["start"] = now()
            rc = sh(shell_of(t["executor"]), substitute(t, t["command"]), user, log)
            rec["end"] = now()
            rec.update(status="timeout" if rc is None else "ran", rc=rc)
            if (t.get("cleanup") or "").strip():
                sh(shell_of(t["executor"]), substitute(t, t["cleanup"]), user, log)
        if restore_clock():
            rec["clock_restored"] = True
        if not agent_running():
            rec["agent_restarted"] = True
            subprocess.run(["systemctl", "start", "innerwarden"])
        out.write(json.dumps(rec) + "\n")
        out.flush()
        print(f"{i + 1}/{len(tests)} {t['technique']}#{t['num']} {rec['status']} rc={rec.get('rc')} {t['name']}")
    out.close()


def benign():
    """Package install and removal, a compile, admin SSH logins with sudo, a cron run."""
    start = now()
    steps = [
        ["sh", "-c", "cd /root/iw-pkg && apt-get install -y ./hello-iw_1.0_all.deb"],
        ["hello-iw"],
        ["apt-get", "remove", "-y", "hello-iw"],
        ["runuser", "-u", "atomic", "--", "make", "-C", "/home/atomic/src/hello"],
        ["/home/atomic/src/hello/hello"],
        ["runuser", "-u", "atomic", "--", "make", "-C", "/home/atomic/src/hello", "clean"],
    ]
    admin = ("echo ops-admin-pass | sudo -S -p '' systemctl status cron --no-pager >/dev/null; "
             "uptime; df -h /; echo ops-admin-pass | sudo -S -p '' journalctl -n 5 --no-pager >/dev/null")
    for _ in range(2):
        steps.append(["ip", "netns", "exec", "admin", "ssh", "-i", "/root/iw-admin-key",
                      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                      "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "ops@10.98.0.1", admin])
    failed = []
    for argv in steps:
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
            if r.returncode != 0:
                failed.append(f"{' '.join(argv[:4])}: rc {r.returncode} {r.stderr.decode()[-300:]}")
        except (OSError, subprocess.TimeoutExpired) as e:
            failed.append(f"{' '.join(argv[:4])}: {e}")
    # cron: the every-minute job must have run inside the window.
    deadline = now() + 75
    cron_ran = False
    while now() < deadline and not cron_ran:
        try:
            cron_ran = float(open("/run/iw-backup.stamp").read()) >= start
        except (OSError, ValueError):
            pass
        time.sleep(1)
    if not cron_ran:
        failed.append("the cron job did not run within 75 s")
    end = now()
    json.dump({"start": start, "end": end + GRACE_SECS, "failed": failed}, open(os.path.join(STATE, "benign.json"), "w"))
    for f in failed:
        print("benign step failed:", f)
    print(f"benign workload: {len(steps)} steps and a cron run in {end - start:.0f} s")
    return 1 if failed else 0


def findings(since):
    """[(ts epoch, detector, incident id, summary)] of incidents active since `since`."""
    out = subprocess.run(["innerwarden", "incidents", "--json", "--limit", "100000"],
                         capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        inc = json.loads(line)
        if parse_ts(inc["last_ts"]) < since:
            continue
        detail = json.loads(subprocess.run(["innerwarden", "incidents", "--json", str(inc["id"])],
                                           capture_output=True, text=True, check=True).stdout)
        for f in detail["findings"]:
            fd = f["finding"]
            res.append((parse_ts(fd["ts"]), fd["detector"], inc["id"], fd.get("summary", "")))
    return res


def parse_ts(s):
    from datetime import datetime

    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def benign_check():
    b = json.load(open(os.path.join(STATE, "benign.json")))
    hits = [f for f in findings(b["start"]) if b["start"] <= f[0] <= b["end"]]
    print(f"REPORT benign workload ({b['end'] - b['start']:.0f} s): {len(hits)} findings")
    for ts, det, inc, summary in hits:
        print(f"REPORT   incident {inc}: {det} at +{ts - b['start']:.1f} s: {summary[:160]}")
    if b["failed"]:
        print("but the workload itself failed:", "; ".join(b["failed"]))
        return 1
    if hits:  # one last line with all of them: the runner's failure message shows the last two
        print("benign findings: " + "; ".join(f"{det}: {summary[:80]}" for _, det, _, summary in hits))
    return 1 if hits else 0


def report():
    recs = [json.loads(l) for l in open(os.path.join(STATE, "tests.jsonl"))]
    ran = [r for r in recs if "start" in r]
    fs = findings(min((r["start"] for r in ran), default=now()))
    rows = defaultdict(lambda: [0, 0, Counter()])
    missed = []
    starts = [r["start"] for r in ran][1:] + [float("inf")]
    for r, next_start in zip(ran, starts):
        hi = min(r["end"] + GRACE_SECS, r["start"] + WINDOW_SECS, next_start)
        dets = sorted({d for ts, d, _, _ in fs if r["start"] <= ts <= hi})
        row = rows[r["technique"]]
        row[0] += 1
        row[1] += bool(dets)
        row[2].update(dets)
        if not dets:
            missed.append(r)
    detected = sum(v[1] for v in rows.values())
    rate = detected / len(ran) if ran else 0.0
    _, excluded = select(load())
    p = lambda s="": print("REPORT " + s)
    p("| technique | executed | detected | detectors |")
    p("|---|---|---|---|")
    for tech in sorted(rows):
        n, d, c = rows[tech]
        p(f"| {tech} | {n} | {d} | {', '.join(k for k, _ in c.most_common(4))} |")
    p(f"| **all** | {len(ran)} | {detected} | {rate:.0%} |")
    p()
    status = Counter(r["status"] for r in recs)
    p(f"selected {len(recs)}: ran {status['ran']}, timed out {status['timeout']} (both count as executed), "
      f"prerequisite not met {status['prereq_unmet']} (not executed); agent restarts {sum(1 for r in recs if r.get('agent_restarted'))}")
    p("excluded: " + ", ".join(f"{why} {n}" for why, n in sorted(excluded.items())))
    p("not detected: " + "; ".join(f"{r['technique']}#{r['num']} {r['name']}" for r in missed))
    # Sensor programs this kernel refused (their events are missing from every test above).
    journal = subprocess.run(["journalctl", "-u", "innerwarden", "--no-pager", "-o", "cat"],
                             capture_output=True, text=True).stdout
    refused = sorted({l.strip()[:160] for l in journal.splitlines() if "not attached" in l})
    p(f"eBPF programs not attached: {len(refused)}" + "".join(f"\nREPORT   {l}" for l in refused))
    print(f"atomic: {detected}/{len(ran)} executed tests detected within {WINDOW_SECS} s ({rate:.1%}; floor {FLOOR:.0%}, target 80%)")
    return 0 if rate >= FLOOR else 1


def list_():
    chosen, excluded = select(load())
    for t in chosen:
        print(t["technique"], t["num"], "root" if t.get("elevation") else "atomic", t["name"])
    print(f"{len(chosen)} selected; excluded: {dict(excluded)}")
    return 0


if __name__ == "__main__":
    cmds = {"run": run, "benign": benign, "benign-check": benign_check, "report": report, "list": list_}
    if len(sys.argv) != 2 or sys.argv[1] not in cmds:
        sys.exit(f"usage: atomics.py {'|'.join(cmds)}")
    if not os.path.exists(ART):
        sys.exit(f"atomics.py: no Atomic Red Team data at {ART}")
    sys.exit(cmds[sys.argv[1]]() or 0)
