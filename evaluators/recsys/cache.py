"""Disk cache of trained dense CTR models: safetensors weights + JSON metadata, keyed by settings and seed.

Files are written atomically (temporary name, then ``os.replace``), read with safetensors (no
pickle), and a file that fails to load is retrained over.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from evaluators.files import umask_mode

log = logging.getLogger(__name__)

CACHE_ENV = "METRICFORGE_CACHE"
VERSION = 1  # bump when training or the data pipeline changes what a key means


def cache_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The recsys cache folder: override, else $METRICFORGE_CACHE/recsys, else ~/.cache/metricforge/recsys."""
    if override is not None:
        return Path(override)
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "metricforge")
    return Path(root) / "recsys"


def cache_key(settings: dict[str, Any]) -> str:
    """24-hex key of JSON-able settings (sorted keys) and the cache version."""
    text = json.dumps({"version": VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _atomic_write(path: Path, write: Any) -> None:
    """Call write(tmp_path), then move tmp_path onto path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    umask_mode(fd)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_model(root: Path, key: str, model: nn.Module, meta: dict[str, Any]) -> Path:
    """Write model weights (safetensors) and metadata (JSON) under root/key.*; returns the weights path."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    weights = root / f"{key}.safetensors"
    _atomic_write(weights, lambda tmp: save_file(state, tmp))
    _atomic_write(root / f"{key}.json", lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2, default=str)))
    return weights


def load_model(root: Path, key: str, model: nn.Module) -> dict[str, Any] | None:
    """Load cached weights into model and return the metadata; None when absent or unreadable."""
    from safetensors.torch import load_file

    weights, meta = root / f"{key}.safetensors", root / f"{key}.json"
    if not (weights.is_file() and meta.is_file()):
        return None
    try:
        state = load_file(str(weights))
        model.load_state_dict(state, strict=True)
        return json.loads(meta.read_text())
    except (OSError, RuntimeError, ValueError, KeyError) as exc:  # a torn or stale file: retrain
        log.warning("ignoring unreadable cache entry %s: %s", weights, exc)
        return None


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every tensor of the state dict (for exact restores)."""
    from evaluators.failure import snapshot as snapshot_tensors

    return snapshot_tensors(model.state_dict())
