"""The CAFE study: a CTR model with each compressed embedding at each memory ratio, trained like the dense one.

Per seed (the seed fixes the data split, the initialisation, the batch order and the hash functions),
every (method, ratio) gets the same MLP initialisation and the same mini-batches as the dense recsys
model; only ``model.embeddings`` is swapped. ``full`` runs once per seed, at ratio 1. A method that
cannot exist at a ratio gives a row with ``status = "skipped"`` and the reason.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from evaluators.recsys.config import DEFAULT_EPOCHS, RecsysTaskConfig
from evaluators.recsys.data import CTRData
from evaluators.recsys.dense import load_data
from evaluators.recsys.models import build_model
from evaluators.recsys.train import evaluate, seed_everything, train
from model_compression.cafe.budget import check_ratio
from model_compression.cafe.cafe_embedding import CAFEEmbedding
from model_compression.cafe.methods import (DEFAULT_THRESHOLD, MethodOptions, build_embedding, check_methods,
                                            train_counts)
from model_compression.cafe.step_hook import CAFEStepHook

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass(frozen=True)
class CAFEConfig:
    """What the study runs: model, ratios, methods, seeds, CAFE options, and the recsys training settings."""

    model: str = "deepfm"
    ratios: tuple[float, ...] = (0.5, 0.1, 0.02, 0.01)
    methods: tuple[str, ...] = ("full", "hash", "qr", "frequency", "cafe")
    seeds: tuple[int, ...] = (0,)
    threshold: float = DEFAULT_THRESHOLD
    hot_fraction: float = 0.5
    importance: str = "grad-norm"
    split: str = "random"
    epochs: int | None = None  # None: DEFAULT_EPOCHS[model], as the dense recsys model
    max_steps: int | None = None  # stop every training early (smoke runs)
    batch_size: int = 512
    lr: float = 1e-3
    emb_dim: int = 16
    hidden: tuple[int, ...] = (256, 128)

    def __post_init__(self) -> None:
        """Normalise and validate, so a bad setting fails before any training."""
        object.__setattr__(self, "ratios", tuple(dict.fromkeys(check_ratio(r) for r in self.ratios)))
        object.__setattr__(self, "methods", check_methods(tuple(self.methods)))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.epochs is None:
            object.__setattr__(self, "epochs", DEFAULT_EPOCHS.get(self.model, 4))
        if not self.ratios or not self.seeds:
            raise ValueError("give at least one ratio and one seed")
        if self.epochs < 1 or (self.max_steps is not None and self.max_steps < 1):
            raise ValueError("epochs and max_steps must be >= 1")
        self.options()
        self.task_config(self.seeds[0])  # checks model, split and training settings

    def options(self) -> MethodOptions:
        """The method options (threshold, hot fraction, importance source)."""
        return MethodOptions(self.threshold, self.hot_fraction, self.importance)

    def task_config(self, seed: int) -> RecsysTaskConfig:
        """The recsys settings (data split, architecture, training) for one seed."""
        return RecsysTaskConfig(model=self.model, seed=seed, split=self.split, epochs=self.epochs,
                                batch_size=self.batch_size, lr=self.lr, emb_dim=self.emb_dim, hidden=self.hidden)

    def runs(self) -> list[tuple[str, float]]:
        """(method, ratio) pairs of one seed: ``full`` once at ratio 1, every other method at every ratio."""
        return [(m, 1.0) for m in self.methods if m == "full"] + [
            (m, r) for r in self.ratios for m in self.methods if m != "full"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def rows_seen(steps: int, rows: int, batch_size: int) -> int:
    """Training rows processed by ``steps`` mini-batches of an epoch of ``rows`` (the last batch is short)."""
    per_epoch = math.ceil(rows / batch_size)
    full_epochs, rest = divmod(steps, per_epoch)
    return full_epochs * rows + min(rest * batch_size, rows)


def run_one(cfg: CAFEConfig, data: CTRData, method: str, ratio: float, seed: int, counts: torch.Tensor | None = None,
            watch: Callable[[CAFEStepHook], None] | None = None) -> Row:
    """Train and evaluate one (method, ratio, seed); a ValueError building the embedding gives a skipped row.

    ``watch(hook)`` runs after each CAFE step (see ``CAFEStepHook``); other methods have no hook."""
    tcfg = cfg.task_config(seed)
    model_cfg, train_cfg = tcfg.model_config(), tcfg.train_config()
    row: Row = {"model": cfg.model, "method": method, "ratio": ratio, "seed": seed, "threshold": cfg.threshold,
                "hot_fraction": cfg.hot_fraction, "importance": cfg.importance}
    seed_everything(seed)
    model = build_model(model_cfg, data)  # the same MLP initialisation for every method
    try:
        emb = build_embedding(method, data, model_cfg.emb_dim, model_cfg.emb_std, ratio, seed, cfg.options(), counts)
    except ValueError as exc:
        log.info("%s seed %d %-9s r=%.3g skipped: %s", cfg.model, seed, method, ratio, exc)
        return {**row, "status": "skipped", "reason": str(exc)}
    model.embeddings = emb
    hook = CAFEStepHook(emb, cfg.importance, watch=watch) if isinstance(emb, CAFEEmbedding) else None
    start = time.perf_counter()
    steps = train(model, data.train, train_cfg, before_step=hook, max_steps=cfg.max_steps)
    train_s = time.perf_counter() - start
    seen = rows_seen(steps, len(data.train), train_cfg.batch_size)
    first_order = getattr(model, "linear", None)
    row.update(status="ok", **evaluate(model, data.test),
               **{f"valid_{k}": v for k, v in evaluate(model, data.valid).items()},
               memory_bytes=emb.memory_bytes(), memory_floats=emb.memory_floats(), budget_floats=emb.budget_floats,
               full_floats=emb.num_features * emb.dim,
               first_order_floats=sum(p.numel() for p in first_order.parameters()) if first_order is not None else 0,
               steps=steps, train_rows=seen, train_s=train_s, samples_per_s=seen / train_s,
               **(hook.summary() if hook is not None else {}))
    log.info("%s seed %d %-9s r=%.3g AUC %.4f, %d/%d floats, %.0f samples/s", cfg.model, seed, method, ratio,
             row["auc"], row["memory_floats"], row["budget_floats"], row["samples_per_s"])
    return row


def warm_up(cfg: CAFEConfig, data: CTRData, seed: int) -> None:
    """A few untimed training steps, so the first timed run does not pay one-time costs in its throughput."""
    tcfg = cfg.task_config(seed)
    train(build_model(tcfg.model_config(), data), data.train, tcfg.train_config(), max_steps=5)


def run_seed(cfg: CAFEConfig, seed: int, emit: Callable[[Row], None], data: CTRData | None = None,
             skip: Callable[[str, float], bool] = lambda method, ratio: False) -> None:
    """Every (method, ratio) of one seed not skipped; rows go to emit as they finish.

    ``data`` replaces the seeded MovieLens split (tests pass small synthetic data)."""
    data = data if data is not None else load_data(cfg.task_config(seed).data_config())
    counts = train_counts(data)
    warm_up(cfg, data, seed)
    for method, ratio in cfg.runs():
        if not skip(method, ratio):
            emit(run_one(cfg, data, method, ratio, seed, counts))


def run_cafe(cfg: CAFEConfig, emit: Callable[[Row], None] | None = None, data: CTRData | None = None) -> list[Row]:
    """Run every seed; returns all rows (also passed to emit one by one)."""
    rows: list[Row] = []

    def keep(row: Row) -> None:
        rows.append(row)
        if emit is not None:
            emit(row)

    for seed in cfg.seeds:
        run_seed(cfg, seed, keep, data)
    return rows

