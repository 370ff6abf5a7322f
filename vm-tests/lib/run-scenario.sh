#!/usr/bin/env bash
# The in-guest runner: run one scenario against the real agent, as root, inside a test machine
# (the qemu harness's Debian guest or a NixOS test node). Contract: vm-tests/README.md.
#
#   vm-tests/lib/run-scenario.sh vm-tests/scenarios/NAME
#
# Order: check scenario.toml → networks (netns `attacker` 10.99.0.2 and `admin` 10.98.0.2, each
# joined to the target by a veth; the target is 10.99.0.1 / 10.98.0.1) → setup.sh → the agent's
# config from [config] → the agent as the real systemd unit (installed from packaging/ unless the
# machine already has one) → the steps in order → teardown. Every wait polls with a deadline.
# The last line is `PASS NAME` or `FAIL NAME: why`; exit status 0 on pass.
#
# Environment for setup.sh, attack.sh and step commands: SCENARIO_DIR, SCENARIO, TARGET_IP,
# ATTACKER_IP, ADMIN_IP, TARGET_ADMIN_IP, STATE (a scratch directory for this run), and the
# helpers of lib/checks.sh (steps' `sh` runs under `bash -c` with them sourced).
# Variables: INNERWARDEN_CONFIG_PATH (default /etc/innerwarden/config.toml),
# INNERWARDEN_INSTALL_UNIT (auto|yes|no: install packaging/innerwarden.service + bus policy).
set -uo pipefail

dir="$(cd "${1:?usage: run-scenario.sh SCENARIO_DIR}" && pwd)"
name="$(basename "$dir")"
lib="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vmtests="$(dirname "$lib")"
packaging="${INNERWARDEN_PACKAGING:-$(dirname "$vmtests")/packaging}"
config_path="${INNERWARDEN_CONFIG_PATH:-/etc/innerwarden/config.toml}"

export SCENARIO_DIR="$dir" SCENARIO="$name"
export TARGET_IP=10.99.0.1 ATTACKER_IP=10.99.0.2 TARGET_ADMIN_IP=10.98.0.1 ADMIN_IP=10.98.0.2
STATE="$(mktemp -d /run/innerwarden-scenario.XXXXXX)"
export STATE
# shellcheck source=checks.sh
source "$lib/checks.sh"

log() { echo "[$(date +%T)] $name: $*"; }
fail() {
  log "FAIL: $*"
  diagnostics
  teardown
  echo "FAIL $name: $*"
  exit 1
}

diagnostics() {
  echo "--- diagnostics ($name)"
  systemctl --no-pager status innerwarden 2>&1 | tail -15
  journalctl -u innerwarden --no-pager -n 40 2>&1 | tail -40
  nft list table inet innerwarden 2>&1 | head -40
  local id
  for id in $(innerwarden incidents --json 2>/dev/null | jq -r .id | head -10); do
    innerwarden incidents --json "$id" 2>&1 | jq -M -c '{id, entity, title,
      findings: [.findings[].finding | {detector, severity, summary}],
      decisions: [.decisions[].decision | {tier, confidence,
        actions: [.actions[] | {action: .action.action, target: (.action.addr // .action.unit // .action.path // .action.pid), dry_run}],
        suppressed: [.suppressed[] | {action: .[0].action, guard: .[1].guard}]}]}' 2>&1
  done
  innerwarden actions --json 2>&1 | jq -M -c '.[] | {kind, target, state, dry_run}' 2>&1 | head -20
  echo "--- end diagnostics"
}

teardown() {
  [[ -f "$STATE/attack.pid" ]] && kill "$(cat "$STATE/attack.pid")" 2>/dev/null
  systemctl stop innerwarden.service 2>/dev/null
  systemctl reset-failed innerwarden.service 2>/dev/null
  [[ -x "$dir/teardown.sh" ]] && bash "$dir/teardown.sh" >/dev/null 2>&1
  for ns in attacker admin; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  ip link del iw-att 2>/dev/null
  ip link del iw-adm 2>/dev/null
  nft delete table inet innerwarden 2>/dev/null
  rm -rf "$STATE"
  true
}

# 1. The scenario file, checked before anything changes on the machine.
python3 "$lib/scenario.py" "$dir" >/dev/null 2>"$STATE/err" || fail "$(cat "$STATE/err")"
command -v innerwarden >/dev/null || fail "innerwarden is not on PATH (the driver installs it)"
log "$(python3 "$lib/scenario.py" "$dir" description)"

# 2. A clean slate: no agent, no state, no table, no namespaces from an earlier scenario.
systemctl stop innerwarden.service 2>/dev/null
systemctl reset-failed innerwarden.service 2>/dev/null
rm -rf /var/lib/innerwarden
nft delete table inet innerwarden 2>/dev/null
for ns in attacker admin; do ip netns del "$ns" 2>/dev/null; done

# 3. Networks: attacker and admin namespaces, each on its own veth to the target.
netns() { # NS HOSTIF TARGET_IP PEER_IP
  ip netns add "$1" && ip link add "$2" type veth peer name eth0 netns "$1" &&
    ip addr add "$3/24" dev "$2" && ip link set "$2" up &&
    ip -n "$1" addr add "$4/24" dev eth0 && ip -n "$1" link set eth0 up &&
    ip -n "$1" link set lo up
}
netns attacker iw-att "$TARGET_IP" "$ATTACKER_IP" || fail "creating the attacker namespace"
netns admin iw-adm "$TARGET_ADMIN_IP" "$ADMIN_IP" || fail "creating the admin namespace"
# The target's sshd answers on both links (the image enables ssh.service).
wait_for 30 tcp_connects attacker "$TARGET_IP" 22 || fail "attacker cannot reach the target's sshd"
wait_for 10 tcp_connects admin "$TARGET_ADMIN_IP" 22 || fail "admin cannot reach the target's sshd"

# 4. The scenario's own setup, as root on the target, before the agent starts.
if [[ -f "$dir/setup.sh" ]]; then
  log "setup.sh"
  bash "$dir/setup.sh" >"$STATE/setup.log" 2>&1 || fail "setup.sh failed: $(tail -3 "$STATE/setup.log" | tr '\n' ' ')"
fi

# 5. The agent: the real unit from packaging/ (Type=notify, watchdog, bus policy), our config.
install_unit="${INNERWARDEN_INSTALL_UNIT:-auto}"
if [[ $install_unit == auto ]]; then
  if [[ -e /etc/NIXOS ]]; then install_unit=no; else install_unit=yes; fi
fi
if [[ $install_unit == yes ]]; then
  [[ -f "$packaging/innerwarden.service" ]] || fail "no $packaging/innerwarden.service"
  install -D -m 0644 "$packaging/innerwarden.service" /etc/systemd/system/innerwarden.service
  install -D -m 0644 "$packaging/dbus/org.innerwarden.Agent1.conf" \
    /etc/dbus-1/system.d/org.innerwarden.Agent1.conf
  # Debian kernels default to perf_event_paranoid = 3 (no tracepoints without CAP_SYS_ADMIN).
  if [[ $(cat /proc/sys/kernel/perf_event_paranoid) -gt 2 ]]; then
    install -D -m 0644 "$packaging/sysctl.d/60-innerwarden.conf" /etc/sysctl.d/60-innerwarden.conf
    sysctl -q -p /etc/sysctl.d/60-innerwarden.conf
  fi
  systemctl daemon-reload
  busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null 2>&1 ||
    systemctl reload dbus 2>/dev/null
fi
install -d -m 0755 "$(dirname "$config_path")"
python3 "$lib/scenario.py" "$dir" config >"$config_path" 2>"$STATE/err" || fail "$(cat "$STATE/err")"
innerwarden --config "$config_path" check-config >"$STATE/check.log" 2>&1 ||
  fail "check-config refused the scenario's [config]: $(tail -3 "$STATE/check.log" | tr '\n' ' ')"
start_agent || fail "the agent did not start: $(systemctl show -p Result --value innerwarden)"

# 6. The steps, in order. Read them all first: a step's command must never eat the list (ssh
# reads stdin), and every step must have run before PASS.
mapfile -t steps < <(python3 "$lib/scenario.py" "$dir" steps)
[[ ${#steps[@]} -gt 0 ]] || fail "no steps read from scenario.toml"
n=0
for step in "${steps[@]}"; do
  n=$((n + 1))
  run_step "$n" "$step" </dev/null ||
    fail "step $n ($(jq -r .note <<<"$step")): $(cat "$STATE/why" 2>/dev/null)"
done
[[ $n -eq ${#steps[@]} ]] || fail "ran $n of ${#steps[@]} steps"
log "all $n steps held"

teardown
echo "PASS $name"
