"""``Recipe``: a pruning recipe in the language: a score formula, a layer allocation and a post-mask step.

Text form, read by our own splitter and the formula grammar (never ``eval`` or sympy's parser)::

    recipe(score=<formula | built-in>, alloc=<uniform | owl | formula>, unit=<block | layer>,
           post=<none | dsnot | swap | ls | obs>)

Only ``score`` is required; keys may come in any order, each once, and ``unit`` (default block) only
with an allocation formula. ``alloc`` is a formula over the
allocation statistics (``language.ALLOCATION_OPERANDS``), evaluated once per unit (a decoder block or
a layer); higher values keep more weights. ``owl`` is the formula ``outl``. A bare formula is the
recipe with uniform allocation and no post step and keeps the metric's text, canonical form and
hash, so registries written before recipes stay valid. Any other recipe's canonical form is
``recipe(score=<canonical>, alloc=<canonical>, unit=<unit>, post=<post>)`` (no unit when uniform),
and its hash is the first 16 hex digits of sha256 of that text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Union

from primitives.builtins import ALLOCATIONS, BUILTINS, RECIPES
from primitives.grammar import MAX_LENGTH, MetricSyntaxError
from primitives.language import ALLOCATION_OPERANDS, SCORE_OPERANDS
from primitives.metric import Metric, text_hash, tree_to_json

UNITS = ("block", "layer")
POST_STEPS = ("none", "dsnot", "swap", "ls", "obs")
KEYS = ("score", "alloc", "unit", "post")
_HEAD = re.compile(r"\s*recipe\s*\(")
_PART = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)", re.DOTALL)


class RecipeSyntaxError(MetricSyntaxError):
    """Recipe text that is not in the grammar; the message is one line naming the problem."""


@dataclass(frozen=True)
class Recipe:
    """A score metric, an allocation formula (None: uniform) evaluated per ``unit``, and a post-mask step."""

    score: Metric
    alloc: Metric | None = None
    unit: str = "block"
    post: str = "none"
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Check the parts: known unit and post step, an allocation reading statistics only."""
        if self.unit not in UNITS:
            raise RecipeSyntaxError(f"recipe unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.post not in POST_STEPS:
            raise RecipeSyntaxError(f"recipe post step must be one of {', '.join(POST_STEPS)}, got {self.post!r}")
        if self.alloc is None:
            object.__setattr__(self, "unit", "block")  # no allocation: the unit means nothing
            return
        other = [name for name in self.alloc.tree.operands() if name not in ALLOCATION_OPERANDS]
        if other:
            raise RecipeSyntaxError(f"recipe alloc reads {', '.join(other)}; an allocation reads only "
                                    f"{', '.join(ALLOCATION_OPERANDS)}")
        if not self.alloc.operands:
            raise RecipeSyntaxError(f"recipe alloc {self.alloc.text} reads no statistic: it would allocate "
                                    "uniformly (write alloc=uniform)")

    @classmethod
    def of(cls, metric: Metric) -> Recipe:
        """The bare recipe of a metric: uniform allocation, no post step, the metric's identity."""
        return cls(metric, name=metric.name)

    @classmethod
    def parse(cls, text: str, operands: Iterable[str] | None = None, name: str | None = None) -> Recipe:
        """A recipe from ``recipe(...)`` text or a bare formula; ``operands`` limits the score's operands."""
        if not isinstance(text, str):
            raise RecipeSyntaxError("a recipe must be text")
        if _HEAD.match(text) is None:
            return cls.of(Metric.parse(text, operands, name=name))
        parts = _split(text)
        if "unit" in parts and parts.get("alloc", "uniform") == "uniform":
            raise RecipeSyntaxError("recipe: unit applies to an allocation formula (alloc=...), not to uniform")
        score_ops = tuple(operands) if operands is not None else SCORE_OPERANDS
        return cls(_score(parts["score"], score_ops), _alloc(parts.get("alloc", "uniform")),
                   parts.get("unit", "block"), parts.get("post", "none"), name)

    @classmethod
    def from_canonical(cls, text: str, name: str | None = None) -> Recipe:
        """A recipe from canonical text this program made (its formulas are not canonicalised again)."""
        if _HEAD.match(text) is None:
            return cls.of(Metric.from_canonical(text, name))
        parts = _split(text)
        alloc = parts.get("alloc", "uniform")
        return cls(Metric.from_canonical(parts["score"]),
                   None if alloc == "uniform" else Metric.from_canonical(alloc, operands=ALLOCATION_OPERANDS),
                   parts.get("unit", "block"), parts.get("post", "none"), name)

    def with_steps(self, alloc: str | None = None, unit: str | None = None, post: str | None = None) -> Recipe:
        """This recipe with other steps: ``alloc`` as recipe text gives it (uniform, owl or a formula)."""
        return Recipe(self.score, self.alloc if alloc is None else _alloc(alloc), unit or self.unit,
                      post or self.post, self.name)

    @property
    def is_bare(self) -> bool:
        """A formula alone: uniform allocation and no post step."""
        return self.alloc is None and self.post == "none"

    def _form(self, score: str, alloc: str | None) -> str:
        unit = "" if self.alloc is None else f", unit={self.unit}"
        return f"recipe(score={score}, alloc={alloc or 'uniform'}{unit}, post={self.post})"

    @property
    def text(self) -> str:
        """The recipe as written, normalised; a bare recipe's is its formula's."""
        if self.is_bare:
            return self.score.text
        return self._form(self.score.text, self.alloc.text if self.alloc else None)

    @cached_property
    def canonical(self) -> str:
        """Canonical text: the score's and allocation's canonical forms and the post step."""
        if self.is_bare:
            return self.score.canonical
        return self._form(self.score.canonical, self.alloc.canonical if self.alloc else None)

    @cached_property
    def hash(self) -> str:
        """The registry key: a bare recipe's is its metric's hash."""
        return text_hash(self.canonical)

    @property
    def ranking(self) -> str:
        """A bare recipe's ranking form; any other recipe is its own class (its allocation may read the
        score's values, so a rank-preserving map of the score can change what it prunes)."""
        return self.score.ranking if self.is_bare else self.canonical

    @property
    def rank_hash(self) -> str:
        return text_hash(self.ranking)

    @property
    def operands(self) -> tuple[str, ...]:
        """What the recipe reads: the score's operands and the allocation's statistics."""
        return tuple(sorted(set(self.score.operands) | set(self.alloc.operands if self.alloc else ())))

    @property
    def complexity(self) -> int:
        return self.score.complexity + (self.alloc.complexity if self.alloc else 0)

    def as_metric(self) -> Metric:
        """The metric of a bare recipe (named as the recipe); a ValueError for any other recipe."""
        if not self.is_bare:
            raise ValueError(f"{self.text} is a recipe (layer allocation or post-mask step), not a metric")
        if self.name is None or self.name == self.score.name:
            return self.score
        return Metric(self.score.tree, self.name)

    def as_entry(self) -> Entry:
        """What a task scores: a bare recipe's metric (``Task.score``), any other recipe itself."""
        return self.as_metric() if self.is_bare else self

    def parts(self) -> dict[str, Any]:
        """Each part in canonical form: score (and its hash), allocation, unit, post step."""
        return {"score": self.score.canonical, "score_hash": self.score.hash,
                "alloc": self.alloc.canonical if self.alloc else "uniform",
                "unit": self.unit if self.alloc else None, "post": self.post}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: text, canonical form, hash, name, the parts and both formula trees."""
        return {"format": "metricforge.recipe/1", "text": self.text, "canonical": self.canonical,
                "hash": self.hash, "name": self.name, **self.parts(), "score_tree": tree_to_json(self.score.tree),
                "alloc_tree": tree_to_json(self.alloc.tree) if self.alloc else None}


Entry = Union[Metric, Recipe]  # what a task scores and the registry stores: a metric or a recipe


def is_recipe_text(text: str) -> bool:
    """True for ``recipe(...)`` text, False for a bare formula."""
    return _HEAD.match(text) is not None


def entry_from_canonical(text: str) -> Entry:
    """The metric or recipe of canonical text this program made (the search sends it to workers)."""
    return Recipe.from_canonical(text) if is_recipe_text(text) else Metric.from_canonical(text)


def as_recipe(entry: Entry) -> Recipe:
    """A recipe as it is; a metric as its bare recipe."""
    return entry if isinstance(entry, Recipe) else Recipe.of(entry)


def builtin_recipe(name: str) -> Recipe:
    """The built-in recipe called ``name`` (``primitives.builtins.RECIPES``)."""
    try:
        return Recipe.parse(RECIPES[name], name=name)
    except KeyError:
        raise KeyError(f"no built-in recipe {name!r}; known: {', '.join(RECIPES)}") from None


def _split(text: str) -> dict[str, str]:
    """The key=value parts of ``recipe(...)`` text, split at the commas outside parentheses."""
    if len(text) > MAX_LENGTH:
        raise RecipeSyntaxError(f"recipe is {len(text)} characters long; the limit is {MAX_LENGTH}")
    head = _HEAD.match(text)
    assert head is not None
    body = text.rstrip()
    if not body.endswith(")"):
        raise RecipeSyntaxError("recipe text must end with ')'")
    inner, start = body[head.end():-1], head.end()
    pieces, depth, begin = [], 0, 0
    for i, char in enumerate(inner):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise RecipeSyntaxError(f"recipe: unbalanced ')' at position {start + i}")
        if char == "," and depth == 0:
            pieces.append((start + begin, inner[begin:i]))
            begin = i + 1
    if depth:
        raise RecipeSyntaxError("recipe: unbalanced parentheses")
    pieces.append((start + begin, inner[begin:]))
    parts: dict[str, str] = {}
    for at, piece in pieces:
        match = _PART.fullmatch(piece)
        if match is None:
            raise RecipeSyntaxError(f"recipe: expected key=value at position {at}, got {piece.strip()[:40]!r}")
        key, value = match.group(1), match.group(2).strip()
        if key not in KEYS:
            raise RecipeSyntaxError(f"recipe: unknown key {key!r} at position {at}; keys: {', '.join(KEYS)}")
        if key in parts:
            raise RecipeSyntaxError(f"recipe: key {key!r} given twice")
        if not value:
            raise RecipeSyntaxError(f"recipe: {key} has no value (position {at})")
        parts[key] = value
    if "score" not in parts:
        raise RecipeSyntaxError("recipe: no score (recipe(score=<formula>, ...))")
    return parts


def _score(value: str, operands: tuple[str, ...]) -> Metric:
    """The score part: a built-in metric's name or a formula over score operands."""
    if value in BUILTINS:
        return Metric.parse(BUILTINS[value], name=value)
    try:
        return Metric.parse(value, operands)
    except MetricSyntaxError as exc:
        raise RecipeSyntaxError(f"recipe score: {exc}") from None


def _alloc(value: str) -> Metric | None:
    """The allocation part: ``uniform`` (None), a named allocation, or a formula over the statistics."""
    if value == "uniform":
        return None
    try:
        return Metric.parse(ALLOCATIONS.get(value, value), ALLOCATION_OPERANDS)
    except MetricSyntaxError as exc:
        raise RecipeSyntaxError(f"recipe alloc: {exc} (or uniform, {', '.join(ALLOCATIONS)})") from None
