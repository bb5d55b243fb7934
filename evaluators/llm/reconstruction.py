"""Layer-wise output reconstruction error of a pruning: a cheap proxy of perplexity, no evaluation pass.

For a prunable linear with dense weight W, pruned weight W' and the Gram matrix H = X^T X of its
inputs over the calibration tokens of the dense model, the squared error of its outputs on those
tokens is ||X (W - W')^T||^2 = tr((W - W') H (W - W')^T). Each layer's error is divided by the
energy of its dense outputs, tr(W H W^T), so wide and narrow layers count alike. The proxy is the
mean of these relative errors over all prunable layers: 0 for the dense model, lower is better
(the direction of perplexity). The geometric mean and the mean per layer role go in the details.

Where each output row is masked on its own scores alone (per-row and N:M groups), the error can be
measured on a seeded sample of rows of every layer (``sampled_errors``): the sampled rows are scored
and masked exactly as a full pruning would mask them, the model is never touched, and the cost falls
with the share of rows kept. Formulas with whole-matrix statistics (a z-score over W, a column sum
over rows) see the sampled rows' statistics instead: a proxy of a proxy, whose agreement with
perplexity is measured in benchmarks/discovery/proxy_correlation.py.

With a ``rank`` r, every Gram matrix is replaced by its best rank-r approximation F F^T (F: in x r, from
a seeded randomized SVD), so an error costs rows x in x r instead of rows x in^2 and counts only the
directions of largest input energy; benchmarks/discovery/proxy_rank.py measures how it still ranks.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .layers import PrunableLayer

if TYPE_CHECKING:
    from evaluators.granularity import Structure

ScoreFn = Callable[[Mapping[str, Any]], Any]
RowStep = Callable[[str, Any, Any, Any], tuple[Any, Any]]  # (layer, weight rows, keep, scores) -> (keep, new rows or None)


def _out_in(layer: PrunableLayer, stored: Any) -> Any:
    """A weight as stored by its module seen as (out x in)."""
    return stored.t() if layer.transposed else stored


def _quadratic(diff: Any, gram: Any) -> float:
    """tr(D H D^T) in float32 on the Gram matrix's device."""
    d = diff.to(device=gram.device, dtype=gram.dtype)
    return float(((d @ gram) * d).sum())


def _factored(diff: Any, factor: Any) -> float:
    """tr(D F F^T D^T) = ||D F||^2 in float32 on the factor's device."""
    return float((diff.to(device=factor.device, dtype=factor.dtype) @ factor).square().sum())


OVERSAMPLE = 10  # extra random directions of the randomized SVD (Halko et al.): its top ``rank`` are then accurate


def low_rank_factor(gram: Any, rank: int, seed: int = 0) -> Any:
    """F (in x min(rank, in)) with F F^T the best rank-``rank`` approximation of a PSD Gram matrix
    (``torch.svd_lowrank`` with OVERSAMPLE extra directions and four power iterations, on the CPU with
    its random draws seeded, so every device gets the same factor and no global generator moves)."""
    import torch

    rank = min(rank, gram.shape[0])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        u, s, _ = torch.svd_lowrank(gram.float().cpu(), q=min(rank + OVERSAMPLE, gram.shape[0]), niter=4)
    return (u[:, :rank] * s[:rank].clamp_min(0).sqrt()).to(device=gram.device, dtype=gram.dtype)


class Reconstruction:
    """Gram matrices and dense output energies of a prepared model; scores the current weights against
    the dense ones (computed once per prepared state, kept on the Gram matrices' device)."""

    def __init__(self, layers: list[PrunableLayer], dense: Mapping[str, Any], grams: Mapping[str, Any],
                 rank: int = 0) -> None:
        """``dense``: the snapshot of every layer's weight as stored; ``grams``: layer -> X^T X;
        ``rank``: 0 for the exact Gram matrices, else their rank-``rank`` factors."""
        self.layers, self.dense, self.grams, self.rank = layers, dense, grams, rank
        self._factors: dict[int, Any] = {}  # id of a Gram tensor (shared by layers reading one input) -> F
        self.energy = {layer.name: self._error(layer.name, _out_in(layer, dense[layer.name])) for layer in layers}
        self._samples: dict[tuple[int, int], dict[str, tuple[Any, float]]] = {}

    def _error(self, name: str, diff: Any) -> float:
        """tr(D H D^T) of layer ``name``'s Gram matrix H (or its low-rank factor)."""
        gram = self.grams[name]
        if not self.rank:
            return _quadratic(diff, gram)
        if id(gram) not in self._factors:
            self._factors[id(gram)] = low_rank_factor(gram, self.rank)
        return _factored(diff, self._factors[id(gram)])

    def errors(self) -> dict[str, float]:
        """layer -> tr((W - W') H (W - W')^T) / tr(W H W^T) of the layer's weight as it is now."""
        import torch

        out = {}
        with torch.no_grad():
            for layer in self.layers:
                diff = _out_in(layer, self.dense[layer.name].float() - layer.module.weight.float())
                error, energy = self._error(layer.name, diff), self.energy[layer.name]
                out[layer.name] = error / energy if energy > 0 else (0.0 if error == 0 else math.inf)
        return out


    def _sample(self, rows: int, seed: int) -> dict[str, tuple[Any, float]]:
        """layer -> (sorted indices of ``rows`` seeded output rows, dense energy of those rows); every
        row of a layer with no more than ``rows``. Drawn once per (rows, seed)."""
        import torch

        if (rows, seed) not in self._samples:
            sample = {}
            for index, layer in enumerate(self.layers):
                out = layer.shape[0]
                generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
                chosen = torch.randperm(out, generator=generator)[:rows].sort().values if out > rows else torch.arange(out)
                weight = _out_in(layer, self.dense[layer.name])[chosen.to(self.dense[layer.name].device)]
                sample[layer.name] = (chosen, self._error(layer.name, weight))
            self._samples[rows, seed] = sample
        return self._samples[rows, seed]

    def sampled_errors(self, fn: ScoreFn, operands: Mapping[str, Mapping[str, Any]],
                       sparsity: float | Mapping[str, float], structure: Structure, rows: int, seed: int,
                       post: RowStep | None = None) -> dict[str, float]:
        """layer -> relative reconstruction error of a metric's masks on ``rows`` seeded output rows of
        each layer, from the dense weights and operands, without pruning the model. Only for structures
        whose rows are masked independently (``Structure.rows_independent``). ``sparsity``: one for
        every layer or one per layer (a recipe's allocation); ``post``: a row-wise step after the mask
        (a recipe's DSnoT refinement or weight update)."""
        import torch

        from evaluators.masks import masked

        from .prune import weight_scores

        if not structure.rows_independent:
            raise ValueError(f"group {structure} does not mask rows independently: sample no rows")
        out = {}
        with torch.no_grad():
            for layer in self.layers:
                chosen, energy = self._sample(rows, seed)[layer.name]
                full = layer.shape[0]
                dense = _out_in(layer, self.dense[layer.name])
                weight = dense[chosen.to(dense.device)].float()
                ops = {name: _rows_of(value, chosen, full) for name, value in operands.get(layer.name, {}).items()}
                target = sparsity if isinstance(sparsity, (int, float)) else sparsity[layer.name]
                scores = weight_scores(fn, layer.name, weight, ops, structure)
                keep, updated = structure.keep_mask(scores, target).to(weight.device), None
                if post is not None:
                    keep, updated = post(layer.name, weight, keep, scores)
                removed = masked(weight, ~keep) if updated is None else weight - updated.to(weight.device).float()
                error = self._error(layer.name, removed)
                out[layer.name] = error / energy if energy > 0 else (0.0 if error == 0 else math.inf)
        return out


def _rows_of(value: Any, chosen: Any, out_features: int) -> Any:
    """The sampled rows of a per-row operand (G: out x in, Y: out x 1); per-column ones (1 x in) as they are."""
    if value.dim() == 2 and value.shape[0] == out_features and out_features > 1:
        return value[chosen.to(value.device)]
    return value


def aggregate(errors: Mapping[str, float]) -> float:
    """The proxy: mean over layers of the relative reconstruction errors."""
    return sum(errors.values()) / max(len(errors), 1)


def summary(errors: Mapping[str, float]) -> dict[str, Any]:
    """Details of a proxy score: the geometric mean over layers and the mean per layer role (q_proj, ...)."""
    values = list(errors.values())
    geomean = 0.0 if not values or min(values) <= 0 else math.exp(sum(map(math.log, values)) / len(values))
    roles: dict[str, list[float]] = {}
    for name, value in errors.items():
        roles.setdefault(name.rsplit(".", 1)[-1], []).append(value)
    return {"reconstruction_geomean": geomean,
            "reconstruction_by_role": {role: sum(v) / len(v) for role, v in roles.items()}}
