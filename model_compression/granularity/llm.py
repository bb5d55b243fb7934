"""Granularity masks on an LLM's prunable layers (through the llm-prune task's public pieces).

The masks are the llm-prune task's own (``evaluators.llm.prune.structure_masks``: head groups
are rows of q/k/v, columns of o, whole rows of the MLP layers); this module keeps every layer's
mask to account its storage, measures perplexity and restores the dense weights bit-exactly.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evaluators.granularity import Structure, head_role

from .storage import Storage, element_csr, natural_storage

if TYPE_CHECKING:
    from evaluators.llm.task import LLMPruneTask
    from primitives.metric import Metric

__all__ = ["head_dim_of", "llm_candidate", "llm_masks"]


def head_dim_of(model: Any) -> int:
    """The attention head size of a Hugging Face model config."""
    cfg = model.config
    dim = getattr(cfg, "head_dim", None)
    return int(dim) if dim else int(cfg.hidden_size // cfg.num_attention_heads)


def llm_masks(fn: Any, layers: list[Any], operands: Mapping[str, Mapping[str, Any]], structure: Structure,
              sparsity: float) -> dict[str, Any]:
    """Keep-mask (out x in) of every prunable layer at a structure; ScoreError on unusable scores."""
    from evaluators.llm.prune import structure_masks

    return structure_masks(fn, layers, operands, sparsity, structure)


def layer_storage(masks: Mapping[str, Any], structure: Structure, value_bytes: int) -> tuple[list[Storage], list[Storage]]:
    """(natural format, element CSR) storage of every masked layer."""
    gran = structure.granularity
    natural = [natural_storage(m, gran, value_bytes, None, head_role(n) if gran.kind == "head" else None)
               for n, m in masks.items()]
    return natural, [element_csr(m, value_bytes) for m in masks.values()]


def llm_candidate(task: LLMPruneTask, metric: Metric, structure: Structure, sparsity: float) -> dict[str, Any]:
    """Perplexity, element sparsity and storage of one metric at one structure; weights restored."""
    from evaluators.base import ScoreError
    from evaluators.llm.prune import apply_masks, restore
    from primitives.compile import compile_metric

    st = task.state
    start = time.perf_counter()
    try:
        masks = llm_masks(compile_metric(metric), st.layers, st.operands, structure, sparsity)
    except Exception as exc:  # unusable scores (ScoreError) or a metric that cannot run here
        reason = str(exc) if isinstance(exc, ScoreError) else f"{type(exc).__name__}: {exc}"
        return {"ok": False, "reason": reason, "quality": float("inf"), "wall_s": time.perf_counter() - start}
    try:
        pruned, total = apply_masks(st.layers, masks)
        ppl = task.perplexity()
    finally:
        restore(st.layers, st.dense)
    value_bytes = next(iter(st.dense.values())).element_size()
    natural, csr = layer_storage(masks, structure, value_bytes)
    ok = ppl == ppl and ppl != float("inf")
    return {"ok": ok, "reason": None if ok else "perplexity is not finite", "quality": ppl,
            "actual_sparsity": pruned / max(total, 1), "natural": natural, "csr": csr,
            "wall_s": time.perf_counter() - start}
