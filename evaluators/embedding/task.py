"""``embedding-importance``: a metric as CAFE's per-occurrence importance score, scored by the AUC it gives.

``score(metric)`` trains DeepFM (or DLRM) on MovieLens-100k with CAFE embeddings at ``ratio`` of the
full table, the sketch fed by |metric| over the occurrence operands (gnorm, freq, enorm, recency,
gdot, perr; ``evaluators.embedding.cafe.occurrence``), for each seed, and returns the mean AUC on
``eval_split`` (validation by default: the test split stays for reports). Metrics over other
operands, non-finite scores, scores equal within every batch and non-finite predictions give
``Fitness.failed`` with the reason; nothing a candidate does crashes the search.
"""
from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any

from evaluators.base import Fitness, PreparedTask, ScoreError
from evaluators.failure import check_operands
from evaluators.embedding.config import EmbeddingTaskConfig
from evaluators.embedding.cafe.occurrence import OCCURRENCE_OPERANDS


class EmbeddingImportanceTask(PreparedTask):
    """Evolve CAFE's importance score; fitness = mean AUC over seeds (higher is better)."""

    name = "embedding-importance"
    config_class = EmbeddingTaskConfig
    direction = "max"

    def __init__(self, config: EmbeddingTaskConfig | None = None, **overrides: Any) -> None:
        """A task for config (default EmbeddingTaskConfig()) with keyword overrides of its fields."""
        self.config = dataclasses.replace(config or EmbeddingTaskConfig(), **overrides)
        self._state: dict[int, Any] | None = None

    @property
    def operands(self) -> tuple[str, ...]:  # type: ignore[override]
        """The occurrence operands a metric may use (all, unless the ``operands`` option narrows them)."""
        return self.config.operands or OCCURRENCE_OPERANDS

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the score."""
        return {"task": self.name, **self.config.to_dict()}

    def _build_state(self) -> dict[int, Any]:
        """Per seed: the MovieLens split and its training counts (for ``freq``); one untimed warm-up."""
        from evaluators.recsys.dense import load_data
        from evaluators.embedding.cafe.methods import train_counts
        from evaluators.embedding.cafe.training import warm_up

        cfg, state = self.config, {}
        for seed in cfg.seeds:
            data = load_data(cfg.data_config(seed))
            state[seed] = (data, train_counts(data))
        first = cfg.seeds[0]
        warm_up(state[first][0], cfg.model_config(), cfg.train_config(first))
        return state

    def score(self, metric: Any) -> Fitness:
        """Train with the metric as importance for every seed, evaluate; failures give a worst Fitness."""
        return Fitness.guarded(self.direction, lambda start: self._score(metric, start),
                               getattr(metric, "text", metric))

    def _score(self, metric: Any, start: float) -> Fitness:
        """The body of score (exceptions are handled there)."""
        from evaluators.prune_method import resolve_metric
        from evaluators.recsys.train import evaluate
        from evaluators.embedding.cafe.training import train_method

        cfg = self.config
        metric = resolve_metric(metric)
        check_operands(metric.operands, self.operands, self.name, need_one=True)
        aucs, details = [], {}
        for seed, (data, counts) in self.state.items():
            run = train_method(cfg.method, cfg.options(metric.text), data, cfg.model_config(),
                               cfg.train_config(seed), cfg.ratio, seed, counts, cfg.max_steps,
                               recency_decay=cfg.recency_decay)
            hook = run.hook
            if hook is not None and hook.constant_steps == hook.steps:
                raise ScoreError("constant scores: the metric gave every occurrence of every batch the same score")
            result = evaluate(run.model, data.split(cfg.eval_split))
            aucs.append(result["auc"])
            details[f"seed{seed}"] = {**result, "train_s": run.train_s, "steps": run.steps,
                                      **(hook.summary() if hook is not None else {})}
        return Fitness(statistics.fmean(aucs), True, None, time.perf_counter() - start, details)
