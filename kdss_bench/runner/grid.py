"""A suite expands into a grid of cells: method x budget x eval model x protocol x seed x label
fraction x target.

Cells are ordered so that the stages they share become available in turn: one distillation per
(method, budget) serves every eval model, protocol and seed; one pre-training per (method, budget,
eval model, protocol, seed) serves every label fraction and target. Budget, eval model, protocol
and label fraction are set on a cell only where the suite makes them axes (``budgets:``,
``eval_models:``, ``protocols:``, ``label_fractions:``), so their ids name them only then; a method
that distils nothing has no budget at all.
"""

from __future__ import annotations

from kdss_bench.cell import Cell
from kdss_bench.config import Suite

__all__ = ["Cell", "cell_budget", "cell_label_fraction", "cell_model", "cell_protocol", "expand_grid"]


def expand_grid(suite: Suite) -> list[Cell]:
    """Every cell; a method with nothing to distil (``no_pretrain``) has no budget: one cell per eval model,
    target and seed, the reference every budget is compared with."""
    from kdss_bench.methods.registry import method_info

    models = suite.eval_models or (None,)
    protocols = suite.protocols or (None,)
    fractions = suite.label_fractions or (None,)
    cells = []
    for method in suite.methods:
        budgets = suite.budgets if suite.budgets and method_info(method).implementation is not None else (None,)
        cells += [Cell(method, target, seed, budget, model, protocol, fraction)
                  for budget in budgets for model in models for protocol in protocols for seed in suite.seeds
                  for fraction in fractions for target in suite.targets]
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


def cell_protocol(suite: Suite, cell: Cell) -> str:
    """The cell's evaluation protocol (``krr_st`` when protocols are no axis)."""
    return "krr_st" if cell.protocol is None else cell.protocol


def cell_label_fraction(suite: Suite, cell: Cell) -> float:
    """The fraction of the target's training labels the cell's evaluation sees."""
    return suite.label_fraction if cell.label_fraction is None else cell.label_fraction
