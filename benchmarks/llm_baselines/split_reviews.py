"""Split the bundled clothing reviews into a calibration part and a held-out evaluation part (JSONL).

    PYTHONPATH=. .venv/bin/python benchmarks/llm_baselines/split_reviews.py    # -> work/reviews-{calib,eval}.jsonl

The first 80% of the reviews (parquet row order) go to reviews-calib.jsonl, the last 20% to
reviews-eval.jsonl, one {"text": ...} per line: an in-domain evaluation text that shares no review
with the calibration text, for `grid.py --sources jsonl:... --eval-source jsonl:...`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
SHARE = 0.8


def main() -> None:
    from evaluators.llm.corpora import load_documents

    docs = load_documents("reviews")
    cut = int(len(docs) * SHARE)
    out = HERE / "work"
    out.mkdir(exist_ok=True)
    for name, part in (("reviews-calib.jsonl", docs[:cut]), ("reviews-eval.jsonl", docs[cut:])):
        with (out / name).open("w") as sink:
            for _, text in part:
                sink.write(json.dumps({"text": text}) + "\n")
        print(f"{out / name}: {len(part)} reviews")


if __name__ == "__main__":
    main()
