"""What the small seeded torch models of the CPU tasks share: one-thread determinism, a seeded
split of scikit-learn's digits, Adam training, and an atomic safetensors cache of trained weights.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from evaluators.files import umask_mode

log = logging.getLogger(__name__)

CACHE_ENV = "METRICFORGE_CACHE"
M = TypeVar("M", bound=nn.Module)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one CPU thread, so results are bit-identical in every process."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def config_key(config: Any) -> str:
    """Stable 16-hex key of a dataclass config (the disk-cache file name)."""
    return hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class ClassifierData:
    """Train, calibration and test inputs (scaled to [0, 1]) and labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_calib: torch.Tensor
    y_calib: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def split_digits(images: bool, seed: int, test_fraction: float, calib_samples: int) -> ClassifierData:
    """The digits (flat 64 features or 1 x 8 x 8 images) split by a seeded permutation;
    calibration is the head of the train split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor((digits.images if images else digits.data) / 16.0, dtype=torch.float32)
    x = x.unsqueeze(1) if images else x
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.tensor(np.random.RandomState(seed).permutation(len(y)))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    calib = train[:calib_samples]
    return ClassifierData(x[train], y[train], x[calib], y[calib], x[test], y[test])


def train_classifier(build: Callable[[], M], data: ClassifierData, *, seed: int, epochs: int, lr: float,
                     batch_size: int) -> M:
    """Seeded Adam training with cross-entropy on one thread (deterministic on CPU)."""
    gen = torch.Generator().manual_seed(seed)
    with one_thread():
        torch.manual_seed(seed)  # layer init draws from the global generator
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        n = len(data.y_train)
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, batch_size):
                idx = perm[start:start + batch_size]
                opt.zero_grad()
                nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
                opt.step()
    model.eval()
    return model


def cache_dir(name: str) -> Path:
    """$METRICFORGE_CACHE/<name>, or ~/.cache/metricforge/<name>."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "metricforge")
    return Path(root) / name


def load_or_train(path: Path, build: Callable[[], M], train: Callable[[], M]) -> M:
    """Weights from a safetensors file (tensors only, never unpickled), else trained and saved atomically."""
    from safetensors.torch import load_file, save_file

    model = build()
    if path.exists():
        try:
            model.load_state_dict(load_file(str(path)))
            return model.eval()
        except Exception as exc:  # a corrupt or foreign file: retrain and overwrite
            log.warning("ignoring unreadable model cache %s: %s", path, exc)
    model = train()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    umask_mode(fd)
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
