"""What a search evolves: a score formula (``evolve = "score"``), or the allocation formula of a recipe
whose score, unit and post-mask step are fixed by the ``recipe`` setting (``evolve = "allocation"``).

An individual holds one tree per part of its genome (``Genome.parts``: "score" or "alloc"),
each over its own primitive set and varied by the same DEAP operators (``gp_engine.variation``);
the genome turns the trees (and a post-step gene) into the entry that is canonicalised, hashed,
scored and recorded (a Metric, or a Recipe under the recipe's own hash) and a seed entry back into
its trees.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from primitives.builtins import ALLOCATIONS, BUILTINS, builtin
from primitives.grammar import parse
from primitives.language import ALLOCATION_OPERANDS
from primitives.metric import Metric
from primitives.recipe import Entry, Recipe
from primitives.reference import MetricSource, resolve_recipe
from primitives.tree import Node, to_text

if TYPE_CHECKING:
    from evaluators.base import Task
    from gp_engine.config import SearchConfig

EVOLVE = ("score", "allocation")
PARTS = {"score": ("score",), "allocation": ("alloc",)}  # the trees, in order

Trees = tuple[Node, ...]  # one tree per part of a genome
Seed = tuple[str, Trees, "str | None"]  # (name, trees, post step: None for the recipe setting's)


@dataclass(frozen=True)
class Genome:
    """How an individual's trees become a scored entry; ``recipe`` gives the parts that stay fixed
    (score, unit and post step) when allocations evolve."""

    evolve: str = "score"
    recipe: Recipe | None = None
    posts: tuple[str, ...] = ()  # post steps an individual may carry (empty: the recipe's)

    def __post_init__(self) -> None:
        """An allocation search needs the recipe whose score, unit and post step it keeps."""
        if self.evolve not in EVOLVE:
            raise ValueError(f"evolve must be one of {', '.join(EVOLVE)}, got {self.evolve!r}")
        if self.evolve == "allocation" and self.recipe is None:
            raise ValueError("evolve = 'allocation' needs the recipe whose score and post step it keeps")
        if self.posts and (self.recipe is None or self.recipe.post not in self.posts):
            raise ValueError(f"posts {list(self.posts)} must include the recipe's post step "
                             f"({self.recipe.post if self.recipe else 'no recipe'})")

    @property
    def parts(self) -> tuple[str, ...]:
        """The trees an individual holds, in order: ("score",) or ("alloc",)."""
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
        """The metric of a score tree; or the recipe with the evolved allocation formula (the rest from
        the ``recipe`` setting) and ``post`` as its post step (None: the recipe's)."""
        found = dict(zip(self.parts, self._trees(trees)))
        if self.recipe is None:
            return Metric(found["score"])
        score = Metric(found["score"]) if "score" in found else self.recipe.score
        return Recipe(score, Metric(found["alloc"]), self.recipe.unit, post or self.recipe.post)

    def text(self, trees: Node | Sequence[Node], post: str | None = None) -> str:
        """An individual as written (before canonicalisation): its tree's text."""
        (tree,) = self._trees(trees)
        return to_text(tree)

    def trees(self, seed: Recipe) -> tuple[Trees, str | None]:
        """The trees and post step of a seed: a bare recipe's formula, or a recipe's allocation formula
        (its score and unit must be the search's, its post step the recipe's or one of ``posts``)."""
        mine = self.recipe
        if mine is None:
            return (seed.as_metric().tree,), None
        if seed.alloc is None:
            raise ValueError(f"{seed.name or seed.text} has no allocation formula to seed an allocation search")
        if (seed.score.hash, seed.unit) != (mine.score.hash, mine.unit) or seed.post not in (mine.post, *self.posts):
            raise ValueError(f"{seed.name or seed.text} differs from the search's recipe {mine.text} in its score, "
                             "unit or post step (only its allocation would be used)")
        return (seed.alloc.tree,), seed.post

    def builtin_seeds(self) -> list[Seed]:
        """(name, trees, post step) of the built-ins this genome evolves: the metrics, or the recipe
        setting's own allocation (when it has one) and the named allocations."""
        mine = self.recipe
        if mine is None:
            return [(name, (builtin(name).tree,), None) for name in BUILTINS]
        own: list[Seed] = [("recipe", (mine.alloc.tree,), None)] if mine.alloc is not None else []
        return own + [(name, (parse(text, ALLOCATION_OPERANDS),), None) for name, text in ALLOCATIONS.items()]

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (recorded in the run config)."""
        if self.recipe is None:
            return {"evolve": self.evolve}
        return {"evolve": self.evolve, "recipe": self.recipe.canonical, "score": self.recipe.score.canonical,
                "unit": self.recipe.unit, "post": self.recipe.post, "posts": list(self.posts)}


def make_genome(config: SearchConfig, task: Task, registry: MetricSource | None = None) -> Genome:
    """The genome a search's settings ask for; an allocation search needs a task that takes recipes."""
    if config.evolve == "score":
        return Genome()
    if not task.takes_recipes:
        raise ValueError(f"evolve = {config.evolve!r} scores recipes; task {task.name} scores metrics only")
    try:
        recipe = resolve_recipe(config.recipe, registry)
    except ValueError as exc:
        raise ValueError(f"search setting recipe = {config.recipe!r}: {exc}") from None
    return Genome(config.evolve, recipe, tuple(config.posts))
