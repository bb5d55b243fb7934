"""benchmarks/llm_baselines/report.py: ratios to Wanda paired by draw, mean and standard error."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPORT = Path(__file__).resolve().parents[3] / "benchmarks" / "llm_baselines" / "report.py"


def _report():
    spec = importlib.util.spec_from_file_location("llm_baselines_report", REPORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ratios_pair_each_draw_with_wanda_of_the_same_draw(tmp_path):
    report = _report()
    rows = []
    for draw, (wanda, sgpt) in enumerate([(100.0, 50.0), (120.0, 90.0), (80.0, 60.0)]):
        rows.append({"kind": "row", "method": "wanda", "group": "2:4", "target": 0.5, "source": "s", "draw": draw,
                     "ppl": wanda, "ok": True})
        rows.append({"kind": "row", "method": "sparsegpt", "group": "2:4", "target": 0.5, "source": "s", "draw": draw,
                     "ppl": sgpt, "ok": True})
    rows.append({"kind": "row", "method": "sparsegpt", "group": "2:4", "target": 0.5, "source": "s", "draw": 3,
                 "ppl": 1.0, "ok": True})  # no Wanda row for draw 3: not in the ratio
    path = tmp_path / "grid.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows[:2] + rows) + "\n")  # a repeated key keeps its last row
    loaded, _ = report.load(path)
    assert len(loaded) == 7
    lines = report.table(loaded, [("wanda", "2:4", 0.5), ("sparsegpt", "2:4", 0.5)])
    sgpt = next(line for line in lines if "SparseGPT 2:4" in line)
    # ratios 0.5, 0.75, 0.75: mean 0.667, standard error 0.0833
    assert "0.667 +- 0.083 (n=3)" in sgpt and "| 3/3 |" in sgpt and "| 4 |" in sgpt
    assert report.mean_se([]) == "-"
