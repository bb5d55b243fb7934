"""Atomic JSON files and RNG states as JSON: checkpoints never use pickle.

A run folder may come from someone else, so everything in it is plain JSON: trees as metric
text (parsed by our own grammar), RNG states as lists of integers.
"""
from __future__ import annotations

import base64
import json
import math
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.files import umask_mode

CHECKPOINT_FORMAT = "metricforge.gp-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not belong to this run."""


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to a temp file in the same folder, fsync it, then os.replace it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask_mode(fd)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def read_json(path: str | Path) -> Any:
    """Read a JSON file, raising CheckpointError with the path on any problem."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None


def encode_float(value: float | None) -> float | str | None:
    """A float as JSON: non-finite values as the strings "inf", "-inf", "nan"."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def decode_float(value: float | str | None) -> float | None:
    """Inverse of encode_float."""
    if value is None:
        return None
    return float(value)


def encode_random_state(state: tuple) -> dict[str, Any]:
    """A ``random.getstate()`` tuple as JSON."""
    version, internal, gauss = state
    return {"version": version, "state": list(internal), "gauss": gauss}


def decode_random_state(data: dict[str, Any]) -> tuple:
    """Inverse of encode_random_state, validated by a throwaway generator."""
    try:
        state = (int(data["version"]), tuple(int(x) for x in data["state"]),
                 None if data["gauss"] is None else float(data["gauss"]))
        random.Random().setstate(state)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"bad random state in checkpoint: {exc}") from None
    return state


def rng_states(python_state: tuple | None = None) -> dict[str, Any]:
    """JSON states of Python's random (or the given state), numpy's global and torch's CPU generator."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "random": encode_random_state(python_state if python_state is not None else random.getstate()),
        "numpy": {"kind": kind, "keys": [int(k) for k in keys], "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
    }
    if "torch" in sys.modules:
        import torch
        states["torch"] = base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode("ascii")
    return states


def set_rng_states(states: dict[str, Any], set_python: bool = True) -> tuple:
    """Restore numpy's and torch's states (and Python's, if asked); return Python's state tuple."""
    python_state = decode_random_state(states.get("random", {}))
    try:
        if set_python:
            random.setstate(python_state)
        n = states["numpy"]
        np.random.set_state((str(n["kind"]), np.array(n["keys"], dtype=np.uint32), int(n["pos"]),
                             int(n["has_gauss"]), float(n["cached"])))
        if "torch" in states:
            import torch
            raw = np.frombuffer(base64.b64decode(states["torch"]), dtype=np.uint8).copy()
            torch.set_rng_state(torch.from_numpy(raw))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"bad RNG state in checkpoint: {exc}") from None
    return python_state
