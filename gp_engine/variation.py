"""Variation with DEAP's operators: ramped half-and-half, tournament, one-point crossover,
uniform/node/shrink/insert mutation, elitism, and height/size limits.

Every draw goes through the module-level ``random`` (DEAP's own source of randomness); the loop
swaps that generator's state in and out around these calls, so nothing else disturbs it.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Sequence

from deap import base, gp, tools

from gp_engine.pset import MetricPset

WORST = float("-inf")  # weighted fitness of a failed candidate: loses every comparison


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


class Individual(gp.PrimitiveTree):
    """A DEAP tree with a fitness and the identity (hash key) of its canonical metric."""

    def __init__(self, content: Sequence, direction: str = "max") -> None:
        super().__init__(content)
        self.fitness = Fitness(direction)
        self.key: str | None = None
        self.metric: Any = None  # its Metric (or Recipe, gp_engine.genome) once canonicalised
        self.post: str | None = None  # an allocation search's post-step gene (None: the recipe's)

    def clone(self) -> "Individual":
        """A copy sharing primitives, with a copied fitness, key and post step."""
        other = Individual(list(self), self.fitness.direction)
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
    """The variation operators of one search, bound to its primitive set and limits."""

    def __init__(self, mp: MetricPset, *, cxpb: float, mutpb: float, tournament: int, elite: int,
                 init_min_height: int, init_max_height: int, max_height: int, max_size: int,
                 mutations: Sequence[str], direction: str, posts: Sequence[str] = ()) -> None:
        """``posts``: post steps an individual may carry; with two or more, a "post" mutation picks
        another (a child keeps its first parent's through crossover)."""
        self.mp, self.cxpb, self.mutpb, self.tournament, self.elite = mp, cxpb, mutpb, tournament, elite
        self.init_height = (init_min_height, init_max_height)
        self.max_height, self.max_size, self.direction = max_height, max_size, direction
        pset = mp.pset
        table: dict[str, Callable[[Individual], tuple]] = {
            "uniform": partial(gp.mutUniform, expr=partial(gp.genFull, min_=0, max_=2), pset=pset),
            "node": partial(gp.mutNodeReplacement, pset=pset),
            "shrink": gp.mutShrink,
            "insert": partial(gp.mutInsert, pset=pset),
        }
        self.mutations = [(name, table[name]) for name in mutations]
        self.posts = tuple(posts)
        if len(self.posts) > 1:
            self.mutations.append(("post", self._mutate_post))

    def _mutate_post(self, ind: Individual) -> tuple[Individual]:
        """Another post step for the individual, its tree unchanged."""
        ind.post = random.choice([p for p in self.posts if p != ind.post])
        return (ind,)

    def fits(self, ind: Sequence) -> bool:
        """Within the height and size limits."""
        return len(ind) <= self.max_size and gp.PrimitiveTree(ind).height <= self.max_height

    def random_individual(self) -> Individual:
        """One ramped half-and-half tree within the limits."""
        while True:
            ind = Individual(gp.genHalfAndHalf(self.mp.pset, *self.init_height), self.direction)
            if self.fits(ind):
                if self.posts:
                    ind.post = random.choice(self.posts)
                return ind

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
                ta, tb = gp.cxOnePoint(a.ind.clone(), b.ind.clone())
                parents = a.parents + b.parents
                for child, tree in ((a, ta), (b, tb)):
                    if self.fits(tree):
                        child.ind, child.parents, child.operator = tree, parents, "crossover"
        for child in varied:
            if random.random() < self.mutpb:
                self.mutate(child)
        for child in varied:
            if child.label != "copy":
                self._forget(child)
        return children + varied

    def mutate(self, child: Child) -> bool:
        """Apply one random mutation in place (kept only within the limits); True if it changed."""
        name, mutate = random.choice(self.mutations)
        (tree,) = mutate(child.ind.clone())
        if not self.fits(tree):
            return False
        child.ind = tree
        child.extra.append(f"mut_{name}")
        return True

    @staticmethod
    def _forget(child: Child) -> None:
        """A changed tree has no fitness or identity yet."""
        del child.ind.fitness.values
        child.ind.key = child.ind.metric = None
