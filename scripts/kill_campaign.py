"""Fault campaign: SIGKILL a suite run at random moments, resume it each time, compare with a clean run.

    python scripts/kill_campaign.py suites/quickstart.yaml --kills 10 [--executor local --workers 2]

Runs SUITE once into a fresh folder (the reference), then again into another folder, killing the
whole run (its process group: the parent and any workers) with SIGKILL after a random delay of
``--min-s`` to ``--max-s`` seconds, ``--kills`` times, each time starting the same command again,
and finally lets it finish. Prints each kill (when, which stage was running), the wall times, and
whether ``kdss-bench table --format json`` of both folders is identical; exits 1 if it is not or if
a temporary file is left behind. Both runs use the same thread count, so CPU results are
bit-identical when resuming loses nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def command(suite: str, results: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "kdss_bench", "run", suite, "--results", str(results), "--device", "cpu", *extra]


def table(results: Path) -> list:
    out = subprocess.run([sys.executable, "-m", "kdss_bench", "table", "--results", str(results), "--format", "json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def running_stage(results: Path) -> str:
    """The stage whose latest event is newest (what the kill interrupted)."""
    latest, name = 0.0, "?"
    for events in results.glob("*/*/events.jsonl"):
        try:
            last = events.read_text().strip().splitlines()[-1]
            event = json.loads(last)
        except (OSError, ValueError, IndexError):
            continue
        if event.get("time", 0) > latest:
            latest, name = event["time"], f"{event['stage']} {event['kind']} {events.parent.name}"
    return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--min-s", type=float, default=3.0)
    parser.add_argument("--max-s", type=float, default=25.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--root", type=Path, default=None, help="where the two results folders go (a temp dir)")
    args, extra = parser.parse_known_args()
    extra = ["--threads", str(args.threads), *extra]
    rng = random.Random(args.seed)
    root = args.root or Path(tempfile.mkdtemp(prefix="kdss-kill-campaign-"))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}

    started = time.time()
    subprocess.run(command(args.suite, root / "clean", extra), env=env, check=True, capture_output=True)
    clean_s = time.time() - started
    print(f"clean run: {clean_s:.0f} s")

    killed = root / "killed"
    started = time.time()
    for kill in range(1, args.kills + 1):
        process = subprocess.Popen(command(args.suite, killed, extra), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        delay = rng.uniform(args.min_s, args.max_s)
        try:
            process.wait(timeout=delay)
            print(f"kill {kill}: the run finished within {delay:.1f} s; nothing left to kill")
            break
        except subprocess.TimeoutExpired:
            stage = running_stage(killed)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            print(f"kill {kill}: SIGKILL after {delay:.1f} s, during: {stage}")
    final = subprocess.run(command(args.suite, killed, extra), env=env, capture_output=True, text=True)
    killed_s = time.time() - started
    print(f"killed run, all restarts and the final resume: {killed_s:.0f} s (exit {final.returncode})")
    leftovers = [str(p) for p in killed.rglob("*") if ".tmp" in p.name]
    same = final.returncode == 0 and table(root / "clean") == table(killed)
    print(f"tables identical: {same}; temporary files left: {len(leftovers)}")
    for path in leftovers[:10]:
        print(f"  {path}")
    return 0 if same and not leftovers else 1


if __name__ == "__main__":
    sys.exit(main())
