#!/usr/bin/env bash
# Install the toolchain that builds the eBPF object on Debian (idempotent).
#
# - Debian packages: rustc-web/cargo-web (a rustc whose sysroot has core for bpfel-unknown-none via
#   libstd-rust-web-dev-bpf) and LLVM 22 (the LLVM that rustc emits bitcode for).
# - bpf-linker 0.13.0 built against that LLVM, cached under $INNERWARDEN_TOOLS
#   (default ~/.cache/innerwarden/tools) so it is built once per machine.
#
# Prints the bin directory to add to PATH on its last line.
set -euo pipefail

TOOLS="${INNERWARDEN_TOOLS:-$HOME/.cache/innerwarden/tools}"
LLVM="${LLVM_PREFIX:-/usr/lib/llvm-22}"
BPF_LINKER_VERSION=0.13.0
PACKAGES=(rustc-web cargo-web libstd-rust-web-dev-bpf llvm-22-dev libpolly-22-dev)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}" >&2
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: need root to apt-get install ${missing[*]}" >&2
        exit 1
    fi
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

have_version() {
    [[ -x "$TOOLS/bin/bpf-linker" ]] &&
        "$TOOLS/bin/bpf-linker" --version 2>/dev/null | grep -q "$BPF_LINKER_VERSION"
}

if have_version; then
    echo "bpf-linker $BPF_LINKER_VERSION already in $TOOLS/bin" >&2
else
    echo "building bpf-linker $BPF_LINKER_VERSION against $LLVM into $TOOLS" >&2
    mkdir -p "$TOOLS"
    LLVM_PREFIX="$LLVM" LLVM_SYS_221_PREFIX="$LLVM" \
        cargo install bpf-linker --version "$BPF_LINKER_VERSION" --locked \
        --no-default-features --features llvm-22 --root "$TOOLS" >&2
fi
echo "$TOOLS/bin"
