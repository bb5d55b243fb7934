"""The CAFE study: a CTR model with each compressed embedding at each memory ratio, trained like the dense one.

Per seed (the seed fixes the data split, the initialisation, the batch order and the hash functions),
every (variant, ratio) gets the same MLP initialisation and the same mini-batches as the dense recsys
model; only ``model.embeddings`` is swapped. A variant is a labelled method with its options
(``variants.Variant``): one per name in ``methods`` with the shared options, plus ``extra`` ones (tuned
or evolved settings). ``full`` runs once per seed, at ratio 1. A method that cannot exist at a ratio
gives a row with ``status = "skipped"`` and the reason.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from evaluators.recsys.config import DEFAULT_EPOCHS, RecsysTaskConfig
from evaluators.recsys.data import CTRData
from evaluators.recsys.dense import load_data
from evaluators.recsys.train import evaluate
from evaluators.embedding.cafe.budget import check_ratio
from evaluators.embedding.cafe.methods import DEFAULT_THRESHOLD, MethodOptions, check_methods, train_counts
from evaluators.embedding.cafe.step_hook import CAFEStepHook
from evaluators.embedding.cafe.training import Unavailable, rows_seen, train_method, warm_up
from model_compression.cafe.variants import Variant, check_labels

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
    decay_every: float | None = None
    extra: tuple[Variant, ...] = ()  # more labelled variants (tuned or evolved settings)
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
        object.__setattr__(self, "methods", check_methods(tuple(self.methods)) if self.methods else ())
        object.__setattr__(self, "extra", tuple(v if isinstance(v, Variant) else Variant.from_dict(v)
                                                for v in self.extra))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.epochs is None:
            object.__setattr__(self, "epochs", DEFAULT_EPOCHS.get(self.model, 4))
        if not self.ratios or not self.seeds or not (self.methods or self.extra):
            raise ValueError("give at least one ratio, one seed and one method or variant")
        check_labels(self.variants())
        if self.epochs < 1 or (self.max_steps is not None and self.max_steps < 1):
            raise ValueError("epochs and max_steps must be >= 1")
        self.options()
        self.task_config(self.seeds[0])  # checks model, split and training settings

    def options(self) -> MethodOptions:
        """The shared method options (threshold, hot fraction, importance source, decay period)."""
        return MethodOptions(self.threshold, self.hot_fraction, self.importance, self.decay_every)

    def variants(self) -> tuple[Variant, ...]:
        """One variant per method (labelled by it, with the shared options), then the extra ones."""
        return tuple(Variant(m, m, self.options()) for m in self.methods) + self.extra

    def task_config(self, seed: int) -> RecsysTaskConfig:
        """The recsys settings (data split, architecture, training) for one seed."""
        return RecsysTaskConfig(model=self.model, seed=seed, split=self.split, epochs=self.epochs,
                                batch_size=self.batch_size, lr=self.lr, emb_dim=self.emb_dim, hidden=self.hidden)

    def runs(self) -> list[tuple[Variant, float]]:
        """(variant, ratio) pairs of one seed: ``full`` once at ratio 1, every other variant at every ratio."""
        variants = self.variants()
        return [(v, 1.0) for v in variants if v.method == "full"] + [
            (v, r) for r in self.ratios for v in variants if v.method != "full"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "extra": [v.to_dict() for v in self.extra]}


def run_one(cfg: CAFEConfig, data: CTRData, variant: Variant | str, ratio: float, seed: int,
            counts: torch.Tensor | None = None, watch: Callable[[CAFEStepHook], None] | None = None) -> Row:
    """Train and evaluate one (variant, ratio, seed); a ValueError building the embedding gives a skipped row.

    A method name stands for its variant with the config's shared options. ``watch(hook)`` runs after
    each CAFE step (see ``CAFEStepHook``); other methods have no hook."""
    variant = variant if isinstance(variant, Variant) else Variant(variant, variant, cfg.options())
    options, tcfg = variant.at(ratio), cfg.task_config(seed)
    model_cfg, train_cfg = tcfg.model_config(), tcfg.train_config()
    row: Row = {"model": cfg.model, "method": variant.method, "variant": variant.label, "ratio": ratio,
                "seed": seed, **asdict(options)}
    try:
        run = train_method(variant.method, options, data, model_cfg, train_cfg, ratio, seed, counts,
                           cfg.max_steps, watch)
    except Unavailable as exc:
        log.info("%s seed %d %-9s r=%.3g skipped: %s", cfg.model, seed, variant.label, ratio, exc)
        return {**row, "status": "skipped", "reason": str(exc)}
    emb, model = run.embedding, run.model
    seen = rows_seen(run.steps, len(data.train), train_cfg.batch_size)
    first_order = getattr(model, "linear", None)
    row.update(status="ok", **evaluate(model, data.test),
               **{f"valid_{k}": v for k, v in evaluate(model, data.valid).items()},
               memory_bytes=emb.memory_bytes(), memory_floats=emb.memory_floats(), budget_floats=emb.budget_floats,
               full_floats=emb.num_features * emb.dim,
               first_order_floats=sum(p.numel() for p in first_order.parameters()) if first_order is not None else 0,
               steps=run.steps, train_rows=seen, train_s=run.train_s, samples_per_s=seen / run.train_s,
               **(run.hook.summary() if run.hook is not None else {}))
    log.info("%s seed %d %-9s r=%.3g valid AUC %.4f, %d/%d floats, %.0f samples/s", cfg.model, seed,
             variant.label, ratio, row["valid_auc"], row["memory_floats"], row["budget_floats"], row["samples_per_s"])
    return row


def run_seed(cfg: CAFEConfig, seed: int, emit: Callable[[Row], None], data: CTRData | None = None,
             skip: Callable[[Variant, float], bool] = lambda variant, ratio: False) -> None:
    """Every (variant, ratio) of one seed not skipped; rows go to emit as they finish.

    ``data`` replaces the seeded MovieLens split (tests pass small synthetic data)."""
    data = data if data is not None else load_data(cfg.task_config(seed).data_config())
    counts = train_counts(data)
    tcfg = cfg.task_config(seed)
    warm_up(data, tcfg.model_config(), tcfg.train_config())
    for variant, ratio in cfg.runs():
        if not skip(variant, ratio):
            emit(run_one(cfg, data, variant, ratio, seed, counts))


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

