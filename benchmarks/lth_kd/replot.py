"""Redraw the LTH figures from the recorded results.json files (no training is rerun).

    python benchmarks/lth_kd/replot.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from model_compression.lth.report import plot  # noqa: E402


def main() -> None:
    for folder in (HERE, HERE / "embeddings"):
        record = json.loads((folder / "results.json").read_text())
        formulas = {m["name"]: m["text"] for m in record["meta"].get("metrics", []) if "name" in m and "text" in m}
        plot(record["aggregate"], folder / "auc_vs_sparsity.png", formulas)


if __name__ == "__main__":
    main()
