"""MetricPruning / metric_prune: a metric as a torch.nn.utils.prune method."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from evaluators.masks import keep_mask
from evaluators.prune_method import MetricPruning, metric_prune, resolve_metric
from primitives.metric import Metric


def _linear(seed: int = 0, out_features: int = 16, in_features: int = 32) -> nn.Linear:
    """A Linear layer whose weights are all distinct in absolute value."""
    torch.manual_seed(seed)
    layer = nn.Linear(in_features, out_features)
    with torch.no_grad():
        values = torch.randperm(out_features * in_features).float() + 1.0
        signs = torch.where(torch.rand(values.shape) < 0.5, -1.0, 1.0)
        layer.weight.copy_((values * signs).view(out_features, in_features) / 100)
    return layer


@pytest.mark.parametrize("amount", [0.3, 0.5, 0.8])
def test_magnitude_layer_matches_l1_unstructured(amount: float) -> None:
    ours, theirs = _linear(), _linear()
    metric_prune(ours, "weight", metric="magnitude", amount=amount, group="layer")
    prune.l1_unstructured(theirs, "weight", amount=amount)
    assert torch.equal(ours.weight_mask, theirs.weight_mask)
    assert torch.equal(ours.weight, theirs.weight)
    assert ours.weight_mask.dtype == ours.weight.dtype


def test_formula_text_and_metric_object_work_like_builtin() -> None:
    by_name, by_text, by_object = _linear(), _linear(), _linear()
    metric_prune(by_name, metric="magnitude", amount=0.5, group="row")
    metric_prune(by_text, metric="abs(W)", amount=0.5, group="row")
    metric_prune(by_object, metric=Metric.parse("abs(W)"), amount=0.5, group="row")
    assert torch.equal(by_name.weight_mask, by_text.weight_mask)
    assert torch.equal(by_name.weight_mask, by_object.weight_mask)
    assert ((by_name.weight_mask == 0).sum(dim=1) == 16).all()


def test_remove_makes_pruning_permanent() -> None:
    layer = _linear()
    original = layer.weight.detach().clone()
    metric_prune(layer, metric="magnitude", amount=0.5, group="row")
    mask = layer.weight_mask.clone()
    prune.remove(layer, "weight")
    assert not hasattr(layer, "weight_orig") and not hasattr(layer, "weight_mask")
    assert isinstance(layer.weight, nn.Parameter)
    assert torch.equal(layer.weight.detach(), original * mask)
    assert int((layer.weight == 0).sum()) == original.numel() // 2
    out = layer(torch.randn(3, 32))
    assert out.shape == (3, 16)


def test_operands_are_used_wanda_row() -> None:
    layer = _linear()
    x_norm = torch.rand(1, 32) + 0.1
    metric_prune(layer, metric="wanda", amount=0.5, group="row", operands={"X": x_norm})
    expected = keep_mask(layer.weight_orig.detach().abs() * x_norm, 0.5, "row")
    assert torch.equal(layer.weight_mask.bool(), expected)


def test_n_m_group() -> None:
    layer = _linear()
    metric_prune(layer, metric="magnitude", amount=0.5, group="2:4")
    assert ((layer.weight_mask.view(16, -1, 4) == 0).sum(dim=-1) == 2).all()


def test_missing_operand_is_a_clear_error_and_leaves_module_alone() -> None:
    layer = _linear()
    with pytest.raises(ValueError, match=r"needs operand\(s\) X"):
        metric_prune(layer, metric="wanda", amount=0.5)
    with pytest.raises(ValueError, match="G"):
        metric_prune(layer, metric="add(abs(W), abs(G))", amount=0.5, operands={"X": torch.ones(1, 32)})
    # operands the canonical form drops are still needed by the tree that gets compiled
    with pytest.raises(ValueError, match="X"):
        metric_prune(layer, metric="add(abs(W), sub(X, X))", amount=0.5)
    assert not prune.is_pruned(layer) and isinstance(layer.weight, nn.Parameter)


def test_bad_arguments_rejected() -> None:
    layer = _linear()
    with pytest.raises(ValueError, match="'W'"):
        metric_prune(layer, metric="magnitude", operands={"W": torch.ones(16, 32)})
    with pytest.raises(ValueError, match="sparsity"):
        metric_prune(layer, metric="magnitude", amount=1.0)
    with pytest.raises(ValueError, match="group"):
        metric_prune(layer, metric="magnitude", group="3:2")
    with pytest.raises(ValueError, match="global"):
        metric_prune(layer, metric="magnitude", group="global")
    with pytest.raises(ValueError, match="no tensor"):
        metric_prune(layer, name="nope", metric="magnitude")
    with pytest.raises(ValueError):
        resolve_metric("not_a_metric(W")
    assert not prune.is_pruned(layer)


def test_pruning_twice_needs_remove_first() -> None:
    layer = _linear()
    metric_prune(layer, metric="magnitude", amount=0.5)
    with pytest.raises(ValueError, match="already pruned"):
        metric_prune(layer, metric="magnitude", amount=0.5)
    prune.remove(layer, "weight")
    metric_prune(layer, metric="magnitude", amount=0.75, group="layer")
    assert int((layer.weight == 0).sum()) == round(0.75 * layer.weight.numel())


def test_nan_scores_raise_value_error() -> None:
    layer = _linear()
    with torch.no_grad():
        layer.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        metric_prune(layer, metric="magnitude", amount=0.5)
    assert not prune.is_pruned(layer)


def test_method_prune_on_a_tensor_and_non_2d_rejected() -> None:
    method = MetricPruning("magnitude", amount=0.5, group="layer")
    weight = _linear().weight.detach()
    pruned = method.prune(weight)
    assert int((pruned == 0).sum()) == weight.numel() // 2
    with pytest.raises(ValueError, match="2-D"):
        method.prune(torch.rand(8))
