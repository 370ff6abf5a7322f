#!/usr/bin/env python3
"""Read and check a scenario directory's scenario.toml (format: vm-tests/README.md).

    scenario.py DIR                 check; exit 2 with the problem named on stderr
    scenario.py DIR timeout_secs    print one top-level value
    scenario.py DIR config          print the agent configuration (TOML) the runner writes
    scenario.py DIR steps           print the steps, one JSON object a line

Python 3.11+ (tomllib); both the Debian guest and the host have it.
"""
import json
import sys
import tomllib
from pathlib import Path

TOP = {"description", "timeout_secs", "attack_in", "attack_background", "nixos_test", "config", "step"}
STEP = {"note", "do", "sh", "in", "within_secs", "expect_fail"}
DOS = {"attack", "wait_attack", "restart_agent", "stop_agent", "start_agent", "admin_session"}
PLACES = {"target", "attacker", "admin"}


class Bad(Exception):
    pass


def load(d: Path) -> dict:
    path = d / "scenario.toml"
    try:
        s = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise Bad(f"{path}: missing")
    except tomllib.TOMLDecodeError as e:
        raise Bad(f"{path}: {e}")
    unknown = set(s) - TOP
    if unknown:
        raise Bad(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(TOP)}")
    if not isinstance(s.get("description"), str):
        raise Bad(f"{path}: description (a string) is required")
    t = s.setdefault("timeout_secs", 300)
    if not isinstance(t, int) or not 10 <= t <= 1800:
        raise Bad(f"{path}: timeout_secs must be an integer in 10..1800, got {t!r}")
    if s.setdefault("attack_in", "attacker") not in PLACES:
        raise Bad(f"{path}: attack_in must be one of {sorted(PLACES)}")
    if not isinstance(s.setdefault("attack_background", False), bool):
        raise Bad(f"{path}: attack_background must be true or false")
    if not isinstance(s.setdefault("nixos_test", True), bool):
        raise Bad(f"{path}: nixos_test must be true or false")
    if not isinstance(s.setdefault("config", {}), dict):
        raise Bad(f"{path}: [config] must be a table (the agent's config.toml)")
    if not (d / "attack.sh").is_file():
        raise Bad(f"{d}/attack.sh: missing")
    steps = s.setdefault("step", [])
    if not steps:
        raise Bad(f"{path}: at least one [[step]] is required")
    for i, st in enumerate(steps, 1):
        where = f"{path}: step {i}"
        unknown = set(st) - STEP
        if unknown:
            raise Bad(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(STEP)}")
        if ("do" in st) == ("sh" in st):
            raise Bad(f"{where}: exactly one of `do` or `sh`")
        if "do" in st and st["do"] not in DOS:
            raise Bad(f"{where}: do = {st['do']!r}, expected one of {sorted(DOS)}")
        if st.setdefault("in", "target") not in PLACES:
            raise Bad(f"{where}: in must be one of {sorted(PLACES)}")
        w = st.setdefault("within_secs", 0)
        if not isinstance(w, int) or not 0 <= w <= t:
            raise Bad(f"{where}: within_secs must be an integer in 0..timeout_secs")
        if not isinstance(st.setdefault("expect_fail", False), bool):
            raise Bad(f"{where}: expect_fail must be true or false")
        st.setdefault("note", st.get("do") or st.get("sh"))
    return s


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise Bad(f"config value {v!r}: only strings, numbers, booleans and lists")


def toml_dump(table: dict, prefix: str = "") -> str:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    out = ""
    if plain and prefix:
        out += f"[{prefix}]\n"
    for k, v in plain.items():
        out += f"{k} = {toml_value(v)}\n"
    for k, v in nested.items():
        out += toml_dump(v, f"{prefix}.{k}" if prefix else k)
    return out


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = Path(sys.argv[1])
    try:
        s = load(d)
        what = sys.argv[2] if len(sys.argv) > 2 else None
        if what is None:
            return 0
        if what == "config":
            sys.stdout.write(toml_dump(s["config"]))
        elif what == "steps":
            for st in s["step"]:
                print(json.dumps(st))
        elif what in s and not isinstance(s[what], (dict, list)):
            v = s[what]
            print(toml_value(v) if isinstance(v, bool) else v)
        else:
            raise Bad(f"no scalar `{what}` in {d}/scenario.toml")
    except Bad as e:
        print(f"scenario: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
