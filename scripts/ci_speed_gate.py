"""CI speed gate: the package's KRR-ST outer step against the plain reference step, same job, same machine.

Times, interleaved round by round so that machine drift hits all three alike: the reference
statement of the official step (tests/methods/reference_krr_step.py: contiguous float32, unfused
teacher, ones column, torch.linalg.solve), the package's exact mode and its fast mode, all at
m = 100, n = 256 with the official models (pool of convnet_128_256_512_bn, ResNet18 teacher,
random weights). Fails when a speed-up (reference median / package median) falls below its
floor. Only ratios are gated: absolute times drift 10-30 % between CI machines.

    python scripts/ci_speed_gate.py            # what .ci/run does
    python scripts/ci_speed_gate.py --rounds 8 --json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "methods"))  # the reference step lives in the test tree

import torch  # noqa: E402
from reference_krr_step import ReferenceKrrStep  # noqa: E402

from kdss_bench.bench.krr_step import KrrStepConfig, build_krr_run  # noqa: E402
from kdss_bench.bench.timing import time_round_robin  # noqa: E402
from kdss_bench.models.registry import build_model  # noqa: E402
from kdss_bench.train.augment import TrainAugment  # noqa: E402

FLOORS = {"exact": 1.1, "fast": 2.0}
"""Measured on the 2-core CI machine kind: 1.3x (exact) and 2.7x (fast, fp32) against this reference
(which shares the package's models, so it is faster than the official code: 1.4x and 2.9x there).
The floors sit below the measured ratios by more than the run-to-run spread (about 0.1x) and above
what losing a speed-up would leave (dropping channels-last and the folded teacher gives about 1.0x)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=100)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device = torch.device("cpu")
    config = KrrStepConfig(m=args.m, n=args.n, source_images=512, teacher_views=2)
    exact = build_krr_run(config, device)
    fast = build_krr_run(dataclasses.replace(config, mode="fast"), device)
    fast.build_target_cache()
    in_shape = (3, config.resolution, config.resolution)
    reference = ReferenceKrrStep(
        lambda: build_model(config.model, in_shape=in_shape, num_outputs=exact.feature_dim),
        exact.ctx.teacher, exact.x_syn, exact.y_syn, exact.ctx.source.x_train,
        TrainAugment(exact.ctx.source.mean, exact.ctx.source.std), real_batch=args.n)
    steps = {"reference": reference.step, "exact": exact.outer_step, "fast": fast.outer_step}
    times = time_round_robin(steps, rounds=args.rounds, warmup_rounds=1)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {name: medians["reference"] / medians[name] for name in FLOORS}
    failed = [name for name in FLOORS if ratios[name] < FLOORS[name]]
    if args.json:
        print(json.dumps({"median_s": medians, "speedup": ratios, "floors": FLOORS, "m": args.m, "n": args.n,
                          "threads": torch.get_num_threads(), "failed": failed}, indent=2))
    else:
        print(f"ci_speed_gate: m={args.m} n={args.n}, {torch.get_num_threads()} threads, median of {args.rounds}")
        print(f"  reference step {medians['reference']:.3f} s")
        for name in FLOORS:
            verdict = "ok" if name not in failed else "BELOW FLOOR"
            print(f"  {name:5s} step {medians[name]:.3f} s  speed-up {ratios[name]:.2f}x "
                  f"(floor {FLOORS[name]:.1f}x) {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
