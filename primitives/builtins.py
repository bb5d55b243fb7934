"""The published metrics of shared/anchors.md as named built-ins."""
from __future__ import annotations

from primitives.metric import Metric

BUILTINS: dict[str, str] = {
    "magnitude": "abs(W)",
    "wanda": "mul(abs(W), X)",
    "ria": "mul(add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W)))), sqrt(X))",
    "gblm": "add(mul(abs(W), X), mul(abs(W), abs(G)))",
    "pruner_zero": "mul(sqr(W), mms(G))",
    "sparsegpt": "sdiv(sqr(W), sqr(Hd))",
}

# The comparison group each metric's paper uses at unstructured sparsity.
NATIVE_GROUP: dict[str, str] = {
    "magnitude": "layer",
    "wanda": "row",
    "ria": "layer",
    "gblm": "row",
    "pruner_zero": "row",
    "sparsegpt": "row",
}


def builtin(name: str) -> Metric:
    """The built-in metric called ``name``."""
    try:
        return Metric.parse(BUILTINS[name], name=name)
    except KeyError:
        raise KeyError(f"no built-in metric {name!r}; known: {', '.join(BUILTINS)}") from None


# Named layer allocations a recipe's ``alloc`` may give instead of a formula (``primitives.recipe``).
ALLOCATIONS: dict[str, str] = {
    "owl": "outl",  # OWL (Yin et al. 2024): sparsity falls with the block's outlier ratio
}

# Published pruning methods as recipes: a score, a layer allocation and a post-mask step.
RECIPES: dict[str, str] = {
    "owl_wanda": "recipe(score=wanda, alloc=owl)",
    "dsnot_wanda": "recipe(score=wanda, post=dsnot)",
    # Wanda's masks refined by greedy swaps on each row's exact output error (no weight update)
    "swap_wanda": "recipe(score=wanda, post=swap)",
    # SparseGPT's saliency and OBS update with the mask chosen once from the dense model (the
    # one-shot form; LLMPruneTask.sparsegpt_perplexity is the sequential reference)
    "sparsegpt_obs": "recipe(score=sparsegpt, post=obs)",
}
