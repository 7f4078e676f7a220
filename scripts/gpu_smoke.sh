#!/usr/bin/env bash
# The one script a task lent a GPU runs first: every CUDA path once, with its figures.
#   1. the CI gate suite on cuda with each executor (inline; local, ray and submitit-local with two
#      stages per GPU), its wall time, and whether the executors' tables agree;
#   2. `bench krr-step` at the paper's CIFAR-100 size (m = 1000, n = 1024): exact fp32, exact bf16,
#      fast fp32 (teacher-target cache over 50,000 images), each with the projected 160k-step time;
#   3. a short fine-tuning throughput run (3 seeds, one after another and batched);
#   4. with --transfer DATA_ROOT: suites/cifar10-transfer.yaml --methods krr_st,no_pretrain, inline
#      against local with two workers per GPU (minutes; skip when device time is short).
# Figures go to stdout and, as JSON and logs, into ${OUT:-gpu_figures}/. Stops at once, exit 2, where
# there is no CUDA device.
#
#   bash scripts/gpu_smoke.sh                       # about 5 minutes on one H100/H200
#   bash scripts/gpu_smoke.sh --transfer ../shared/data
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_figures}"
transfer=""
if [[ "${1:-}" == "--transfer" ]]; then transfer="${2:?--transfer needs the data root}"; fi
if ! python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_smoke: no CUDA device here (torch.cuda.is_available() is False); run it on a machine with a GPU" >&2
  exit 2
fi
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/gpu.txt"
status=0

timed() {  # timed NAME COMMAND...: runs it, logs to $out/NAME.log, prints the wall time
  local name="$1"; shift
  local start elapsed
  start=$(date +%s%N)
  if "$@" > "$out/$name.log" 2>&1; then
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '%-28s ok    %6d.%03d s\n' "$name" $((elapsed / 1000)) $((elapsed % 1000))
  else
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '%-28s FAIL  %6d.%03d s  (see %s)\n' "$name" $((elapsed / 1000)) $((elapsed % 1000)) "$out/$name.log"
    tail -5 "$out/$name.log"
    status=1
  fi
}

echo "== 1. gate suite on cuda, every executor"
for executor in inline local ray slurm; do
  extra=()
  case "$executor" in
    local) extra=(--workers-per-gpu 2) ;;
    ray) extra=(--workers-per-gpu 2) ;;
    slurm) extra=(--slurm-cluster local --workers 2) ;;
  esac
  rm -rf "$out/gate-$executor"
  timed "gate-$executor" python3 -m kdss_bench run suites/ci/gate.yaml --results "$out/gate-$executor" \
    --device cuda --executor "$executor" "${extra[@]}"
  python3 -m kdss_bench table --results "$out/gate-$executor" --suite gate --format json \
    > "$out/gate-$executor.json" 2>/dev/null
done
for executor in local ray slurm; do
  if cmp -s "$out/gate-inline.json" "$out/gate-$executor.json"; then
    echo "gate table: $executor == inline"
  else
    echo "gate table: $executor differs from inline (CUDA kernels need not be deterministic; see the diff)"
    python3 -m kdss_bench compare "$out/gate-inline.json" "$out/gate-$executor.json" | tail -2
  fi
done

echo "== 2. KRR-ST outer step at the official size (m=1000, n=1024)"
krr() {
  local name="$1"; shift
  if python3 -m kdss_bench bench krr-step --device cuda --m 1000 --n 1024 --steps 30 --warmup 5 --json "$@" \
      > "$out/$name.json" 2> "$out/$name.log"; then
    python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
extra = f", cache build {r['cache_build_s']:.1f} s" if "cache_build_s" in r else ""
print(f"{sys.argv[2]:12s} {r['median_s'] * 1000:8.1f} ms/step  projected 160k steps: "
      f"{r['projected_cifar100_s'] / 60:6.1f} min{extra}")
PY
  else
    echo "$name FAIL (see $out/$name.log)"; tail -3 "$out/$name.log"; status=1
  fi
}
krr exact_fp32
krr exact_bf16 --precision bf16
krr fast_fp32 --mode fast --source-images 50000

if [[ -n "$transfer" ]]; then
  echo "== 3. cifar10-transfer (krr_st, no_pretrain): inline vs local, 2 workers per GPU"
  for executor in inline local; do
    rm -rf "$out/transfer-$executor"
    timed "transfer-$executor" python3 -m kdss_bench run suites/cifar10-transfer.yaml --data-root "$transfer" \
      --methods krr_st,no_pretrain --results "$out/transfer-$executor" --device cuda --executor "$executor" \
      --workers-per-gpu 2
  done
fi
exit $status
