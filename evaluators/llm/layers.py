"""Find the prunable linear layers of any decoder-only causal LM, block by block, without per-model code."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrunableLayer:
    """One prunable linear layer; `weight` is always an (out x in) view of its parameter."""

    name: str  # full module name, e.g. "model.layers.0.self_attn.q_proj"
    block: int  # index of its decoder block
    module: Any
    transposed: bool  # True for transformers' Conv1D (GPT-2), which stores (in x out)

    @property
    def weight(self) -> Any:
        """The weight as an (out x in) view sharing storage with the parameter."""
        data = self.module.weight.data
        return data.t() if self.transposed else data

    @property
    def shape(self) -> tuple[int, int]:
        """(out_features, in_features)."""
        return tuple(self.weight.shape)  # type: ignore[return-value]


def _is_linear(module: Any) -> tuple[bool, bool]:
    """(is a prunable linear, stored transposed) for nn.Linear and transformers' Conv1D."""
    from torch import nn

    if isinstance(module, nn.Linear):
        return True, False
    if type(module).__name__ == "Conv1D" and hasattr(module, "nf") and getattr(module, "weight", None) is not None:
        return True, True
    return False, False


def _count_linears(module: Any) -> int:
    """Number of prunable linears inside a module."""
    return sum(_is_linear(m)[0] for m in module.modules())


def find_blocks(model: Any) -> tuple[str, Any]:
    """(name, ModuleList) of the decoder blocks: the longest ModuleList of same-class blocks holding linears."""
    from torch import nn

    best: tuple[int, str, Any] | None = None
    for name, module in model.named_modules():
        if not isinstance(module, nn.ModuleList) or len(module) == 0:
            continue
        kinds = {type(child) for child in module}
        if len(kinds) != 1 or _count_linears(module[0]) == 0 or _is_linear(module[0])[0]:
            continue
        if best is None or len(module) > best[0]:
            best = (len(module), name, module)
    if best is None:
        raise ValueError(f"no decoder blocks (a ModuleList of blocks with linear layers) found in {type(model).__name__}")
    return best[1], best[2]


def prunable_layers(model: Any) -> list[PrunableLayer]:
    """Every nn.Linear / Conv1D inside the decoder blocks (never embeddings or lm_head), in forward order.
    A weight matrix inside a block that is neither is logged as a warning (layer_report lists it)."""
    prefix, blocks = find_blocks(model)
    layers: list[PrunableLayer] = []
    for index, block in enumerate(blocks):
        for sub, module in block.named_modules():
            ok, transposed = _is_linear(module)
            if ok:
                layers.append(PrunableLayer(f"{prefix}.{index}.{sub}", index, module, transposed))
            elif _own_matrix(module) is not None:
                log.warning("%s.%d.%s: %s holds a weight matrix but is not a linear layer; it is not pruned",
                            prefix, index, sub, type(module).__name__)
    return layers


@dataclass(frozen=True)
class LayerEntry:
    """One module holding a weight matrix, and whether and how it is pruned."""

    name: str
    kind: str  # "Linear", "Conv1D (stored in x out)", or the module's class
    shape: tuple[int, ...]  # the weight as pruned (out x in) or as stored
    block: int | None  # decoder block index; None outside the blocks
    pruned: bool
    note: str = ""


def _own_matrix(module: Any) -> Any:
    """The module's own weight parameter when it has two or more dimensions, else None."""
    weight = module._parameters.get("weight") if hasattr(module, "_parameters") else None
    return weight if weight is not None and weight.dim() >= 2 else None


def layer_report(model: Any) -> list[LayerEntry]:
    """Every module of the model that holds a weight matrix: the prunable layers with their kind and
    (out x in) shape, and every other one (embeddings, lm_head, anything unsupported) with the reason
    it is left dense. Nothing with a weight matrix is left out."""
    prefix, _ = find_blocks(model)
    pruned = {layer.name: layer for layer in prunable_layers(model)}
    entries = []
    for name, module in model.named_modules():
        weight = _own_matrix(module)
        if weight is None:
            continue
        inside = name.startswith(prefix + ".")
        block = int(name[len(prefix) + 1:].split(".")[0]) if inside else None
        if name in pruned:
            layer = pruned[name]
            kind = "Conv1D (stored in x out)" if layer.transposed else "Linear"
            entries.append(LayerEntry(name, kind, layer.shape, block, True))
        else:
            note = "not a linear layer" if inside else "outside the decoder blocks"
            entries.append(LayerEntry(name, type(module).__name__, tuple(weight.shape), block, False, note))
    return entries


def layers_by_block(layers: list[PrunableLayer]) -> list[list[PrunableLayer]]:
    """Group layers by block index, in block order."""
    grouped: dict[int, list[PrunableLayer]] = {}
    for layer in layers:
        grouped.setdefault(layer.block, []).append(layer)
    return [grouped[b] for b in sorted(grouped)]
