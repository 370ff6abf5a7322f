#!/usr/bin/env bash
# The attacker listens on 4444 and "exploits" the web application (the trigger file).
set -u
ip netns exec attacker bash -c "sleep 300 | nc -l 4444 >/dev/null 2>&1" &
for _ in $(seq 40); do
  ip netns exec attacker ss -ltn | grep -q ':4444 ' && break
  sleep 0.25
done
echo "$ATTACKER_IP" >/run/webapp/c2
touch /run/webapp/pwn
