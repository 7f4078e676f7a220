#!/usr/bin/env bash
# CI accuracy gate: run the tiny offline suite suites/ci/gate.yaml into a temporary results folder
# and compare it with the committed baseline results/baselines/gate.json; exits 1 when a cell's
# accuracy drops by more than 2 points with p < 0.05 (two-sided Welch t-test over the 2 seeds) or
# a cell is missing. 2 points, not the default 1, so that a machine whose floating point differs
# (another CPU, another torch build) does not fail CI on noise.
#
#   scripts/ci_gate.sh             run and compare (what .ci/run does)
#   scripts/ci_gate.sh --refresh   run and overwrite the baseline (after an intended change of the numbers)
set -euo pipefail
cd "$(dirname "$0")/.."
# One thread, on the CPU: how the baseline was made (the thread count changes reduction orders).
export OMP_NUM_THREADS=1
baseline=results/baselines/gate.json
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m kdss_bench run suites/ci/gate.yaml --results "$work" --device cpu > "$work/run.log" 2>&1 \
  || { cat "$work/run.log" >&2; echo "ci_gate: the gate suite failed to run" >&2; exit 1; }

if [[ "${1:-}" == "--refresh" ]]; then
  mkdir -p "$(dirname "$baseline")"
  python3 -m kdss_bench table --results "$work" --suite gate --format json > "$baseline"
  echo "ci_gate: wrote $baseline" >&2
  exit 0
fi
python3 -m kdss_bench compare "$baseline" "$work" --fail-on-regression --min-effect 2
