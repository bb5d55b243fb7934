"""What a search evolves: a score formula (``evolve = "score"``), or the allocation formula of a recipe
whose score, unit and post-mask step are fixed by the ``recipe`` setting (``evolve = "allocation"``).

The population holds trees of the primitive set either way, varied by the same DEAP operators; the
genome turns a tree into the entry that is canonicalised, hashed, scored and recorded (a Metric, or
a Recipe under the recipe's own hash) and a seed entry back into its tree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from primitives.builtins import ALLOCATIONS, BUILTINS, builtin
from primitives.grammar import parse
from primitives.language import ALLOCATION_OPERANDS
from primitives.metric import Metric
from primitives.recipe import Entry, Recipe
from primitives.reference import MetricSource, resolve_recipe
from primitives.tree import Node

if TYPE_CHECKING:
    from evaluators.base import Task
    from gp_engine.config import SearchConfig

EVOLVE = ("score", "allocation")


@dataclass(frozen=True)
class Genome:
    """How a tree becomes a scored entry; ``recipe`` gives the fixed parts when allocations evolve."""

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

    def operands(self, task_operands: Iterable[str]) -> tuple[str, ...]:
        """The terminals of the primitive set: the task's operands, or the allocation statistics."""
        return tuple(task_operands) if self.evolve == "score" else ALLOCATION_OPERANDS

    def entry(self, tree: Node, post: str | None = None) -> Entry:
        """The metric of a tree, or the recipe with the tree as its allocation formula and ``post`` as its
        post step (None: the recipe's)."""
        if self.recipe is None:
            return Metric(tree)
        return Recipe(self.recipe.score, Metric(tree), self.recipe.unit, post or self.recipe.post)

    def tree(self, seed: Recipe) -> tuple[Node, str | None]:
        """The tree and post step of a seed: a bare recipe's formula, or a recipe's allocation formula
        (its score and unit must be the search's, its post step the recipe's or one of ``posts``)."""
        if self.recipe is None:
            return seed.as_metric().tree, None
        if seed.alloc is None:
            raise ValueError(f"{seed.name or seed.text} has no allocation formula to seed an allocation search")
        mine = self.recipe
        if (seed.score.hash, seed.unit) != (mine.score.hash, mine.unit) or seed.post not in (mine.post, *self.posts):
            raise ValueError(f"{seed.name or seed.text} differs from the search's recipe {mine.text} in its score, "
                             "unit or post step (only its allocation would be used)")
        return seed.alloc.tree, seed.post

    def builtin_seeds(self) -> list[tuple[str, Node]]:
        """(name, tree) of the built-ins this genome evolves: the metrics, or the recipe setting's own
        allocation (when it has one) and the named allocations."""
        if self.recipe is None:
            return [(name, builtin(name).tree) for name in BUILTINS]
        own = [("recipe", self.recipe.alloc.tree)] if self.recipe.alloc is not None else []
        return own + [(name, parse(text, ALLOCATION_OPERANDS)) for name, text in ALLOCATIONS.items()]

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
