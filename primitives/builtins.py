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
