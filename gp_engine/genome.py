"""What a search evolves: a score formula (``evolve = "score"``), the allocation formula of a recipe
whose score, unit and post-mask step are fixed by the ``recipe`` setting (``evolve = "allocation"``),
or both formulas of a recipe whose unit the ``recipe`` setting fixes (``evolve = "recipe"``).

An individual holds one tree per part of its genome (``Genome.parts``: "score", "alloc" or both),
each over its own primitive set and varied by the same DEAP operators (``gp_engine.variation``);
the genome turns the trees (and a post-step gene) into the entry that is canonicalised, hashed,
scored and recorded (a Metric, or a Recipe under the recipe's own hash) and a seed entry back into
its trees.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from primitives.builtins import ALLOCATIONS, BUILTINS, RECIPES, builtin
from primitives.grammar import parse
from primitives.language import ALLOCATION_OPERANDS
from primitives.metric import Metric
from primitives.recipe import Entry, Recipe, builtin_recipe
from primitives.reference import MetricSource, resolve_recipe
from primitives.tree import Node, to_text

if TYPE_CHECKING:
    from evaluators.base import Task
    from gp_engine.config import SearchConfig

log = logging.getLogger(__name__)

EVOLVE = ("score", "allocation", "recipe")
PARTS = {"score": ("score",), "allocation": ("alloc",), "recipe": ("score", "alloc")}  # the trees, in order

Trees = tuple[Node, ...]  # one tree per part of a genome
Seed = tuple[str, Trees, "str | None"]  # (name, trees, post step: None for the recipe setting's)


@dataclass(frozen=True)
class Genome:
    """How an individual's trees become a scored entry; ``recipe`` gives the parts that stay fixed
    (allocation: score, unit and post step; recipe: the unit and post step) and the seeds."""

    evolve: str = "score"
    recipe: Recipe | None = None
    posts: tuple[str, ...] = ()  # post steps an individual may carry (empty: the recipe's)

    def __post_init__(self) -> None:
        """A recipe or allocation search needs the recipe whose unit and post step it keeps."""
        if self.evolve not in EVOLVE:
            raise ValueError(f"evolve must be one of {', '.join(EVOLVE)}, got {self.evolve!r}")
        if self.evolve != "score" and self.recipe is None:
            raise ValueError(f"evolve = {self.evolve!r} needs the recipe whose unit and post step it keeps")
        if self.posts and (self.recipe is None or self.recipe.post not in self.posts):
            raise ValueError(f"posts {list(self.posts)} must include the recipe's post step "
                             f"({self.recipe.post if self.recipe else 'no recipe'})")

    @property
    def parts(self) -> tuple[str, ...]:
        """The trees an individual holds, in order: ("score",), ("alloc",) or ("score", "alloc")."""
        return PARTS[self.evolve]

    def part_operands(self, task_operands: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The terminals of each part's primitive set: the task's operands for a score, the allocation
        statistics for an allocation."""
        score = tuple(task_operands)
        return {part: score if part == "score" else ALLOCATION_OPERANDS for part in self.parts}

    def _trees(self, trees: Node | Sequence[Node]) -> Trees:
        """The trees of an individual (a single-part genome's tree may come bare)."""
        found = (trees,) if isinstance(trees, Node) else tuple(trees)
        if len(found) != len(self.parts):
            raise ValueError(f"evolve = {self.evolve!r} takes {len(self.parts)} tree(s) "
                             f"({', '.join(self.parts)}), got {len(found)}")
        return found

    def entry(self, trees: Node | Sequence[Node], post: str | None = None) -> Entry:
        """The metric of a score tree; or the recipe with the evolved formulas (the others from the
        ``recipe`` setting) and ``post`` as its post step (None: the recipe's)."""
        found = dict(zip(self.parts, self._trees(trees)))
        if self.recipe is None:
            return Metric(found["score"])
        score = Metric(found["score"]) if "score" in found else self.recipe.score
        return Recipe(score, Metric(found["alloc"]), self.recipe.unit, post or self.recipe.post)

    def text(self, trees: Node | Sequence[Node], post: str | None = None) -> str:
        """An individual as written (before canonicalisation): a single tree's text, or a recipe of
        both trees' texts."""
        found = self._trees(trees)
        if len(found) == 1:
            return to_text(found[0])
        assert self.recipe is not None
        score, alloc = (to_text(t) for t in found)
        return f"recipe(score={score}, alloc={alloc}, unit={self.recipe.unit}, post={post or self.recipe.post})"

    def trees(self, seed: Recipe) -> tuple[Trees, str | None]:
        """The trees and post step of a seed: a bare recipe's formula; in an allocation search a
        recipe's allocation formula (its score and unit must be the search's, its post step the
        recipe's or one of ``posts``); in a recipe search its score and allocation formulas (its unit
        the search's, its post step allowed), a bare formula as the score with the ``recipe``
        setting's allocation."""
        mine = self.recipe
        if mine is None:
            return (seed.as_metric().tree,), None
        label = seed.name or seed.text
        if self.evolve == "recipe" and seed.is_bare:
            if mine.alloc is None:
                raise ValueError(f"{label} has no allocation formula and neither has the search's recipe {mine.text}")
            return (seed.score.tree, mine.alloc.tree), None
        if seed.alloc is None:
            search = "a recipe search" if self.evolve == "recipe" else "an allocation search"
            raise ValueError(f"{label} has no allocation formula to seed {search}")
        allowed = seed.post in (mine.post, *self.posts)
        if self.evolve == "recipe":
            if seed.unit != mine.unit or not allowed:
                raise ValueError(f"{label} differs from the search's recipe {mine.text} in its unit or post step")
            return (seed.score.tree, seed.alloc.tree), seed.post
        if (seed.score.hash, seed.unit) != (mine.score.hash, mine.unit) or not allowed:
            raise ValueError(f"{label} differs from the search's recipe {mine.text} in its score, "
                             "unit or post step (only its allocation would be used)")
        return (seed.alloc.tree,), seed.post

    def builtin_seeds(self) -> list[Seed]:
        """(name, trees, post step) of the built-ins this genome evolves: the metrics; the recipe
        setting's own allocation (when it has one) and the named allocations; or, for a recipe, the
        recipe setting itself, the built-in recipes that fit it and the built-in metrics as scores
        with its allocation (without one, with each named allocation)."""
        mine = self.recipe
        if mine is None:
            return [(name, (builtin(name).tree,), None) for name in BUILTINS]
        named = [(name, parse(text, ALLOCATION_OPERANDS)) for name, text in ALLOCATIONS.items()]
        seeds: list[Seed] = []
        if self.evolve == "allocation":
            seeds += [("recipe", (mine.alloc.tree,), None)] if mine.alloc is not None else []
            return seeds + [(name, (tree,), None) for name, tree in named]
        allocs = [("", mine.alloc.tree)] if mine.alloc is not None else [(f"+{n}", tree) for n, tree in named]
        seeds += [(f"recipe{a}", (mine.score.tree, tree), None) for a, tree in allocs]
        for name in RECIPES:
            try:
                trees, post = self.trees(builtin_recipe(name))
            except ValueError as exc:
                log.info("built-in recipe %s is not a seed for this search: %s", name, exc)
                continue
            seeds.append((name, trees, post))
        return seeds + [(f"{name}{a}", (builtin(name).tree, tree), None) for name in BUILTINS for a, tree in allocs]

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (recorded in the run config)."""
        if self.recipe is None:
            return {"evolve": self.evolve}
        fixed = {"score": self.recipe.score.canonical} if self.evolve == "allocation" else {}
        return {"evolve": self.evolve, "recipe": self.recipe.canonical, **fixed, "unit": self.recipe.unit,
                "post": self.recipe.post, "posts": list(self.posts)}


def make_genome(config: SearchConfig, task: Task, registry: MetricSource | None = None) -> Genome:
    """The genome a search's settings ask for; an allocation or recipe search needs a task that takes
    recipes."""
    if config.evolve == "score":
        return Genome()
    if not task.takes_recipes:
        raise ValueError(f"evolve = {config.evolve!r} scores recipes; task {task.name} scores metrics only")
    try:
        recipe = resolve_recipe(config.recipe, registry)
    except ValueError as exc:
        raise ValueError(f"search setting recipe = {config.recipe!r}: {exc}") from None
    return Genome(config.evolve, recipe, tuple(config.posts))
