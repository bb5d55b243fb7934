"""IsoCompute: measured FLOPs per sample, plans that match the budget, size parsing and the report."""
import json

import pytest

from data_efficiency.isocompute import SIZES, parse_size, plan, train_flops_per_sample
from data_efficiency.isocompute_report import aggregate, best_per_budget, write_isocompute
from evaluators.recsys.data import make_splits
from evaluators.recsys.models import ModelConfig, build_model
from evaluators.recsys.synthetic import synthetic_table

ROWS = 70000


def test_flops_per_sample_is_three_times_the_mlp_matmuls():
    data = make_splits(synthetic_table(rows=600, seed=0), "random", "first", seed=0, calib_rows=64)
    model = build_model(ModelConfig("deepfm", emb_dim=8, hidden=(32, 16)), data)
    width = model.embeddings.count * 8 + len(data.dense_names)
    assert train_flops_per_sample(model, data) == 3 * 2 * (width * 32 + 32 * 16 + 16 * 1)


@pytest.mark.parametrize("budget", [5e9, 2e10, 8e10])
@pytest.mark.parametrize("flops", [38208.0, 150144.0, 398592.0, 1583616.0])  # the s, m, l, xl DeepFM sizes
def test_every_plan_spends_the_budget_within_half_a_percent(budget, flops):
    p = plan(budget, flops, ROWS)
    assert abs(p.compute / budget - 1) < 0.005 and p.compute == p.samples * flops
    if budget / flops <= ROWS:  # under one epoch: one pass over a share of the rows
        assert p.epochs == 1 and p.samples == p.rows < ROWS and p.steps == -(-p.rows // 512)
    else:  # over one epoch: every row, fractional epochs through the step count
        assert p.rows == ROWS and p.samples > ROWS and p.epochs == -(-p.steps // 137)


def test_plan_counts_the_short_last_batch_of_each_epoch():
    p = plan(2.5 * ROWS * 10.0, 10.0, ROWS)  # 2.5 epochs: 2 x 137 steps (the last of each has 368 rows) + 68
    assert p.steps == 2 * 137 + 68 and p.samples == 2 * ROWS + 68 * 512 and p.epochs == 3


def test_a_budget_below_one_sample_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="less than one training sample"):
        plan(10.0, 100.0, ROWS)
    assert parse_size("l") == ("l", *SIZES["l"]) and parse_size("16x256-128") == ("16x256-128", 16, (256, 128))
    for bad in ("huge", "16x", "0x8", "16x256-0", "16*256"):
        with pytest.raises(ValueError, match="bad model size"):
            parse_size(bad)


def test_report_table_best_size_and_plot(tmp_path):
    rows = [{"size": size, "model": "deepfm", "emb_dim": 8, "hidden": [64], "seed": seed, "params": params,
             "flops_per_sample": 1e4, "budget": budget, "rows": 100, "epochs": 1, "steps": 1, "samples": 100,
             "compute": budget * 1.001, "fraction": 0.5, "epochs_seen": 1.0, "auc": auc + 0.001 * seed,
             "logloss": 0.6, "test_auc": auc, "train_s": 1.0}
            for budget, aucs in [(1e9, (0.70, 0.65)), (1e10, (0.72, 0.75))]
            for (size, params), auc in zip([("s", 1000), ("l", 9000)], aucs) for seed in (0, 1)]
    agg = aggregate(rows)
    assert len(agg) == 4 and all(a["seeds"] == 2 and a["compute_ratio"] == pytest.approx(1.001) for a in agg)
    assert best_per_budget(agg) == {("deepfm", 1e9): "s", ("deepfm", 1e10): "l"}
    paths = write_isocompute(rows, tmp_path)
    text = paths["md"].read_text()
    assert "| deepfm | 1e+10 | l: 8 x 64 | 9,000 |" in text and "- deepfm at 1e+10 FLOPs: size l" in text
    assert paths["png"].stat().st_size > 5000 and len(json.loads(paths["json"].read_text())["rows"]) == 8
