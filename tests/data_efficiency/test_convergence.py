"""The ranking-convergence test on cases with known answers, and the converge command."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from data_efficiency.convergence import (BudgetAgreement, convergence_point, mean_score, perplexity_score,
                                         ranking_convergence)


def test_noise_free_units_converge_at_one_unit():
    outputs = np.repeat(np.array([[0.9], [0.5], [0.7], [0.1]]), 40, axis=1)
    result = ranking_convergence(outputs, mean_score, [1, 2, 8, 40], metrics=list("abcd"), direction="max")
    assert result.point == 1
    assert all(r.spearman_low == 1.0 and r.topk_low == 1.0 for r in result.rows)


def test_pure_noise_needs_all_the_data():
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(6, 64))  # equal means: no subset ranks like the whole
    result = ranking_convergence(outputs, mean_score, [1, 4, 16, 32, 64], metrics=list("abcdef"), direction="min")
    assert result.point == 64


def test_leading_units_follow_the_order_of_the_data():
    # a = 1 everywhere; b = 0 on the first 7 units then 3: b's leading mean passes a's at 11 units
    a = np.ones(20)
    b = np.r_[np.zeros(7), np.full(13, 3.0)]
    c = np.full(20, -1.0)
    result = ranking_convergence(np.stack([a, b, c]), mean_score, list(range(1, 21)), metrics=list("abc"),
                                 direction="max", k=1, resamples=20)
    wrong = [r.units for r in result.rows if r.topk_leading < 1]
    assert wrong == list(range(1, 11))  # the top metric is right from 11 leading units on


def test_separated_metrics_converge_before_the_full_budget():
    rng = np.random.default_rng(1)
    means = np.array([0.0, 1.0, 2.0, 3.0, 4.0])[:, None]
    outputs = means + rng.normal(scale=1.0, size=(5, 256))
    result = ranking_convergence(outputs, mean_score, [1, 2, 4, 8, 16, 32, 64, 128, 256], metrics=list("abcde"),
                                 direction="max", seed=3)
    # Spearman >= 0.9 over 5 metrics allows one adjacent swap; a swap of neighbours 1.0 apart has
    # probability Phi(-sqrt(n / 2)): two or more of the 4 swaps happen 12% of the time at n = 2 and
    # 3% at n = 4, so the 90% lower bound first holds at about 4 units.
    assert result.point is not None and 2 <= result.point <= 8
    lows = [r.spearman_low for r in result.rows]
    assert lows[-1] == pytest.approx(1.0) and lows[0] < 0.9


def test_convergence_point_needs_every_larger_budget():
    def row(units, rho):
        return BudgetAgreement(units, rho, 1.0, rho, rho, 1.0, 1.0)
    assert convergence_point([row(1, 0.95), row(2, 0.5), row(4, 0.95), row(8, 1.0)], 0.9, 0.5) == 4
    assert convergence_point([row(1, 0.2), row(2, 0.5)], 0.9, 0.5) is None


def test_perplexity_aggregate_and_bad_input():
    losses = np.log(np.array([[2.0, 8.0], [4.0, 4.0]]))
    assert perplexity_score(losses, np.arange(2)) == pytest.approx([4.0, 4.0])
    with pytest.raises(ValueError, match="budgets"):
        ranking_convergence(losses, perplexity_score, [3], metrics=["a", "b"], direction="min")
    with pytest.raises(ValueError, match="two metrics"):
        ranking_convergence(losses[:1], perplexity_score, [1], metrics=["a"], direction="min")


def test_converge_command_on_the_digits_task(tmp_path):
    out = tmp_path / "conv"
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "converge", "--task", "mlp-prune",
                           "--budgets", "16,128,593", "--resamples", "50", "-m", "magnitude", "-m", "wanda",
                           "-m", "ria", "-m", "mul(abs(W), G)", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "evaluation.json").read_text())
    assert [r["units"] for r in data["rows"]] == [16, 128, 593]
    assert data["rows"][-1]["spearman_mean"] == 1.0 and len(data["outputs"]) == 4
    assert (out / "evaluation.png").stat().st_size > 0 and "Convergence point" in (out / "convergence.md").read_text()
    bad = subprocess.run([sys.executable, "-m", "metricforge.cli", "converge", "--task", "cnn-prune", "--out",
                          str(out)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "llm-prune or mlp-prune" in bad.stderr


def test_converge_command_on_recommender_training_data(tmp_path):
    out = tmp_path / "rs"
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "converge", "--task", "recsys-train",
                           "--fractions", "0.2,1.0", "--seeds", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads((out / "training_convergence.json").read_text())[0]["rows"]
    auc = {r["rate"]: r["auc"] for r in rows}
    assert auc[1.0] > auc[0.2] > 0.6  # more training data helps at 20%: no convergence before it
