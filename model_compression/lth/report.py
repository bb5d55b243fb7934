"""Aggregate lottery-ticket rows over seeds and write them: JSON, a markdown table, an AUC-vs-sparsity plot."""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reporting.seed_summary import summarize_seeds
from reporting.figures import dense_line, finish_panel, metric_label, panel_grid, save_figure
from model_compression.lth.experiment import VARIANTS

KEY = ("model", "metric", "variant", "sparsity")
MEANS = ("actual_sparsity", "params_total", "params_nonzero", "pruned_nonzero", "disk_dense_bytes",
         "disk_sparse_bytes", "infer_dense_ms", "infer_sparse_ms", "wall_s")


def aggregate(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, metric, variant, sparsity): AUC/log-loss mean and std over seeds, other means."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in KEY), []).append(row)
    out = []
    for key, members in groups.items():
        out.append({**dict(zip(KEY, key)), **summarize_seeds(members, MEANS)})
    order = {v: i for i, v in enumerate(VARIANTS)}
    return sorted(out, key=lambda a: (a["model"], a["metric"], a["sparsity"], order.get(a["variant"], 99)))


def markdown_table(agg: Sequence[dict[str, Any]]) -> str:
    """A markdown table of aggregated rows."""
    head = ("| model | metric | variant | sparsity | AUC mean ± std | log-loss | nonzero params | "
            "disk dense KB | disk CSR KB | infer dense ms | infer CSR ms |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for a in agg:
        lines.append(
            f"| {a['model']} | {a['metric']} | {a['variant']} | {a['sparsity']:.2f} | "
            f"{a['auc_mean']:.4f} ± {a['auc_std']:.4f} | {a['logloss_mean']:.4f} | {a.get('params_nonzero', 0):,.0f} | "
            f"{a.get('disk_dense_bytes', math.nan) / 1024:.1f} | {a.get('disk_sparse_bytes', math.nan) / 1024:.1f} | "
            f"{a.get('infer_dense_ms', math.nan):.1f} | {a.get('infer_sparse_ms', math.nan):.1f} |")
    return "\n".join(lines) + "\n"


def plot(agg: Sequence[dict[str, Any]], path: Path, formulas: Mapping[str, str] | None = None) -> Path:
    """AUC (mean ± std over seeds) against sparsity, one line per variant, one panel per (model, metric),
    a metric titled by built-in name or formula (``formulas``: formula by recorded metric name)."""
    formulas = formulas or {}
    panels = sorted({(a["model"], a["metric"]) for a in agg})
    fig, axes = panel_grid(len(panels))
    for ax, (model, metric) in zip(axes, panels):
        rows = [a for a in agg if (a["model"], a["metric"]) == (model, metric)]
        for variant in VARIANTS:
            pts = sorted((a["sparsity"], a["auc_mean"], a["auc_std"]) for a in rows if a["variant"] == variant)
            if not pts:
                continue
            if variant == "dense":
                dense_line(ax, pts[0][1], spread=pts[0][2])
                continue
            xs, ys, es = zip(*pts)
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=variant)
        finish_panel(ax, f"{model}, {metric_label(metric, formulas.get(metric), 40)}", "sparsity of the MLP weights")
    return save_figure(fig, path)


def write_results(rows: Sequence[dict[str, Any]], out: Path, meta: dict[str, Any], notes: str = "") -> dict[str, Path]:
    """results.json (rows, aggregate, meta), results.md (notes + table) and auc_vs_sparsity.png under out."""
    out.mkdir(parents=True, exist_ok=True)
    agg = aggregate(rows)
    paths = {"json": out / "results.json", "md": out / "results.md", "plot": out / "auc_vs_sparsity.png"}
    paths["json"].write_text(json.dumps({"meta": meta, "aggregate": agg, "rows": list(rows)}, indent=2, default=str))
    paths["md"].write_text((notes + "\n\n" if notes else "") + markdown_table(agg))
    plot(agg, paths["plot"], {m["name"]: m["text"] for m in meta.get("metrics", []) if "name" in m and "text" in m})
    return paths
