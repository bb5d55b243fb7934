"""MetricImportance against the real torch-pruning package on the digits CNN."""
from __future__ import annotations

import copy
import os

import pytest
import torch

try:
    import torch_pruning as tp
except ImportError:  # the optional ``adapters`` extra; CI installs it, so there it must be present
    if os.environ.get("CI", "").strip().lower() == "true":
        raise
    pytest.skip("torch-pruning is not installed (pip install -e .[adapters])", allow_module_level=True)

from evaluators.adapters import collect_operands
from evaluators.adapters.torch_pruning import MetricImportance

EVOLVED = "mul(sdiv(abs(W), rowsum(abs(W))), sqrt(X))"


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    os.environ.setdefault("METRICFORGE_CACHE", str(tmp_path_factory.mktemp("cache")))
    from evaluators.cnn.model import CNNConfig, load_images, load_or_train

    cfg = CNNConfig(seed=0)
    data = load_images(cfg)
    return load_or_train(cfg, data), data


def _prune(model, importance_of, ratio: float = 0.5):
    from evaluators.cnn.model import one_thread

    pruned = copy.deepcopy(model)
    example = torch.zeros(1, 1, 8, 8)
    with one_thread():
        pruner = tp.pruner.MetaPruner(pruned, example, importance=importance_of(pruned), pruning_ratio=ratio,
                                      ignored_layers=[pruned.fc2])
        pruner.step()
    return pruned, tp.utils.count_ops_and_params(pruned, example)[1]


def _batches(data):
    return [(data.x_calib[i:i + 32], data.y_calib[i:i + 32]) for i in range(0, len(data.y_calib), 32)]


def test_magnitude_metric_prunes_exactly_like_torch_pruning_magnitude(cnn):
    model, data = cnn
    ops = collect_operands(model, _batches(data), ("X",))
    ours, ours_params = _prune(model, lambda m: MetricImportance("magnitude", m, ops, aggregate="l1"))
    theirs, their_params = _prune(model, lambda m: tp.importance.MagnitudeImportance(p=1))
    assert ours_params == their_params < sum(p.numel() for p in model.parameters())
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert torch.equal(a, b), name


def test_evolved_metric_prunes_channels_and_keeps_accuracy(cnn):
    from evaluators.cnn.model import accuracy, one_thread

    model, data = cnn
    ops = collect_operands(model, _batches(data), ("X", "G"))
    pruned, params = _prune(model, lambda m: MetricImportance(EVOLVED, m, ops))
    magnitude, magnitude_params = _prune(model, lambda m: tp.importance.MagnitudeImportance(p=2))
    assert params == magnitude_params
    assert pruned.conv1.out_channels == model.conv1.out_channels // 2
    with one_thread():
        acc = accuracy(pruned, data.x_test, data.y_test)
    assert 0.1 < acc <= 1.0  # recorded beside magnitude in benchmarks/adapters/results.md


def test_stale_operands_are_an_error(cnn):
    model, data = cnn
    ops = collect_operands(model, _batches(data), ("X",))
    pruned, _ = _prune(model, lambda m: tp.importance.MagnitudeImportance(p=2))
    importance = MetricImportance("wanda", pruned, ops)
    with pytest.raises(ValueError, match="collect the operands again"):
        importance.element_scores(pruned.conv2)
    with pytest.raises(ValueError, match="needs G"):
        MetricImportance("gblm", model, ops)
