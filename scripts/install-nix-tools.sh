#!/usr/bin/env bash
# Install the tools the offline Nix checks (scripts/nix-check.sh) use (idempotent).
#
# - Debian's nix-bin (Nix 2.8): `nix-instantiate --parse`, `nix flake metadata` on the lock, and
#   `nix-instantiate --eval` of the module evaluation when a nixpkgs lib is given.
# - deadnix and nixfmt_rs (binary `nixfmt`) from crates.io at pinned versions, built once into
#   $INNERWARDEN_TOOLS (default ~/.cache/innerwarden/tools) and reused while the version matches.
#
# nftables and systemd (nft, systemd-analyze) come from scripts/setup.sh's package list.
set -euo pipefail

TOOLS="${INNERWARDEN_TOOLS:-$HOME/.cache/innerwarden/tools}"
DEADNIX_VERSION=1.3.1
NIXFMT_RS_VERSION=0.5.3

if ! dpkg-query -W -f='${Status}' nix-bin 2>/dev/null | grep -q "install ok installed"; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: need root to apt-get install nix-bin" >&2
        exit 1
    fi
    echo "installing Debian package nix-bin" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nix-bin >&2 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nix-bin >&2; }
fi

# install_crate CRATE VERSION BINARY: cargo install --locked into $TOOLS unless that version is there.
install_crate() {
    local crate=$1 version=$2 bin=$3
    if [[ -x "$TOOLS/bin/$bin" ]] && grep -q "^\"$crate $version " "$TOOLS/.crates.toml" 2>/dev/null; then
        echo "$crate $version already in $TOOLS/bin" >&2
        return
    fi
    echo "building $crate $version into $TOOLS" >&2
    mkdir -p "$TOOLS"
    cargo install "$crate" --version "$version" --locked --root "$TOOLS" >&2
}

install_crate deadnix "$DEADNIX_VERSION" deadnix
install_crate nixfmt_rs "$NIXFMT_RS_VERSION" nixfmt
echo "$TOOLS/bin"
