"""Sequential mode and the weight-updating SparseGPT reference on SmolLM2; weights restored after each."""
from __future__ import annotations

import math

import pytest
import torch

from primitives.builtins import builtin

pytestmark = pytest.mark.slow


def weights_equal(task) -> bool:
    st = task.state
    return all(torch.equal(layer.module.weight, st.dense[layer.name]) for layer in st.layers)


def test_sequential_mode(small_task, dense_ppl):
    seq = small_task.variant(mode="sequential")
    fit = seq.score(builtin("wanda"))
    assert fit.ok and dense_ppl < fit.value < 10 * dense_ppl, fit.reason
    assert fit.details["sparsity"] == pytest.approx(0.5, abs=1e-9)
    assert weights_equal(small_task)


def test_sparsegpt_reference(small_task, dense_ppl):
    fit = small_task.variant(group="2:4").sparsegpt_perplexity()
    assert fit.ok and math.isfinite(fit.value) and fit.value > dense_ppl, fit.reason
    assert fit.details["sparsity"] >= 0.5
    assert weights_equal(small_task)
    magnitude = small_task.variant(group="2:4").score(builtin("magnitude"))
    assert fit.value < magnitude.value
