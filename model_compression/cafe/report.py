"""Aggregate CAFE-study rows over seeds and write them: JSON, markdown tables, an AUC-vs-ratio plot per model.

Rows are grouped by (model, variant, ratio); a row without a variant label is labelled by its method."""
from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evaluators.embedding.cafe.methods import METHODS
from reporting.seed_summary import mean_std, summarize_seeds
from reporting.figures import dense_line, finish_panel, panel_grid, save_figure, shared_legend

KEY = ("model", "variant", "ratio")
SETTINGS = ("method", "importance", "hot_fraction", "threshold", "decay_every")
MEANS = ("memory_bytes", "memory_floats", "budget_floats", "full_floats", "first_order_floats", "peak_floats",
         "hot_rows", "hot_used", "promotions", "evictions", "samples_per_s", "train_s")
CAFE_METHODS = ("cafe", "cafe-ml")


def _order(a: dict[str, Any]) -> tuple:
    return a["model"], -a["ratio"], METHODS.index(a["method"]) if a["method"] in METHODS else 99, a["variant"]


def _label(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its variant label (the method when it has none)."""
    return row if "variant" in row else {**row, "variant": row["method"]}


def describe(a: dict[str, Any]) -> str:
    """Importance and hot settings of a hot/cold variant, for tables and legends ('' for the others)."""
    if a["method"] not in (*CAFE_METHODS, "frequency") or "hot_fraction" not in a:
        return ""
    text = f"hot {a['hot_fraction']:g}"
    if a["method"] in CAFE_METHODS:
        decay = "" if a.get("decay_every") is None else f", decay/{a['decay_every']:g}"
        text = f"{a.get('importance', 'grad-norm')}; {text}, T {a['threshold']:g}{decay}"
    return text


def aggregate(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, method, ratio): AUC/log-loss mean and std over the seeds that ran, other means;
    a group whose every seed was skipped keeps the reason."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in map(_label, rows):
        groups.setdefault(tuple(row[k] for k in KEY), []).append(row)
    out = []
    for key, members in groups.items():
        agg: dict[str, Any] = dict(zip(KEY, key))
        agg.update({k: members[0][k] for k in SETTINGS if k in members[0]})
        ok = [r for r in members if r.get("status") == "ok"]
        agg["seeds"] = sorted(r["seed"] for r in ok)
        if not ok:
            out.append({**agg, "status": "skipped", "reason": members[0].get("reason", "")})
            continue
        out.append({**agg, "status": "ok", **summarize_seeds(ok, MEANS)})
    return sorted(out, key=_order)


def versus_hash(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, variant, ratio) of the hot/cold methods: AUC minus the hash AUC (paired by seed: mean, std,
    standard error of the mean, seeds ahead of hash, every seed's difference) and the throughput ratio
    variant / hash (mean of the per-seed ratios)."""
    ok = {(r["model"], r["variant"], r["ratio"], r["seed"]): r for r in map(_label, rows) if r.get("status") == "ok"}
    pairs: dict[tuple, list[tuple[int, float, float]]] = {}
    methods: dict[tuple, str] = {}
    for (model, variant, ratio, seed), r in ok.items():
        base = ok.get((model, "hash", ratio, seed))
        if r["method"] in (*CAFE_METHODS, "frequency") and base is not None:
            pairs.setdefault((model, variant, ratio), []).append(
                (seed, r["auc"] - base["auc"], r["samples_per_s"] / base["samples_per_s"]))
            methods[(model, variant, ratio)] = r["method"]
    out = []
    for (model, variant, ratio), values in pairs.items():
        values.sort()
        diff, diff_std = mean_std([d for _, d, _ in values])
        out.append({"model": model, "variant": variant, "method": methods[(model, variant, ratio)], "ratio": ratio,
                    "seeds": len(values), "auc_minus_hash": diff, "auc_minus_hash_std": diff_std,
                    "auc_minus_hash_se": diff_std / len(values) ** 0.5 if len(values) > 1 else None,
                    "seeds_ahead": sum(d > 0 for _, d, _ in values),
                    "per_seed": {s: d for s, d, _ in values},
                    "throughput_vs_hash": statistics.fmean(t for _, _, t in values)})
    return sorted(out, key=_order)


def _or_na(value: float | None) -> str:
    """A 4-decimal number, or n/a (a standard error of one seed)."""
    return "n/a" if value is None else f"{value:.4f}"


def markdown_tables(agg: Sequence[dict[str, Any]], diffs: Sequence[dict[str, Any]]) -> str:
    """The per-(method, ratio) table and the CAFE-versus-hash table, in markdown."""
    head = ("| model | variant | ratio | AUC mean ± std | settings | log-loss | seeds | floats used / budget | bytes | "
            "hot rows used / H | samples/s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for a in agg:
        if a["status"] != "ok":
            lines.append(f"| {a['model']} | {a['variant']} | {a['ratio']:g} | skipped: {a['reason']} | | | | | | | |")
            continue
        hot = f"{a['hot_used']:.0f} / {a['hot_rows']:.0f}" if "hot_rows" in a else ""
        lines.append(f"| {a['model']} | {a['variant']} | {a['ratio']:g} | {a['auc_mean']:.4f} ± {a['auc_std']:.4f} | "
                     f"{describe(a)} | "
                     f"{a['logloss_mean']:.4f} | {len(a['seeds'])} | "
                     f"{a['memory_floats']:,.0f} / {a['budget_floats']:,.0f} | "
                     f"{a['memory_bytes']:,.0f} | {hot} | {a['samples_per_s']:,.0f} |")
    if diffs:
        lines += ["", "| model | variant | ratio | AUC minus hash (paired by seed: mean ± std) | standard error | "
                  "seeds ahead | per seed | throughput / hash |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {d['model']} | {d['variant']} | {d['ratio']:g} | {d['auc_minus_hash']:+.4f} ± "
                  f"{d['auc_minus_hash_std']:.4f} | {_or_na(d['auc_minus_hash_se'])} | "
                  f"{d['seeds_ahead']} of {d['seeds']} | "
                  f"{' '.join(f'{v:+.4f}' for v in d['per_seed'].values())} | "
                  f"{d['throughput_vs_hash']:.2f} |" for d in diffs]
    return "\n".join(lines) + "\n"


def plot(agg: Sequence[dict[str, Any]], path: Path) -> Path:
    """Test AUC (mean ± std over seeds) against the compression ratio (log axis), one line per method,
    ``full`` as a dashed line, one panel per model."""
    models = sorted({a["model"] for a in agg})
    fig, axes = panel_grid(len(models))
    for ax, model in zip(axes, models):
        ok = [a for a in agg if a["model"] == model and a["status"] == "ok"]
        for variant in dict.fromkeys(a["variant"] for a in ok):
            mine = [a for a in ok if a["variant"] == variant]
            pts = sorted((a["ratio"], a["auc_mean"], a["auc_std"]) for a in mine)
            if mine[0]["method"] == "full":
                dense_line(ax, pts[0][1], label="full (ratio 1)")
                continue
            xs, ys, es = zip(*pts)
            importance = mine[0].get("importance", "grad-norm")
            shown = importance if len(importance) <= 32 else importance[:30] + "..."
            label = variant if mine[0]["method"] not in CAFE_METHODS else f"{variant} ({shown})"
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=label)
        ax.set_xscale("log")
        ticks = sorted({a["ratio"] for a in ok if a["method"] != "full"})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        finish_panel(ax, model, "embedding memory / full table", legend=False)
    return save_figure(fig, path, bottom=shared_legend(fig, axes[0]))


def write_results(rows: Sequence[dict[str, Any]], out: Path, meta: dict[str, Any], notes: str = "",
                  findings: str = "") -> dict[str, Path]:
    """results.json (meta, aggregate, versus hash, rows), results.md (notes, tables, then findings),
    auc_vs_ratio.png under out."""
    out.mkdir(parents=True, exist_ok=True)
    agg, diffs = aggregate(rows), versus_hash(rows)
    paths = {"json": out / "results.json", "md": out / "results.md", "plot": out / "auc_vs_ratio.png"}
    paths["json"].write_text(json.dumps({"meta": meta, "aggregate": agg, "versus_hash": diffs, "rows": list(rows)},
                                        indent=2, default=str))
    paths["md"].write_text((notes + "\n\n" if notes else "") + markdown_tables(agg, diffs)
                           + ("\n" + findings.strip() + "\n" if findings.strip() else ""))
    plot(agg, paths["plot"])
    return paths
