#!/usr/bin/env bash
# A password account for the attacker to guess at, and sshd listening.
set -euo pipefail
id victim >/dev/null 2>&1 || useradd -m -s /bin/bash victim
echo 'victim:correct-horse-battery' | chpasswd
systemctl restart ssh.service
