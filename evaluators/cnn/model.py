"""A small CNN on scikit-learn's bundled 8x8 digits (no download), trained once, seeded, cached on disk."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


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
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class ImageData:
    """Train, calibration and test images (N x 1 x 8 x 8, scaled to [0, 1]) and labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_calib: torch.Tensor
    y_calib: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


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


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one CPU thread, so results are bit-identical in every process."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def load_images(cfg: CNNConfig) -> ImageData:
    """The digits as images, split by a seeded permutation; calibration is the head of the train split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.tensor(np.random.RandomState(cfg.seed).permutation(len(y)))
    n_test = int(round(cfg.test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    calib = train[: cfg.calib_samples]
    return ImageData(x[train], y[train], x[calib], y[calib], x[test], y[test])


def build_cnn(cfg: CNNConfig) -> DigitsCNN:
    """An untrained CNN of the config's sizes."""
    return DigitsCNN(cfg.channels[0], cfg.channels[1], cfg.hidden)


def train_cnn(cfg: CNNConfig, data: ImageData) -> DigitsCNN:
    """Seeded Adam training on one thread (deterministic on CPU)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    with one_thread():
        torch.manual_seed(cfg.seed)  # layer init draws from the global generator
        model = build_cnn(cfg)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        n = len(data.y_train)
        for _ in range(cfg.epochs):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, cfg.batch_size):
                idx = perm[start:start + cfg.batch_size]
                opt.zero_grad()
                nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
                opt.step()
    model.eval()
    return model


def cache_dir() -> Path:
    """$METRICFORGE_CACHE/cnn, or ~/.cache/metricforge/cnn."""
    root = os.environ.get("METRICFORGE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "metricforge")
    return Path(root) / "cnn"


def load_or_train(cfg: CNNConfig, data: ImageData) -> DigitsCNN:
    """The trained CNN from the disk cache (weights_only load) or trained now and cached atomically."""
    path = cache_dir() / f"cnn-{cfg.key()}.safetensors"
    model = build_cnn(cfg)
    if path.exists():
        try:
            model.load_state_dict(load_file(str(path)))
            return model.eval()
        except Exception as exc:  # a corrupt or foreign file: retrain and overwrite
            log.warning("ignoring unreadable model cache %s: %s", path, exc)
    model = train_cnn(cfg, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return model


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of correct argmax predictions."""
    return float((model(x).argmax(dim=1) == y).float().mean())
