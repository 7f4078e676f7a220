#!/usr/bin/env bash
# The GPU figures of the KRR-ST outer step at the official CIFAR-100 size (m = 1000, n = 1024):
# fp32 exact, bf16 exact, fast (teacher-target cache) fp32 and bf16, each with the projected time
# of the 160,000-step distillation (goal: under 30 minutes on one H100). One script, run once on a
# machine with a CUDA device; writes one JSON per configuration into ${OUT:-gpu_figures}/.
#
#   bash scripts/gpu_krr_step.sh            # about 3 minutes on an H100
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_figures}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
run() {
  local name="$1"; shift
  python3 -m kdss_bench bench krr-step --device cuda --m 1000 --n 1024 --steps 30 --warmup 5 --json "$@" \
    > "$out/$name.json"
  python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
extra = f", cache build {r['cache_build_s']:.1f} s" if "cache_build_s" in r else ""
print(f"{sys.argv[2]:12s} {r['median_s'] * 1000:8.1f} ms/step  projected 160k steps: "
      f"{r['projected_cifar100_s'] / 60:6.1f} min{extra}")
PY
}
run exact_fp32
run exact_bf16 --precision bf16
run fast_fp32 --mode fast --source-images 50000
run fast_bf16 --mode fast --precision bf16 --source-images 50000
run exact_bf16_compiled --precision bf16 --compile
