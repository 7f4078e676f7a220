"""What one stage needs to run: GPUs (a fraction shares a GPU), CPU threads, a memory hint.

Defaults: every stage takes one GPU (or ``1 / workers_per_gpu`` of one) on a CUDA run and none on
the CPU, one CPU, no memory hint. A suite overrides them per stage kind::

    resources: {distill: {gpus: 1, cpus: 4, memory_gb: 24}, evaluate: {gpus: 0.5}}

The ``local`` executor turns a GPU share into slots of one GPU, Ray passes them as ``num_gpus`` /
``num_cpus``, SLURM as ``gpus_per_node`` / ``cpus_per_task`` / ``mem_gb``. Kept free of torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    gpus: float | None = None
    """GPUs (0.5 = half of one); None = the executor's default for the run's device."""
    cpus: int | None = None
    memory_gb: float | None = None

    def merged(self, override: Resources | None) -> Resources:
        if override is None:
            return self
        return Resources(gpus=override.gpus if override.gpus is not None else self.gpus,
                         cpus=override.cpus if override.cpus is not None else self.cpus,
                         memory_gb=override.memory_gb if override.memory_gb is not None else self.memory_gb)

    def gpu_share(self, *, cuda: bool, workers_per_gpu: int) -> float:
        """The GPUs this stage asks for on a run whose device is (or is not) CUDA."""
        if self.gpus is not None:
            return float(self.gpus)
        return 1.0 / workers_per_gpu if cuda else 0.0

    @classmethod
    def of_suite(cls, suite_resources: dict[str, dict[str, float | int]], kind: str) -> Resources:
        """The suite's ``resources:`` entry for one stage kind (see ``config.STAGE_KINDS``)."""
        spec = suite_resources.get(kind, {})
        return cls(gpus=spec.get("gpus"), cpus=spec.get("cpus"), memory_gb=spec.get("memory_gb"))

    def as_dict(self) -> dict[str, float | int | None]:
        return {"gpus": self.gpus, "cpus": self.cpus, "memory_gb": self.memory_gb}
