#!/usr/bin/env bash
# Guess victim's password until sshd stops answering (blocked) or ATTACK_SECS (90) pass: three
# connections at a time, five passwords each. ATTACK_TARGET (default $TARGET_IP) is the target's
# address as seen from the namespace this runs in. Exit 0 when blocked.
source "$LIB_CHECKS"
host="${ATTACK_TARGET:-$TARGET_IP}"
end=$((SECONDS + ${ATTACK_SECS:-90}))
n=0
while ((SECONDS < end)); do
  if ! nc -z -w 3 "$host" 22 2>/dev/null; then
    echo "after $n connections ($SECONDS s): port 22 unreachable: blocked"
    exit 0
  fi
  for _ in 1 2 3; do
    n=$((n + 1))
    ssh_guess target victim "$host" 5 2>/dev/null &
  done
  wait
done
echo "not blocked after $n connections ($SECONDS s)"
exit 1
