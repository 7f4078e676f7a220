"""What a distillation method is: a module with ``distill(ctx) -> DistilledSet``.

A method module (``kdss_bench/methods/krr_st.py`` and its siblings) is registered by its path in
``methods/registry.py`` and satisfies :class:`Method` structurally: a module-level ``distill``
that turns a :class:`~kdss_bench.methods.context.DistillContext` (source images, budget, seed,
settings, teacher, device, a work folder for checkpoints, an ``emit`` for events) into a
:class:`~kdss_bench.methods.distilled_set.DistilledSet`. A method with pieces worth caching
separately (MTT's and MKDT's expert trajectories) also has ``intermediates(request)``
(:class:`MethodWithIntermediates`), which the plan turns into stages of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from kdss_bench.methods.context import DistillContext
    from kdss_bench.methods.distilled_set import DistilledSet
    from kdss_bench.methods.intermediates import Intermediate, IntermediateRequest


@runtime_checkable
class Method(Protocol):
    def distill(self, ctx: DistillContext) -> DistilledSet: ...


@runtime_checkable
class MethodWithIntermediates(Method, Protocol):
    def intermediates(self, request: IntermediateRequest) -> list[Intermediate]: ...
