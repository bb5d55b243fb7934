"""``metricforge downsample`` and ``metricforge isocompute`` end to end on MovieLens-100k (one seed, one epoch)."""
import json
import math
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def app():
    from metricforge.cli_data import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_downsample_writes_tables_plot_and_calibrated_values(app, tmp_path):
    result = CliRunner().invoke(app, ["downsample", "--fractions", "0.2,1", "--seeds", "0", "--epochs", "1",
                                      "--evals", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "deepfm time-decay (time split): convergence point" in result.output
    runs = {r["strategy"]: r for r in json.loads((tmp_path / "training_convergence.json").read_text())}
    assert set(runs) == {"uniform", "negatives", "time-decay"} and runs["time-decay"]["split"] == "time"
    rows = {(r["strategy"], r["rate"]): r for run in runs.values() for r in run["rows"]}
    assert all(0.6 < r["auc"] < 0.85 and math.isfinite(r["test_auc"]) for r in rows.values())
    assert rows["uniform", 0.2]["rows"] == 14000 and rows["uniform", 1.0]["rows"] == 70000
    # at rate 1 negatives keeps (and weighs 1) every row: the very same run as uniform
    assert rows["negatives", 1.0]["auc"] == rows["uniform", 1.0]["auc"]
    neg = rows["negatives", 0.2]
    assert neg["fraction"] == pytest.approx(0.553 + 0.447 * 0.2, abs=0.005)
    assert neg["unweighted_mean_p"] > neg["valid_base_rate"] + 0.1  # uncorrected: over-predicts clicks
    assert abs(neg["corrected_mean_p"] - neg["valid_base_rate"]) < 0.05
    assert neg["corrected_logloss"] < neg["unweighted_logloss"] and neg["weighted_logloss"] < neg["unweighted_logloss"]
    text = (tmp_path / "training_convergence.md").read_text()
    assert "| deepfm | time-decay | time | 0.2 |" in text and "## Calibration of negative downsampling" in text
    assert (tmp_path / "training_convergence.png").stat().st_size > 10000


def test_isocompute_runs_each_size_at_the_budget(app, tmp_path):
    result = CliRunner().invoke(app, ["isocompute", "--budgets", "1e9", "--sizes", "s,m", "--seeds", "0",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    agg = json.loads((tmp_path / "isocompute.json").read_text())["aggregate"]
    assert [a["size"] for a in agg] == ["s", "m"] and agg[0]["params"] < agg[1]["params"]
    assert all(abs(a["compute_ratio"] - 1) < 0.005 and 0.5 < a["auc_mean"] < 0.85 for a in agg)
    assert agg[0]["fraction"] > agg[1]["fraction"]  # the smaller model sees more data for the same compute
    assert "| deepfm | 1e+09 | s: 8 x 64-32 |" in (tmp_path / "isocompute.md").read_text()


def test_bad_input_is_a_one_line_error_before_any_training(tmp_path):
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "downsample", "--strategies", "uniform,oldest",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: unknown strategy 'oldest': expected one of uniform, negatives, time-decay")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["downsample", "--fractions", "0.5,1.5"], "keep fraction must be in (0, 1]"),
    (["downsample", "--seeds", "0,x"], "--seeds must be comma-separated integers"),
    (["downsample", "--split", "later"], "split must be one of"),
    (["isocompute", "--sizes", "s,giant"], "bad model size 'giant'"),
    (["isocompute", "--budgets", "1e9,-1"], "--budgets must be positive"),
])
def test_bad_values_raise_value_errors_naming_the_problem(app, args, message, tmp_path):
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, ValueError) and message in str(result.exception)
    assert not (tmp_path / "out").exists()
