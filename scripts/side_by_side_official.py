"""Side by side: the official KRR-ST outer step against kdss-bench's (exact/fast, fp32/bf16), one process.

The official code (github db-Lee/selfsup_dd) is never part of this repository: clone it elsewhere
and install its two extra dependencies into a folder of their own, then point this script at both:

    git clone https://github.com/db-Lee/selfsup_dd /tmp/selfsup_dd
    pip install --target /tmp/official_pylib --no-deps kornia==0.7.1 tqdm
    python scripts/side_by_side_official.py --official /tmp/selfsup_dd --pylib /tmp/official_pylib

Both sides get the same random source images and the same randomly initialised ResNet18 teacher;
the official side runs its own ModelPool, kornia augmentation, float TensorDataset DataLoader and
``algorithms.distill.run``. Steps are timed round-robin so that machine drift hits every
implementation alike; the report gives medians over rounds. The pool warm start is replaced by
random step counters on both sides (the work of a step does not depend on it).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import statistics
import sys
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="a checkout of db-Lee/selfsup_dd (outside this repo)")
    parser.add_argument("--pylib", default=None, help="folder holding kornia and tqdm for the official code")
    parser.add_argument("--m", type=int, default=100)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    sys.path[:0] = [path for path in (args.pylib, args.official) if path]

    import numpy as np
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from kdss_bench.bench.krr_step import KrrStepConfig, build_krr_run
    from kdss_bench.bench.timing import time_round_robin

    get_aug = importlib.import_module("data.augmentation").get_aug
    official_pool = importlib.import_module("model_pool").ModelPool
    official_step = importlib.import_module("algorithms.distill").run
    endless = importlib.import_module("utils").InfIterator

    torch.set_num_threads(args.threads)
    np.random.seed(0)
    device = torch.device("cpu")
    config = KrrStepConfig(m=args.m, n=args.n, source_images=1000, teacher_views=2)
    ours = {
        "exact_fp32": build_krr_run(config, device),
        "exact_bf16": build_krr_run(dataclasses.replace(config, precision="bf16"), device),
        "fast_fp32": build_krr_run(dataclasses.replace(config, mode="fast"), device),
        "fast_bf16": build_krr_run(dataclasses.replace(config, mode="fast", precision="bf16"), device),
    }
    for run in ours.values():
        if run.settings.mode == "fast":
            run.build_target_cache()  # once, before timing: its cost is reported by `kdss-bench bench krr-step`

    source, teacher = ours["exact_fp32"].ctx.source, ours["exact_fp32"].ctx.teacher  # the unfused teacher
    options = argparse.Namespace(num_models=10, online_opt="sgd", online_iteration=1000, online_lr=0.1,
                                 online_wd=1e-3, train_model=config.model, img_shape=(3, 32, 32),
                                 num_pretrain_classes=512, outer_grad_norm=0.0)
    x_train = source.x_train.float().div(255)  # the official loaders hold float tensors
    batches = endless(DataLoader(TensorDataset(x_train, torch.zeros(len(x_train))), batch_size=args.n,
                                 shuffle=True, num_workers=0, pin_memory=True))
    augment, normalize = get_aug("cifar100", 32, True)
    with torch.no_grad():
        x_syn = x_train[: args.m].clone()
        y_syn = teacher(normalize(x_syn))
    x_syn.requires_grad_(True)
    y_syn.requires_grad_(True)
    outer_optimizer = torch.optim.AdamW([x_syn, y_syn], lr=1e-4, weight_decay=0.0)
    pool = official_pool(options, device)
    pool.iterations = [int(np.random.randint(1, 1000)) for _ in range(10)]

    def official() -> None:
        official_step(options, device, teacher, pool, outer_optimizer, batches, augment, x_syn, y_syn)

    steps = {"official": official, **{name: run.outer_step for name, run in ours.items()}}
    times = time_round_robin(steps, rounds=args.rounds, warmup_rounds=1)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(json.dumps({
        "m": args.m, "n": args.n, "threads": args.threads, "rounds": args.rounds, "median_s": medians,
        "min_s": {name: min(values) for name, values in times.items()},
        "speedup_vs_official": {name: medians["official"] / value for name, value in medians.items()},
        "torch": torch.__version__,
    }, indent=1))


if __name__ == "__main__":
    main()
