"""Held-out settings: where a search's winners are re-scored, away from everything it measured.

A task that can be validated implements ``Task.held_out(plan)``: one ``HeldOut`` (a label of the
setting without its seed, the seed, and how to build a task scoring under that setting) per setting and seed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluators.base import Task

DEFAULT_LEVELS = ("0.5", "0.6", "0.7", "2:4")


@dataclass(frozen=True)
class HeldOutPlan:
    """Seeds (of the calibration draws), calibration sources, evaluation texts and levels (a sparsity
    such as "0.6", or an N:M group such as "2:4"); empty source lists let the task choose sources
    the search did not use."""

    seeds: tuple[int, ...] = (0, 1, 2)
    calib_sources: tuple[str, ...] = ()
    eval_sources: tuple[str, ...] = ()
    levels: tuple[str, ...] = DEFAULT_LEVELS

    def __post_init__(self) -> None:
        """Seeds distinct and at least one; at least one level."""
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"held-out seeds must be distinct and at least one, got {list(self.seeds)}")
        if not self.levels:
            raise ValueError("give at least one held-out level (a sparsity such as 0.6, or 2:4)")
        for level in self.levels:
            level_options(level)


@dataclass(frozen=True)
class HeldOut:
    """One held-out setting and seed; ``build()`` gives the task scoring under it (built when asked,
    so a validation holds one model at a time)."""

    label: str
    seed: int
    build: Callable[[], Task]


def level_options(level: str) -> dict[str, Any]:
    """Task options of a held-out level: "0.6" (per row at 60%) or an N:M group ("2:4")."""
    from evaluators.granularity import parse_structure

    text = str(level).strip()
    if ":" in text:
        try:
            gran = parse_structure(text).granularity
        except ValueError:
            gran = None
        if gran is None or gran.kind != "nm":
            raise ValueError(f"held-out level {level!r}: a sparsity such as 0.6 or an N:M group such as 2:4")
        return {"group": str(gran)}
    try:
        sparsity = float(text)
    except ValueError:
        raise ValueError(f"held-out level {level!r}: a sparsity such as 0.6 or an N:M group such as 2:4") from None
    if not 0.0 < sparsity < 1.0:
        raise ValueError(f"held-out level {level!r}: a sparsity must lie strictly between 0 and 1")
    return {"sparsity": sparsity, "group": "row"}


def level_label(level: str) -> str:
    """"60% row" or "2:4"."""
    opts = level_options(level)
    return opts["group"] if opts["group"] != "row" else f"{round(100 * opts['sparsity'])}% row"
