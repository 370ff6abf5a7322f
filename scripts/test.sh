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

# The VM tier (vm-tests/qemu): every scenario against a real kernel, systemd and attacker in a
# qemu guest under TCG. Each scenario is one PASS/FAIL line, counted below. Root only (image
# build); INNERWARDEN_SKIP_VM=1 skips it on a developer machine.
echo "== vm tests (qemu, TCG)"
vmlog=$(mktemp)
vm_passed=0
vm_failed=0
vm_skipped=0
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: vm tests (not root: the image build needs debootstrap)"
  vm_skipped=1
elif [ -n "${INNERWARDEN_SKIP_VM:-}" ]; then
  echo "skipped: vm tests (INNERWARDEN_SKIP_VM is set)"
  vm_skipped=1
else
  if cargo build --release --locked -q -p innerwarden; then
    bash vm-tests/qemu/run.sh 2>&1 | tee "$vmlog"
    vm_rc=${PIPESTATUS[0]}
    vm_passed=$(grep -cE '^PASS [a-z0-9-]+$' "$vmlog" || true)
    vm_failed=$(grep -cE '^FAIL [a-z0-9-]+:' "$vmlog" || true)
    vm_skipped=$(grep -cE '^SKIP [a-z0-9-]+:' "$vmlog" || true)
    # A harness that failed without naming a scenario (bad scenario.toml, no image) is a failure.
    [ "$vm_rc" -ne 0 ] && [ "$vm_failed" -eq 0 ] && vm_failed=1
  else
    echo "FAIL vm-build: cargo build --release failed"
    vm_failed=1
  fi
  [ "$vm_failed" -ne 0 ] && status=1
fi

# A digest of what failed, right above the summary (CI shows the end of the output first).
{
  grep -aE '^test .* \.\.\. FAILED$|^error(\[|:)|^failures:$' "$log" | grep -v '^failures:$' | sort -u | head -40
  grep -aE '^skipped: ' "$log" | sort | uniq -c | sed 's/^ *//'
  grep -aE '^(FAIL|SKIP) [a-z0-9-]+:' "$vmlog" 2>/dev/null
  [ $status -ne 0 ] && [ -z "$(grep -aE ' FAILED$' "$log")" ] && ! grep -qaE '^FAIL ' "$vmlog" 2>/dev/null &&
    echo "(no test failed: formatting, lints or the build did; see above)"
} | sed 's/^/  /' >"$log.digest"
if [ -s "$log.digest" ]; then
  echo "== failures and skips"
  cat "$log.digest"
fi
rm -f "$vmlog" "$log.digest"

passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -oE '; [0-9]+ failed' "$log" | awk '{s+=$2} END {print s+0}')
ignored=$(grep -oE '; [0-9]+ ignored' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -cE '^skipped: ' "$log" || true)
# VM scenarios are not cargo tests: added to the cargo counts.
failed=$((failed + vm_failed))
# A lint failure is a failure the count must show.
[ $status -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "tests: $((passed - skipped + vm_passed)) passed, $failed failed, $((skipped + ignored + vm_skipped)) skipped"
exit $status
