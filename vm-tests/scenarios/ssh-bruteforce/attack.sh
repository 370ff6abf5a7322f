#!/usr/bin/env bash
# Guess victim's password until sshd stops answering (blocked) or ATTACK_SECS (90) pass. Each
# attempt is one connection with one password. ATTACK_TARGET (default $TARGET_IP) is the address
# of the target as seen from the namespace this runs in. Exit 0 when blocked.
TARGET_IP="${ATTACK_TARGET:-$TARGET_IP}"
end=$((SECONDS + ${ATTACK_SECS:-90}))
n=0
while ((SECONDS < end)); do
  n=$((n + 1))
  if ! timeout 3 bash -c "exec 3<>/dev/tcp/$TARGET_IP/22" 2>/dev/null; then
    echo "attempt $n: port 22 unreachable after $SECONDS s: blocked"
    exit 0
  fi
  timeout 10 sshpass -p "guess$n" ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=3 -o LogLevel=ERROR -o PreferredAuthentications=password \
    -o PubkeyAuthentication=no "victim@$TARGET_IP" true 2>/dev/null
done
echo "still not blocked after $n attempts"
exit 1
