# Helpers for run-scenario.sh and for scenario steps (sourced; steps' `sh` can call them).
# Every check reads only our CLI (`innerwarden … --json`), nft's JSON (`nft -j`) and what a
# client sees of its own connection. Each returns 0 when the expectation holds.

# wait_for SECS CMD…: run CMD every 0.5 s until it succeeds; fail after SECS.
wait_for() {
  local secs=$1
  shift
  local end=$((SECONDS + secs))
  while true; do
    "$@" && return 0
    ((SECONDS >= end)) && return 1
    sleep 0.5
  done
}

# in_ns NS CMD…: run CMD in a network namespace (`target` means the target itself).
in_ns() {
  local ns=$1
  shift
  if [[ $ns == target ]]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# Addresses in an nft set of the agent's table (plain and prefix elements), one a line.
nft_set_addrs() {
  nft -j list set inet innerwarden "$1" 2>/dev/null | jq -r '
    .nftables[] | select(.set) | .set.elem[]?
    | (if type == "object" and has("elem") then .elem.val else . end)
    | (if type == "object" and has("prefix") then .prefix.addr else . end)
    | (if type == "object" and has("range") then .range[0] else . end)'
}

# nft_has SET ADDR: ADDR is an element of SET.
nft_has() { nft_set_addrs "$1" | grep -qxF "$2"; }

# nft_has_timeout SET ADDR: ADDR is in SET with a kernel timeout (the TTL lives in the kernel).
nft_has_timeout() {
  nft -j list set inet innerwarden "$1" 2>/dev/null | jq -e --arg a "$2" '
    [.nftables[] | select(.set) | .set.elem[]? | select(type == "object" and has("elem"))
     | .elem | select((.val == $a) or (.val.prefix.addr? == $a)) | select(.timeout > 0)]
    | length > 0' >/dev/null
}

# tcp_connects NS HOST PORT: a TCP connection from NS succeeds within 3 s.
tcp_connects() { in_ns "$1" nc -z -w 3 "$2" "$3" 2>/dev/null; }

# ssh_login NS USER PASSWORD HOST: a password login runs `true`.
ssh_login() {
  in_ns "$1" timeout 15 sshpass -p "$3" ssh -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR \
    -o PreferredAuthentications=password -o PubkeyAuthentication=no "$2@$4" true
}

# incident_by DETECTOR: an incident holds a finding of DETECTOR; prints its id.
incident_by() {
  local id
  for id in $(innerwarden incidents --json 2>/dev/null | jq -r .id); do
    if innerwarden incidents --json "$id" 2>/dev/null |
      jq -e --arg d "$1" '[.findings[].finding.detector] | index($d) != null' >/dev/null; then
      echo "$id"
      return 0
    fi
  done
  return 1
}

# action_in KIND STATE [DRY_RUN]: an action of KIND is in STATE (applied, dry_run, expired, …).
action_in() {
  innerwarden actions --json 2>/dev/null | jq -e --arg k "$1" --arg s "$2" '
    [.[] | select(.kind == $k and .state == $s)] | length > 0' >/dev/null
}

# action_target KIND: targets of actions of KIND, one a line.
action_targets() { innerwarden actions --json 2>/dev/null | jq -r --arg k "$1" '.[] | select(.kind == $k) | .target'; }

# audit_ok: `innerwarden audit verify` passes.
audit_ok() { innerwarden audit verify >/dev/null 2>&1; }

# exec_denied PATH [ARGS…]: exec of PATH fails with EPERM ("Operation not permitted").
exec_denied() {
  local err
  err="$("$@" 2>&1 >/dev/null)" && return 1
  [[ $err == *"Operation not permitted"* || $err == *"Permission denied"* ]]
}

# agent_ready: the unit is active and the agent answers on the system bus.
agent_ready() {
  systemctl is-active --quiet innerwarden.service && innerwarden status --json >/dev/null 2>&1
}

start_agent() {
  systemctl start innerwarden.service || return 1
  wait_for 60 agent_ready
}

# run_step N JSON: one step of scenario.toml; on failure writes why to $STATE/why.
run_step() {
  local n=$1 step=$2 do sh in within expect_fail note
  do=$(jq -r '.do // empty' <<<"$step")
  sh=$(jq -r '.sh // empty' <<<"$step")
  in=$(jq -r '.in' <<<"$step")
  within=$(jq -r '.within_secs' <<<"$step")
  expect_fail=$(jq -r '.expect_fail' <<<"$step")
  note=$(jq -r '.note' <<<"$step")
  echo "[$(date +%T)] $SCENARIO: step $n: $note"
  : >"$STATE/why"
  case "$do" in
    attack) run_attack; return ;;
    wait_attack)
      [[ -f $STATE/attack.pid ]] || { echo "no background attack" >"$STATE/why"; return 1; }
      wait_for "${within/#0/60}" bash -c "! kill -0 $(cat "$STATE/attack.pid") 2>/dev/null" ||
        { echo "attack still running after ${within}s" >"$STATE/why"; return 1; }
      return 0 ;;
    restart_agent)
      systemctl restart innerwarden.service && wait_for 60 agent_ready ||
        { echo "agent not ready after restart" >"$STATE/why"; return 1; }
      return 0 ;;
    stop_agent) systemctl stop innerwarden.service; return ;;
    start_agent) start_agent || { echo "agent did not start" >"$STATE/why"; return 1; }; return 0 ;;
    admin_session) open_admin_session; return ;;
  esac
  local cmd="source '$LIB_CHECKS'; $sh"
  local once
  if [[ $expect_fail == true ]]; then
    once() { ! in_ns "$in" bash -c "$cmd" >>"$STATE/step.log" 2>&1; }
  else
    once() { in_ns "$in" bash -c "$cmd" >>"$STATE/step.log" 2>&1; }
  fi
  : >"$STATE/step.log"
  if [[ $within -gt 0 ]]; then
    wait_for "$within" once && { show_step_output; return 0; }
    echo "not true within ${within}s: $( [[ $expect_fail == true ]] && echo 'expected failure of: ')$sh; $(tail -2 "$STATE/step.log" | tr '\n' ' ')" >"$STATE/why"
    return 1
  fi
  once && { show_step_output; return 0; }
  echo "$( [[ $expect_fail == true ]] && echo 'expected failure of: ')$sh; $(tail -2 "$STATE/step.log" | tr '\n' ' ')" >"$STATE/why"
  return 1
}
# The last lines a passing step printed, indented under it in the log.
# Lines starting with `REPORT ` are shown whole (the qemu harness prints them again).
show_step_output() {
  grep -a '^REPORT ' "$STATE/step.log"
  grep -av '^REPORT ' "$STATE/step.log" | tail -3 | sed 's/^/    | /'
}

LIB_CHECKS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/checks.sh"
export LIB_CHECKS

# run_attack: attack.sh in scenario.toml's `attack_in`, in the background when
# `attack_background = true` (its pid in $STATE/attack.pid).
run_attack() {
  local where bg
  where=$(python3 "$(dirname "$LIB_CHECKS")/scenario.py" "$SCENARIO_DIR" attack_in)
  bg=$(python3 "$(dirname "$LIB_CHECKS")/scenario.py" "$SCENARIO_DIR" attack_background)
  if [[ $bg == true ]]; then
    in_ns "$where" bash "$SCENARIO_DIR/attack.sh" >"$STATE/attack.log" 2>&1 &
    echo $! >"$STATE/attack.pid"
    return 0
  fi
  in_ns "$where" bash "$SCENARIO_DIR/attack.sh" >"$STATE/attack.log" 2>&1
  echo $? >"$STATE/attack.rc"
  sed 's/^/    attack: /' "$STATE/attack.log" | tail -15
  return 0
}

# open_admin_session: an authenticated SSH session from the admin namespace (key login as
# root), kept open for the rest of the scenario. Waits until sshd shows it authenticated.
open_admin_session() {
  rm -f "$STATE/admin_key" "$STATE/admin_key.pub"
  ssh-keygen -q -t ed25519 -N '' -f "$STATE/admin_key" || return 1
  install -d -m 0700 /root/.ssh
  cat "$STATE/admin_key.pub" >>/root/.ssh/authorized_keys
  in_ns admin ssh -i "$STATE/admin_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR "root@$TARGET_ADMIN_IP" 'sleep 100000' </dev/null \
    >"$STATE/admin.log" 2>&1 &
  echo $! >"$STATE/admin.pid"
  wait_for 30 bash -c 'pgrep -f "^sshd: root@notty" >/dev/null' ||
    { echo "admin session not authenticated: $(cat "$STATE/admin.log")" >"$STATE/why"; return 1; }
}

# ssh_guess NS USER HOST [TRIES]: one SSH connection that offers TRIES (5) wrong passwords
# (through SSH_ASKPASS, so one slow handshake under TCG yields several failures). Fails.
ssh_guess() {
  local askpass="$STATE/askpass"
  if [[ ! -x $askpass ]]; then
    printf '#!/bin/sh\necho "guess-$$-$(date +%%N)"\n' >"$askpass"
    chmod 0755 "$askpass"
  fi
  in_ns "$1" env SSH_ASKPASS="$askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    timeout 40 ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=5 -o LogLevel=ERROR -o PreferredAuthentications=password \
    -o PubkeyAuthentication=no -o NumberOfPasswordPrompts="${4:-5}" "$2@$3" true </dev/null
}

# action_age KIND: print how long ago (s) the newest action of KIND was created (for the log).
action_age() {
  local created
  created=$(innerwarden actions --json 2>/dev/null | jq -r --arg k "$1" '[.[] | select(.kind == $k)][0].created_at')
  echo "$1 created $(($(date +%s) - $(date -d "$created" +%s))) s ago"
}
