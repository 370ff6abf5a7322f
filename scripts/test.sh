#!/usr/bin/env bash
# The test command: install what the tests need, check formatting and lints, run every test,
# and end with one summary line `tests: N passed, N failed, N skipped`.
# Root-only and kernel-dependent tests run when this is run as root (CI is), and print
# `skipped: <why>` otherwise; those are counted as skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/setup.sh deps || { echo "tests: 0 passed, 1 failed (setup)"; exit 1; }
else
  echo "skipped: setup (not root): eBPF object and root tests depend on it"
fi

status=0
echo "== fmt + clippy"
cargo fmt --all --check || status=1
cargo clippy --workspace --all-targets --locked -q -- -D warnings || status=1

echo "== cargo test"
cargo test --workspace --locked --no-fail-fast -- --show-output 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -oE '; [0-9]+ failed' "$log" | awk '{s+=$2} END {print s+0}')
ignored=$(grep -oE '; [0-9]+ ignored' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -cE '^skipped: ' "$log" || true)
# A lint failure is a failure the count must show.
[ $status -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "tests: $((passed - skipped)) passed, $failed failed, $((skipped + ignored)) skipped"
exit $status
