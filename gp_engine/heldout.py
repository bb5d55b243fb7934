"""Validation: re-score metrics under held-out settings and compare them with a baseline.

Each (metric, held-out setting, seed) is a registry evaluation under that setting's own key, so a
validation resumes where it stopped (scores already in the registry are reused) and its figures
appear in the leaderboards of those settings. The verdict compares a metric with the baseline
(Wanda by default) setting by setting and seed by seed: the geometric mean of the paired ratios
over every held-out setting, with the standard error of the mean log ratio.
"""
from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluators.base import Task
    from evaluators.heldout import HeldOutPlan
    from primitives.recipe import Entry
    from registry.protocol import EvaluationStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldOutScore:
    """One metric under one held-out setting and seed."""

    metric: str  # hash
    label: str
    seed: int
    value: float | None
    ok: bool
    reason: str | None
    settings_key: str
    reused: bool


@dataclass
class Validation:
    """Every held-out score of a validation, the metrics' names and the verdict rule's inputs."""

    direction: str
    baseline: str  # hash of the metric every other is compared with
    names: dict[str, str]  # hash -> name or canonical text, in the order given
    scores: list[HeldOutScore] = field(default_factory=list)

    def values(self, metric: str) -> dict[tuple[str, int], float]:
        """(label, seed) -> value of a metric's successful held-out scores."""
        return {(s.label, s.seed): float(s.value) for s in self.scores
                if s.metric == metric and s.ok and s.value is not None}

    def labels(self) -> list[str]:
        """The held-out settings, in the order they were scored."""
        return list(dict.fromkeys(s.label for s in self.scores))

    def per_setting(self, metric: str, label: str) -> tuple[float, float, int] | None:
        """(mean, standard error, n) of a metric's values over the seeds of one setting."""
        vals = [v for (lab, _), v in self.values(metric).items() if lab == label]
        if not vals:
            return None
        return statistics.fmean(vals), _stderr(vals), len(vals)

    def versus_baseline(self, metric: str) -> tuple[float, float, int] | None:
        """(geometric mean ratio to the baseline, standard error of the mean log ratio, pairs) over
        every setting and seed both scored."""
        mine, base = self.values(metric), self.values(self.baseline)
        logs = [math.log(mine[k] / base[k]) for k in mine if k in base and mine[k] > 0 and base[k] > 0]
        if not logs:
            return None
        return math.exp(statistics.fmean(logs)), _stderr(logs), len(logs)

    def beats_baseline(self, metric: str) -> bool:
        """True when every held-out score succeeded and the mean ratio to the baseline is better."""
        if any(s.metric == metric and not s.ok for s in self.scores):
            return False
        vs = self.versus_baseline(metric)
        if vs is None:
            return False
        return vs[0] < 1.0 if self.direction == "min" else vs[0] > 1.0

    def summary(self) -> list[dict[str, Any]]:
        """One row per metric: per-setting mean +- standard error, the ratio to the baseline, the verdict."""
        rows = []
        for metric, name in self.names.items():
            row: dict[str, Any] = {"metric": name, "hash": metric}
            for label in self.labels():
                row[label] = self.per_setting(metric, label)
            vs = self.versus_baseline(metric)
            row["ratio_to_baseline"] = None if vs is None else vs[0]
            row["ratio_stderr_log"] = None if vs is None else vs[1]
            row["failed"] = sum(1 for s in self.scores if s.metric == metric and not s.ok)
            row["beats_baseline"] = None if metric == self.baseline else self.beats_baseline(metric)
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON of the scores and the summary."""
        head, rows = self.table()
        return {"direction": self.direction, "baseline": self.baseline, "names": self.names,
                "settings": self.labels(), "summary": self.summary(), "table": {"columns": head, "rows": rows},
                "scores": [asdict(s) for s in self.scores]}

    def table(self) -> tuple[list[str], list[list[str]]]:
        """(header, rows) of the summary as text: mean +- standard error over seeds per setting, the
        ratio to the baseline and the verdict."""
        labels = self.labels()
        base = self.names.get(self.baseline, self.baseline)
        rows = []
        for row in self.summary():
            cells = [row["metric"]]
            for label in labels:
                cell = row[label]
                cells.append("failed" if cell is None else f"{cell[0]:.4g} +- {cell[1]:.2g} (n={cell[2]})")
            ratio = row["ratio_to_baseline"]
            cells.append("" if ratio is None else f"{ratio:.3f} (log se {row['ratio_stderr_log']:.3f})")
            cells.append(verdict(row, base))
            rows.append(cells)
        return ["metric", *labels, f"ratio to {base}", "verdict"], rows

    def markdown(self) -> str:
        """The summary as a Markdown table."""
        head, rows = self.table()
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cells) + " |" for cells in rows]
        return "\n".join(lines) + "\n"


def verdict(row: dict[str, Any], baseline: str) -> str:
    """"baseline", "beats <baseline>" or "does not beat <baseline>" (with the failed count)."""
    if row["beats_baseline"] is None:
        return "baseline"
    failed = f", {row['failed']} failed" if row["failed"] else ""
    return (f"beats {baseline}" if row["beats_baseline"] else f"does not beat {baseline}") + failed


def _stderr(values: Sequence[float]) -> float:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0


def validate(task: Task, metrics: Sequence[Entry], plan: HeldOutPlan, store: EvaluationStore | None,
             baseline: Entry, run_id: str | None = None,
             on_score: Callable[[HeldOutScore, int, int], None] | None = None) -> Validation:
    """Score every metric or recipe and the baseline under every held-out setting and seed of ``task``;
    scores already recorded under a setting's key are reused, new ones are recorded (``store`` may be None)."""
    from evaluators.base import score_entry
    from registry import settings_key

    chosen = list({m.hash: m for m in reversed([baseline, *metrics])}.values())[::-1]  # first of a hash kept (named)
    result = Validation(task.direction, baseline.hash, {m.hash: m.name or m.canonical for m in chosen})
    held = list(task.held_out(plan))
    total, done = len(held) * len(chosen), 0
    for setting in held:
        held_task = setting.build()
        settings = dict(held_task.settings())
        key = settings_key(settings)
        for metric in chosen:
            row = store.find_evaluation(metric.hash, key) if store is not None else None
            if row is not None:
                score = HeldOutScore(metric.hash, setting.label, setting.seed, row.score, row.ok, row.reason, key, True)
            else:
                fit = score_entry(held_task, metric)
                if store is not None:
                    store.record_evaluation(metric, settings, fit.value if fit.ok else None, fit.ok, fit.reason,
                                            fit.wall_s, settings.get("device"), run_id=run_id,
                                            details={**fit.details, "held_out": setting.label})
                score = HeldOutScore(metric.hash, setting.label, setting.seed, fit.value if fit.ok else None,
                                     fit.ok, fit.reason, key, False)
            result.scores.append(score)
            done += 1
            if on_score is not None:
                on_score(score, done, total)
    return result


@dataclass(frozen=True)
class ValidationSettings:
    """A search's ``[validate]`` table: the ``top`` hall-of-fame entries, the ``baseline`` every one is
    compared with and further ``baselines``, re-scored on held-out calibration ``seeds``, sources and
    ``levels`` after the search (``top = 0``: off)."""

    top: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    calib_sources: tuple[str, ...] = ()
    eval_sources: tuple[str, ...] = ()
    levels: tuple[str, ...] = ("0.5", "0.6", "0.7", "2:4")
    baseline: str = "wanda"
    baselines: tuple[str, ...] = ("magnitude",)  # more references re-scored beside them (built-ins, recipes)

    def __post_init__(self) -> None:
        """Lists (or "a,b" text) as tuples, seeds as integers, levels as text, ``top`` not negative;
        the plan checks the rest."""
        for name in ("seeds", "calib_sources", "eval_sources", "levels", "baselines"):
            value = getattr(self, name)
            items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
            object.__setattr__(self, name, tuple(str(v) if name != "seeds" else v for v in items))
        try:
            object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        except (TypeError, ValueError):
            raise ValueError(f"validate setting seeds = {list(self.seeds)}: expected integers") from None
        if self.top < 0:
            raise ValueError(f"validate setting top = {self.top}: must be 0 (off) or more")
        self.plan()

    def plan(self) -> HeldOutPlan:
        """The held-out plan these settings describe."""
        from evaluators.heldout import HeldOutPlan

        return HeldOutPlan(self.seeds, self.calib_sources, self.eval_sources, self.levels)


def write_validation(result: Validation, out_dir: Any) -> dict[str, Any]:
    """validation.json and validation.md in a folder; their paths."""
    from pathlib import Path

    from gp_engine.checkpoint import write_json_atomic

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"validation.json": folder / "validation.json", "validation.md": folder / "validation.md"}
    write_json_atomic(paths["validation.json"], result.to_dict())
    tmp = paths["validation.md"].with_suffix(".md.tmp")
    tmp.write_text(VALIDATION_HEAD + result.markdown(), encoding="utf-8")
    tmp.replace(paths["validation.md"])
    return paths


VALIDATION_HEAD = ("# Held-out validation\n\nEach cell: mean +- standard error over calibration seeds. The ratio is "
                   "the geometric mean, over every held-out setting and seed, of the metric's score divided by the "
                   "baseline's under the same setting and seed.\n\n")
