"""The CAFE study harness on the scale generator's data (no bag, DLRM): every arm runs within its budget."""
import torch

from evaluators.recsys.data import make_splits
from evaluators.recsys.synthetic import ZipfCTRSpec, zipf_ctr
from model_compression.cafe.experiment import CAFEConfig, run_cafe


def test_the_cafe_study_runs_on_a_zipf_world():
    table, _ = zipf_ctr(ZipfCTRSpec(rows=3_000, cardinalities=(2_001, 2_001, 1_001, 1_001), seed=0))
    data = make_splits(table, "random", "first", seed=0, calib_rows=64)
    cfg = CAFEConfig(model="dlrm", ratios=(0.05,), methods=("hash", "frequency", "cafe"), seeds=(0,), epochs=1,
                     emb_dim=4, hidden=(8,), batch_size=256, threshold=5.0)
    rows = run_cafe(cfg, data=data)
    assert [r["method"] for r in rows] == ["hash", "frequency", "cafe"] and all(r["status"] == "ok" for r in rows)
    assert all(r["memory_floats"] <= r["budget_floats"] for r in rows) and rows[2]["hot_used"] > 0
    assert torch.equal(data.train.bag, torch.zeros((len(data.train), 0), dtype=torch.int64))
