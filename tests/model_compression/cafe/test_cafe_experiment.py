"""The CAFE study: train()'s before_step hook, one tiny run per method, memory within budget, reports, CLI."""
import json
import math
import subprocess
import sys

import pytest
import torch
import typer
from typer.testing import CliRunner

from evaluators.classifier import one_thread
from evaluators.recsys.dense import fresh_model
from evaluators.recsys.train import TrainConfig, batch_at, bce_loss, train
from evaluators.embedding.cafe import CAFEEmbedding
from model_compression.cafe.experiment import CAFEConfig, rows_seen, run_cafe, run_one
from evaluators.embedding.cafe.methods import METHODS, MethodOptions, build_embedding
from model_compression.cafe.report import aggregate, markdown_tables, versus_hash, write_results
from evaluators.embedding.cafe.step_hook import CAFEStepHook, unit_importance

TINY = {"epochs": 1, "emb_dim": 4, "hidden": (16,), "batch_size": 128, "lr": 1e-2}


class _Layout:
    """A two-field layout (ids 0-9 for field a, 10-29 for field b), no bag."""

    fields, cardinalities, bag_cardinality = ("a", "b"), (10, 20), 0


def test_before_step_runs_once_per_step_between_backward_and_step(data, tiny, train_cfg):
    model = fresh_model(tiny, data, 0)
    calls = []

    def hook(m, optimizer):
        assert m is model and all(p.grad is not None for p in m.mlp.parameters())
        calls.append(len(optimizer.state))  # Adam's state appears at the first step: 0 on the first call

    steps = train(model, data.train, train_cfg, before_step=hook, after_step=lambda s: calls.append(-s))
    assert steps == train_cfg.epochs * train_cfg.steps_per_epoch(len(data.train))
    assert calls[:2] == [0, -1] and calls[2] > 0 and len(calls) == 2 * steps
    assert all(c >= 0 for c in calls[0::2]) and calls[1::2] == [-s for s in range(1, steps + 1)]
    counted = []
    assert train(model, data.train, train_cfg, before_step=lambda m, o: counted.append(1), max_steps=3) == 3
    assert len(counted) == 3


def test_without_a_hook_training_is_unchanged(data, tiny, train_cfg):
    plain, noop = fresh_model(tiny, data, 0), fresh_model(tiny, data, 0)
    train(plain, data.train, train_cfg)
    train(noop, data.train, train_cfg, before_step=lambda m, o: None)
    reference = fresh_model(tiny, data, 0)  # the loop as it was before the hook existed
    optimizer = torch.optim.Adam(reference.parameters(), lr=train_cfg.lr)
    reference.train()
    with one_thread():
        for epoch in range(train_cfg.epochs):
            for batch in batch_at(data.train, train_cfg, epoch):
                optimizer.zero_grad(set_to_none=True)
                bce_loss(reference(*batch.inputs()), batch).backward()
                optimizer.step()
    for name, value in reference.state_dict().items():
        assert torch.equal(plain.state_dict()[name], value) and torch.equal(noop.state_dict()[name], value)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_end_to_end(method, data):
    row = run_one(CAFEConfig(methods=(method,), ratios=(0.5,), **TINY), data, method, 0.5, seed=0)
    assert row["status"] == "ok" and math.isfinite(row["auc"]) and math.isfinite(row["logloss"])
    assert row["memory_floats"] <= row["budget_floats"] and row["memory_bytes"] <= 4 * row["budget_floats"]
    assert row["train_rows"] == len(data.train) and row["samples_per_s"] > 0
    if method.startswith("cafe"):
        assert 0 < row["hot_used"] <= row["hot_rows"] and row["hook_steps"] == row["steps"]


@pytest.mark.parametrize("method", ["cafe", "cafe-ml"])
@pytest.mark.parametrize("importance", ["grad-norm", "frequency"])
def test_cafe_memory_stays_within_the_budget_during_training(method, importance, data):
    seen = []

    def watch(hook: CAFEStepHook) -> None:
        seen.append(hook.module.memory_floats())
        assert seen[-1] <= hook.module.budget_floats and hook.module.memory_bytes() <= 4 * hook.module.budget_floats

    cfg = CAFEConfig(methods=(method,), ratios=(0.2,), importance=importance, threshold=5.0, **TINY)
    row = run_one(cfg, data, method, 0.2, seed=1, watch=watch)
    assert len(seen) == row["steps"] > 0 and row["peak_floats"] <= row["budget_floats"] and row["promotions"] > 0


def test_frequency_importance_scores_one_per_valid_occurrence():
    valid = torch.tensor([[True, False], [True, True]])
    assert torch.equal(unit_importance(torch.zeros(2, 2, 3), valid), torch.ones(3))
    module = build_embedding("cafe", _Layout(), 4, 0.05, 0.5, 0, MethodOptions(threshold=1e6, importance="frequency"))
    assert isinstance(module, CAFEEmbedding)
    out = module(torch.tensor([[1, 2], [1, 3]]), torch.zeros(2, 0, dtype=torch.long))
    out.sum().backward()
    CAFEStepHook(module, "frequency")(torch.nn.Module(), torch.optim.Adam(module.parameters()))
    assert module.sketch.score_of(torch.tensor([1, 12, 13])).tolist() == [2.0, 1.0, 1.0]  # field b starts at 10


def test_impossible_method_at_a_ratio_is_skipped_with_the_reason(data):
    row = run_one(CAFEConfig(methods=("qr",), ratios=(0.05,), **TINY), data, "qr", 0.05, seed=0)
    assert row["status"] == "skipped" and "too small for quotient-remainder" in row["reason"] and "auc" not in row


def test_rows_seen_counts_the_short_last_batch():
    assert rows_seen(3, 1000, 512) == 1512 and rows_seen(2, 1000, 512) == 1000 and rows_seen(1, 1000, 512) == 512


def test_reports_aggregate_compare_with_hash_and_plot(tmp_path):
    def row(method, seed, auc, speed, ratio=0.1):
        return {"model": "deepfm", "method": method, "ratio": ratio, "seed": seed, "status": "ok", "auc": auc,
                "logloss": 0.5, "memory_bytes": 400, "memory_floats": 100, "budget_floats": 100, "samples_per_s": speed}

    rows = [row("hash", 0, 0.70, 100.0), row("hash", 1, 0.72, 100.0), row("cafe", 0, 0.73, 50.0),
            row("cafe", 1, 0.73, 80.0), row("full", 0, 0.80, 90.0, 1.0),
            {"model": "deepfm", "method": "qr", "ratio": 0.1, "seed": 0, "status": "skipped", "reason": "too small"}]
    agg = {(a["method"], a["ratio"]): a for a in aggregate(rows)}
    assert agg[("hash", 0.1)]["auc_mean"] == pytest.approx(0.71) and agg[("hash", 0.1)]["seeds"] == [0, 1]
    assert agg[("qr", 0.1)]["status"] == "skipped" and agg[("qr", 0.1)]["reason"] == "too small"
    (diff,) = versus_hash(rows)
    assert diff["auc_minus_hash"] == pytest.approx(0.02) and diff["throughput_vs_hash"] == pytest.approx(0.65)
    assert diff["auc_minus_hash_se"] == pytest.approx(0.01) and diff["seeds_ahead"] == 2  # +0.03, +0.01
    text = markdown_tables(aggregate(rows), [diff])
    assert "skipped: too small" in text and "+0.0200" in text and "| 0.0100 | 2 of 2 |" in text
    (single,) = versus_hash([r for r in rows if r.get("seed") == 0])
    assert single["auc_minus_hash_se"] is None and "| n/a | 1 of 1 |" in markdown_tables([], [single])
    paths = write_results(rows, tmp_path, {"note": "test"})
    assert json.loads(paths["json"].read_text())["versus_hash"][0]["method"] == "cafe"
    assert paths["plot"].stat().st_size > 1000


def test_run_cafe_runs_full_once_and_every_other_method_per_ratio(data):
    cfg = CAFEConfig(methods=("full", "hash"), ratios=(0.5, 0.2), seeds=(0, 1), max_steps=2, **TINY)
    rows = run_cafe(cfg, data=data)
    assert [(r["method"], r["ratio"], r["seed"]) for r in rows] == [
        ("full", 1.0, 0), ("hash", 0.5, 0), ("hash", 0.2, 0), ("full", 1.0, 1), ("hash", 0.5, 1), ("hash", 0.2, 1)]
    assert all(r["steps"] == 2 for r in rows)


@pytest.mark.parametrize("kw, match", [({"methods": ("hash", "lsh")}, "unknown method 'lsh'"),
                                       ({"ratios": (0.1, 0.0)}, "ratio"), ({"ratios": (1.5,)}, "ratio"),
                                       ({"importance": "hessian"}, "importance"), ({"threshold": 0.0}, "threshold"),
                                       ({"hot_fraction": 1.0}, "hot_fraction"), ({"model": "fm"}, "model")])
def test_bad_configs_fail_before_training(kw, match):
    with pytest.raises(ValueError, match=match):
        CAFEConfig(**kw)


def test_cli_writes_results_and_plot(tmp_path):
    from metricforge.cli_cafe import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["cafe", "--ratios", "0.1", "--methods", "full,hash,cafe", "--epochs", "1",
                                      "--max-steps", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert {(r["method"], r["ratio"]) for r in rows} == {("full", 1.0), ("hash", 0.1), ("cafe", 0.1)}
    assert all(math.isfinite(r["auc"]) for r in rows) and (out / "auc_vs_ratio.png").stat().st_size > 1000
    assert "| cafe | 0.1 |" in (out / "results.md").read_text()


@pytest.mark.parametrize("args, message", [(["--methods", "hash,foo"], "error: unknown method 'foo'"),
                                           (["--ratios", "0.1,0"], "error: compression ratio must be"),
                                           (["--ratios", "0.1,x"], "error: --ratios must be comma-separated")])
def test_cli_bad_input_is_a_one_line_error(args, message, tmp_path):
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "cafe", *args, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().startswith(message) and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "results.json").exists()
