#!/usr/bin/env bash
# Before the agent starts: the test user, the admin account, and the benign workload's cron job
# and package (so installing them is not itself part of what the agent watches).
set -euo pipefail
id -u atomic >/dev/null 2>&1 || useradd -m -s /bin/bash atomic
# Atomic tests are run by a user with sudo (Invoke-AtomicTest's convention).
echo 'atomic ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/atomic
chmod 0440 /etc/sudoers.d/atomic
id -u ops >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo ops
echo 'ops:ops-admin-pass' | chpasswd
# The admin logs in with a key (as admins do) and types their password to sudo.
rm -f /root/iw-admin-key /root/iw-admin-key.pub
ssh-keygen -q -t ed25519 -N '' -f /root/iw-admin-key
install -d -m 0700 -o ops -g ops /home/ops/.ssh
install -m 0600 -o ops -g ops /root/iw-admin-key.pub /home/ops/.ssh/authorized_keys
bash "$SCENARIO_DIR/benign-setup.sh"
systemctl is-active --quiet cron || systemctl start cron
