"""Perplexity over non-overlapping token windows: exp(mean token NLL)."""
from __future__ import annotations

import math
import sys
from typing import Any


def _progress(iterable: Any, total: int, desc: str) -> Any:
    """Wrap in tqdm only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)


def window_nll(model: Any, windows: Any, batch_size: int = 4) -> tuple[float, int]:
    """(sum of next-token NLL, number of predicted tokens) over (n x length) token windows."""
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    total, count = 0.0, 0
    starts = range(0, windows.shape[0], batch_size)
    with torch.inference_mode():
        for start in _progress(starts, len(starts), "perplexity"):
            ids = windows[start:start + batch_size].to(device)
            logits = model(input_ids=ids, use_cache=False).logits[:, :-1]
            targets = ids[:, 1:]
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="sum")
            total += float(nll)
            count += targets.numel()
    return total, count


def window_losses(model: Any, windows: Any, batch_size: int = 4) -> Any:
    """Mean next-token NLL of each window, as a float64 numpy vector (for convergence studies)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, windows.shape[0], batch_size):
            ids = windows[start:start + batch_size].to(device)
            logits = model(input_ids=ids, use_cache=False).logits[:, :-1].float()
            nll = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
            out.append(nll.mean(dim=1).double().cpu())
    return np.concatenate([t.numpy() for t in out])


def perplexity(model: Any, windows: Any, batch_size: int = 4) -> float:
    """exp(mean NLL of every predicted token) over the windows; inf when it overflows or is NaN."""
    total, count = window_nll(model, windows, batch_size)
    mean = total / max(count, 1)
    if not math.isfinite(mean):
        return math.inf
    try:
        return math.exp(mean)
    except OverflowError:
        return math.inf
