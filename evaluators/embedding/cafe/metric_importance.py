"""Importance scores from a metric formula over the occurrence operands, or a built-in source.

``make_scorer("mul(gnorm, enorm)", module)`` gives a callable from a ``Lookup`` to one score per
occurrence: |metric| normalised to mean 1 per batch (the sketch needs non-negative scores, and the
threshold keeps the scale it has with CAFE's mean-1 gradient norm). Built-in names (``IMPORTANCE``:
grad-norm, frequency) skip the metric machinery. Formulas use our grammar, never ``eval``."""
from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor, nn

from evaluators.embedding.cafe.cafe_embedding import Lookup
from evaluators.embedding.cafe.importance import IMPORTANCE, mean_one
from evaluators.embedding.cafe.occurrence import OCCURRENCE_OPERANDS, OccurrenceOperands
from primitives.compile import compile_metric
from primitives.metric import Metric
from primitives.reference import MetricSource, resolve_metric


class ImportanceError(ValueError):
    """A metric whose scores cannot be used (not finite)."""


class Scorer(Protocol):
    """Scores the occurrences of one lookup; ``close()`` releases hooks on the model."""

    label: str

    def __call__(self, lookup: Lookup) -> Tensor: ...

    def close(self) -> None: ...


def parse_importance(source: Metric | str) -> Metric:
    """The metric of a formula over ``OCCURRENCE_OPERANDS``; ValueError for other operands or none."""
    metric = source if isinstance(source, Metric) else Metric.parse(str(source).strip(), OCCURRENCE_OPERANDS)
    bad = [o for o in metric.operands if o not in OCCURRENCE_OPERANDS]
    if bad:
        raise ValueError(f"importance metric {metric.text!r} uses {', '.join(bad)}; occurrence operands are "
                         f"{', '.join(OCCURRENCE_OPERANDS)}")
    if not metric.operands:
        raise ValueError(f"importance metric {metric.text!r} uses no operand: its scores would be constant")
    return metric


def check_importance(source: str) -> str:
    """A built-in name or a valid formula, returned unchanged; ValueError naming the choices otherwise."""
    if source in IMPORTANCE:
        return source
    try:
        parse_importance(source)
    except ValueError as exc:
        raise ValueError(f"importance must be one of {', '.join(IMPORTANCE)} or a formula over "
                         f"{', '.join(OCCURRENCE_OPERANDS)}: {exc}") from None
    return source


def resolve_importance(ref: str, registry: MetricSource | None = None) -> str:
    """A built-in importance name as given; else the text of the metric the reference names
    (``primitives.reference``: built-in metric, registry name/hash/prefix, formula).

    ValueError when it is none of these or uses other than the occurrence operands."""
    ref = str(ref).strip()
    if ref in IMPORTANCE:
        return ref
    return check_importance(resolve_metric(ref, registry, OCCURRENCE_OPERANDS).text)


class BuiltinScorer:
    """A named importance function of (lookup output, validity)."""

    def __init__(self, name: str) -> None:
        self.label, self.fn = name, IMPORTANCE[name]

    def __call__(self, lookup: Lookup) -> Tensor:
        return self.fn(lookup.emb, lookup.valid)

    def close(self) -> None:
        """Nothing to release."""


class MetricImportance:
    """|metric(operands)| per occurrence, normalised to mean 1; ImportanceError when not finite."""

    def __init__(self, source: Metric | str, features: int, **operand_options: Any) -> None:
        self.metric = parse_importance(source)
        self.label = source if isinstance(source, str) else self.metric.text
        self.operands = OccurrenceOperands(self.metric.operands, features, **operand_options)
        self.fn = compile_metric(self.metric)

    def __call__(self, lookup: Lookup) -> Tensor:
        values = self.operands(lookup)
        with torch.no_grad():
            raw = self.fn({"W": torch.empty(lookup.ids.numel()), **values}).float().reshape(-1)
        if not bool(torch.isfinite(raw).all()):
            raise ImportanceError(f"importance metric {self.metric.text!r} gave non-finite scores")
        return mean_one(raw.abs())

    def close(self) -> None:
        """Detach the operands from the model."""
        self.operands.close()


def make_scorer(source: Metric | str, module: nn.Module, *, model: nn.Module | None = None,
                counts: Tensor | None = None, recency_decay: float = 0.99) -> Scorer:
    """The scorer of a built-in name or a metric (formula text or Metric) for a CAFE module."""
    if isinstance(source, str) and source in IMPORTANCE:
        return BuiltinScorer(source)
    return MetricImportance(source, module.num_features, model=model, counts=counts, recency_decay=recency_decay)


def is_constant(scores: Tensor, rel: float = 1e-6) -> bool:
    """Whether a batch's scores are all equal (within ``rel`` of their mean), so they rank nothing."""
    if scores.numel() < 2:
        return True
    spread = float(scores.max() - scores.min())
    return spread <= rel * max(float(scores.abs().mean()), 1e-30)
