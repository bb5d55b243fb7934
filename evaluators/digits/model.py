"""A small MLP on scikit-learn's bundled digits (no download), trained once, seeded, cached on disk."""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from evaluators.classifier import (ClassifierData, accuracy, cache_dir, config_key, one_thread, split_digits,
                                  train_classifier)
from evaluators.classifier import load_or_train as _load_or_train

__all__ = ["DigitsConfig", "DigitsData", "accuracy", "build_mlp", "load_data", "load_or_train", "one_thread",
           "train_mlp"]

DigitsData = ClassifierData  # flat 64-feature inputs


@dataclass(frozen=True)
class DigitsConfig:
    """What determines the trained model and its calibration data."""

    hidden: tuple[int, ...] = (128, 64)
    seed: int = 0
    epochs: int = 150
    lr: float = 3e-3
    batch_size: int = 64
    test_fraction: float = 0.33
    calib_samples: int = 256
    calib_batch: int = 32

    def key(self) -> str:
        """Stable 16-hex key of the config (the disk-cache file name)."""
        return config_key(self)


def load_data(cfg: DigitsConfig) -> DigitsData:
    """The digits split by a seeded permutation; calibration is the head of the train split."""
    return split_digits(False, cfg.seed, cfg.test_fraction, cfg.calib_samples)


def build_mlp(cfg: DigitsConfig) -> nn.Sequential:
    """64 -> hidden... -> 10 with ReLU between Linear layers."""
    sizes = (64, *cfg.hidden, 10)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train_mlp(cfg: DigitsConfig, data: DigitsData) -> nn.Sequential:
    """Seeded Adam training on one thread (deterministic on CPU)."""
    return train_classifier(lambda: build_mlp(cfg), data, seed=cfg.seed, epochs=cfg.epochs, lr=cfg.lr,
                            batch_size=cfg.batch_size)


def load_or_train(cfg: DigitsConfig, data: DigitsData) -> nn.Sequential:
    """The trained model from the disk cache or trained now and cached."""
    return _load_or_train(cache_dir("digits") / f"mlp-{cfg.key()}.safetensors", lambda: build_mlp(cfg),
                          lambda: train_mlp(cfg, data))
