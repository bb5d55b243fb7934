"""What each operand of an exported metric is: its shape and meaning, stated in every export."""
from __future__ import annotations

from primitives.language import OPERANDS
from primitives.metric import Metric

SHAPES = {"matrix": "out x in", "col": "1 x in", "row": "out x 1", "unit": "one per unit"}


def operand_docs(metric: Metric, scores: bool = True) -> dict[str, dict[str, str]]:
    """Per operand the formula reads: {"shape": "1 x in", "meaning": "..."}; a score's with W first (its
    shape is the scores'), an allocation formula's (``scores=False``) as they are."""
    names = (["W"] if scores else []) + [o for o in metric.operands if o != "W" or not scores]
    return {name: {"shape": SHAPES.get(OPERANDS[name].shape, OPERANDS[name].shape),
                   "meaning": OPERANDS[name].doc.replace(" (out x in)", "")} for name in names if name in OPERANDS}


def operand_lines(metric: Metric, prefix: str = "", scores: bool = True) -> list[str]:
    """One line per operand: ``X: 1 x in, L2 norm of each input column ...``. A Conv2d weight is
    read as K x (C*R*S) and its inputs as im2col patches (``evaluators.adapters.collect_operands``)."""
    lines = [f"{prefix}{name}: {doc['shape']}, {doc['meaning']}" for name, doc in operand_docs(metric, scores).items()]
    if not scores:
        return lines
    return lines + [f"{prefix}(a Conv2d weight K x C x R x S is read as K x C*R*S, its inputs as im2col patches; "
                    "scores broadcast to the weight's 2-D shape)"]
