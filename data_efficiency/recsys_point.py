"""One training run on a downsampled MovieLens-100k training set, scored on validation (and test).

Every run takes the same number of optimizer steps, ``epochs`` passes' worth of the full training
set, so a smaller sample is cycled more often: the curve measures data, not compute. Validation
AUC is taken ``evals`` times along the way; the best checkpoint is the run's result (early stopping).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from data_efficiency.downsample import DEFAULT_TAU_DAYS, Sample, corrected_logits, downsample
from evaluators.recsys.cache import snapshot
from evaluators.recsys.data import CTRData
from evaluators.recsys.dense import fresh_model
from evaluators.recsys.models import ModelConfig
from evaluators.recsys.train import TrainConfig, evaluate, metrics, predict, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    """Optimisation of every run: full-data epochs of steps, batch, Adam lr, validation checks per run."""

    epochs: int = 4
    batch_size: int = 512
    lr: float = 1e-3
    evals: int = 10
    tau_days: float = DEFAULT_TAU_DAYS

    def __post_init__(self) -> None:
        """Fail before any training on a setting that cannot run."""
        if min(self.epochs, self.batch_size, self.evals) < 1 or not (self.lr > 0 and self.tau_days > 0):
            raise ValueError(f"epochs, batch_size and evals must be >= 1, lr and tau_days > 0: got {self}")


def fit_best(model: torch.nn.Module, data: CTRData, sample: Sample, seed: int, run: RunSettings,
             weighted: bool = True) -> dict[str, Any]:
    """Train on the sample for the fixed step count, keep the checkpoint with the best validation AUC."""
    rows = data.train.take(torch.from_numpy(sample.index))
    full = TrainConfig(batch_size=run.batch_size).steps_per_epoch(len(data.train))
    steps = run.epochs * full
    cfg = TrainConfig(epochs=math.ceil(steps / math.ceil(len(rows) / run.batch_size)), batch_size=run.batch_size,
                      lr=run.lr, seed=seed)
    every = max(1, steps // run.evals)
    best: dict[str, Any] = {"auc": -math.inf}

    def check(step: int) -> None:
        if step % every and step != steps:
            return
        auc = evaluate(model, data.valid)["auc"]
        model.train()
        if auc > best["auc"]:
            best.update(auc=auc, step=step, state=snapshot(model))

    weight = None if sample.weight is None or not weighted else torch.from_numpy(sample.weight).float()
    start = time.perf_counter()
    train(model, rows, cfg, after_step=check, max_steps=steps, sample_weight=weight)
    final_auc = evaluate(model, data.valid)["auc"]
    model.load_state_dict(best["state"])
    return {"steps": steps, "best_step": best["step"], "auc_final": final_auc, "train_s": time.perf_counter() - start}


def calibration(logits: torch.Tensor, y: torch.Tensor, name: str) -> dict[str, float]:
    """``name``_logloss and ``name``_mean_p (mean predicted click rate) of logits against labels y."""
    return {f"{name}_logloss": metrics(logits, y)["logloss"],
            f"{name}_mean_p": float(torch.sigmoid(logits.double()).mean())}


def train_point(data: CTRData, timestamp: np.ndarray, strategy: str, rate: float, seed: int,
                model_cfg: ModelConfig, run: RunSettings = RunSettings()) -> dict[str, Any]:
    """Downsample at rate with seed, train a fresh model (seeded) and score it: one row of the curve.

    For ``negatives`` a second, unweighted model is trained on the same rows and both are scored
    for calibration (the unweighted one before and after the log-rate correction).
    """
    sample = downsample(strategy, data.train.y.numpy(), timestamp, rate, seed, run.tau_days)
    model = fresh_model(model_cfg, data, seed)
    fit = fit_best(model, data, sample, seed, run)
    valid, test = evaluate(model, data.valid), evaluate(model, data.test)
    row: dict[str, Any] = {"strategy": strategy, "model": model_cfg.kind, "rate": rate, "seed": seed,
                           "rows": len(sample.index), "fraction": sample.fraction(len(data.train)),
                           "realised_rate": sample.rate, "auc": valid["auc"], "logloss": valid["logloss"],
                           "test_auc": test["auc"], "test_logloss": test["logloss"], **fit,
                           "valid_base_rate": float(data.valid.y.double().mean())}
    if strategy == "negatives":
        y = data.valid.y
        plain = fresh_model(model_cfg, data, seed)
        plain_fit = fit_best(plain, data, sample, seed, run, weighted=False)
        raw = predict(plain, data.valid)
        row.update(**calibration(predict(model, data.valid), y, "weighted"), **calibration(raw, y, "unweighted"),
                   **calibration(corrected_logits(raw, sample.rate), y, "corrected"),
                   unweighted_auc=metrics(raw, y)["auc"], train_s=fit["train_s"] + plain_fit["train_s"])
    log.info("%s %s rate %.3g seed %d: %d rows, valid AUC %.4f (step %d/%d), %.1f s", model_cfg.kind, strategy,
             rate, seed, row["rows"], row["auc"], row["best_step"], row["steps"], row["train_s"])
    return row
