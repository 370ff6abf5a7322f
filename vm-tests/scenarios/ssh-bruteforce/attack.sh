#!/usr/bin/env bash
# Guess victim's password until sshd stops answering (blocked) or ATTACK_SECS (90) pass: rounds
# of three connections at a time, five passwords each, in the background, while the foreground
# checks every second whether port 22 still answers (so a short block TTL is not missed).
# ATTACK_TARGET (default $TARGET_IP) is the target's address as seen from this namespace.
# Exit 0 when blocked.
source "$LIB_CHECKS"
host="${ATTACK_TARGET:-$TARGET_IP}"
end=$((SECONDS + ${ATTACK_SECS:-90}))
setsid bash -c "source '$LIB_CHECKS'
  while true; do
    for _ in 1 2 3; do ssh_guess target victim '$host' 5 2>/dev/null & done
    wait
  done" </dev/null >/dev/null 2>&1 &
guesser=$!
trap 'kill -- -$guesser 2>/dev/null' EXIT
while ((SECONDS < end)); do
  if ! nc -z -w 2 "$host" 22 2>/dev/null; then
    echo "port 22 unreachable after $SECONDS s: blocked"
    exit 0
  fi
  sleep 1
done
echo "not blocked after $SECONDS s"
exit 1
