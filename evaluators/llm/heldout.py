"""Held-out settings of an llm-prune score: text, calibrations and sparsities a search never saw.

A search rewards what it measures; its winners are then re-scored where it did not look: another
calibration source (several seeded draws), another evaluation text, and harder levels (50%, 60%,
70% per row and 2:4; ``evaluators.heldout``). A source is held out only when it shares no documents with one the
search used ("python-docs" holds "python-docs:library").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from evaluators.heldout import HeldOut, HeldOutPlan, level_label, level_options

from .config import LLMTaskConfig, calibration_sources

if TYPE_CHECKING:
    from .task import LLMPruneTask

HELD_OUT_TEXTS = ("python-docs:howto", "python-docs:library", "python-docs:reference", "fortunes", "reviews",
                  "python-docs:tutorial")
def overlaps(a: str, b: str) -> bool:
    """True when two text sources may share documents (one is the other or holds it)."""
    return a == b or a.startswith(b + ":") or b.startswith(a + ":")


def _unused(used: Sequence[str], count: int) -> list[str]:
    picked: list[str] = []
    for text in HELD_OUT_TEXTS:
        if len(picked) == count:
            break
        if not any(overlaps(text, u) for u in [*used, *picked]):
            picked.append(text)
    return picked


def held_out_sources(options: Mapping[str, Any], plan: HeldOutPlan) -> tuple[list[str], list[str]]:
    """(calibration sources, evaluation texts) of the plan, defaults chosen away from every source the
    search's options use; a given source that overlaps one the search used is refused."""
    cfg = LLMTaskConfig(**dict(options))
    used = [*calibration_sources(cfg.calib_source), *cfg.eval_sources]
    for given in (*plan.calib_sources, *plan.eval_sources):
        clash = [u for u in used if overlaps(given, u)]
        if clash:
            raise ValueError(f"{given!r} is not held out: the search used {clash[0]!r}")
    calib = list(plan.calib_sources) or _unused(used, 1)
    evaluation = list(plan.eval_sources) or _unused([*used, *calib], 1)
    if not calib or not evaluation:
        raise ValueError("no held-out text is left: name the sources with --calib-source and --eval-source")
    return calib, evaluation


def held_out_groups(options: Mapping[str, Any], plan: HeldOutPlan) -> list[tuple[str, dict[str, Any]]]:
    """(label, options) of every held-out setting without its seed: each calibration source with
    ``calib_draws`` = the plan's seeds (one task per evaluation text shares its model), at every level."""
    calib, evaluation = held_out_sources(options, plan)
    base = {k: v for k, v in options.items() if k not in ("calib_source", "calib_draws", "calib_seed")}
    groups = []
    for eval_source in evaluation:
        for calib_source in calib:
            for level in plan.levels:
                label = f"calib {calib_source}, eval {eval_source}, {level_label(level)}"
                groups.append((label, {**base, "calib_source": calib_source, "eval_source": eval_source,
                                       **level_options(level)}))
    return groups


def held_out_tasks(task: LLMPruneTask, plan: HeldOutPlan) -> list[HeldOut]:
    """Every held-out setting and seed of a task. Their tasks share one model per evaluation text
    (loaded when its first task is built, dropped when the next text's is) and one state per
    calibration source and seed across levels."""
    make = type(task)
    primary: dict[str, LLMPruneTask] = {}

    def build(cfg: LLMTaskConfig) -> LLMPruneTask:
        first = primary.get(cfg.eval_source)
        if first is None:
            primary.clear()  # the previous evaluation text's model is no longer needed
            first = primary[cfg.eval_source] = make(cfg)
        held = make(cfg)
        held._state = first.state.for_calibration(cfg)
        return held

    held = []
    for label, group in held_out_groups(task.config.to_dict(), plan):
        for seed in plan.seeds:
            cfg = replace(LLMTaskConfig(**group), calib_seed=seed, calib_draws=1)
            held.append(HeldOut(label, seed, lambda cfg=cfg: build(cfg)))
    return held
