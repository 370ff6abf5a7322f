#!/usr/bin/env bash
# Offline checks of the Nix side (flake, modules, image, NixOS tests) on a machine whose Nix
# cannot build anything (Debian's nix-bin, no binary cache, no GitHub). What needs real Nix
# (building the packages, the image, the NixOS tests) is the flake's `checks`; see README.
#
#   scripts/nix-check.sh [CHECK...]        run the named checks (default: all), one line each
#   scripts/nix-check.sh settings CASE     print the module's rendered settings for CASE as JSON
#                                          (defaults | appliance; needs NIXPKGS_LIB)
#
# Checks: parse deadnix nixfmt flake-lock nft-table unit-diff unit-verify unit-security
#         scenarios module-eval flake-eval
# Each prints `ok: NAME ...`, `FAIL: NAME: why` or `skipped: NAME: why` (a tool or a nixpkgs lib
# is missing), then a summary `nix-check: N passed, N failed, N skipped`; exit 1 on any failure.
#
# Environment: NIXPKGS_LIB=/path/to/nixpkgs-or-nixpkgs.lib (for module-eval; the directory holding
# lib/), INNERWARDEN_TOOLS (deadnix and nixfmt, from scripts/install-nix-tools.sh),
# INNERWARDEN_BIN (the agent binary systemd-analyze verify resolves ExecStart to).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
TOOLS="${INNERWARDEN_TOOLS:-$HOME/.cache/innerwarden/tools}"
export PATH="$TOOLS/bin:$PATH"
# Debian's nix-bin names a build group that does not exist; nothing here builds.
export NIX_CONFIG=$'build-users-group =\nexperimental-features = nix-command flakes'
MAX_EXPOSURE=2.5

work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# Single-user Nix keeps its state under /nix, writable by root only: anyone else gets a private
# store and state directory for this run (evaluation and `path:` flakes need no more).
if [[ $(id -u) -ne 0 ]]; then
  export NIX_STATE_DIR="$work/nix-state" NIX_REMOTE="local?root=$work/nix-root"
fi
passed=0 failed=0 skipped=0

ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "skipped: $*"; skipped=$((skipped + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }

nix_files() {
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$ROOT" ls-files --cached --others --exclude-standard -- '*.nix'
  else
    find . -name '*.nix' -not -path './target/*' -not -path './.git/*' | sed 's|^\./||'
  fi | sort -u | while read -r f; do [[ -f $f ]] && echo "$f"; done
}

# nix-eval FILE ATTR: the attribute's value as raw text (builtins only, no nixpkgs).
nix_text() { nix eval --raw -f "$1" "$2"; }

# The unit as `Section|Key=Value` lines, comments dropped, sorted by section and key (stable:
# repeated keys such as SystemCallFilter keep their order, which systemd gives meaning to).
normalize_unit() {
  awk '/^[[:space:]]*(#|;|$)/ {next}
       /^\[/ {sec=$0; next}
       {print sec "|" $0}' "$1" | sort -s -t '=' -k1,1
}

# Runs "$@" in a private network namespace (root, or an unprivileged user namespace).
in_netns() {
  if [[ $(id -u) -eq 0 ]]; then unshare -n "$@"; else unshare -r -n "$@"; fi
}

check_parse() {
  have nix-instantiate || { skip "parse: nix-instantiate not found (scripts/install-nix-tools.sh installs nix-bin)"; return; }
  local n=0 bad=()
  while read -r f; do
    n=$((n + 1))
    nix-instantiate --parse "$f" >/dev/null 2>"$work/err" || bad+=("$f: $(head -c 300 "$work/err")")
  done < <(nix_files)
  if ((${#bad[@]})); then fail "parse: ${bad[*]}"; else ok "parse: $n .nix files"; fi
}

check_deadnix() {
  have deadnix || { skip "deadnix: deadnix not found (scripts/install-nix-tools.sh builds it)"; return; }
  mapfile -t files < <(nix_files)
  if deadnix --fail "${files[@]}" >"$work/out" 2>&1; then
    ok "deadnix: no unused bindings in ${#files[@]} files ($(deadnix --version))"
  else
    fail "deadnix: unused bindings:"$'\n'"$(cat "$work/out")"
  fi
}

check_nixfmt() {
  have nixfmt || { skip "nixfmt: nixfmt not found (scripts/install-nix-tools.sh builds nixfmt_rs)"; return; }
  mapfile -t files < <(nix_files)
  if nixfmt --check "${files[@]}" >"$work/out" 2>&1; then
    ok "nixfmt: ${#files[@]} files formatted ($(nixfmt --version 2>&1 | head -1))"
  else
    fail "nixfmt: not formatted (run: nixfmt \$(git ls-files '*.nix')):"$'\n'"$(cat "$work/out")"
  fi
}

check_flake_lock() {
  have nix || { skip "flake-lock: nix not found (scripts/install-nix-tools.sh installs nix-bin)"; return; }
  # Only flake.nix and flake.lock: `path:` copies the directory into the store.
  local dir="$work/flake"
  mkdir -p "$dir" && cp flake.nix flake.lock "$dir/"
  if ! nix flake metadata "path:$dir" --no-update-lock-file --offline --json >"$work/meta.json" 2>"$work/err"; then
    if [[ $(id -u) -ne 0 ]] && grep -qiE 'permission denied|read-only|not permitted' "$work/err"; then
      skip "flake-lock: the Nix store is not writable by this user (run as root): $(grep -iE 'permission denied|read-only|not permitted' "$work/err" | head -1)"
    else
      fail "flake-lock: nix flake metadata refused the lock: $(tail -3 "$work/err")"
    fi
    return
  fi
  local bad
  bad=$(jq -r '.locks.nodes as $n
    | [ ["nixpkgs","NixOS","nixpkgs"], ["crane","ipetkov","crane"] ][]
    | . as [$k,$o,$r]
    | ($n[$k].locked // {}) as $l
    | select(($l.type != "github") or ($l.owner != $o) or ($l.repo != $r)
             or (($l.rev // "") | test("^[0-9a-f]{40}$") | not)
             or (($l.narHash // "") | startswith("sha256-") | not)
             or ($l.lastModified == null))
    | "\($k): \($l)"' "$work/meta.json")
  if [[ -n $bad ]]; then
    fail "flake-lock: incomplete pins: $bad"
  else
    ok "flake-lock: $(jq -r '.locks.nodes | "nixpkgs \(.nixpkgs.locked.rev[0:12]), crane \(.crane.locked.rev[0:12])"' "$work/meta.json") readable offline"
  fi
}

check_nft_table() {
  have nft && have nix || { skip "nft-table: nft or nix not found"; return; }
  nix_text nix/nft-table.nix text >"$work/module.nft" 2>"$work/err" || { fail "nft-table: evaluating nix/nft-table.nix: $(cat "$work/err")"; return; }
  if ! in_netns nft -c -f "$work/module.nft" 2>"$work/err"; then
    if grep -qiE 'operation not permitted|cannot|unshare' "$work/err" && [[ $(id -u) -ne 0 ]]; then
      skip "nft-table: no network namespace for nft -c (not root): $(head -1 "$work/err")"
    else
      fail "nft-table: nft -c rejects the module's table: $(cat "$work/err")"
    fi
    return
  fi
  # The same table as the agent's own file: load each into a fresh namespace and compare.
  in_netns sh -c 'nft -f "$1" && nft list table inet innerwarden' _ "$work/module.nft" >"$work/a" 2>&1
  in_netns sh -c 'nft -f "$1" && nft list table inet innerwarden' _ packaging/innerwarden.nft >"$work/b" 2>&1
  if diff -u "$work/b" "$work/a" >"$work/diff"; then
    ok "nft-table: nft -c accepts it; nft list equals packaging/innerwarden.nft ($(grep -c . "$work/a") lines)"
  else
    fail "nft-table: module table differs from packaging/innerwarden.nft:"$'\n'"$(cat "$work/diff")"
  fi
}

render_unit() {
  [[ -s $work/nix.service ]] && return 0
  nix_text nix/unit.nix text >"$work/nix.service" 2>"$work/err"
}

check_unit_diff() {
  have nix || { skip "unit-diff: nix not found"; return; }
  render_unit || { fail "unit-diff: evaluating nix/unit.nix: $(cat "$work/err")"; return; }
  normalize_unit packaging/innerwarden.service >"$work/pkg.kv"
  normalize_unit "$work/nix.service" >"$work/nix.kv"
  if diff -u "$work/pkg.kv" "$work/nix.kv" >"$work/diff"; then
    ok "unit-diff: nix/unit.nix renders packaging/innerwarden.service ($(wc -l <"$work/nix.kv") settings)"
  else
    fail "unit-diff: the module's unit and packaging/innerwarden.service differ:"$'\n'"$(cat "$work/diff")"
  fi
}

# The module's unit as a file systemd-analyze can resolve: ExecStart at a real binary.
unit_for_analyze() {
  render_unit || return 1
  local bin="${INNERWARDEN_BIN:-$(command -v true)}"
  mkdir -p "$work/unit"
  sed "s|/usr/bin/innerwarden|$bin|" "$work/nix.service" >"$work/unit/innerwarden.service"
}

check_unit_verify() {
  have systemd-analyze && have nix || { skip "unit-verify: systemd-analyze or nix not found"; return; }
  unit_for_analyze || { fail "unit-verify: evaluating nix/unit.nix: $(cat "$work/err")"; return; }
  if systemd-analyze verify --man=no "$work/unit/innerwarden.service" >"$work/out" 2>&1; then
    ok "unit-verify: systemd-analyze verify accepts the module's unit"
  else
    fail "unit-verify: $(cat "$work/out")"
  fi
}

check_unit_security() {
  have systemd-analyze && have nix || { skip "unit-security: systemd-analyze or nix not found"; return; }
  unit_for_analyze || { fail "unit-security: evaluating nix/unit.nix: $(cat "$work/err")"; return; }
  systemd-analyze security --offline=yes --no-pager "$work/unit/innerwarden.service" >"$work/out" 2>&1
  local score
  score=$(grep 'Overall exposure level' "$work/out" | sed -E 's/.*: *([0-9.]+).*/\1/')
  if [[ -z $score ]]; then
    fail "unit-security: no exposure level in: $(tail -5 "$work/out")"
  elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN {exit !(s <= m)}'; then
    ok "unit-security: exposure $score <= $MAX_EXPOSURE"
  else
    fail "unit-security: exposure $score > $MAX_EXPOSURE"
  fi
}

check_scenarios() {
  have nix-instantiate || { skip "scenarios: nix-instantiate not found"; return; }
  local want got
  # Every scenario directory, less those that opt out (`nixos_test = false`, read by the same
  # checker the harness uses).
  want=$(for d in vm-tests/scenarios/*/; do
    d=${d%/}
    [[ $(python3 vm-tests/lib/scenario.py "$d" nixos_test 2>/dev/null) == false ]] || basename "$d"
  done | sort | paste -sd' ')
  got=$(nix-instantiate --eval --strict --json nix/scenarios.nix 2>"$work/err" | jq -r 'sort | join(" ")') ||
    { fail "scenarios: evaluating nix/scenarios.nix: $(cat "$work/err")"; return; }
  if [[ $want == "$got" ]]; then
    ok "scenarios: one NixOS test per scenario directory (${got:-none})"
  else
    fail "scenarios: nix/scenarios.nix gives [$got], vm-tests/scenarios has [$want]"
  fi
}

nixpkgs_lib() {
  local l="${NIXPKGS_LIB:-}"
  [[ -n $l && -f $l/lib/default.nix ]] && echo "$l/lib"
}

check_module_eval() {
  have nix-instantiate || { skip "module-eval: nix-instantiate not found"; return; }
  local lib
  lib=$(nixpkgs_lib) || {
    skip "module-eval: NIXPKGS_LIB is not set to a nixpkgs or nixpkgs.lib checkout (the directory holding lib/)"
    return
  }
  if nix-instantiate --eval --strict --json -E \
    "let r = import ./nix/module-eval.nix { lib = import $lib; }; in { inherit (r) checks summary; }" \
    >"$work/out" 2>"$work/err"; then
    ok "module-eval: $(jq -r .summary "$work/out") ($(jq -r '.checks | join("; ")' "$work/out"))"
  else
    fail "module-eval: $(grep -E 'error|expected' "$work/err" | head -5)"
  fi
}

check_flake_eval() {
  have nix-instantiate || { skip "flake-eval: nix-instantiate not found"; return; }
  local lib
  lib=$(nixpkgs_lib) || {
    skip "flake-eval: NIXPKGS_LIB is not set to a nixpkgs or nixpkgs.lib checkout (the directory holding lib/)"
    return
  }
  if nix-instantiate --eval --strict --json -E \
    "let r = import ./nix/flake-eval.nix { lib = import $lib; }; in { inherit (r) checks summary; }" \
    >"$work/out" 2>"$work/err"; then
    ok "flake-eval: $(jq -r .summary "$work/out") ($(jq -r '.checks | join("; ")' "$work/out"))"
  else
    fail "flake-eval: $(grep -E 'error|expected' "$work/err" | head -5)"
  fi
}

if [[ ${1:-} == settings ]]; then
  lib=$(nixpkgs_lib) || { echo "NIXPKGS_LIB is not set to a nixpkgs or nixpkgs.lib checkout" >&2; exit 2; }
  exec nix-instantiate --eval --strict --json -E \
    "(import ./nix/module-eval.nix { lib = import $lib; }).settings.${2:?usage: nix-check.sh settings CASE}"
fi

all=(parse deadnix nixfmt flake-lock nft-table unit-diff unit-verify unit-security scenarios module-eval flake-eval)
for c in "${@:-${all[@]}}"; do
  case "$c" in
    parse | deadnix | nixfmt | flake-lock | nft-table | unit-diff | unit-verify | unit-security | scenarios | module-eval | flake-eval)
      "check_${c//-/_}" ;;
    *) fail "$c: unknown check (one of: ${all[*]})" ;;
  esac
done
echo "nix-check: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
