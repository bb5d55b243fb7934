"""The dense CTR model: trained once per (data, architecture, training, seed), cached on disk."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from evaluators.recsys.cache import cache_key, cache_root, load_model, save_model, snapshot
from evaluators.recsys.config import DataConfig
from evaluators.recsys.data import CTRData
from evaluators.recsys.movielens import load_movielens
from evaluators.recsys.models import CTRModel, ModelConfig, build_model
from evaluators.recsys.train import TrainConfig, evaluate, seed_everything, train

log = logging.getLogger(__name__)


def load_data(cfg: DataConfig) -> CTRData:
    """MovieLens-100k split as the config says."""
    return load_movielens(cfg.split, cfg.genres, cfg.seed, cfg.test_frac, cfg.valid_frac, cfg.calib_rows,
                          cfg.drop_neutral)


def fresh_model(model_cfg: ModelConfig, data: CTRData, seed: int) -> CTRModel:
    """An untrained model initialised from the seed."""
    seed_everything(seed)
    return build_model(model_cfg, data)


def fit_dense(data: CTRData, model_cfg: ModelConfig, train_cfg: TrainConfig,
              snapshot_steps: Iterable[int] = ()) -> tuple[CTRModel, dict[int, dict[str, torch.Tensor]]]:
    """Train a fresh model; also return copies of its state after each of snapshot_steps (0 = initial)."""
    model = fresh_model(model_cfg, data, train_cfg.seed)
    wanted = set(snapshot_steps)
    snaps = {0: snapshot(model)} if 0 in wanted else {}

    def keep(step: int) -> None:
        if step in wanted:
            snaps[step] = snapshot(model)

    train(model, data.train, train_cfg, after_step=keep)
    missing = wanted - set(snaps)
    if missing:
        raise ValueError(f"snapshot steps {sorted(missing)} are past the end of training")
    return model, snaps


def load_or_fit_dense(data_cfg: DataConfig, model_cfg: ModelConfig, train_cfg: TrainConfig,
                      data: CTRData | None = None,
                      cache_dir: str | Path | None = None) -> tuple[CTRData, CTRModel, dict[str, Any]]:
    """Data, the trained dense model (from the cache when present) and its metadata (valid/test AUC)."""
    data = data if data is not None else load_data(data_cfg)
    settings = {"data": vars(data_cfg), "model": model_cfg.to_dict(), "train": train_cfg.to_dict()}
    root, key = cache_root(cache_dir), cache_key(settings)
    model = fresh_model(model_cfg, data, train_cfg.seed)
    meta = load_model(root, key, model)
    if meta is not None:
        log.debug("dense model from cache %s", root / key)
        return data, model, meta
    start = time.perf_counter()
    model, _ = fit_dense(data, model_cfg, train_cfg)
    meta = {"settings": settings, "train_s": time.perf_counter() - start,
            "valid": evaluate(model, data.valid), "test": evaluate(model, data.test)}
    log.info("dense %s trained in %.1f s: test AUC %.4f", model_cfg.kind, meta["train_s"], meta["test"]["auc"])
    save_model(root, key, model, meta)
    return data, model, meta
