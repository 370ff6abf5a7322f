#!/usr/bin/env bash
# The benign workload first, then the tests; atomics.py writes $STATE/benign.json and
# $STATE/tests.jsonl for the steps that follow. The benign workload's output is printed last
# (the runner shows the end of this output).
set -u
python3 "$SCENARIO_DIR/atomics.py" benign >"$STATE/benign.log" 2>&1 || echo "benign workload: rc $?" >>"$STATE/benign.log"
python3 "$SCENARIO_DIR/atomics.py" run
cat "$STATE/benign.log"
