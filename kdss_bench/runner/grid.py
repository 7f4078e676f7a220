"""A suite expands into a grid of cells: method x budget x eval model x seed x target.

Cells are ordered so that the stages they share become available in turn: one distillation per
(method, budget) serves every eval model and seed; one pre-training per (method, budget, eval
model, seed) serves every target. Budget and eval model are set on a cell only where the suite
makes them axes (``budgets:``, ``eval_models:``), so their ids name them only then; a method
that distils nothing has no budget at all.
"""

from __future__ import annotations

from kdss_bench.cell import Cell
from kdss_bench.config import Suite

__all__ = ["Cell", "cell_budget", "cell_model", "expand_grid"]


def expand_grid(suite: Suite) -> list[Cell]:
    """Every cell; a method with nothing to distil (``no_pretrain``) has no budget: one cell per eval model,
    target and seed, the reference every budget is compared with."""
    from kdss_bench.methods.registry import method_info

    models = suite.eval_models or (None,)
    cells = []
    for method in suite.methods:
        budgets = suite.budgets if suite.budgets and method_info(method).implementation is not None else (None,)
        cells += [Cell(method, target, seed, budget, model)
                  for budget in budgets for model in models for seed in suite.seeds for target in suite.targets]
    return cells


def cell_budget(suite: Suite, cell: Cell) -> int | None:
    """The cell's distilled-set size (the suite's ``budget`` when budgets are no axis); None for a method
    that distils nothing."""
    from kdss_bench.methods.registry import method_info

    if method_info(cell.method).implementation is None:
        return None
    return suite.budget if cell.budget is None else cell.budget


def cell_model(suite: Suite, cell: Cell) -> str:
    """The model the cell pre-trains and evaluates (the suite's ``model`` when eval models are no axis)."""
    return suite.model if cell.eval_model is None else cell.eval_model
