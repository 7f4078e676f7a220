"""CPU threads of a stage: set once per job, recorded in its results, checked against the cores.

Torch's intra-op pool defaults to one thread per core; two workers that both do that on a
2-core machine fight over the cores and each runs slower than one alone would. Executors split
the cores between their slots, ``run --threads N`` sets the count, and a count that asks for
more threads than there are cores earns one warning.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may use (the affinity mask, which a container or SLURM narrows)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def apply_threads(threads: int | None) -> int:
    """Sets torch's intra-op threads to ``threads`` (None leaves them); returns the count in use."""
    import torch

    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()


def threads_per_slot(slots: int, requested: int | None, cores: int | None = None) -> int:
    """``requested`` if given, else the cores split evenly between ``slots`` concurrent stages (at least 1)."""
    if requested is not None:
        return int(requested)
    return max(1, (cores or available_cores()) // max(1, slots))


def oversubscription_warning(threads: int, slots: int, cores: int | None = None) -> str | None:
    """One line when ``slots`` stages of ``threads`` threads each want more threads than there are cores."""
    cores = cores or available_cores()
    wanted = threads * slots
    if wanted <= cores:
        return None
    return (f"warning: {slots} concurrent stage(s) x {threads} thread(s) = {wanted} threads on {cores} core(s); "
            f"each stage will run slower than it could (use --threads {max(1, cores // max(1, slots))})")
