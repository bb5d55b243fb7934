"""Achieved sparsity per comparison group on SmolLM2; only zeroing, weights restored after each."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.prune import prune_oneshot, restore
from primitives.builtins import builtin
from primitives.compile import compile_metric

pytestmark = pytest.mark.slow


def weights_equal(task) -> bool:
    st = task.state
    return all(torch.equal(layer.module.weight, st.dense[layer.name]) for layer in st.layers)


@pytest.mark.parametrize("group", ["row", "layer", "2:4", "4:8", "global"])
def test_achieved_sparsity_equals_target(small_task, group):
    st = small_task.state
    fn = compile_metric(builtin("wanda"))
    newly_zero = {}
    try:
        pruned, total = prune_oneshot(fn, st.layers, st.operands, 0.5, group)
        for layer in st.layers:
            w, dense = layer.weight, st.dense[layer.name]
            zero = (w == 0) & (dense != 0)
            assert bool(((w == 0) | (w == dense)).all())  # only zeroing, no other change
            newly_zero[layer.name] = int(zero.sum())
            pruned_mask = (w == 0)
            if group == "row":
                assert bool((pruned_mask.sum(1) >= w.shape[1] // 2).all())
            if group == "layer":
                assert int(pruned_mask.sum()) >= w.numel() // 2
            if ":" in group:
                n, m = map(int, group.split(":"))
                assert bool((pruned_mask.reshape(w.shape[0], -1, m).sum(-1) >= n).all())
    finally:
        restore(st.layers, st.dense)
    assert pruned == round(0.5 * total) if group == "global" else pruned * 2 == total
    assert weights_equal(small_task)
