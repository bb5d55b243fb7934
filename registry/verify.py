"""``registry verify``: check stored rows against the current rules, and repair what can be.

Checked: every metric's (or recipe's) hash, canonical form, ranking class and recipe parts recomputed
from its text; names
against the name rules and size limits (``registry.limits``); ranking classes whose members
scored differently under one settings key. Older versions let the first scored member of a class
stand for all of it (the search then reused that score for the others); these classes are
listed so such leaderboards can be re-read, and the search now reuses a class score only from
the representative (``registry.queries.find_evaluation``).

``repair`` rewrites what is derived (``rank_hash``, ``operands``, ``complexity``, the recipe columns) where the
current rule gives another value, so rows recorded under an older ranking rule are re-flagged into
their true classes, and clears names that break the rules (listed with their hashes). Hashes and
scores are never changed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import models
from registry.limits import LimitError, check_name

M, E = models.Metric, models.Evaluation


@dataclass
class VerifyReport:
    """What ``verify`` found (and, with repair, changed)."""

    metrics: int = 0
    evaluations: int = 0
    bad_hash: list[str] = field(default_factory=list)  # "hash: reason" of rows whose text gives another hash
    reflagged: list[str] = field(default_factory=list)  # "hash: old -> new rank_hash"
    bad_names: list[str] = field(default_factory=list)  # "hash: reason"
    split_classes: list[str] = field(default_factory=list)  # "rank_hash @ settings_key: n distinct scores"
    repaired: bool = False

    @property
    def clean(self) -> bool:
        """No row breaks a rule (split classes are information, not errors)."""
        return not (self.bad_hash or self.reflagged or self.bad_names)


DERIVED = ("rank_hash", "operands", "complexity", "score_hash", "allocation", "unit", "post")


def _recompute(row: models.Metric) -> tuple[str, dict[str, object]] | str:
    """(hash, the derived columns) from the stored text, or why it cannot be parsed."""
    from primitives.grammar import MetricSyntaxError, parse
    from primitives.metric import Metric
    from primitives.recipe import Recipe, is_recipe_text
    from registry.writes import recipe_columns

    try:
        metric = Recipe.parse(row.text) if is_recipe_text(row.text) else Recipe.of(Metric(parse(row.text)))
        return metric.hash, {"rank_hash": metric.rank_hash, "operands": ",".join(sorted(metric.operands)),
                             "complexity": metric.complexity, **recipe_columns(metric)}
    except (MetricSyntaxError, ValueError, RecursionError) as exc:
        return f"text does not parse: {str(exc)[:120]}"


def verify(session: Session, repair: bool = False) -> VerifyReport:
    """Check (and with ``repair`` fix) every metric row; list ranking classes with split scores."""
    report = VerifyReport(repaired=repair)
    for row in session.scalars(select(M).order_by(M.id)):
        report.metrics += 1
        found = _recompute(row)
        if isinstance(found, str) or found[0] != row.hash:
            report.bad_hash.append(f"{row.hash}: {found if isinstance(found, str) else 'text hashes to ' + found[0]}")
        else:
            derived = found[1]
            changed = [key for key in DERIVED if getattr(row, key) != derived[key]]
            if changed:
                report.reflagged.append(f"{row.hash}: " + ", ".join(f"{key} {getattr(row, key)} -> {derived[key]}"
                                                                    for key in changed))
                if repair:
                    for key in changed:
                        setattr(row, key, derived[key])
        if row.name is not None:
            try:
                check_name(row.name)
            except LimitError as exc:
                report.bad_names.append(f"{row.hash}: {exc}")
                if repair:
                    row.name = None
    scores: dict[tuple[str, str], set[float]] = defaultdict(set)
    for rank_hash, key, score in session.execute(
            select(M.rank_hash, E.settings_key, E.score).join(E, E.metric_id == M.id).where(E.ok.is_(True))):
        report.evaluations += 1
        if score is not None:
            scores[(rank_hash, key)].add(score)
    report.split_classes = [f"{rank} @ {key}: {len(values)} distinct scores ({min(values):.6g} .. {max(values):.6g})"
                            for (rank, key), values in sorted(scores.items()) if len(values) > 1]
    session.flush()
    return report
