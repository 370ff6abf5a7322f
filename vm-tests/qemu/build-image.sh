#!/usr/bin/env bash
# Build (once) the qemu test image: a Debian bookworm rootfs with the Debian kernel (BTF, BPF-LSM),
# an initramfs that can mount an ext4 root on virtio-blk and the 9p job share, and every package
# the in-guest runner needs (vm-tests/README.md).
#
# Output, cached under ${INNERWARDEN_CACHE:-/var/cache/innerwarden}/vm/<key>/ where <key> is a hash
# of this script (edit the script and the image is rebuilt; never inside the repository):
#   vmlinux      the uncompressed kernel (ELF), booted by PVH: skips the BIOS and the decompressor
#   initrd.img   initramfs (MODULES=list: virtio, ext4, 9p)
#   rootfs.img   ext4 image made by `mkfs.ext4 -d` (no loop device); booted with snapshot=on
#   kernel.txt   the kernel package version
# A marker (`ok`) is written last, so an interrupted build is redone. Prints the directory.
# Needs root (debootstrap). ~4 min on a clean machine (2 cores), a no-op afterwards.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${INNERWARDEN_CACHE:-/var/cache/innerwarden}/vm"
suite="${INNERWARDEN_VM_SUITE:-bookworm}"
mirror="${INNERWARDEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
key="$(cat "$here/build-image.sh" | sha256sum | cut -c1-16)-$suite"
out="$cache/$key"

if [[ $EUID -ne 0 ]]; then
  echo "build-image.sh: needs root (debootstrap)" >&2
  exit 2
fi
if [[ -f "$out/ok" ]]; then
  echo "$out"
  exit 0
fi
for tool in debootstrap mkfs.ext4 python3; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool missing (scripts/setup.sh deps)" >&2; exit 2; }
done

# The packages the runner and the scenarios use (keep in step with vm-tests/README.md).
pkgs=(
  systemd systemd-sysv dbus udev kmod linux-image-amd64 initramfs-tools
  bash coreutils iproute2 nftables procps psmisc jq python3 curl
  openssh-server openssh-client sshpass netcat-openbsd
  # The atomic scenario: the benign workload (sudo, cron, a compile) and the tools the offline
  # Atomic Red Team tests call.
  sudo cron gcc make libc6-dev openssl ed zip unzip lsof net-tools iputils-ping pciutils
  file busybox libcap2-bin perl
  # A server's usual trust store and syslog daemon: the tests that add a root CA or edit the
  # rsyslog configuration act on real files.
  ca-certificates rsyslog
)
work="$cache/build.$$"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

# The initramfs must carry the modules for a virtio-blk ext4 root and the 9p share; written
# before the kernel package so its postinst builds the right initramfs the first time.
mkdir -p "$rootfs/etc/initramfs-tools/conf.d"
printf 'MODULES=list\nCOMPRESS=gzip\n' >"$rootfs/etc/initramfs-tools/conf.d/innerwarden.conf"
mkdir -p "$rootfs/etc/initramfs-tools"
printf '%s\n' virtio_pci virtio_blk virtio_console ext4 9p 9pnet_virtio netfs >"$rootfs/etc/initramfs-tools/modules"

echo "build-image: debootstrap $suite (${#pkgs[@]} packages)" >&2
DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase \
  --include="$(IFS=,; echo "${pkgs[*]}")" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2
  exit 1
}

# Guest configuration: no network services beyond sshd, root on /dev/vda, the job share at /job.
echo innerwarden-vm >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 innerwarden-vm\n::1 localhost\n' >"$rootfs/etc/hosts"
cat >"$rootfs/etc/fstab" <<'FSTAB'
/dev/vda / ext4 rw,errors=remount-ro 0 1
job /job 9p trans=virtio,version=9p2000.L,msize=262144,nofail,x-systemd.device-timeout=10s 0 0
FSTAB
mkdir -p "$rootfs/job"
passwd_hash="$(python3 -c 'import crypt; print(crypt.crypt("root", crypt.mksalt(crypt.METHOD_SHA512)))' 2>/dev/null || echo '*')"
chroot "$rootfs" usermod -p "$passwd_hash" root
# Nothing periodic may wake up during a scenario.
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer; do
  chroot "$rootfs" systemctl mask "$unit" >/dev/null 2>&1 || true
done
chroot "$rootfs" systemctl mask getty@tty1.service serial-getty@ttyS0.service >/dev/null 2>&1 || true
# sshd: password logins on (the brute-force target); DNS lookups off (no resolver in the guest).
printf 'UseDNS no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nMaxStartups 100:30:200\n' \
  >"$rootfs/etc/ssh/sshd_config.d/innerwarden-vm.conf"
chroot "$rootfs" systemctl enable ssh.service >/dev/null 2>&1 || true

# The job unit: at boot, run /job/run.sh (the harness's job) and power off whatever it returns.
cat >"$rootfs/etc/systemd/system/innerwarden-job.service" <<'UNIT'
[Unit]
Description=Inner Warden VM job (/job/run.sh)
After=multi-user.target dbus.service ssh.service job.mount
Requires=dbus.service
ConditionPathExists=/job/run.sh

[Service]
Type=oneshot
ExecStart=/bin/bash /job/run.sh
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
chroot "$rootfs" systemctl enable innerwarden-job.service >/dev/null

kver="$(basename "$(ls -d "$rootfs"/lib/modules/* | head -1)")"
chroot "$rootfs" update-initramfs -u -k "$kver" >"$work/initramfs.log" 2>&1 || {
  tail -20 "$work/initramfs.log" >&2
  exit 1
}
# PVH boot needs the uncompressed ELF: decompress the xz payload inside vmlinuz.
python3 - "$rootfs/boot/vmlinuz-$kver" "$work/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], "rb").read()
off = data.find(b"\xfd7zXZ\x00")
if off < 0:
    sys.exit("vmlinuz: no xz payload")
d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
elf = d.decompress(data[off:])
if elf[:4] != b"\x7fELF":
    sys.exit("vmlinuz: payload is not an ELF")
open(sys.argv[2], "wb").write(elf)
PY
cp "$rootfs/boot/initrd.img-$kver" "$work/initrd.img"
echo "$kver $(chroot "$rootfs" dpkg-query -W -f='${Version}' "linux-image-$kver")" >"$work/kernel.txt"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs/var/lib/apt/lists"/* "$rootfs/boot"/*

mkfs.ext4 -q -F -L innerwarden-vm -d "$rootfs" "$work/rootfs.img" 3G >&2
rm -rf "$rootfs"
rm -rf "$out"
mkdir -p "$cache"
mv "$work" "$out"
trap - EXIT
rm -f "$out/debootstrap.log" "$out/initramfs.log"
touch "$out/ok"
echo "$out"
