"""Perplexity over non-overlapping token windows: exp(mean token NLL)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from evaluators.progress import track

from .nll import token_nll


def default_batch(model: Any) -> int:
    """Windows per forward pass: 1 on the CPU (several windows in one pass run slower there), 8 on a GPU."""
    return 1 if next(model.parameters()).device.type == "cpu" else 8


def window_nll_sums(model: Any, windows: Any, batch_size: int | None = None, known: Sequence[float] = ()) -> list[float]:
    """Sum of next-token NLL of each of the (n x length) windows; the leading ``known`` sums are
    taken as given and their windows not run again."""
    import torch

    from .offload import offload_of

    if offload_of(model) is not None:  # one block on the device at a time, all windows per block
        from .blockwise import window_nll_sums as blockwise_sums

        return blockwise_sums(offload_of(model), windows, known)

    device = next(model.parameters()).device
    batch_size = batch_size or default_batch(model)
    sums = [float(v) for v in known[:windows.shape[0]]]
    starts = range(len(sums), windows.shape[0], batch_size)
    with torch.inference_mode():
        for start in track(starts, "perplexity: evaluation batches", len(starts)):
            ids = windows[start:start + batch_size].to(device)
            sums.extend(float(v) for v in token_nll(model, ids).sum(dim=1).cpu())
    return sums


def window_losses(model: Any, windows: Any, batch_size: int | None = None) -> Any:
    """Mean next-token NLL of each window, as a float64 numpy vector (for convergence studies)."""
    import numpy as np

    return np.asarray(window_nll_sums(model, windows, batch_size)) / (windows.shape[1] - 1)


def perplexity_of(nll_sums: Sequence[float], tokens_per_window: int) -> float:
    """exp(mean NLL of every predicted token) from per-window sums; inf when it overflows or is NaN."""
    mean = math.fsum(nll_sums) / max(len(nll_sums) * tokens_per_window, 1)
    if not math.isfinite(mean):
        return math.inf
    try:
        return math.exp(mean)
    except OverflowError:
        return math.inf


def perplexity(model: Any, windows: Any, batch_size: int | None = None) -> float:
    """exp(mean NLL of every predicted token) over the windows; inf when it overflows or is NaN."""
    return perplexity_of(window_nll_sums(model, windows, batch_size), windows.shape[1] - 1)
