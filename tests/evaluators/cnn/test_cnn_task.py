"""cnn-prune: exact sparsity per granularity, bit-exact restore, failed metrics, fine-tune, study, CLI."""
from __future__ import annotations

import json

import pytest
import torch

from primitives.builtins import builtin
from primitives.metric import Metric


def _share_state(task, monkeypatch) -> None:
    """Every CNNPruneTask built from now on uses the fixture's prepared (quickly trained) state."""
    state = task.state
    monkeypatch.setattr("evaluators.cnn.task.CNNPruneTask.prepare", lambda self: setattr(self, "_state", state))


def _weights(task) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in task.state.model.state_dict().items()}


@pytest.mark.parametrize("gran", ["element", "vector", "kernel", "filter", "element@global", "row"])
def test_masks_have_group_structure_and_sparsity(cnn_task, gran: str) -> None:
    task = cnn_task.variant(granularity=gran, sparsity=0.5)
    masks = task.masks(builtin("wanda"))
    assert set(masks) == {"conv1", "conv2"}
    for name, keep in masks.items():
        assert keep.shape == task.state.modules[name].weight.shape
        dims = {"vector": (3,), "kernel": (2, 3), "filter": (1, 2, 3)}.get(gran)
        if dims:
            assert torch.equal(keep.all(dim=dims), keep.any(dim=dims))
    if gran == "element":  # conv1: 144 weights, conv2: 4608: exactly half of each
        assert [int((~m).sum()) for m in masks.values()] == [72, 2304]


@pytest.mark.parametrize("steps", [0, 5])
def test_score_restores_weights_exactly(cnn_task, steps: int) -> None:
    before = _weights(cnn_task)
    task = cnn_task.variant(granularity="kernel", sparsity=0.7, fine_tune_steps=steps)
    fit = task.score(builtin("magnitude"))
    assert fit.ok and 0.0 <= fit.value <= 1.0 and fit.details["sparsity"] == pytest.approx(0.7, abs=0.01)
    after = _weights(cnn_task)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_dense_and_pruned_accuracy(cnn_task) -> None:
    assert cnn_task.state.dense_accuracy > 0.6
    assert cnn_task.variant(sparsity=0.0).score(builtin("wanda")).value == pytest.approx(cnn_task.state.dense_accuracy)


@pytest.mark.parametrize("formula,reason", [("div(W, sub(W, W))", "non-finite"), ("X", "constant"),
                                            ("log(sub(W, W))", "")])
def test_failed_metrics(cnn_task, formula: str, reason: str) -> None:
    before = _weights(cnn_task)
    fit = cnn_task.variant(granularity="filter").score(Metric.parse(formula))
    if fit.ok:  # protected operators may turn a formula finite; then it must still be a valid accuracy
        assert 0.0 <= fit.value <= 1.0
    else:
        assert fit.value == 0.0 and reason in fit.reason
    after = _weights(cnn_task)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_missing_operand_and_settings(cnn_task, monkeypatch) -> None:
    from evaluators.cnn.task import CNNPruneTask

    _share_state(cnn_task, monkeypatch)
    task = CNNPruneTask(operands="W")
    assert not task.score(builtin("wanda")).ok
    s = cnn_task.variant(granularity="kernel").settings()
    assert s["task"] == "cnn-prune" and s["granularity"] == "kernel" and s["aggregate"] == "l2"
    with pytest.raises(ValueError):
        CNNPruneTask(granularity="vector:0")
    with pytest.raises(ValueError):
        CNNPruneTask(layers="fc")
    assert list(cnn_task.state.modules) == ["conv1", "conv2"]


def test_layer_sets() -> None:
    from evaluators.cnn.model import DigitsCNN
    from evaluators.cnn.operands import prunable_modules

    model = DigitsCNN()
    assert list(prunable_modules(model, "conv-skip-first")) == ["conv2"]
    assert list(prunable_modules(model, "all")) == ["conv1", "conv2", "fc1"]


def test_all_layers_maps_fc_granularity(cnn_task) -> None:
    from evaluators.cnn.task import CNNPruneTask

    task = CNNPruneTask(granularity="kernel", layers="all", epochs=3, calib_samples=64)
    assert str(task.fc_structure.granularity) == "block:4"
    assert str(CNNPruneTask(granularity="vector", layers="all").fc_structure.granularity) == "vector:4"
    assert str(CNNPruneTask(granularity="filter", layers="all", fc_granularity="1x8").fc_structure.granularity) == "vector:8"


def test_study_and_report(cnn_task, tmp_path, monkeypatch) -> None:
    from model_compression.granularity import study
    from model_compression.granularity.report import write_results

    _share_state(cnn_task, monkeypatch)
    cfg = study.StudyConfig(granularities=("element", "vector", "filter"), sparsities=(0.5, 0.8))
    result = study.run_study(cfg, [builtin("magnitude")])
    assert len(result["rows"]) == 6 and all(r["ok"] for r in result["rows"])
    vec = next(r for r in result["rows"] if r["granularity"] == "vector")
    assert vec["index_ratio"] == pytest.approx(1 / 3)
    paths = write_results(result, tmp_path)
    assert json.loads(paths["json"].read_text())["rows"][0]["task"] == "cnn-prune"
    assert "| magnitude | vector |" in paths["md"].read_text() and len(paths["plots"]) == 2


def test_cli_registers_and_runs(cnn_task, tmp_path, monkeypatch) -> None:
    import typer
    from typer.testing import CliRunner

    from metricforge.cli_granularity import register

    _share_state(cnn_task, monkeypatch)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands, so typer keeps the command name
    res = CliRunner().invoke(app, ["granularity", "--metric", "magnitude", "--metric", "mul(abs(W), X)",
                                   "--sparsities", "0.5", "--granularities", "element,kernel", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "results.json").is_file() and "| mul(abs(W), X) | kernel |" in res.output


def test_group_is_an_alias_of_granularity() -> None:
    from evaluators.cnn.task import CNNPruneTask

    task = CNNPruneTask.from_options({"group": "vector@row", "sparsity": 0.6})
    assert task.settings()["granularity"] == "vector@row" and task.sparsity == 0.6
    assert CNNPruneTask(group="2:4").sparsity == 0.5
    with pytest.raises(ValueError, match="bad cnn-prune options|unknown cnn-prune"):
        CNNPruneTask.from_options({"colour": "red"})
