#!/usr/bin/env bash
# Compare the act-tier decision on the dry-run attacker with the one on the enforced attacker:
# after replacing each one's address with ADDR and dropping `dry_run`, the planned actions must
# be identical; every dry-run action has dry_run = true and every enforced one false.
set -euo pipefail
source "$LIB_CHECKS"
decision() { # ADDR → the act-tier decision of that host's incident, normalized
  local id
  id=$(innerwarden incidents --json | jq -r --arg e "host:$1" 'select(.entity == $e) | .id' | head -1)
  innerwarden incidents --json "$id" | jq --arg a "$1" '
    [.decisions[].decision | select(.tier == "act")][0]
    | {tier, scorer, actions: [.actions[] | {dry_run, reversal: (.reversal | sub($a; "ADDR")),
       action: (.action | (if .addr == $a then .addr = "ADDR" else . end))}]}'
}
dry=$(decision "$ATTACKER_IP")
enf=$(decision "$ADMIN_IP")
echo "dry-run: $dry"
echo "enforced: $enf"
jq -e '.actions | length > 0 and all(.dry_run)' <<<"$dry" >/dev/null
jq -e '.actions | length > 0 and all(.dry_run | not)' <<<"$enf" >/dev/null
[[ "$(jq -S 'del(.actions[].dry_run)' <<<"$dry")" == "$(jq -S 'del(.actions[].dry_run)' <<<"$enf")" ]]
