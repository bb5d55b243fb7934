"""collect_operands and MetricPruning on plain torch models reproduce the tasks' operands and masks."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from evaluators.adapters import collect_operands
from evaluators.masks import keep_mask
from evaluators.prune_method import MetricPruning, metric_prune, resolve_metric
from primitives.builtins import builtin
from primitives.compile import compile_metric
from primitives.metric import Metric

EVOLVED = "mul(sdiv(abs(W), rowsum(abs(W))), sqrt(X))"


def _batches(data, size: int = 32):
    return [(data.x_calib[i:i + size], data.y_calib[i:i + size]) for i in range(0, len(data.y_calib), size)]


@pytest.fixture(scope="module")
def mlp_task(tmp_path_factory):
    import os

    os.environ.setdefault("METRICFORGE_CACHE", str(tmp_path_factory.mktemp("cache")))
    from evaluators.digits.task import MLPPruneTask

    task = MLPPruneTask(sparsity=0.9, group="row", operands=("W", "G", "X", "Xs", "Y", "Hd"))
    task.prepare()
    return task


def test_collected_operands_equal_the_mlp_task_bit_for_bit(mlp_task):
    from evaluators.digits.model import one_thread

    with one_thread():
        ops = collect_operands(mlp_task._model, _batches(mlp_task.data), ("W", "G", "X", "Xs", "Y", "Hd"))
    for name, expected in mlp_task._ops.items():
        for key, tensor in expected.items():
            assert torch.equal(ops[name][key], tensor), (name, key)


def test_metric_pruning_reproduces_the_task_mask(mlp_task):
    from evaluators.digits.model import one_thread

    metric = Metric.parse(EVOLVED)
    with one_thread():
        ops = collect_operands(mlp_task._model, _batches(mlp_task.data), metric.operands)
    layer = mlp_task._linears["0"]
    expected = keep_mask(compile_metric(metric)(mlp_task._ops["0"]), 0.9, "row")
    clone = nn.Linear(layer.in_features, layer.out_features)
    clone.load_state_dict(layer.state_dict())
    metric_prune(clone, metric=EVOLVED, amount=0.9, group="row", operands={"X": ops["0"]["X"]})
    assert torch.equal(clone.weight_mask.bool(), expected.bool())


def test_conv2d_pruning_per_filter_row():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 25, 3))
    batches = [(torch.randn(8, 2, 5, 5), torch.randint(0, 3, (8,))) for _ in range(3)]
    ops = collect_operands(model, batches, ("X", "G"))
    conv = model[0]
    assert ops["0"]["X"].shape == (1, 2 * 9) and ops["0"]["G"].shape == (4, 18)
    metric_prune(conv, metric="wanda", amount=0.5, group="row", operands={"X": ops["0"]["X"]})
    assert conv.weight_mask.shape == conv.weight.shape
    assert ((conv.weight_mask.reshape(4, -1) == 0).sum(dim=1) == 9).all()
    expected = keep_mask(conv.weight_orig.detach().reshape(4, -1).abs() * ops["0"]["X"], 0.5, "row")
    assert torch.equal(conv.weight_mask.reshape(4, -1).bool(), expected.bool())
    prune.remove(conv, "weight")
    assert model(torch.randn(1, 2, 5, 5)).shape == (1, 3)


def test_registry_rows_are_metrics(tmp_path):
    from registry import Registry

    with Registry.open(str(tmp_path / "r.db")) as reg:
        row = reg.add_metric(builtin("wanda"), name="wanda")
    assert resolve_metric(row).hash == builtin("wanda").hash
    assert resolve_metric({"canonical": "abs(W)"}).canonical == "abs(W)"
    with pytest.raises(ValueError, match="does not match"):
        resolve_metric({"canonical": "abs(W)", "hash": "0" * 16})
    with pytest.raises(TypeError):
        MetricPruning(3.5)  # type: ignore[arg-type]


def test_bad_calls_name_the_problem():
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(ValueError, match="unknown operand"):
        collect_operands(model, [torch.randn(2, 4)], ("Q",))
    with pytest.raises(ValueError, match="needs \\(inputs, targets\\)"):
        collect_operands(model, [torch.randn(2, 4)], ("G",))
    with pytest.raises(ValueError, match="no calibration batches"):
        collect_operands(model, [], ("X",))
    with pytest.raises(ValueError, match="no Linear or Conv2d layer named"):
        collect_operands(model, [torch.randn(2, 4)], ("X",), layers=["fc"])
