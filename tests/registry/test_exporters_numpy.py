"""The numpy export computes the compiled tree's scores; every export states its operands."""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from primitives.builtins import BUILTINS, builtin
from primitives.compile import compile_metric
from primitives.metric import Metric
from registry.exporters import export

FORMULAS = [*BUILTINS, "mul(mms(G), sqr(W))", "add(zsn(W), div(tanh(X), exp(log(Y))))", "pow(sub(W, Hd), 0.5)"]


def _metric(ref: str) -> Metric:
    return builtin(ref) if ref in BUILTINS else Metric.parse(ref)


def _load(source: str):
    module = types.ModuleType("exported_numpy_metric")
    # Our own generated source, produced in this process: the only code this test executes.
    exec(compile(source, "<exported>", "exec"), module.__dict__)  # noqa: S102
    return module.metric


@pytest.mark.parametrize("ref", FORMULAS)
def test_numpy_export_matches_compiled_tree(ref):
    metric = _metric(ref)
    g = torch.Generator().manual_seed(0)
    ops = {"W": torch.randn(12, 20, generator=g), "G": torch.rand(12, 20, generator=g),
           "X": torch.rand(1, 20, generator=g), "Xs": torch.rand(1, 20, generator=g),
           "Hd": torch.rand(1, 20, generator=g), "Y": torch.rand(12, 1, generator=g)}
    expected = compile_metric(metric)(ops).numpy()
    names = ("W",) + tuple(o for o in metric.canonical_tree.operands() if o != "W")
    got = _load(export(metric, "numpy"))(**{k: ops[k].numpy() for k in names})
    assert got.shape == (12, 20) and got.dtype == np.float32
    np.testing.assert_allclose(got, np.broadcast_to(expected, (12, 20)), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("fmt", ["text", "sympy", "python", "numpy", "json"])
def test_every_export_states_operand_shape_and_meaning(fmt):
    text = export(builtin("gblm"), fmt)
    assert "1 x in" in text and "L2 norm of each input column" in text
    assert "out x in" in text and "gradient" in text


def test_numpy_export_needs_no_torch():
    source = export(builtin("ria"), "numpy")
    assert "torch" not in source.split('"""', 2)[2]
