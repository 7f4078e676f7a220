"""How a total image budget splits over the source classes, and a class-balanced random pick.

The supervised baselines distil a fixed number of images per class; the suites state one total
budget (what KRR-ST uses), so every class-balanced method splits it the same way here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kdss_bench.errors import ConfigError, DataError

if TYPE_CHECKING:  # torch only where images are picked: suite validation checks budgets without it
    import torch


def class_budget_problem(budget: int, num_classes: int) -> str | None:
    """Why ``budget`` images cannot be split over ``num_classes`` classes (at least one each), or None."""
    if num_classes < 1:
        return f"num_classes must be at least 1, got {num_classes}"
    if budget < num_classes:
        return (f"budget {budget} is smaller than the {num_classes} source classes; a class-balanced "
                f"method needs at least one image per class, raise the suite's budget to >= {num_classes}")
    return None


def images_per_class(budget: int, num_classes: int) -> list[int]:
    """floor(budget / C) images for every class, the remainder one each to the first classes."""
    budget, num_classes = int(budget), int(num_classes)
    problem = class_budget_problem(budget, num_classes)
    if problem:
        raise ConfigError(problem)
    base, remainder = divmod(budget, num_classes)
    return [base + (1 if c < remainder else 0) for c in range(num_classes)]


def class_balanced_indices(labels: torch.Tensor, per_class: list[int], generator: torch.Generator) -> torch.Tensor:
    """Random distinct indices into ``labels``: ``per_class[c]`` of class c, class by class (int64).

    Raises DataError when a class has fewer training images than it is asked for (checked here,
    not when a suite is validated: it needs the labels, i.e. the loaded data set).
    """
    import torch

    labels = labels.detach().cpu()
    if labels.ndim != 1 or labels.is_floating_point():
        raise DataError(f"labels must be an int (N,) tensor, got {tuple(labels.shape)} {labels.dtype}")
    picked = []
    for c, wanted in enumerate(per_class):
        members = torch.nonzero(labels == c, as_tuple=False).flatten()
        if members.numel() < wanted:
            raise DataError(f"class {c} has {members.numel()} training images but {wanted} are needed; "
                            "lower the suite's budget")
        order = torch.randperm(members.numel(), generator=generator)[:wanted]
        picked.append(members[order])
    if not picked:
        return torch.empty(0, dtype=torch.int64)
    return torch.cat(picked).to(torch.int64)
