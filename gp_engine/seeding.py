"""Seeds for the first population: built-ins and references (registry name, hash or text; recipes too)
through the one resolver, as the trees of the search's genome (a formula, a recipe's allocation, or
a recipe's score and allocation)."""
from __future__ import annotations

import logging
from typing import Iterable

from gp_engine.candidates import Candidate, candidate
from gp_engine.genome import Genome, Seed
from gp_engine.pset import PsetError
from gp_engine.variation import Individual, Variation
from primitives.errors import MetricReferenceError
from primitives.reference import MetricSource, resolve_recipe

log = logging.getLogger(__name__)


def builtin_seeds(variation: Variation, genome: Genome = Genome()) -> list[Seed]:
    """(label, trees, post) of every built-in of the genome the primitive sets can express."""
    seeds: list[Seed] = []
    for name, trees, post in genome.builtin_seeds():
        try:
            variation.individual(trees)
        except PsetError as exc:
            log.info("built-in %s is not a seed for this task: %s", name, exc)
            continue
        seeds.append((f"seed:builtin:{name}", trees, post))
    return seeds


def reference_seeds(refs: Iterable[str], variation: Variation, registry: MetricSource | None,
                    genome: Genome = Genome()) -> list[Seed]:
    """Trees for references (built-in, registry name/hash/prefix, formula or recipe:
    ``primitives.reference``): a metric's formula, or a recipe's allocation (and post step) in an
    allocation search, or its score and allocation in a recipe search (``Genome.trees``)."""
    seeds: list[Seed] = []
    for ref in refs:
        try:
            trees, post = genome.trees(resolve_recipe(ref, registry))
        except (MetricReferenceError, ValueError) as exc:
            raise ValueError(f"seed {ref!r}: {exc}") from None
        try:
            variation.individual(trees)
        except PsetError as exc:
            raise ValueError(f"seed {ref!r} cannot be expressed with this task's primitive set: {exc} "
                             "(add its numbers to the constants or pow_exponents settings)") from None
        seeds.append((f"seed:{ref}", trees, post))
    return seeds


def initial_population(variation: Variation, seeds: list[Seed], size: int, dedup: str,
                       genome: Genome = Genome()) -> tuple[list[Individual], list[Candidate]]:
    """Distinct seeds first, then ramped half-and-half trees, preferring new operand-using keys."""
    inds: list[Individual] = []
    cands: list[Candidate] = []
    keys: set[str] = set()
    for label, trees, post in seeds[:size]:
        c = candidate(genome.text(trees, post), trees, dedup, (), label, genome, post)
        if c.key not in keys:
            inds.append(variation.individual(trees, post))
            cands.append(c)
            keys.add(c.key)
    while len(inds) < size:
        for _ in range(20):
            ind = variation.random_individual()
            nodes = variation.nodes(ind)
            c = candidate(genome.text(nodes, ind.post), nodes, dedup, (), "init", genome, ind.post)
            if c.key not in keys and c.metric is not None and c.metric.operands:
                break
        inds.append(ind)
        cands.append(c)
        keys.add(c.key)
    return inds, cands
