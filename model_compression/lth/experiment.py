"""The lottery-ticket experiment: dense, one-shot, IMP + rewinding, IMP + rewinding + KD, random re-init.

Per seed (the seed fixes the data split, the initialisation and the batch order):
- ``dense``: the trained dense model (also the KD teacher); its state at step ``rewind_step`` is the rewind point;
- ``oneshot``: the trained model pruned once to the target by the metric, not retrained;
- ``oneshot_ft``: that model fine-tuned (mask kept) for the steps IMP retrains per level, no rewinding;
- ``imp``: iterative pruning, ``fraction`` of the remaining weights per level, rewinding to step k;
- ``imp_kd``: the same with the distillation loss (``distill.kd_loss``) from the dense teacher;
- ``reinit``: IMP's mask at the target on a freshly, randomly initialised model, trained from step 0.
"""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from evaluators.masks import parse_group
from evaluators.recsys.cache import snapshot
from evaluators.recsys.config import DEFAULT_EPOCHS, RecsysTaskConfig
from evaluators.recsys.dense import fit_dense, fresh_model, load_data
from evaluators.recsys.pruning import apply_masks, sparsity_of
from evaluators.recsys.train import evaluate
from model_compression.lth.distill import KDLoss
from model_compression.lth.footprint import footprint
from model_compression.lth.imp import full_masks, imp_levels, load_state, next_masks, prunable_layers, retrain
from model_compression.lth.schedule import level_schedule

if TYPE_CHECKING:
    from primitives.metric import Metric

log = logging.getLogger(__name__)

VARIANTS = ("dense", "oneshot", "oneshot_ft", "imp", "imp_kd", "reinit")
REINIT_SEED_OFFSET = 7919


@dataclass(frozen=True)
class LTHConfig:
    """What the experiment runs: model and data settings, targets, seeds, IMP and KD parameters."""

    model: str = "deepfm"
    sparsities: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
    seeds: tuple[int, ...] = (0,)
    fraction: float = 0.2
    scope: str = "global"
    rewind_step: int = 40
    kd: bool = True
    alpha: float = 0.5
    temperature: float = 2.0
    controls: bool = True
    include_embeddings: bool = False
    timing: bool = True
    split: str = "random"
    epochs: int | None = None  # None: DEFAULT_EPOCHS[model]
    batch_size: int = 512
    lr: float = 1e-3
    emb_dim: int = 16
    hidden: tuple[int, ...] = (256, 128)
    eval_split: str = "test"

    def __post_init__(self) -> None:
        """Validate, so a bad setting fails before any training."""
        object.__setattr__(self, "sparsities", tuple(float(s) for s in self.sparsities))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.epochs is None:
            object.__setattr__(self, "epochs", DEFAULT_EPOCHS.get(self.model, 4))
        level_schedule(self.sparsities, self.fraction)  # checks sparsities and fraction
        if parse_group(self.scope).kind == "nm":
            raise ValueError("scope must be global, layer or row (N:M has a fixed sparsity)")
        if not self.seeds:
            raise ValueError("give at least one seed")
        if self.rewind_step < 0:
            raise ValueError("rewind_step must be >= 0")
        self.task_config(self.seeds[0])  # checks model, split and training settings

    def task_config(self, seed: int) -> RecsysTaskConfig:
        """The recsys settings (data, architecture, training) for one seed."""
        return RecsysTaskConfig(model=self.model, seed=seed, split=self.split, epochs=self.epochs,
                                batch_size=self.batch_size, lr=self.lr, emb_dim=self.emb_dim,
                                hidden=self.hidden, eval_split=self.eval_split)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def run_seed(cfg: LTHConfig, metric: Metric | str, seed: int, emit: Callable[[dict[str, Any]], None]) -> None:
    """Every variant for one seed; each result row is passed to emit as soon as it exists."""
    from evaluators.prune_method import resolve_metric
    from primitives.compile import compile_metric

    metric = resolve_metric(metric)
    fn = compile_metric(metric)
    tcfg = cfg.task_config(seed)
    data, train_cfg, model_cfg = load_data(tcfg.data_config()), tcfg.train_config(), tcfg.model_config()
    eval_data = data.split(cfg.eval_split)
    start = time.perf_counter()
    model, snaps = fit_dense(data, model_cfg, train_cfg, snapshot_steps=(cfg.rewind_step,))
    trained, rewind = snapshot(model), snaps[cfg.rewind_step]
    teacher = copy.deepcopy(model)
    layers = prunable_layers(model, cfg.include_embeddings)
    base = {"model": cfg.model, "metric": metric.name or metric.text, "metric_hash": metric.hash, "seed": seed}

    def record(variant: str, target: float, began: float, **extra: Any) -> None:
        row = {**base, "variant": variant, "sparsity": target, "actual_sparsity": sparsity_of(layers),
               **evaluate(model, eval_data), **footprint(model, layers, data.test, cfg.timing),
               "wall_s": time.perf_counter() - began, **extra}
        log.info("%s seed %d %-10s s=%.2f AUC %.4f", cfg.model, seed, variant, target, row["auc"])
        emit(row)

    record("dense", 0.0, start)
    if cfg.controls:
        for target in cfg.sparsities:
            began = time.perf_counter()
            load_state(model, trained)
            masks = next_masks(model, layers, full_masks(layers), fn, target, cfg.scope, data)
            apply_masks(layers, masks)
            record("oneshot", target, began)
            began = time.perf_counter()
            retrain(model, layers, masks, data, train_cfg, cfg.rewind_step)
            record("oneshot_ft", target, began)
    schedule = level_schedule(cfg.sparsities, cfg.fraction)
    targets = {round(s, 9) for s in cfg.sparsities}
    runs = [("imp", None)] + ([("imp_kd", KDLoss(teacher, cfg.alpha, cfg.temperature))] if cfg.kd else [])
    ticket_masks: dict[float, dict] = {}
    for variant, kd in runs:
        began = time.perf_counter()
        loss = {} if kd is None else {"loss_fn": kd}
        for level in imp_levels(model, trained, rewind, fn, schedule, data, train_cfg, cfg.rewind_step,
                                cfg.scope, include_embeddings=cfg.include_embeddings, **loss):
            if round(level.sparsity, 9) in targets:
                load_state(model, level.state)
                record(variant, level.sparsity, began, level=level.index)
                if variant == "imp":
                    ticket_masks[level.sparsity] = level.masks
                began = time.perf_counter()
    if cfg.controls:
        for target, masks in ticket_masks.items():
            began = time.perf_counter()
            fresh = fresh_model(model_cfg, data, seed + REINIT_SEED_OFFSET)
            load_state(model, fresh.state_dict())
            retrain(model, layers, masks, data, train_cfg, 0)
            record("reinit", target, began)


def run_lth(cfg: LTHConfig, metric: Metric | str, emit: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run every seed; returns all result rows (also passed to emit one by one)."""
    from evaluators.prune_method import resolve_metric
    from evaluators.recsys.operands import EMBEDDING_OPERANDS, MLP_OPERANDS

    metric = resolve_metric(metric)
    allowed = EMBEDDING_OPERANDS if cfg.include_embeddings else MLP_OPERANDS
    missing = [op for op in metric.operands if op not in allowed]
    if missing:
        raise ValueError(f"metric {metric.text!r} uses {', '.join(missing)}; available here: {', '.join(allowed)}")
    rows: list[dict[str, Any]] = []

    def keep(row: dict[str, Any]) -> None:
        rows.append(row)
        if emit is not None:
            emit(row)

    for seed in cfg.seeds:
        run_seed(cfg, metric, seed, keep)
    return rows
