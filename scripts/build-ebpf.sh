#!/usr/bin/env bash
# Build the eBPF object and copy it to target/bpf/innerwarden.bpf.o (or $1).
#
# Needs Debian's rustc (core for bpfel-unknown-none) and bpf-linker: see
# scripts/install-bpf-toolchain.sh. RUSTC_BOOTSTRAP=1 because the bpf target is tier 3 and
# aya-ebpf uses a few unstable features; RUSTC=/usr/bin/rustc because rustup's rustc, which may
# come first in PATH, has no core for the bpf targets.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/target/bpf/innerwarden.bpf.o}"
TOOLS="${INNERWARDEN_TOOLS:-$HOME/.cache/innerwarden/tools}"
BPF_RUSTC="${INNERWARDEN_BPF_RUSTC:-/usr/bin/rustc}"
BPF_CARGO="${INNERWARDEN_BPF_CARGO:-/usr/bin/cargo}"

export PATH="$TOOLS/bin:$PATH"
if ! command -v bpf-linker >/dev/null; then
    echo "error: bpf-linker not found; run scripts/install-bpf-toolchain.sh" >&2
    exit 1
fi
if [[ ! -x "$BPF_RUSTC" || ! -x "$BPF_CARGO" ]]; then
    echo "error: $BPF_RUSTC or $BPF_CARGO missing; run scripts/install-bpf-toolchain.sh" >&2
    exit 1
fi

cd "$ROOT/ebpf/innerwarden-ebpf"
# Keep the host toolchain's flags (e.g. from a parent cargo build.rs) out of the bpf build.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER
RUSTC="$BPF_RUSTC" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$ROOT/ebpf/innerwarden-ebpf/target" \
    "$BPF_CARGO" build --release --target bpfel-unknown-none >&2
mkdir -p "$(dirname "$OUT")"
cp "$ROOT/ebpf/innerwarden-ebpf/target/bpfel-unknown-none/release/innerwarden" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
