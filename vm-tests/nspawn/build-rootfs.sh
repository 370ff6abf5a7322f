#!/usr/bin/env bash
# Build (once) a minimal Debian bookworm rootfs for systemd-nspawn response tests.
#
# The rootfs lives in ${INNERWARDEN_CACHE:-/var/cache/innerwarden}/nspawn-rootfs and is reused when
# present (a marker file is written only after debootstrap succeeded, so an interrupted build is
# redone). First build ~2 min from the Debian mirrors; afterwards this script is a no-op.
# Prints the rootfs path on stdout. Needs root.
set -euo pipefail

cache="${INNERWARDEN_CACHE:-/var/cache/innerwarden}"
rootfs="$cache/nspawn-rootfs"
marker="$rootfs/.innerwarden-rootfs-ok"
suite="${INNERWARDEN_NSPAWN_SUITE:-bookworm}"
mirror="${INNERWARDEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [[ $EUID -ne 0 ]]; then
  echo "build-rootfs.sh: needs root" >&2
  exit 2
fi

# The job unit: at boot, run /job/run.sh when the runner bound a job dir, then power off.
# Written on every call (cheap) so a cached rootfs picks up changes to it.
install_job_unit() {
  local unit="$rootfs/etc/systemd/system/innerwarden-job.service"
  cat >"$unit" <<'UNIT'
[Unit]
Description=Inner Warden test job (/job/run.sh)
After=multi-user.target dbus.service
Requires=dbus.service
ConditionPathExists=/job/run.sh

[Service]
Type=oneshot
ExecStart=/bin/sh /job/run.sh
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
UNIT
  mkdir -p "$rootfs/etc/systemd/system/multi-user.target.wants"
  ln -sf ../innerwarden-job.service \
    "$rootfs/etc/systemd/system/multi-user.target.wants/innerwarden-job.service"
}

if [[ -f "$marker" ]]; then
  install_job_unit
  echo "$rootfs"
  exit 0
fi

if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap systemd-container >&2
fi

rm -rf "$rootfs"
mkdir -p "$cache"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps \
  "$suite" "$rootfs" "$mirror" >&2
install_job_unit
touch "$marker"
echo "$rootfs"
