"""What a pruned CTR model costs: nonzero parameters, bytes on disk (dense vs CSR), inference time.

Sparse storage: each pruned Linear weight is saved as CSR (int32 row pointers, int16 column
indices when the input width allows, float32 values), everything else dense, all in one
safetensors file; the dense baseline is the same model's state dict saved as-is. Inference:
the same model with its pruned Linear layers running ``torch.sparse.mm`` on CSR weights,
timed against the dense model in the same process on one thread (median of repeats).
"""
from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from evaluators.recsys.data import Split
from evaluators.recsys.train import one_thread


def count_params(model: nn.Module, layers: Mapping[str, nn.Module]) -> dict[str, int]:
    """Total and nonzero parameters of the model and of the pruned layers' weights."""
    params = list(model.parameters())
    return {"params_total": sum(p.numel() for p in params),
            "params_nonzero": sum(int((p != 0).sum()) for p in params),
            "pruned_total": sum(m.weight.numel() for m in layers.values()),
            "pruned_nonzero": sum(int((m.weight != 0).sum()) for m in layers.values())}


def to_csr(weight: Tensor) -> Tensor:
    """The weight as a torch CSR tensor (without torch's "beta" warning)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return weight.detach().to_sparse_csr()


def csr_tensors(name: str, weight: Tensor) -> dict[str, Tensor]:
    """A 2-D weight as CSR arrays under name.crow / name.col / name.val / name.shape."""
    csr = to_csr(weight)
    col_dtype = torch.int16 if weight.shape[1] <= torch.iinfo(torch.int16).max else torch.int32
    return {f"{name}.crow": csr.crow_indices().to(torch.int32), f"{name}.col": csr.col_indices().to(col_dtype),
            f"{name}.val": csr.values().contiguous(), f"{name}.shape": torch.tensor(weight.shape, dtype=torch.int64)}


def _file_size(tensors: dict[str, Tensor]) -> int:
    """Bytes of a safetensors file holding tensors."""
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.safetensors")
        save_file({k: v.contiguous() for k, v in tensors.items()}, path)
        return os.path.getsize(path)


def disk_sizes(model: nn.Module, layers: Mapping[str, nn.Module]) -> dict[str, int]:
    """Bytes on disk of the state dict stored dense and with the pruned weights as CSR."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    sparse = dict(state)
    for name, layer in layers.items():
        del sparse[f"{name}.weight"]
        sparse.update(csr_tensors(f"{name}.weight", layer.weight))
    return {"disk_dense_bytes": _file_size(state), "disk_sparse_bytes": _file_size(sparse)}


class SparseLinear(nn.Module):
    """A Linear layer computing with a CSR weight (y = W_csr x^T + b)."""

    def __init__(self, linear: nn.Linear) -> None:
        """Convert the weight to CSR."""
        super().__init__()
        self.weight = to_csr(linear.weight)
        self.bias = None if linear.bias is None else linear.bias.detach().clone()

    def forward(self, x: Tensor) -> Tensor:
        """The layer's output."""
        out = torch.sparse.mm(self.weight, x.t()).t()
        return out if self.bias is None else out + self.bias


def sparse_copy(model: nn.Module, layers: Mapping[str, nn.Module]) -> nn.Module:
    """A copy of the model whose pruned Linear layers compute with CSR weights."""
    clone = copy.deepcopy(model).eval()
    for name, layer in layers.items():
        if isinstance(layer, nn.Linear):
            parent_name, _, child = name.rpartition(".")
            parent = clone.get_submodule(parent_name) if parent_name else clone
            setattr(parent, child, SparseLinear(layer))
    return clone


@torch.no_grad()
def _time(model: nn.Module, batches: list[Split], repeats: int) -> float:
    """Median wall seconds of one pass over the batches."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for b in batches:
            model(*b.inputs())
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def inference_times(model: nn.Module, layers: Mapping[str, nn.Module], data: Split, batch_size: int = 4096,
                    repeats: int = 5) -> dict[str, float]:
    """Milliseconds per pass over data for the model dense and with CSR layers, interleaved, one thread."""
    sparse = sparse_copy(model, layers)
    model.eval()
    batches = list(data.batches(batch_size))
    with one_thread():
        _time(model, batches, 1), _time(sparse, batches, 1)  # warm-up
        dense_s, sparse_s = [], []
        for _ in range(repeats):
            dense_s.append(_time(model, batches, 1))
            sparse_s.append(_time(sparse, batches, 1))
    return {"infer_dense_ms": 1e3 * statistics.median(dense_s), "infer_sparse_ms": 1e3 * statistics.median(sparse_s)}


def footprint(model: nn.Module, layers: Mapping[str, nn.Module], data: Split, timing: bool = True) -> dict[str, float]:
    """Nonzero counts, disk sizes and (when timing) inference times of the model as it is now."""
    out: dict[str, float] = {**count_params(model, layers), **disk_sizes(model, layers)}
    if timing:
        out.update(inference_times(model, layers, data))
    return out
