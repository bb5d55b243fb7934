"""Footprint (CSR size, sparse forward), an end-to-end run on MovieLens-100k, reports, metric lookup, CLI."""
import json

import pytest
import torch
import typer
from typer.testing import CliRunner

from evaluators.recsys.dense import fresh_model
from evaluators.recsys.pruning import apply_masks
from model_compression.lth.experiment import LTHConfig, run_lth
from model_compression.lth.footprint import disk_sizes, footprint, sparse_copy
from model_compression.lth.imp import prunable_layers
from model_compression.lth.report import aggregate, write_results
from model_compression.lth.resolve import best_registry_metric, resolve_metric_ref


def test_csr_is_smaller_when_sparse_and_computes_the_same(data, tiny):
    model = fresh_model(tiny, data, 0)
    layers = prunable_layers(model)
    dense_sizes = disk_sizes(model, layers)
    assert dense_sizes["disk_sparse_bytes"] > dense_sizes["disk_dense_bytes"]  # CSR of a dense matrix costs more
    apply_masks(layers, {n: torch.rand_like(m.weight) > 0.9 for n, m in layers.items()})
    sizes = footprint(model, layers, data.test, timing=True)
    assert sizes["disk_sparse_bytes"] < sizes["disk_dense_bytes"] and sizes["infer_sparse_ms"] > 0
    assert sizes["pruned_nonzero"] < 0.15 * sizes["pruned_total"]
    batch = data.test.take(slice(0, 50))
    with torch.no_grad():
        assert torch.allclose(model(*batch.inputs()), sparse_copy(model, layers)(*batch.inputs()), atol=1e-5)


@pytest.fixture(scope="module")
def rows():
    cfg = LTHConfig(sparsities=(0.5,), fraction=0.5, seeds=(0,), epochs=1, hidden=(32,), emb_dim=4,
                    rewind_step=5, timing=False)
    return run_lth(cfg, "wanda")


def test_run_on_movielens_gives_every_variant(rows):
    assert [r["variant"] for r in rows] == ["dense", "oneshot", "oneshot_ft", "imp", "imp_kd", "reinit"]
    for r in rows[1:]:
        assert r["actual_sparsity"] == pytest.approx(0.5, abs=1e-3) and 0.5 < r["auc"] < 1.0
        assert r["params_nonzero"] < rows[0]["params_nonzero"]
    assert rows[0]["metric"] == "wanda" and rows[0]["auc"] > 0.6


def test_reports_are_written(rows, tmp_path):
    paths = write_results(rows + [dict(r, seed=1) for r in rows], tmp_path, {"note": "test"}, "# notes")
    agg = aggregate(json.loads(paths["json"].read_text())["rows"])
    assert {a["variant"] for a in agg} == {"dense", "oneshot", "oneshot_ft", "imp", "imp_kd", "reinit"}
    assert all(a["auc_std"] == 0.0 and a["seeds"] == [0, 1] for a in agg)
    assert "| imp_kd |" in paths["md"].read_text() and paths["plot"].stat().st_size > 1000


def test_bad_configs_fail_before_training():
    with pytest.raises(ValueError):
        LTHConfig(model="fm")
    with pytest.raises(ValueError):
        LTHConfig(scope="2:4")
    with pytest.raises(ValueError, match="uses X"):
        run_lth(LTHConfig(include_embeddings=True), "wanda")


def test_metric_lookup(tmp_path, monkeypatch):
    from registry.store import Registry

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METRICFORGE_REGISTRY", raising=False)
    assert resolve_metric_ref("wanda").text == "mul(abs(W), X)"
    assert resolve_metric_ref("mul(sqr(W), X)").operands == ("W", "X")
    db = str(tmp_path / "reg.db")
    with Registry.open(db) as reg:
        row = reg.add_metric(resolve_metric_ref("mul(abs(W), sqrt(X))"), name="mine")
    assert resolve_metric_ref("mine", db).hash == row.hash
    assert resolve_metric_ref(row.hash[:8], db).hash == row.hash
    assert best_registry_metric("recsys-prune", db) is None


def test_best_registry_metric_follows_the_task_direction(tmp_path):
    from registry.store import Registry

    db = str(tmp_path / "reg.db")
    low, high = resolve_metric_ref("mul(abs(W), sqrt(X))"), resolve_metric_ref("mul(sqr(W), G)")
    with Registry.open(db) as reg:
        for task in ("llm-prune", "recsys-prune"):
            reg.record_evaluation(resolve_metric_ref("wanda"), {"task": task}, 0.0 if task == "llm-prune" else 1.0, True)
            reg.record_evaluation(low, {"task": task}, 10.0 if task == "llm-prune" else 0.6, True)
            reg.record_evaluation(high, {"task": task}, 20.0 if task == "llm-prune" else 0.7, True)
    assert best_registry_metric("llm-prune", db).hash == low.hash  # perplexity: lower is better; built-ins skipped
    assert best_registry_metric("recsys-prune", db).hash == high.hash  # AUC: higher is better


def test_cli_lth(tmp_path):
    from metricforge.cli_lth import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["lth", "--metric", "magnitude", "--sparsities", "0.5", "--fraction", "0.5",
                                      "--epochs", "1", "--no-kd", "--no-controls", "--no-timing", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert {r["variant"] for r in data["rows"]} == {"dense", "imp"} and (out / "auc_vs_sparsity.png").exists()
    bad = CliRunner().invoke(app, ["lth", "--sparsities", "0.5,x"])
    assert bad.exit_code != 0 and "comma-separated" in str(bad.exception)
