"""Seeds for the first population: built-in metrics and registry entries (by name, hash or text)."""
from __future__ import annotations

import logging
from typing import Iterable

from gp_engine.pset import MetricPset, PsetError, from_node, to_node
from gp_engine.candidates import Candidate, candidate
from gp_engine.variation import Individual, Variation
from primitives.builtins import BUILTINS, builtin
from primitives.errors import MetricReferenceError
from primitives.reference import MetricSource, resolve_metric
from primitives.tree import Node, to_text

log = logging.getLogger(__name__)


def builtin_seeds(mp: MetricPset) -> list[tuple[str, Node]]:
    """(label, tree) of every built-in the primitive set can express with the task's operands."""
    seeds = []
    for name in BUILTINS:
        tree = builtin(name).tree
        try:
            from_node(tree, mp)
        except PsetError as exc:
            log.info("built-in %s is not a seed for this task: %s", name, exc)
            continue
        seeds.append((f"seed:builtin:{name}", tree))
    return seeds


def reference_seeds(refs: Iterable[str], mp: MetricPset, registry: MetricSource | None) -> list[tuple[str, Node]]:
    """Trees for references (built-in, registry name/hash/prefix, formula: ``primitives.reference``)."""
    seeds = []
    for ref in refs:
        try:
            tree = resolve_metric(ref, registry).tree
        except MetricReferenceError as exc:
            raise ValueError(f"seed {ref!r}: {exc}") from None
        try:
            from_node(tree, mp)
        except PsetError as exc:
            raise ValueError(f"seed {ref!r} cannot be expressed with this task's primitive set: {exc} "
                             "(add its numbers to the constants or pow_exponents settings)") from None
        seeds.append((f"seed:{ref}", tree))
    return seeds


def initial_population(variation: Variation, seeds: list[tuple[str, Node]], size: int,
                       dedup: str) -> tuple[list[Individual], list[Candidate]]:
    """Distinct seeds first, then ramped half-and-half trees, preferring new operand-using keys."""
    mp, direction = variation.mp, variation.direction
    inds: list[Individual] = []
    cands: list[Candidate] = []
    keys: set[str] = set()
    for label, tree in seeds[:size]:
        c = candidate(to_text(tree), tree, dedup, (), label)
        if c.key not in keys:
            inds.append(Individual(from_node(tree, mp), direction))
            cands.append(c)
            keys.add(c.key)
    while len(inds) < size:
        for _ in range(20):
            ind = variation.random_individual()
            node = to_node(ind, mp)
            c = candidate(to_text(node), node, dedup, (), "init")
            if c.key not in keys and c.metric is not None and c.metric.operands:
                break
        inds.append(ind)
        cands.append(c)
        keys.add(c.key)
    return inds, cands
