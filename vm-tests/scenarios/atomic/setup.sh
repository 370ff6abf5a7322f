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
bash "$SCENARIO_DIR/benign-setup.sh"
systemctl is-active --quiet cron || systemctl start cron
