"""``mlp-prune``: test accuracy of a digits MLP after pruning its hidden layers with a metric.

A cheap real task (milliseconds per candidate on one CPU thread) for tests, CI and examples.
The MLP (64-128-64-10 by default) is trained once, seeded, and cached on disk; calibration data
gives the operands W, G, X (and Xs, Y, Hd). At 90% sparsity per row, magnitude keeps about 0.5
accuracy, Wanda about 0.7, random masks about 0.14 (dense: 0.97).
"""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Iterator

import torch

from evaluators.base import Fitness, Task
from evaluators.failure import check_operands, check_scores, restore, snapshot
from evaluators.digits.model import DigitsConfig, accuracy, load_data, load_or_train, one_thread
from evaluators.digits.operands import compute_operands, linear_layers
from evaluators.granularity import keep_masks, parse_structure
from evaluators.masks import global_keep_masks, keep_mask
from primitives.compile import compile_metric
from primitives.metric import Metric

log = logging.getLogger(__name__)

ALL_OPERANDS = ("W", "G", "X", "Xs", "Y", "Hd")


class MLPPruneTask(Task):
    """Prune the MLP's hidden Linear layers (or all) at a sparsity per group; fitness = accuracy."""

    name = "mlp-prune"
    direction = "max"

    def __init__(self, sparsity: float = 0.9, group: str = "row", layers: str = "hidden",
                 operands: tuple[str, ...] | list[str] = ("W", "G", "X"), seed: int = 0,
                 hidden: tuple[int, ...] | list[int] = (128, 64), epochs: int = 150,
                 calib_samples: int = 256, eval_fraction: float = 1.0) -> None:
        if isinstance(operands, str):
            operands = tuple(o.strip() for o in operands.split(",") if o.strip())
        if isinstance(hidden, str):
            hidden = tuple(int(h) for h in hidden.replace("-", ",").split(",") if h.strip())
        structure = parse_structure(group)  # every granularity of the one group grammar
        self.group = str(structure)
        self.sparsity = structure.check_sparsity(float(sparsity))
        if layers not in ("hidden", "all"):
            raise ValueError("layers must be 'hidden' (all but the classifier) or 'all'")
        bad = [o for o in operands if o not in ALL_OPERANDS]
        if bad or not operands:
            raise ValueError(f"mlp-prune operands must be among {ALL_OPERANDS}, got {list(operands)}")
        if not 0 < float(eval_fraction) <= 1:
            raise ValueError(f"eval_fraction must be in (0, 1], got {eval_fraction!r}")
        self.eval_fraction = float(eval_fraction)
        self.layers = layers
        self.operands = tuple(operands)
        self.cfg = DigitsConfig(hidden=tuple(int(h) for h in hidden), seed=int(seed), epochs=int(epochs),
                                calib_samples=int(calib_samples))
        self.device = "cpu"
        self._model: torch.nn.Module | None = None

    def settings(self) -> dict[str, Any]:
        """Everything that changes a score."""
        sizes = "-".join(str(s) for s in (64, *self.cfg.hidden, 10))
        budget: dict[str, Any] = {"calib_samples": self.cfg.calib_samples, "epochs": self.cfg.epochs,
                                  "seed": self.cfg.seed}
        if self.eval_fraction < 1:  # the full test set keeps the settings of earlier registries
            budget["eval_fraction"] = self.eval_fraction
        return {"task": self.name, "model": f"digits-mlp-{sizes}", "dataset": "sklearn-digits",
                "sparsity": self.sparsity, "granularity": self.group, "budget": budget,
                "layers": self.layers, "operands": list(self.operands)}

    def budget_options(self, fraction: float) -> dict[str, Any]:
        """Evaluate on the leading ``fraction`` of this task's test samples."""
        return {"eval_fraction": self.eval_fraction * float(fraction)}

    def prepare(self) -> None:
        """Load or train the model, compute operands (idempotent)."""
        if self._model is not None:
            return
        self.data = load_data(self.cfg)
        model = load_or_train(self.cfg, self.data)
        self._ops = compute_operands(model, self.data, self.cfg.calib_batch)
        names = list(linear_layers(model))
        self._pruned = names if self.layers == "all" else names[:-1]
        self._linears = linear_layers(model)
        self._model = model
        n_eval = max(1, round(self.eval_fraction * len(self.data.y_test)))
        self._x_eval, self._y_eval = self.data.x_test[:n_eval], self.data.y_test[:n_eval]
        with one_thread():
            self.dense_accuracy = accuracy(model, self._x_eval, self._y_eval)

    @contextlib.contextmanager
    def _masked(self, scores: dict[str, torch.Tensor]) -> Iterator[torch.nn.Module]:
        """The model with masks from per-layer scores applied; weights restored afterwards."""
        structure = parse_structure(self.group)
        if structure.granularity.kind in ("element", "nm"):  # single weights, on the scores' own (broadcast) shape
            masks = (global_keep_masks(scores, self.sparsity) if structure.is_global
                     else {n: keep_mask(s, self.sparsity, str(structure)) for n, s in scores.items()})
        else:  # groups tile the whole weight
            masks = keep_masks({n: torch.broadcast_to(s, self._linears[n].weight.shape) for n, s in scores.items()},
                               self.sparsity, self.group)
        weights = {n: self._linears[n].weight for n in masks}
        saved = snapshot(weights)
        try:
            with torch.no_grad():
                for n, mask in masks.items():
                    weights[n].mul_(mask)
            yield self._model  # type: ignore[misc]
        finally:
            restore(weights, saved)

    def _evaluate_with(self, scores: dict[str, torch.Tensor]) -> float:
        """Accuracy with masks from per-layer scores applied."""
        with self._masked(scores) as model:
            return accuracy(model, self._x_eval, self._y_eval)

    def evaluation_size(self) -> int:
        """Number of test samples scored."""
        self.prepare()
        return len(self._y_eval)

    def correct(self, metric: Metric) -> torch.Tensor:
        """Per evaluation sample, 1.0 if the model pruned with ``metric`` classifies it right (convergence studies)."""
        self.prepare()
        fn = compile_metric(metric)
        with one_thread(), torch.no_grad():
            scores = {n: fn(self._ops[n]) for n in self._pruned}
            with self._masked(scores) as model:
                return (model(self._x_eval).argmax(dim=1) == self._y_eval).double()

    def score(self, metric: Metric) -> Fitness:
        """Accuracy after pruning with ``metric``; a failure follows ``Fitness.guarded``'s rule."""
        self.prepare()
        return Fitness.guarded(self.direction, lambda start: self._score(metric, start), metric.text)

    def _score(self, metric: Metric, start: float) -> Fitness:
        """The body of score: operands checked, scores checked per layer, accuracy with weights restored."""
        check_operands(metric.operands, self.operands, self.name)
        fn = compile_metric(metric)
        scores: dict[str, torch.Tensor] = {}
        with one_thread(), torch.no_grad():
            for n in self._pruned:
                scores[n] = fn(self._ops[n])
                check_scores(f"layer {n}", scores[n])
            acc = self._evaluate_with(scores)
        return Fitness(acc, True, None, time.perf_counter() - start, {"dense": self.dense_accuracy})

    def random_baseline(self, repeats: int = 3, seed: int = 0) -> float:
        """Mean accuracy with uniformly random scores (the floor a metric must beat)."""
        self.prepare()
        gen = torch.Generator().manual_seed(seed)
        accs = []
        with one_thread():
            for _ in range(repeats):
                scores = {n: torch.rand(self._ops[n]["W"].shape, generator=gen) for n in self._pruned}
                accs.append(self._evaluate_with(scores))
        return sum(accs) / len(accs)
