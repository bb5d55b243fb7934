"""How much CAFE can gain on MovieLens-100k: the share of training occurrences its hot rows can cover, and
what the hot rows cost the shared hash table, per ratio and hot fraction (no training; seconds).

    .venv/bin/python benchmarks/cafe/skew.py [--hot-fractions 0.1,0.2,0.3,0.5]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from evaluators.recsys.config import DataConfig  # noqa: E402
from evaluators.recsys.dense import load_data  # noqa: E402
from evaluators.embedding.cafe.cafe_embedding import CAFEEmbedding  # noqa: E402
from evaluators.embedding.cafe.methods import train_counts  # noqa: E402


def rows(ratios: list[float], fractions: list[float], dim: int = 16) -> list[dict]:
    """Per (ratio, hot fraction): hot rows H, hash rows left, plain hashing's rows, top-H occurrence share."""
    data = load_data(DataConfig())
    counts = train_counts(data).double()
    share = counts.sort(descending=True).values.cumsum(0) / counts.sum()
    layout = (data.fields, data.cardinalities, data.bag_cardinality)
    out = []
    for ratio in ratios:
        plain = int(sum(data.cardinalities) + data.bag_cardinality) * dim * ratio // dim
        for frac in fractions:
            try:
                emb = CAFEEmbedding(*layout, dim, ratio=ratio, hot_fraction=frac)
            except ValueError:
                continue
            h = emb.hot.num_embeddings
            out.append({"ratio": ratio, "hot_fraction": frac, "hot_rows": h, "hash_rows": emb.table.num_embeddings,
                        "plain_hash_rows": int(plain), "sketch_floats": -(-emb.sketch.memory_bytes() // 4),
                        "top_h_share": float(share[h - 1]), "features": emb.num_features})
    return out


def markdown(table: list[dict]) -> str:
    """The table."""
    lines = ["| ratio | hot fraction | hot rows H | sketch floats | CAFE hash rows | plain hash rows | "
             "training occurrences of the top-H ids | features per CAFE hash row (non-hot) | per plain hash row |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['ratio']:g} | {r['hot_fraction']:g} | {r['hot_rows']} | {r['sketch_floats']} | "
                     f"{r['hash_rows']} | {r['plain_hash_rows']} | {r['top_h_share']:.1%} | "
                     f"{(r['features'] - r['hot_rows']) / r['hash_rows']:.1f} | "
                     f"{r['features'] / r['plain_hash_rows']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the table (and write skew.md next to this file)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ratios", default="0.5,0.1,0.02,0.01")
    p.add_argument("--hot-fractions", default="0.1,0.2,0.3,0.5")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    text = markdown(rows([float(r) for r in args.ratios.split(",")], [float(f) for f in args.hot_fractions.split(",")]))
    (HERE / "skew.md").write_text("# What CAFE's hot rows can cover on MovieLens-100k (DeepFM layout, dim 16)\n\n"
                                  "Reproduce: `.venv/bin/python benchmarks/cafe/skew.py`\n\n" + text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
