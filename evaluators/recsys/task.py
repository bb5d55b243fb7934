"""RecsysPruneTask: AUC of a CTR model (DeepFM or DLRM on MovieLens-100k) after pruning it with a metric.

``score(metric)`` prunes every MLP Linear weight (and, with ``prune_embeddings``, every embedding
table) at ``sparsity`` in ``group``, optionally fine-tunes ``finetune_steps`` Adam steps with the
mask re-applied after each, and returns the AUC on ``eval_split`` (higher is better). The dense
weights are restored exactly afterwards, whatever happened.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch

from evaluators.base import Fitness, PreparedTask
from evaluators.failure import check_operands, restore, snapshot
from evaluators.recsys.config import RecsysTaskConfig
from evaluators.recsys.operands import EMBEDDING_OPERANDS, MLP_OPERANDS


class _Prepared:
    """Data, the dense model, its exact copy, and the operands of its prunable layers."""

    def __init__(self, cfg: RecsysTaskConfig) -> None:
        from evaluators.recsys.dense import load_or_fit_dense
        from evaluators.recsys.operands import compute_operands

        self.data, self.model, self.meta = load_or_fit_dense(
            cfg.data_config(), cfg.model_config(), cfg.train_config(), cache_dir=cfg.cache_dir)
        self.dense = snapshot(self.model.state_dict())
        self.all_operands = compute_operands(self.model, self.data.calib)

    def restore(self) -> None:
        """Put the dense weights back, bit for bit."""
        restore(self.model.state_dict(), self.dense)


class RecsysPruneTask(PreparedTask):
    """Prune a CTR model's MLP (optionally embeddings) with a metric; fitness = AUC (higher is better)."""

    name = "recsys-prune"
    config_class = RecsysTaskConfig
    direction = "max"

    def __init__(self, config: RecsysTaskConfig | None = None, **overrides: Any) -> None:
        """A task for config (default RecsysTaskConfig()) with keyword overrides of its fields."""
        self.config = dataclasses.replace(config or RecsysTaskConfig(), **overrides)
        self._state: _Prepared | None = None

    @property
    def operands(self) -> tuple[str, ...]:  # type: ignore[override]
        """W, G, X, Xs, Y, Hd for MLP layers; only W and G when embedding tables are pruned too."""
        return EMBEDDING_OPERANDS if self.config.prune_embeddings else MLP_OPERANDS

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the score."""
        out = {k: v for k, v in self.config.to_dict().items() if k != "cache_dir"}
        return {"task": self.name, **out}

    def _build_state(self) -> _Prepared:
        """Load or train the dense model, compute operands."""
        return _Prepared(self.config)

    def variant(self, **changes: Any) -> "RecsysPruneTask":
        """A task with another sparsity, group or fine-tune budget sharing this one's dense model."""
        if set(changes) - {"sparsity", "group", "finetune_steps", "eval_split"}:
            raise ValueError("a variant may change only sparsity, group, finetune_steps and eval_split")
        other = RecsysPruneTask(self.config, **changes)
        other._state = self._state
        return other

    def layers(self) -> dict[str, torch.nn.Module]:
        """The layers this task prunes, by module name."""
        model = self.state.model
        return {**model.mlp_layers(), **(model.embedding_tables() if self.config.prune_embeddings else {})}

    def dense_metrics(self) -> dict[str, float]:
        """AUC and log-loss of the unpruned model on the evaluation split."""
        return dict(self.state.meta[self.config.eval_split])

    def score(self, metric: Any) -> Fitness:
        """Prune with the metric, (fine-tune,) evaluate AUC, restore; failures give a worst Fitness with a reason."""
        try:
            return Fitness.guarded(self.direction, lambda start: self._score(metric, start),
                                   getattr(metric, "text", metric))
        finally:
            if self._state is not None:
                self._state.restore()

    def _score(self, metric: Any, start: float) -> Fitness:
        """The body of score (exceptions are handled there)."""
        from evaluators.prune_method import resolve_metric
        from evaluators.recsys.pruning import MaskEnforcer, apply_masks, masks_from_scores, metric_scores, sparsity_of
        from evaluators.recsys.train import evaluate, train
        from primitives.compile import compile_metric

        cfg, state = self.config, self.state
        metric = resolve_metric(metric)
        check_operands(metric.operands, self.operands, self.name)
        layers = self.layers()
        fn = compile_metric(metric)
        with torch.no_grad():
            scores = metric_scores(fn, {n: state.all_operands[n] for n in layers}, cfg.group)
        masks = masks_from_scores(scores, cfg.sparsity, cfg.group)
        apply_masks(layers, masks)
        details: dict[str, Any] = {"dense_auc": self.dense_metrics()["auc"]}
        if cfg.finetune_steps:
            details["before_finetune"] = evaluate(state.model, state.data.split(cfg.eval_split))
            train(state.model, state.data.train, cfg.train_config(), after_step=MaskEnforcer(layers, masks),
                  max_steps=cfg.finetune_steps)
        result = evaluate(state.model, state.data.split(cfg.eval_split))
        details.update(result, sparsity=sparsity_of(layers))
        return Fitness(result["auc"], True, None, time.perf_counter() - start, details)
