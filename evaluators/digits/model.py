"""A small MLP on scikit-learn's bundled digits (no download), trained once, seeded, cached on disk."""
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

CACHE_ENV = "METRICFORGE_CACHE"


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
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class DigitsData:
    """Train, calibration and test tensors (inputs scaled to [0, 1])."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_calib: torch.Tensor
    y_calib: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one CPU thread, so results are bit-identical in every process."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def load_data(cfg: DigitsConfig) -> DigitsData:
    """The digits split by a seeded permutation; calibration is the head of the train split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.tensor(np.random.RandomState(cfg.seed).permutation(len(y)))
    n_test = int(round(cfg.test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    calib = train[: cfg.calib_samples]
    return DigitsData(x[train], y[train], x[calib], y[calib], x[test], y[test])


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
    gen = torch.Generator().manual_seed(cfg.seed)
    with one_thread():
        torch.manual_seed(cfg.seed)  # nn.Linear init draws from the global generator
        model = build_mlp(cfg)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        n = len(data.y_train)
        for _ in range(cfg.epochs):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, cfg.batch_size):
                idx = perm[start:start + cfg.batch_size]
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
                loss.backward()
                opt.step()
    model.eval()
    return model


def cache_dir() -> Path:
    """$METRICFORGE_CACHE/digits, or ~/.cache/metricforge/digits."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "metricforge")
    return Path(root) / "digits"


def load_or_train(cfg: DigitsConfig, data: DigitsData) -> nn.Sequential:
    """The trained model from the disk cache (tensors only, weights_only load) or trained now."""
    path = cache_dir() / f"mlp-{cfg.key()}.safetensors"
    model = build_mlp(cfg)
    if path.exists():
        try:
            state = load_file(str(path))
            model.load_state_dict(state)
            model.eval()
            return model
        except Exception as exc:  # a corrupt or foreign file: retrain and overwrite
            log.warning("ignoring unreadable model cache %s: %s", path, exc)
    model = train_mlp(cfg, data)
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
