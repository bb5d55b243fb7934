"""A small CNN on scikit-learn's bundled 8x8 digits (no download), trained once, seeded, cached on disk."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from evaluators.classifier import (ClassifierData, accuracy, cache_dir, config_key, one_thread, split_digits,
                                  train_classifier)
from evaluators.classifier import load_or_train as _load_or_train

__all__ = ["CNNConfig", "DigitsCNN", "ImageData", "accuracy", "build_cnn", "load_images", "load_or_train",
           "one_thread", "train_cnn"]

ImageData = ClassifierData  # N x 1 x 8 x 8 images


@dataclass(frozen=True)
class CNNConfig:
    """What determines the trained CNN and its calibration data."""

    channels: tuple[int, int] = (16, 32)
    hidden: int = 64
    seed: int = 0
    epochs: int = 30
    lr: float = 3e-3
    batch_size: int = 64
    test_fraction: float = 0.33
    calib_samples: int = 256
    calib_batch: int = 32

    def key(self) -> str:
        """Stable 16-hex key of the config (the disk-cache file name)."""
        return config_key(self)


class DigitsCNN(nn.Module):
    """conv1 (1->c1, 3x3) ReLU, conv2 (c1->c2, 3x3) ReLU, maxpool 2, fc1 (c2*16 -> hidden) ReLU, fc2 (-> 10)."""

    def __init__(self, c1: int = 16, c2: int = 32, hidden: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc1 = nn.Linear(c2 * 16, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of N x 1 x 8 x 8 images."""
        x = torch.relu(self.conv1(x))
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def load_images(cfg: CNNConfig) -> ImageData:
    """The digits as images, split by a seeded permutation; calibration is the head of the train split."""
    return split_digits(True, cfg.seed, cfg.test_fraction, cfg.calib_samples)


def build_cnn(cfg: CNNConfig) -> DigitsCNN:
    """An untrained CNN of the config's sizes."""
    return DigitsCNN(cfg.channels[0], cfg.channels[1], cfg.hidden)


def train_cnn(cfg: CNNConfig, data: ImageData) -> DigitsCNN:
    """Seeded Adam training on one thread (deterministic on CPU)."""
    return train_classifier(lambda: build_cnn(cfg), data, seed=cfg.seed, epochs=cfg.epochs, lr=cfg.lr,
                            batch_size=cfg.batch_size)


def load_or_train(cfg: CNNConfig, data: ImageData) -> DigitsCNN:
    """The trained CNN from the disk cache or trained now and cached."""
    return _load_or_train(cache_dir("cnn") / f"cnn-{cfg.key()}.safetensors", lambda: build_cnn(cfg),
                          lambda: train_cnn(cfg, data))
