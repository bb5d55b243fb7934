"""Variation with DEAP's operators: ramped half-and-half, tournament, one-point crossover,
uniform/node/shrink/insert mutation, elitism, and height/size limits.

An individual holds one tree per part of its genome (``gp_engine.genome``), each over its own
primitive set. Crossover pairs the same part of two parents and a mutation changes one part (or the
post-step gene); with two parts the part is drawn at random, with one nothing is drawn for it, so a
single-tree search draws exactly what it always did. Every tree goes through the same operators and
limits.

Every draw goes through the module-level ``random`` (DEAP's own source of randomness); the loop
swaps that generator's state in and out around these calls, so nothing else disturbs it.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Mapping, Sequence

from deap import base, gp, tools

from gp_engine.pset import MetricPset, from_node, to_node
from primitives.tree import Node

WORST = float("-inf")  # weighted fitness of a failed candidate: loses every comparison

# DEAP's mutations, each changing one tree in place within a primitive set
MUTATE: dict[str, Callable[[gp.PrimitiveTree, gp.PrimitiveSet], tuple]] = {
    "uniform": lambda tree, pset: gp.mutUniform(tree, expr=partial(gp.genFull, min_=0, max_=2), pset=pset),
    "node": lambda tree, pset: gp.mutNodeReplacement(tree, pset=pset),
    "shrink": lambda tree, pset: gp.mutShrink(tree),
    "insert": lambda tree, pset: gp.mutInsert(tree, pset=pset),
}


class Fitness(base.Fitness):
    """(budget level reached, value at that budget), compared in that order: a candidate scored at
    a higher budget beats any that stopped lower (level 0 everywhere without multi-fidelity). The
    value's weight (+1 max, -1 min) is set per instance."""

    weights = (1.0, 1.0)

    def __init__(self, direction: str = "max", values: tuple[float, float] | None = None) -> None:
        self.weights = (1.0, 1.0) if direction == "max" else (1.0, -1.0)
        super().__init__(() if values is None else values)

    @property
    def direction(self) -> str:
        """"max" or "min" for the value."""
        return "max" if self.weights[1] > 0 else "min"

    def __deepcopy__(self, memo: dict) -> "Fitness":
        copy_ = Fitness(self.direction)
        copy_.wvalues = self.wvalues
        return copy_


class Individual:
    """DEAP trees, one per part of the genome, with a fitness and the identity (hash key) of their
    canonical metric or recipe."""

    def __init__(self, trees: Sequence[Sequence], direction: str = "max") -> None:
        self.trees = [gp.PrimitiveTree(tree) for tree in trees]  # copies of the node lists
        self.fitness = Fitness(direction)
        self.key: str | None = None
        self.metric: Any = None  # its Metric (or Recipe, gp_engine.genome) once canonicalised
        self.post: str | None = None  # a recipe's post-step gene (None: the recipe setting's)

    def clone(self) -> "Individual":
        """A copy sharing primitives, with a copied fitness, key and post step."""
        other = Individual(self.trees, self.fitness.direction)
        if self.fitness.valid:
            other.fitness.values = self.fitness.values
        other.key, other.metric, other.post = self.key, self.metric, self.post
        return other


@dataclass
class Child:
    """An offspring with the indices of its parents in the population and how it was made."""

    ind: Individual
    parents: tuple[int, ...]
    operator: str
    extra: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The operator text recorded in lineage ("crossover+mut_node", "copy", ...)."""
        return "+".join([self.operator, *self.extra]) if self.extra else self.operator


class Variation:
    """The variation operators of one search, bound to its primitive sets (one per part) and limits."""

    def __init__(self, psets: Mapping[str, MetricPset], *, cxpb: float, mutpb: float, tournament: int,
                 elite: int, init_min_height: int, init_max_height: int, max_height: int, max_size: int,
                 mutations: Sequence[str], direction: str, posts: Sequence[str] = ()) -> None:
        """``psets``: the primitive set of each part, in the genome's order (``Genome.parts``); the
        limits hold for each tree. ``posts``: post steps an individual may carry; with two or more, a
        "post" mutation picks another (a child keeps its first parent's through crossover)."""
        self.psets, self.parts = tuple(psets.values()), tuple(psets)
        self.cxpb, self.mutpb, self.tournament, self.elite = cxpb, mutpb, tournament, elite
        self.init_height = (init_min_height, init_max_height)
        self.max_height, self.max_size, self.direction = max_height, max_size, direction
        unknown = [name for name in mutations if name not in MUTATE]
        if unknown:
            raise ValueError(f"unknown mutations {unknown}; known: {', '.join(MUTATE)}")
        self.posts = tuple(posts)
        self.mutations = [*mutations, *(["post"] if len(self.posts) > 1 else [])]

    def nodes(self, ind: Individual) -> tuple[Node, ...]:
        """The trees of an individual as our ``Node`` (one per part)."""
        return tuple(to_node(tree, mp) for tree, mp in zip(ind.trees, self.psets))

    def individual(self, nodes: Sequence[Node], post: str | None = None) -> Individual:
        """An individual of these trees (one per part) and post step; PsetError if a part's set
        cannot express its tree."""
        ind = Individual([from_node(node, mp) for node, mp in zip(nodes, self.psets)], self.direction)
        ind.post = post
        return ind

    def fits(self, tree: Sequence) -> bool:
        """Within the height and size limits."""
        return len(tree) <= self.max_size and gp.PrimitiveTree(tree).height <= self.max_height

    def _part(self) -> int:
        """The part a crossover or mutation changes: the only one, or one drawn at random."""
        return random.randrange(len(self.parts)) if len(self.parts) > 1 else 0

    def _label(self, operator: str, part: int) -> str:
        """An operator as lineage records it: with the part it changed when there are several."""
        return f"{operator}:{self.parts[part]}" if len(self.parts) > 1 else operator

    def random_individual(self) -> Individual:
        """One ramped half-and-half tree per part within the limits (and a random post step)."""
        ind = Individual([self._random_tree(mp) for mp in self.psets], self.direction)
        if self.posts:
            ind.post = random.choice(self.posts)
        return ind

    def _random_tree(self, mp: MetricPset) -> gp.PrimitiveTree:
        while True:
            tree = gp.PrimitiveTree(gp.genHalfAndHalf(mp.pset, *self.init_height))
            if self.fits(tree):
                return tree

    def elites(self, population: Sequence[Individual]) -> list[int]:
        """Indices of the best ``elite`` individuals with distinct keys (ties: lower index)."""
        order = sorted(range(len(population)), key=lambda i: (tuple(-w for w in population[i].fitness.wvalues), i))
        chosen: list[int] = []
        seen: set[str | None] = set()
        for i in order:
            if len(chosen) == self.elite:
                break
            if population[i].key not in seen:
                chosen.append(i)
                seen.add(population[i].key)
        return chosen

    def offspring(self, population: list[Individual]) -> list[Child]:
        """Elites, then tournament-selected copies varied by crossover and mutation."""
        index = {id(ind): i for i, ind in enumerate(population)}
        children = [Child(population[i].clone(), (i,), "elite") for i in self.elites(population)]
        n_elite = len(children)
        chosen = tools.selTournament(population, len(population) - n_elite, tournsize=self.tournament)
        varied = [Child(ind.clone(), (index[id(ind)],), "copy") for ind in chosen]
        for a, b in zip(varied[::2], varied[1::2]):
            if random.random() < self.cxpb:
                part = self._part()
                ia, ib = a.ind.clone(), b.ind.clone()
                gp.cxOnePoint(ia.trees[part], ib.trees[part])  # in place, the same part of both
                parents = a.parents + b.parents
                for child, ind in ((a, ia), (b, ib)):
                    if self.fits(ind.trees[part]):
                        child.ind, child.parents, child.operator = ind, parents, self._label("crossover", part)
        for child in varied:
            if random.random() < self.mutpb:
                self.mutate(child)
        for child in varied:
            if child.label != "copy":
                self._forget(child)
        return children + varied

    def mutate(self, child: Child) -> bool:
        """Apply one random mutation in place to one part (kept only within the limits), or pick
        another post step; True if it changed."""
        name = random.choice(self.mutations)
        ind = child.ind.clone()
        if name == "post":
            ind.post = random.choice([p for p in self.posts if p != ind.post])
            label = "mut_post"
        else:
            part = self._part()
            MUTATE[name](ind.trees[part], self.psets[part].pset)
            if not self.fits(ind.trees[part]):
                return False
            label = self._label(f"mut_{name}", part)
        child.ind = ind
        child.extra.append(label)
        return True

    @staticmethod
    def _forget(child: Child) -> None:
        """A changed tree has no fitness or identity yet."""
        del child.ind.fitness.values
        child.ind.key = child.ind.metric = None
