"""The plateau-window test on synthetic curves, training-row timestamps, and the convergence report."""
import json
import math

import numpy as np
import pytest

from data_efficiency.plateau import gain_lcb, plateau
from data_efficiency.recsys_rows import load_rows
from data_efficiency.train_convergence import TrainingConvergence, default_split, training_convergence
from data_efficiency.train_report import write_report

GRID = (0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)


def saturating(grid, knee, seeds=3, noise=0.0005, seed=0):
    """AUC rising steeply until `knee`, flat after it; seed-paired noise per column."""
    base = np.array([0.78 - 0.2 * max(0.0, knee - f) for f in grid])
    offsets = np.random.default_rng(seed).normal(0, 0.003, size=seeds)  # per-seed level, cancels in paired gains
    return base[:, None] + offsets[None, :] + np.random.default_rng(seed + 1).normal(0, noise, (len(grid), seeds))


@pytest.mark.parametrize("knee", [0.2, 0.4, 0.6])
def test_plateau_finds_the_known_knee(knee):
    found = plateau(GRID, saturating(GRID, knee), tolerance=0.002, window=2)
    assert found.point == knee and found.index == GRID.index(knee)
    assert all(b >= 0.002 for b in found.gain_lcb[:found.index]) and math.isnan(found.gain_lcb[-1])


def test_no_plateau_before_the_last_point_on_a_rising_curve():
    values = np.linspace(0.6, 0.8, len(GRID))[:, None] + np.zeros((1, 3))
    assert plateau(GRID, values, 0.002, 2).point is None


def test_seed_spread_widens_the_bound_so_a_noisy_gain_does_not_count():
    noisy = np.array([[0.70, 0.70, 0.70], [0.72, 0.695, 0.705]])  # mean gain 0.0067, spread large
    assert gain_lcb(noisy[1] - noisy[0], 0.95) < 0.002
    assert plateau((0.5, 1.0), noisy, 0.002, 1).point == 0.5
    steady = np.array([[0.70, 0.71, 0.69], [0.7067, 0.7167, 0.6967]])  # same mean gain, no spread in the gains
    assert plateau((0.5, 1.0), steady, 0.002, 1).point is None


def test_window_looks_past_a_temporary_flat_step():
    values = np.array([0.70, 0.70, 0.75, 0.75, 0.75])[:, None] + np.zeros((1, 2))
    grid = (0.1, 0.2, 0.4, 0.6, 1.0)
    assert plateau(grid, values, 0.002, window=1).point == 0.1  # the flat step fools a one-point window
    assert plateau(grid, values, 0.002, window=2).point == 0.4


def test_nan_never_converges_and_bad_settings_are_refused():
    values = np.array([[0.7], [float("nan")], [0.7], [0.7]])
    found = plateau((0.1, 0.5, 0.7, 1.0), values, 0.002, 2)
    assert found.point == 0.7 and all(math.isnan(b) for b in found.gain_lcb[:2])  # a NaN ahead or here: no plateau
    for kwargs, match in [({"window": 0}, "window"), ({"tolerance": -1.0}, "tolerance"),
                          ({"confidence": 1.0}, "confidence")]:
        with pytest.raises(ValueError, match=match):
            plateau(GRID, saturating(GRID, 0.2), **{"tolerance": 0.002, **kwargs})
    with pytest.raises(ValueError, match="strictly increasing"):
        plateau((0.5, 0.2), np.zeros((2, 1)), 0.002)
    with pytest.raises(ValueError, match="unknown strategy"):
        training_convergence([0.5], [0], strategy="oldest")
    with pytest.raises(ValueError, match="keep fraction"):
        training_convergence([0.5, 1.2], [0])


def test_time_split_training_rows_carry_their_timestamps():
    data, timestamp = load_rows("time", 0)
    assert len(timestamp) == len(data.train) and np.all(np.diff(timestamp) >= 0)
    assert timestamp.max() <= data.info["test_from_timestamp"]
    assert default_split("time-decay") == "time" and default_split("uniform") == "random"


def test_report_writes_tables_plot_and_json(tmp_path):
    grid, seeds = (0.1, 0.5, 1.0), (0, 1)
    auc = saturating(grid, 0.5, seeds=2)
    rows = [{"rate": f, "seed": s, "fraction": f, "auc": float(auc[i, j]), "test_auc": 0.7, "logloss": 0.6,
             **{k: 0.6 for k in ("weighted_logloss", "unweighted_logloss", "corrected_logloss", "valid_base_rate",
                                 "weighted_mean_p", "unweighted_mean_p", "corrected_mean_p")}}
            for i, f in enumerate(grid) for j, s in enumerate(seeds)]
    found = plateau(grid, auc, 0.002, 2)
    res = TrainingConvergence("negatives", "deepfm", "random", grid, seeds, 0.002, 2, 0.95, rows, found.point,
                              found.gain_lcb)
    paths = write_report(res, tmp_path)
    text = paths["md"].read_text()
    assert "| deepfm | negatives | random | 2 | 0.002 | 2 | 0.95 | 0.5 | 0.500 |" in text
    assert "## Calibration of negative downsampling" in text and "## Against uniform" not in text and paths["png"].stat().st_size > 5000
    saved = json.loads(paths["json"].read_text())[0]
    assert saved["point"] == 0.5 and saved["gain_lcb"][-1] is None and len(saved["rows"]) == 6
    back = TrainingConvergence.from_dict(saved)
    assert back.fractions == grid and back.point == res.point and back.rows == res.rows
    assert back.gain_lcb[:2] == res.gain_lcb[:2] and math.isnan(back.gain_lcb[2])
