"""Redraw the granularity figures from the recorded results.json (no study is rerun).

    python benchmarks/granularity/replot.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from model_compression.granularity.report import plot  # noqa: E402


def main() -> None:
    record = json.loads((HERE / "results.json").read_text())
    means = record["cnn"]["means"]
    for regime in dict.fromkeys(r["regime"] for r in means):
        layers, kind = (part.strip() for part in regime.split(",", 1))
        tag = f"cnn_{layers}_{'oneshot' if kind == 'one-shot' else 'finetuned'}_"
        plot({"rows": [r for r in means if r["regime"] == regime], "metrics": record["metrics"]}, HERE, tag)
    if "llm" in record:
        plot(record["llm"], HERE, "llm_")


if __name__ == "__main__":
    main()
