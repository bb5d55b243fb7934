"""``cnn-prune``: test accuracy of a digits CNN after pruning at a granularity, optionally fine-tuned.

The CNN (conv 1->16, conv 16->32, FC 512->64->10 on 8x8 digits) is trained once, seeded and
cached. A metric sees each conv kernel as a K x (C*R*S) matrix with im2col operands
(``evaluators.cnn.operands``); its scores are grouped at the task's granularity
(``evaluators.granularity``: element, vector = one kernel row, kernel, filter, N:M, ...) and the
lowest round(sparsity * groups) groups of every layer are pruned. ``layers``: "conv" (both convs),
"conv-skip-first" (conv2 only: conv1's 1-channel kernels hold 3% of the conv weights and are the
most sensitive) or "all" (convs + the hidden Linear, at ``fc_granularity``, by default the linear
counterpart: see ``linear_counterpart``). A unit left with no weights loses its bias too, so a
masked model equals the physically shrunk one. Every parameter is restored bit-exactly after
each candidate.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Mapping

import torch

from evaluators.base import Fitness, PreparedTask
from evaluators.failure import check_operands, check_scores
from evaluators.granularity import Granularity, Structure, global_group_keep_masks, group_scores, parse_structure
from primitives.compile import compile_metric

from .finetune import apply_masks, fine_tune, restore
from .model import CNNConfig, accuracy, one_thread
from .operands import LAYER_SETS
from .state import State, linear_counterpart

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())
ALL_OPERANDS = ("W", "G", "X", "Xs", "Y", "Hd")


class CNNPruneTask(PreparedTask):
    """Prune the digits CNN's conv (or conv + hidden FC) layers at a granularity; fitness = accuracy."""

    name = "cnn-prune"
    direction = "max"

    def __init__(self, sparsity: float = 0.5, granularity: str = "element", aggregate: str = "l2",
                 layers: str = "conv", fc_granularity: str | None = None, fine_tune_steps: int = 0,
                 fine_tune_lr: float = 1e-3, operands: tuple[str, ...] | list[str] | str = ("W", "G", "X"),
                 seed: int = 0, epochs: int = 30, calib_samples: int = 256, group: str | None = None) -> None:
        """``group`` is an alias of ``granularity`` (the option name the search passes to every task)."""
        if group is not None:
            granularity = group
        if isinstance(operands, str):
            operands = tuple(o.strip() for o in operands.split(",") if o.strip())
        bad = [o for o in operands if o not in ALL_OPERANDS]
        if bad or not operands:
            raise ValueError(f"cnn-prune operands must be among {ALL_OPERANDS}, got {list(operands)}")
        self.structure = parse_structure(granularity, aggregate)
        gran = self.structure.granularity
        self.sparsity = gran.sparsity if gran.kind == "nm" else float(sparsity)
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
        if layers not in LAYER_SETS:
            raise ValueError(f"layers must be one of {', '.join(LAYER_SETS)} (all: conv + hidden FC)")
        self.fc_structure = parse_structure(fc_granularity, aggregate) if fc_granularity else linear_counterpart(self.structure)
        self.layers, self.operands, self._fc_text = layers, tuple(operands), fc_granularity
        self.fine_tune_steps, self.fine_tune_lr = int(fine_tune_steps), float(fine_tune_lr)
        if self.fine_tune_steps < 0:
            raise ValueError("fine_tune_steps must be >= 0")
        self.cfg = CNNConfig(seed=int(seed), epochs=int(epochs), calib_samples=int(calib_samples))
        self._state: State | None = None

    def settings(self) -> dict[str, Any]:
        """Everything that changes a score."""
        c = self.cfg
        return {"task": self.name, "model": f"digits-cnn-{c.channels[0]}-{c.channels[1]}-{c.hidden}",
                "dataset": "sklearn-digits", "sparsity": self.sparsity, "granularity": str(self.structure),
                "aggregate": self.structure.aggregate, "layers": self.layers,
                "fc_granularity": str(self.fc_structure) if self.layers == "all" else None,
                "budget": {"calib_samples": c.calib_samples, "epochs": c.epochs, "seed": c.seed,
                           "fine_tune_steps": self.fine_tune_steps, "fine_tune_lr": self.fine_tune_lr},
                "operands": list(self.operands)}

    def _build_state(self) -> State:
        """Load or train the CNN, compute operands."""
        return State(self.cfg, self.layers)

    def variant(self, **changes: Any) -> "CNNPruneTask":
        """A task with other sparsity/granularity/aggregate/fine-tune settings sharing the prepared state."""
        allowed = {"sparsity", "granularity", "aggregate", "fc_granularity", "fine_tune_steps", "fine_tune_lr"}
        if set(changes) - allowed:
            raise ValueError(f"a variant may change only {sorted(allowed)}")
        base = {"sparsity": self.sparsity, "granularity": str(self.structure), "aggregate": self.structure.aggregate,
                "fc_granularity": self._fc_text, "fine_tune_steps": self.fine_tune_steps, "fine_tune_lr": self.fine_tune_lr}
        other = CNNPruneTask(**{**base, **changes}, layers=self.layers, operands=self.operands, seed=self.cfg.seed,
                             epochs=self.cfg.epochs, calib_samples=self.cfg.calib_samples)
        other._state = self._state
        return other

    def layer_structure(self, name: str) -> tuple[Structure, tuple[int, int] | None]:
        """(structure, kernel size or None) of one prunable layer."""
        module = self.state.modules[name]
        if isinstance(module, torch.nn.Conv2d):
            return self.structure, tuple(module.kernel_size)  # type: ignore[return-value]
        return self.fc_structure, None

    def scores(self, metric: Any) -> dict[str, torch.Tensor]:
        """Float32 (out x in) scores per layer; ScoreError when non-finite or constant per layer."""
        fn = compile_metric(metric)
        out: dict[str, torch.Tensor] = {}
        with one_thread(), torch.no_grad():
            for name in self.state.modules:
                s = fn(self.state.ops[name]).float()
                check_scores(f"layer {name}", s, group=None)
                structure, ks = self.layer_structure(name)
                grid = s if structure.granularity.kind == "nm" else group_scores(
                    s, structure.granularity, structure.aggregate, ks, None)[0]
                check_scores(f"layer {name} at granularity {structure.granularity}", grid)
                out[name] = s
        return out

    def masks(self, metric: Any) -> dict[str, torch.Tensor]:
        """Keep-masks in each weight's own shape (4-D for conv) for this task's sparsity and granularity."""
        scores = self.scores(metric)
        shapes = {n: self.state.modules[n].weight.shape for n in scores}
        with one_thread():
            if self.structure.is_global:
                grans: dict[str, Granularity] = {n: self.layer_structure(n)[0].granularity for n in scores}
                kernels = {n: ks for n in scores if (ks := self.layer_structure(n)[1]) is not None}
                flat = global_group_keep_masks(scores, self.sparsity, grans, aggregate=self.structure.aggregate,
                                               kernel_sizes=kernels)
                return {n: m.view(shapes[n]) for n, m in flat.items()}
            out = {}
            for n, s in scores.items():
                structure, ks = self.layer_structure(n)
                out[n] = structure.keep_mask(s, self.sparsity, ks).view(shapes[n])
            return out

    def accuracy_with(self, masks: Mapping[str, torch.Tensor]) -> tuple[float, float]:
        """(test accuracy, element sparsity) with masks applied (and fine-tuned); every weight restored."""
        st = self.state
        try:
            with one_thread():
                pruned, total = apply_masks(st.modules, masks)
                fine_tune(st.model, st.modules, masks, st.data, self.fine_tune_steps, self.fine_tune_lr,
                          seed=self.cfg.seed)
                return accuracy(st.model, st.data.x_test, st.data.y_test), pruned / max(total, 1)
        finally:
            restore(st.model, st.dense)

    def score(self, metric: Any) -> Fitness:
        """Accuracy after pruning with ``metric``; a failure follows ``Fitness.guarded``'s rule."""
        self.prepare()
        return Fitness.guarded(self.direction, lambda start: self._score(metric, start), metric.text)

    def _score(self, metric: Any, start: float) -> Fitness:
        """The body of score: operands checked, masks, accuracy with every weight restored."""
        check_operands(metric.operands, self.operands, self.name)
        acc, sparsity = self.accuracy_with(self.masks(metric))
        return Fitness(acc, True, None, time.perf_counter() - start,
                       {"dense": self.state.dense_accuracy, "sparsity": sparsity})
