"""Seeds for the first population: built-ins and references (registry name, hash or text; recipes too)
through the one resolver, as trees of the search's genome (a formula, or a recipe's allocation)."""
from __future__ import annotations

import logging
from typing import Iterable

from gp_engine.candidates import Candidate, candidate
from gp_engine.genome import Genome
from gp_engine.pset import MetricPset, PsetError, from_node, to_node
from gp_engine.variation import Individual, Variation
from primitives.errors import MetricReferenceError
from primitives.reference import MetricSource, resolve_recipe
from primitives.tree import Node, to_text

log = logging.getLogger(__name__)


Seed = tuple[str, Node, "str | None"]  # (label, tree, post step: None for the genome's default)


def builtin_seeds(mp: MetricPset, genome: Genome = Genome()) -> list[Seed]:
    """(label, tree, None) of every built-in of the genome the primitive set can express."""
    seeds: list[Seed] = []
    for name, tree in genome.builtin_seeds():
        try:
            from_node(tree, mp)
        except PsetError as exc:
            log.info("built-in %s is not a seed for this task: %s", name, exc)
            continue
        seeds.append((f"seed:builtin:{name}", tree, None))
    return seeds


def reference_seeds(refs: Iterable[str], mp: MetricPset, registry: MetricSource | None,
                    genome: Genome = Genome()) -> list[Seed]:
    """Trees for references (built-in, registry name/hash/prefix, formula or recipe:
    ``primitives.reference``): a metric's formula, or a recipe's allocation (and post step) in an
    allocation search."""
    seeds: list[Seed] = []
    for ref in refs:
        try:
            tree, post = genome.tree(resolve_recipe(ref, registry))
        except (MetricReferenceError, ValueError) as exc:
            raise ValueError(f"seed {ref!r}: {exc}") from None
        try:
            from_node(tree, mp)
        except PsetError as exc:
            raise ValueError(f"seed {ref!r} cannot be expressed with this task's primitive set: {exc} "
                             "(add its numbers to the constants or pow_exponents settings)") from None
        seeds.append((f"seed:{ref}", tree, post))
    return seeds


def initial_population(variation: Variation, seeds: list[Seed], size: int, dedup: str,
                       genome: Genome = Genome()) -> tuple[list[Individual], list[Candidate]]:
    """Distinct seeds first, then ramped half-and-half trees, preferring new operand-using keys."""
    mp, direction = variation.mp, variation.direction
    inds: list[Individual] = []
    cands: list[Candidate] = []
    keys: set[str] = set()
    for label, tree, post in seeds[:size]:
        c = candidate(to_text(tree), tree, dedup, (), label, genome, post)
        if c.key not in keys:
            inds.append(Individual(from_node(tree, mp), direction))
            inds[-1].post = post
            cands.append(c)
            keys.add(c.key)
    while len(inds) < size:
        for _ in range(20):
            ind = variation.random_individual()
            node = to_node(ind, mp)
            c = candidate(to_text(node), node, dedup, (), "init", genome, ind.post)
            if c.key not in keys and c.metric is not None and c.metric.operands:
                break
        inds.append(ind)
        cands.append(c)
        keys.add(c.key)
    return inds, cands
