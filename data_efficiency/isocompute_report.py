"""IsoCompute reports: one table row per (budget, model size) over the seeds, and AUC against model size."""
from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reporting.figures import finish_panel, panel_grid, save_figure
from reporting.seed_summary import mean_std


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, budget, size): the plan (identical across seeds), compute / budget, AUC mean and std."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["budget"], row["size"]), []).append(row)
    out = []
    for (model, budget, size), members in groups.items():
        first = members[0]
        entry = {"model": model, "budget": budget, "size": size, "seeds": len(members)}
        entry.update({k: first[k] for k in ("emb_dim", "hidden", "params", "flops_per_sample", "compute", "rows",
                                             "fraction", "epochs_seen", "steps")})
        entry["compute_ratio"] = first["compute"] / budget
        entry["auc_mean"], entry["auc_std"] = mean_std([r["auc"] for r in members])
        entry["test_auc_mean"], entry["test_auc_std"] = mean_std([r["test_auc"] for r in members])
        entry["train_s"] = statistics.fmean(r["train_s"] for r in members)
        out.append(entry)
    return sorted(out, key=lambda e: (e["model"], e["budget"], e["params"]))


def markdown_table(agg: Sequence[dict[str, Any]]) -> str:
    """The IsoCompute table: model, parameters, compute, data fraction, epochs, AUC."""
    lines = ["| model | budget (FLOPs) | size (emb x MLP) | params | train FLOPs/sample | compute / budget | "
             "data fraction | epochs | steps | valid AUC | test AUC | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in agg:
        shape = f"{e['emb_dim']} x {'-'.join(str(h) for h in e['hidden'])}"
        lines.append(f"| {e['model']} | {e['budget']:.3g} | {e['size']}: {shape} | {e['params']:,} | "
                     f"{e['flops_per_sample']:,.0f} | {e['compute_ratio']:.4f} | {e['fraction']:.3f} | "
                     f"{e['epochs_seen']:.2f} | {e['steps']} | {e['auc_mean']:.4f} ± {e['auc_std']:.4f} | "
                     f"{e['test_auc_mean']:.4f} ± {e['test_auc_std']:.4f} | {e['train_s']:.1f} |")
    return "\n".join(lines)


def best_per_budget(agg: Sequence[dict[str, Any]]) -> dict[tuple[str, float], str]:
    """The size with the highest mean validation AUC at each (model, budget)."""
    best: dict[tuple[str, float], dict[str, Any]] = {}
    for e in agg:
        key = (e["model"], e["budget"])
        if key not in best or e["auc_mean"] > best[key]["auc_mean"]:
            best[key] = e
    return {k: v["size"] for k, v in best.items()}


def plot(agg: Sequence[dict[str, Any]], path: Path) -> Path:
    """Validation AUC (± std) against parameter count, one line per budget, one panel per model."""
    models = sorted({e["model"] for e in agg})
    fig, axes = panel_grid(len(models))
    for ax, model in zip(axes, models):
        for budget in sorted({e["budget"] for e in agg if e["model"] == model}):
            line = [e for e in agg if e["model"] == model and e["budget"] == budget]
            ax.errorbar([e["params"] for e in line], [e["auc_mean"] for e in line],
                        yerr=[e["auc_std"] for e in line], marker="o", capsize=3, label=f"{budget:.3g} FLOPs")
        ax.set_xscale("log")
        sizes = {e["params"]: e["size"] for e in agg if e["model"] == model}
        ax.set_xticks(list(sizes), [f"{size}\n{params / 1e3:.0f}k" for params, size in sizes.items()])
        ax.minorticks_off()
        finish_panel(ax, f"{model}: IsoCompute", "model size, parameters (log scale)", "validation AUC")
    return save_figure(fig, path)


def write_isocompute(rows: Sequence[dict[str, Any]], out_dir: Path | str, name: str = "isocompute",
                     header: str = "") -> dict[str, Path]:
    """Write ``name``.md (table, best size per budget), ``name``.png and ``name``.json (every row) under out_dir."""
    if not rows:
        raise ValueError("nothing to report")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / f"{name}.md", "png": out / f"{name}.png", "json": out / f"{name}.json"}
    agg = aggregate(rows)
    best = "\n".join(f"- {model} at {budget:.3g} FLOPs: size {size}"
                     for (model, budget), size in sorted(best_per_budget(agg).items()))
    paths["md"].write_text("\n".join([header or "# IsoCompute: model size x data at fixed training compute", "",
                                      markdown_table(agg), "", "Best size (validation AUC) per budget:", "", best,
                                      "", f"![validation AUC against model size]({paths['png'].name})", ""]))
    plot(agg, paths["png"])
    paths["json"].write_text(json.dumps({"rows": list(rows), "aggregate": agg}, indent=1))
    return paths
