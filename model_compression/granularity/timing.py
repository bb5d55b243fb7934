"""CPU inference time of masked-dense against physically shrunk layers, measured in one run.

Masks zero weights but keep every multiply, so a masked dense model runs as fast as the dense one;
only removing whole units (smaller matrices) or a sparse kernel changes the work. Models are timed
interleaved on one thread (median of repeats) so background load hits them alike.
"""
from __future__ import annotations

import copy
import statistics
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from evaluators.cnn.finetune import apply_masks
from evaluators.cnn.model import DigitsCNN, one_thread
from evaluators.granularity import group_keep_mask

from .shrink import shrink_cnn, shrink_linear_pair

__all__ = ["cnn_shrink_timing", "linear_pair_timing", "time_callables"]


@torch.no_grad()
def time_callables(fns: Mapping[str, Callable[[], Any]], repeats: int = 15) -> dict[str, float]:
    """Median milliseconds of each callable, run interleaved on one thread after a warm-up."""
    runs: dict[str, list[float]] = {k: [] for k in fns}
    with one_thread():
        for fn in fns.values():
            fn()
        for _ in range(repeats):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                runs[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(v) for name, v in runs.items()}


@torch.no_grad()
def cnn_shrink_timing(model: DigitsCNN, masks: Mapping[str, Tensor], x: Tensor, repeats: int = 15) -> dict[str, Any]:
    """Dense, masked and shrunk CNN on x: milliseconds, parameter counts, max output difference."""
    masked = copy.deepcopy(model).eval()
    apply_masks({n: getattr(masked, n) for n in masks}, masks)
    small = shrink_cnn(model, masks)
    diff = float((masked(x) - small(x)).abs().max())
    times = time_callables({"dense": lambda: model(x), "masked": lambda: masked(x), "shrunk": lambda: small(x)},
                           repeats)
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in (("dense", model), ("shrunk", small))}
    return {"ms": times, "params": params, "max_abs_diff": diff, "batch": int(x.shape[0]),
            "shapes": {n: list(getattr(small, n).weight.shape) for n in ("conv1", "conv2", "fc1", "fc2")}}


@torch.no_grad()
def linear_pair_timing(d_in: int = 576, d_hidden: int = 1536, tokens: int = 512, sparsity: float = 0.5,
                       seed: int = 0, repeats: int = 15) -> dict[str, Any]:
    """An MLP pair (d_in -> d_hidden -> d_in) with neurons removed: dense, masked, shrunk, element-CSR."""
    gen = torch.Generator().manual_seed(seed)
    up, down = nn.Linear(d_in, d_hidden), nn.Linear(d_hidden, d_in)
    for layer in (up, down):
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) / layer.in_features ** 0.5)
    x = torch.randn(tokens, d_in, generator=gen)
    rows = group_keep_mask(up.weight.abs(), sparsity, "filter")
    masked_up = copy.deepcopy(up)
    apply_masks({"up": masked_up}, {"up": rows})
    small_up, small_down = shrink_linear_pair(up, down, rows.any(dim=1))
    csr_keep = group_keep_mask(up.weight.abs(), sparsity, "element")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        csr_up = (up.weight * csr_keep).to_sparse_csr()
    up_bias = up.bias

    def run_csr() -> Tensor:
        return down(torch.relu(torch.sparse.mm(csr_up, x.t()).t() + up_bias))

    diff = float((down(torch.relu(masked_up(x))) - small_down(torch.relu(small_up(x)))).abs().max())
    times = time_callables({"dense": lambda: down(torch.relu(up(x))),
                            "masked": lambda: down(torch.relu(masked_up(x))),
                            "shrunk": lambda: small_down(torch.relu(small_up(x))),
                            "element_csr": run_csr}, repeats)
    return {"ms": times, "shape": [d_in, d_hidden, d_in], "tokens": tokens, "sparsity": sparsity,
            "shrunk_hidden": int(small_up.out_features), "max_abs_diff": diff}
