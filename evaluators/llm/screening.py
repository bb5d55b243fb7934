"""What a reduced-budget evaluation leaves for a larger one: a metric's masks and window losses.

Multi-fidelity search scores a metric on the leading evaluation windows first and scores the
promising ones again on all of them. The masks do not depend on the evaluation budget and the
leading windows' losses are the same, so a promoted metric is neither scored nor masked again
and its screened windows are not run again: the larger evaluation costs only the new windows.
The result is the same perplexity a fresh evaluation gives (same masks, same per-window sums).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from primitives.metric import Metric

    from .config import LLMTaskConfig
    from .layers import PrunableLayer


@dataclass(frozen=True)
class Screened:
    """A screened metric: each layer's nonzero pattern after pruning (bit-packed) and window NLL sums."""

    patterns: dict[str, Any]  # name -> (packed uint8 array, shape)
    nll_sums: tuple[float, ...]

    def apply(self, layers: list[PrunableLayer]) -> tuple[int, int]:
        """Prune the dense layers to the recorded pattern in place; (pruned, total)."""
        import numpy as np
        import torch

        from evaluators.masks import zero_pruned

        pruned = total = 0
        with torch.no_grad():
            for layer in layers:
                packed, shape = self.patterns[layer.name]
                count = int(np.prod(shape))
                keep = torch.from_numpy(np.unpackbits(packed, count=count).view(np.bool_).reshape(shape))
                zero_pruned(layer.weight, keep)
                pruned, total = pruned + count - int(keep.count_nonzero()), total + count
        return pruned, total


def nonzero_patterns(layers: list[PrunableLayer]) -> dict[str, Any]:
    """Bit-packed nonzero pattern of every layer's weight. Multiplying the dense weights by it
    reproduces the pruned weights bit for bit (a weight that is zero either way stays zero)."""
    import numpy as np

    return {layer.name: (np.packbits((layer.weight != 0).cpu().numpy()), tuple(layer.weight.shape))
            for layer in layers}


class ScreeningMemo:
    """The most recent screened metrics of one prepared model, least recently used evicted first
    (an entry holds one bit per prunable weight: 13 MB for SmolLM2-135M)."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple, Screened] = OrderedDict()

    @staticmethod
    def key(metric: Metric, config: LLMTaskConfig) -> tuple:
        """Everything that decides a metric's masks: the metric and the pruning settings."""
        return metric.hash, config.sparsity, config.group, config.aggregate, config.mode

    def get(self, key: tuple) -> Screened | None:
        """The entry for a key, if kept."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple, entry: Screened) -> None:
        """Keep an entry, evicting the least recently used beyond the capacity."""
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
