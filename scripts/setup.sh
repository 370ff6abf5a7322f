#!/usr/bin/env bash
# Install everything Inner Warden needs on a fresh Debian 12 machine, build it, and (with `run`)
# start the agent. Idempotent: a second run only rebuilds what changed.
#
#   sudo bash scripts/setup.sh          # install + build (release)
#   sudo bash scripts/setup.sh run      # install + build, then run the agent in the foreground
#   sudo bash scripts/setup.sh deps     # install + build the eBPF object only (what tests need)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages and the agent needs CAP_BPF)" >&2
  exit 1
fi

# Debian packages: build tools, the host side of the response machinery, and the eBPF toolchain
# (Debian's rustc-web ships `core` for bpfel-unknown-none; bpf-linker builds against llvm-22).
pkgs=(build-essential pkg-config ca-certificates nftables iproute2 dbus procps)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The VM test tier (vm-tests/qemu): qemu under TCG, debootstrap for the guest image, mkfs.ext4
# -d for the disk. Without recommends (qemu's pull in a desktop's worth of libraries).
vm_pkgs=(qemu-system-x86 debootstrap e2fsprogs python3)
vm_missing=()
for p in "${vm_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || vm_missing+=("$p")
done
if [ ${#vm_missing[@]} -gt 0 ]; then
  echo "setup: installing ${vm_missing[*]} (VM tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${vm_missing[@]}" >/dev/null
fi

# Userspace Rust: the machine's rustup toolchain when there is one, else Debian's cargo-web.
if ! command -v cargo >/dev/null 2>&1; then
  bash scripts/install-bpf-toolchain.sh >/dev/null
  export PATH="/usr/lib/rust-web/bin:$PATH"
  command -v cargo >/dev/null 2>&1 || ln -sf /usr/bin/cargo /usr/local/bin/cargo
fi

bash scripts/install-bpf-toolchain.sh
bash scripts/build-ebpf.sh

case "$mode" in
  deps)
    # The offline Nix checks' tools (nix-bin, deadnix, nixfmt); without them those checks skip.
    bash scripts/install-nix-tools.sh >/dev/null ||
      echo "setup: the Nix check tools did not install; scripts/nix-check.sh will skip" >&2
    exit 0 ;;
  build|run) cargo build --release --locked -p innerwarden ;;
  *) echo "setup.sh: unknown mode $mode (build, run or deps)" >&2; exit 2 ;;
esac

if [ "$mode" = run ]; then
  cfg=/etc/innerwarden/config.toml
  if [ ! -f "$cfg" ]; then
    install -d -m 0755 /etc/innerwarden
    install -m 0644 packaging/config.toml "$cfg"
    echo "setup: wrote the default configuration to $cfg (dry-run: records, enforces nothing)"
  fi
  exec ./target/release/innerwarden --config "$cfg" run
fi
