#!/usr/bin/env bash
# Compare the act-tier decision on the dry-run attacker with the one on the enforced attacker:
# after replacing each one's address with ADDR and dropping `dry_run`, the planned actions must
# be identical; every dry-run action has dry_run = true and every enforced one false.
set -euo pipefail
list=$(timeout 60 innerwarden incidents --json)
decision() { # ADDR → the act-tier decision of that host's incident, normalized
  local id
  id=$(jq -r --arg e "host:$1" 'select(.entity == $e) | .id' <<<"$list" | head -1)
  [[ -n $id ]] || { echo "no incident for host:$1" >&2; return 1; }
  timeout 60 innerwarden incidents --json "$id" | jq -M -c --arg a "$1" '
    [.decisions[].decision | select(.tier == "act")][0]
    | {tier, scorer, actions: [.actions[] | {dry_run, reversal: ((.reversal // "") | sub($a; "ADDR")),
       action: (.action | (if .addr == $a then .addr = "ADDR" else . end))}]}'
}
dry=$(decision "$ATTACKER_IP")
echo "dry-run:  $dry"
enf=$(decision "$ADMIN_IP")
echo "enforced: $enf"
jq -e '.actions | length > 0 and all(.dry_run)' <<<"$dry" >/dev/null
jq -e '.actions | length > 0 and all(.dry_run | not)' <<<"$enf" >/dev/null
[[ "$(jq -S -c 'del(.actions[].dry_run)' <<<"$dry")" == "$(jq -S -c 'del(.actions[].dry_run)' <<<"$enf")" ]]
