"""Reports of training-data convergence runs: markdown tables, an AUC-vs-fraction plot per split, JSON rows."""
from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reporting.figures import finish_panel, panel_grid, save_figure

if TYPE_CHECKING:
    from data_efficiency.train_convergence import TrainingConvergence

CALIBRATION = ("weighted_logloss", "unweighted_logloss", "corrected_logloss", "valid_base_rate",
               "weighted_mean_p", "unweighted_mean_p", "corrected_mean_p")


def _pm(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {std:.4f}"


def curve_table(results: Sequence[TrainingConvergence]) -> str:
    """Per model, strategy, split and fraction: kept rows, validation and test AUC (mean ± std), gain bound."""
    lines = ["| model | strategy | split | rate | kept rows | valid AUC | test AUC | max gain LCB ahead |",
             "|---|---|---|---|---|---|---|---|"]
    for res in results:
        for s in res.summary():
            lines.append(f"| {res.model} | {res.strategy} | {res.split} | {s['rate']:g} | {s['kept']:.3f} | "
                         f"{_pm(s['auc_mean'], s['auc_std'])} | {_pm(s['test_auc_mean'], s['test_auc_std'])} | "
                         f"{'-' if s['gain_lcb'] != s['gain_lcb'] else format(s['gain_lcb'], '+.4f')} |")
    return "\n".join(lines)


def point_table(results: Sequence[TrainingConvergence]) -> str:
    """The convergence point of every run, with the settings of its plateau test."""
    lines = ["| model | strategy | split | seeds | tolerance | window | confidence | point (rate) | "
             "kept rows at point |",
             "|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        kept = next((s["kept"] for s in res.summary() if s["rate"] == res.point), None)
        point = "none before the last fraction" if res.point is None else f"{res.point:g}"
        lines.append(f"| {res.model} | {res.strategy} | {res.split} | {len(res.seeds)} | {res.tolerance:g} | "
                     f"{res.window} | {res.confidence:g} | {point} | {'-' if kept is None else f'{kept:.3f}'} |")
    return "\n".join(lines)


def versus_uniform(results: Sequence[TrainingConvergence]) -> str:
    """Validation AUC minus uniform's at the same rate, model and split, paired by seed (mean ± std)."""
    base = {(r.model, r.split): r for r in results if r.strategy == "uniform"}
    lines = ["| model | strategy | split | rate | kept rows (strategy / uniform) | AUC - uniform AUC |",
             "|---|---|---|---|---|---|"]
    for res in (r for r in results if r.strategy != "uniform" and (r.model, r.split) in base):
        ref = {(x["rate"], x["seed"]): x for x in base[(res.model, res.split)].rows}
        for rate in res.fractions:
            pairs = [(x, ref[rate, x["seed"]]) for x in res.rows if x["rate"] == rate and (rate, x["seed"]) in ref]
            if pairs:
                diff = [a["auc"] - b["auc"] for a, b in pairs]
                mean, std = statistics.fmean(diff), statistics.stdev(diff) if len(diff) > 1 else 0.0
                kept = statistics.fmean(a["fraction"] / b["fraction"] for a, b in pairs)
                lines.append(f"| {res.model} | {res.strategy} | {res.split} | {rate:g} | {kept:.2f} | "
                             f"{mean:+.4f} ± {std:.4f} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def calibration_table(results: Sequence[TrainingConvergence]) -> str:
    """Negative downsampling: validation log-loss and mean predicted click rate, weighted vs unweighted vs corrected."""
    lines = ["| model | split | rate | weighted log-loss | unweighted log-loss | corrected log-loss | base rate | "
             "mean p weighted | mean p unweighted | mean p corrected |", "|---|---|---|---|---|---|---|---|---|---|"]
    for res in (r for r in results if r.strategy == "negatives"):
        for rate in res.fractions:
            members = [r for r in res.rows if r["rate"] == rate]
            means = [statistics.fmean(r[k] for r in members) for k in CALIBRATION]
            lines.append(f"| {res.model} | {res.split} | {rate:g} | " + " | ".join(f"{m:.4f}" for m in means) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def plot(results: Sequence[TrainingConvergence], path: Path) -> Path:
    """Validation AUC (mean, ± std band) against the kept share of rows, one panel per split, points marked."""
    splits = sorted({r.split for r in results})
    fig, axes = panel_grid(len(splits))
    for ax, split in zip(axes, splits):
        for res in (r for r in results if r.split == split):
            s = res.summary()
            x, y = [e["kept"] for e in s], [e["auc_mean"] for e in s]
            sd = [e["auc_std"] for e in s]
            line, = ax.plot(x, y, marker="o", label=f"{res.model} {res.strategy}")
            ax.fill_between(x, [a - b for a, b in zip(y, sd)], [a + b for a, b in zip(y, sd)],
                            color=line.get_color(), alpha=0.15)
            if res.point is not None:
                at = res.fractions.index(res.point)
                ax.plot([x[at]], [y[at]], marker="*", markersize=16, color=line.get_color(), linestyle="none")
        ax.set_xscale("log")
        finish_panel(ax, f"{split} split (star: convergence point)", "kept share of the training rows",
                     "validation AUC")
    return save_figure(fig, path)


def sections(results: Sequence[TrainingConvergence], image: str) -> str:
    """The report's ``##`` sections: convergence points, AUC by fraction, versus uniform, calibration, the plot."""
    parts = ["## Convergence points", "", point_table(results), "", "## AUC by fraction", "", curve_table(results)]
    for title, table in [("Against uniform downsampling at the same rate", versus_uniform(results)),
                         ("Calibration of negative downsampling (validation)", calibration_table(results))]:
        if table:
            parts += ["", f"## {title}", "", table]
    return "\n".join([*parts, "", f"![validation AUC against the kept share of training rows]({image})", ""])


def write_report(result: TrainingConvergence | Sequence[TrainingConvergence], out_dir: Path | str,
                 name: str = "training_convergence", header: str = "") -> dict[str, Path]:
    """Write ``name``.md (tables), ``name``.png (plot) and ``name``.json (rows, settings) under out_dir."""
    results = [result] if not isinstance(result, Sequence) else list(result)
    if not results:
        raise ValueError("nothing to report")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / f"{name}.md", "png": out / f"{name}.png", "json": out / f"{name}.json"}
    header = header or "# Validation AUC against training-data fraction"
    paths["md"].write_text(f"{header}\n\n{sections(results, paths['png'].name)}")
    plot(results, paths["png"])
    paths["json"].write_text(json.dumps([r.to_dict() for r in results], indent=1))
    return paths
