"""A generation's offspring as canonical candidates, steering repeats of scored metrics away."""
from __future__ import annotations

from typing import Any

from gp_engine.cache import FitnessCache
from gp_engine.candidates import Candidate, candidate
from gp_engine.genome import Genome
from gp_engine.variation import Individual, Variation


def to_candidate(child: Any, population: list[Individual], variation: Variation, dedup: str,
                 genome: Genome = Genome()) -> Candidate:
    """The canonical candidate of a child, with its parents' metrics for lineage."""
    nodes = variation.nodes(child.ind)
    text = genome.text(nodes, child.ind.post)
    found = (population[i].metric for i in child.parents)
    parents = tuple({m.hash: m for m in found if m is not None}.values())
    if child.ind.key is not None:  # an unchanged copy or elite: same metric
        m = child.ind.metric
        class_key = m.rank_hash if m is not None and dedup == "rank" else child.ind.key
        return Candidate(text, m, child.ind.key, parents, child.label, class_key=class_key)
    return candidate(text, nodes, dedup, parents, child.label, genome, child.ind.post)


def offspring(variation: Variation, population: list[Individual], dedup: str,
              scored: FitnessCache, retries: int,
              genome: Genome = Genome()) -> tuple[list[Individual], list[Candidate]]:
    """Individuals and candidates of the next generation. A varied child that repeats a scored
    metric or ranking class (or a sibling's) is mutated again, up to ``retries`` times: no
    evaluation is spent on it, and the population keeps exploring instead of collapsing."""
    inds, cands, fresh = [], [], set()
    for child in variation.offspring(population):
        c = to_candidate(child, population, variation, dedup, genome)
        tries = 0
        while child.ind.key is None and (c.key in scored or scored.has_class(c.class_key) or c.class_key in fresh) \
                and tries < retries:
            tries += 1
            if variation.mutate(child):
                c = to_candidate(child, population, variation, dedup, genome)
        if child.ind.key is None:
            fresh.add(c.class_key or c.key)
        inds.append(child.ind)
        cands.append(c)
    return inds, cands
