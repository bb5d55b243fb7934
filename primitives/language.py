"""The one declaration of every operand and operator of the metric language.

Adding an operator means one entry here (name, arity, docs, LaTeX) plus its protected torch
implementation in ``primitives.torch_ops`` and, if it is exact algebra, its sympy mapping in
``primitives.sympy_bridge``. This module imports neither torch nor sympy.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    """An operator: its name in formulas, arity and a one-line meaning."""

    name: str
    arity: int
    doc: str
    latex: str  # format string over {0}, {1}


@dataclass(frozen=True)
class Operand:
    """A terminal taken from the model: name, shape class and meaning."""

    name: str
    shape: str  # "matrix" (out x in), "col" (1 x in: per input column), "row" (out x 1), "unit" (one per layer or block)
    nonnegative: bool
    doc: str


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("add", 2, "x + y", r"\left({0} + {1}\right)"),
        Operator("sub", 2, "x - y", r"\left({0} - {1}\right)"),
        Operator("mul", 2, "x * y", r"{0} \cdot {1}"),
        Operator("div", 2, "x / ||y||_F (Pruner-Zero's protected division by a norm)", r"\frac{{{0}}}{{\lVert {1} \rVert_F}}"),
        Operator("sdiv", 2, "element-wise x / y with |y| floored at 1e-8", r"\frac{{{0}}}{{{1}}}"),
        Operator("neg", 1, "-x", r"-{0}"),
        Operator("abs", 1, "|x|", r"\left|{0}\right|"),
        Operator("sqr", 1, "x^2", r"\left({0}\right)^2"),
        Operator("sqrt", 1, "sqrt(|x|)", r"\sqrt{{\left|{0}\right|}}"),
        Operator("log", 1, "log(|x| + 1e-3)", r"\log\left(\left|{0}\right| + 10^{{-3}}\right)"),
        Operator("exp", 1, "exp(min(x, 80)), finite in float32", r"e^{{{0}}}"),
        Operator("tanh", 1, "tanh(x)", r"\tanh\left({0}\right)"),
        Operator("mms", 1, "min-max scaling over the whole layer", r"\operatorname{{mms}}\left({0}\right)"),
        Operator("zsn", 1, "z-score over the whole layer", r"\operatorname{{zsn}}\left({0}\right)"),
        Operator("colsum", 1, "sum over the output rows: one value per input column", r"\operatorname{{colsum}}\left({0}\right)"),
        Operator("rowsum", 1, "sum over the input columns: one value per output row", r"\operatorname{{rowsum}}\left({0}\right)"),
        Operator("pow", 2, "|x|^c for a positive constant c (x^c for integer c)", r"\left({0}\right)^{{{1}}}"),
    )
}

OPERANDS: dict[str, Operand] = {
    od.name: od
    for od in (
        Operand("W", "matrix", False, "the weight (out x in)"),
        Operand("G", "matrix", True, "L2 norm over calibration sequences of the x100-scaled gradient"),
        Operand("X", "col", True, "L2 norm of each input column over all calibration tokens (Wanda)"),
        Operand("Xs", "col", True, "mean over sequences of each input column's squared norm (Pruner-Zero)"),
        Operand("Hd", "col", True, "diagonal of the inverse damped input Hessian (SparseGPT)"),
        Operand("Y", "row", True, "L2 norm of each output row over all calibration tokens"),
        Operand("gnorm", "row", True, "embedding row: mean L2 norm of its gradient per occurrence"),
        Operand("freq", "row", True, "embedding row: occurrence count in the training data"),
        Operand("enorm", "row", True, "embedding row: L2 norm of the embedding vector"),
        Operand("recency", "row", True, "embedding row: decayed count, recent occurrences weigh more"),
        Operand("gdot", "row", True, "embedding occurrence: |gradient . embedding| (first-order loss change)"),
        Operand("perr", "row", True, "embedding occurrence: |dL/dlogit| of its row times the batch size"),
        Operand("depth", "unit", True, "allocation: relative depth of the unit's decoder block, "
                "block index / (blocks - 1), in [0, 1]"),
        Operand("attn", "unit", True, "allocation: layer kind, 1 for an attention projection (a module path "
                "naming attn or attention), 0 for an MLP layer; for a block, the share of its weights in attention"),
        Operand("outl", "unit", True, "allocation: OWL's outlier ratio, the share of the unit's Wanda scores "
                "|W| * X above 5 times their mean"),
        Operand("smean", "unit", False, "allocation: mean of the score formula's scores over the unit's weights"),
        Operand("sstd", "unit", True, "allocation: standard deviation of the score formula's scores over the "
                "unit's weights"),
    )
}

LLM_OPERANDS: tuple[str, ...] = ("W", "G", "X", "Xs", "Hd", "Y")
EMBEDDING_OPERANDS: tuple[str, ...] = ("gnorm", "freq", "enorm", "recency")
# Per-unit statistics read only by a recipe's allocation formula (primitives.recipe), never by a score.
ALLOCATION_OPERANDS: tuple[str, ...] = ("depth", "attn", "outl", "smean", "sstd")
# What a formula may read unless its caller names its own operands: everything but the allocation statistics.
SCORE_OPERANDS: tuple[str, ...] = tuple(name for name in OPERANDS if name not in ALLOCATION_OPERANDS)

# Operators whose second argument must be a numeric constant.
CONSTANT_SECOND_ARG: frozenset[str] = frozenset({"pow"})
