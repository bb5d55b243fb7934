"""A multi-fidelity search on the tiny llm-prune task whose first rung is the reconstruction proxy."""
from __future__ import annotations

import json

import pytest

from evaluators.llm.corpora import PYTHON_DOCS
from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from registry import Registry

from .tiny import tiny_model_folder

pytestmark = pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="python3.11-doc not installed")


def test_proxy_rung_screens_first_and_is_recorded_under_its_own_key(tmp_path):
    options = {"model": tiny_model_folder(tmp_path / "model"), "calib_source": "fortunes:wisdom",
               "calib_windows": 2, "calib_length": 32, "eval_tokens": 128, "eval_length": 32, "dtype": "float32",
               "device": "cpu", "cache_dir": str(tmp_path / "cache")}
    config = SearchConfig(task="llm-prune", task_options=options, population=9, generations=1, seed=3,
                          fidelity=("proxy", 0.25), eta=3.0, init_max_height=3)
    url = str(tmp_path / "registry.db")
    with Search(config, tmp_path / "run", registry=url) as search:
        result = search.run()
        proxy, quarter = search.scorer.reduced
        assert proxy.label == "fitness=reconstruction,proxy_rank=32,proxy_rows=64" and quarter.label == "eval_tokens=32"
        assert proxy.settings["fitness"] == "reconstruction"
        assert proxy.settings["budget"] == {"fitness": "reconstruction", "proxy_rank": 32, "proxy_rows": 64}
        assert proxy.eval_map.task._state is search.task._state  # the rung shares the prepared model
        assert quarter.eval_map.task._state is search.task._state
    with Registry.open(url) as reg:
        rows = {b: {r.metric_hash: r for r in reg.evaluations(key=k, run_id=result.run_id)}
                for b, k in (("proxy", proxy.key), ("quarter", quarter.key), ("full", search.settings_key))}
    assert len({proxy.key, quarter.key, search.settings_key}) == 3
    assert rows["proxy"] and rows["quarter"] and rows["full"]
    assert set(rows["full"]) <= set(rows["quarter"]) <= set(rows["proxy"])  # each rung screened by the one below
    assert len(rows["quarter"]) < len(rows["proxy"])
    for row in rows["proxy"].values():
        if row.ok:
            assert 0 < row.score < 1 and row.details["fitness"] == "reconstruction"
    spent = json.loads((tmp_path / "run" / "results" / "summary.json").read_text())["budget_counts"]
    assert set(spent) == {"fitness=reconstruction,proxy_rank=32,proxy_rows=64", "eval_tokens=32", "full"}
    assert result.hall_of_fame and all(e.full for e in result.hall_of_fame)
