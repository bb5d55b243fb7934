"""The CAFE study with importance formulas and labelled variants: per-ratio options, reports, CLI --importance."""
from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from model_compression.cafe.experiment import CAFEConfig, run_cafe
from evaluators.embedding.cafe.methods import MethodOptions
from model_compression.cafe.report import aggregate, markdown_tables, versus_hash
from model_compression.cafe.variants import Variant

TINY = {"epochs": 1, "emb_dim": 4, "hidden": (16,), "batch_size": 128, "lr": 1e-2, "max_steps": 4}
TUNED = Variant("cafe-tuned", "cafe", per_ratio=((0.5, MethodOptions(5.0, 0.2, "mul(gnorm, enorm)", 1e4)),))


def test_variants_run_with_their_options_per_ratio(data):
    cfg = CAFEConfig(methods=("hash", "cafe"), ratios=(0.5, 0.2), threshold=5.0, extra=(TUNED,), **TINY)
    rows = run_cafe(cfg, data=data)
    got = {(r["variant"], r["ratio"]): r for r in rows}
    assert set(got) == {(v, r) for v in ("hash", "cafe", "cafe-tuned") for r in (0.5, 0.2)}
    tuned = got[("cafe-tuned", 0.5)]
    assert (tuned["hot_fraction"], tuned["threshold"], tuned["importance"], tuned["decay_every"]) == \
        (0.2, 5.0, "mul(gnorm, enorm)", 1e4) and tuned["status"] == "ok" and tuned["hook_steps"] == 4
    assert got[("cafe-tuned", 0.2)]["importance"] == "grad-norm"  # no override at 0.2: the default options
    assert got[("cafe", 0.5)]["hot_fraction"] == 0.5
    assert CAFEConfig(**cfg.to_dict()).extra == (TUNED,)  # the JSON form rebuilds the same variants


def test_bad_variants_fail_before_training():
    with pytest.raises(ValueError, match="unique"):
        CAFEConfig(methods=("cafe",), extra=(Variant("cafe", "cafe"),))
    with pytest.raises(ValueError, match="importance"):
        Variant("x", "cafe", MethodOptions(importance="mul(W, X)"))
    with pytest.raises(ValueError, match="unknown method"):
        Variant("x", "lsh")


def test_reports_group_by_variant_and_pair_every_seed():
    def row(variant, method, seed, auc, importance="grad-norm"):
        return {"model": "deepfm", "method": method, "variant": variant, "ratio": 0.1, "seed": seed, "status": "ok",
                "auc": auc, "logloss": 0.5, "memory_bytes": 400, "memory_floats": 100, "budget_floats": 100,
                "samples_per_s": 100.0, "hot_fraction": 0.2, "threshold": 100.0, "importance": importance}

    rows = [row("hash", "hash", 0, 0.70), row("hash", "hash", 1, 0.72), row("cafe", "cafe", 0, 0.71),
            row("cafe", "cafe", 1, 0.71), row("cafe-evolved", "cafe", 0, 0.73, "mul(gnorm, enorm)"),
            row("cafe-evolved", "cafe", 1, 0.71, "mul(gnorm, enorm)")]
    diffs = {d["variant"]: d for d in versus_hash(rows)}
    assert diffs["cafe-evolved"]["per_seed"] == pytest.approx({0: 0.03, 1: -0.01})
    assert diffs["cafe"]["auc_minus_hash"] == pytest.approx(0.0)
    text = markdown_tables(aggregate(rows), list(diffs.values()))
    assert "| cafe-evolved | 0.1 | 0.7200" in text and "mul(gnorm, enorm); hot 0.2, T 100" in text
    assert "+0.0300 -0.0100" in text


def test_cli_importance_takes_formulas_and_registry_names(tmp_path):
    from metricforge.cli_cafe import register
    from primitives.metric import Metric
    from registry import Registry

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    with Registry.open(tmp_path / "r.db") as reg:
        reg.add_metric(Metric.parse("mul(gnorm, sqrt(enorm))"), name="best-importance")
    base = ["cafe", "--ratios", "0.1", "--methods", "hash,cafe", "--epochs", "1", "--max-steps", "3"]
    for ref, shown in (("add(gnorm, gdot)", "add(gnorm, gdot)"), ("best-importance", "mul(gnorm, sqrt(enorm))")):
        out = tmp_path / ref.replace("(", "_").replace(")", "_").replace(", ", "_")
        result = CliRunner().invoke(app, [*base, "--importance", ref, "--registry", str(tmp_path / "r.db"),
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        rows = json.loads((out / "results.json").read_text())["rows"]
        assert {r["importance"] for r in rows if r["method"] == "cafe"} == {shown}
        assert shown in (out / "results.md").read_text()
    result = CliRunner().invoke(app, [*base, "--importance", "no-such", "--registry", str(tmp_path / "none.db"),
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "no registry at" in str(result.exception)
