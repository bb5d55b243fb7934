"""Tables (markdown + JSON) and plots (matplotlib, Agg) of a granularity study."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from reporting.json_safe import json_safe

__all__ = ["markdown", "plot", "write_results"]


def _fmt(value: Any, quality: str) -> str:
    """A quality cell: accuracy to 3 decimals, perplexity to 2, failures as 'fail'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "fail"
    return f"{value:.3f}" if quality == "accuracy" else f"{value:.2f}"


def quality_table(rows: list[dict[str, Any]]) -> str:
    """Quality per (metric, granularity) row and sparsity column."""
    sparsities = sorted({r["sparsity"] for r in rows})
    quality = rows[0]["quality_name"]
    lines = [f"| metric | granularity | {' | '.join(f'{s:g}' for s in sparsities)} |",
             "|---|---|" + "---|" * len(sparsities)]
    keys = list(dict.fromkeys((r["metric"], r["granularity"]) for r in rows))
    for metric, gran in keys:
        cells = {r["sparsity"]: _fmt(r["quality"] if r["ok"] else None, quality) for r in rows
                 if (r["metric"], r["granularity"]) == (metric, gran)}
        lines.append(f"| {metric} | {gran} | " + " | ".join(cells.get(s, "") for s in sparsities) + " |")
    return "\n".join(lines)


def storage_table(rows: list[dict[str, Any]]) -> str:
    """Storage of the first metric's masks (byte counts depend on the sparsity and the groups only)."""
    first = rows[0]["metric"]
    lines = ["| granularity | sparsity | format | bytes | / dense | indices | element CSR bytes | index ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["metric"] != first or "storage" not in r:
            continue
        st, csr = r["storage"], r["element_csr"]
        lines.append(f"| {r['granularity']} | {r['actual_sparsity']:.3f} | {st['format']} | {st['total_bytes']} | "
                     f"{st['ratio']:.3f} | {st['indices']} | {csr['total_bytes']} | {r['index_ratio']:.3f} |")
    dense = next((r["storage"]["dense_bytes"] for r in rows if "storage" in r), None)
    return "\n".join(lines) + (f"\n\nDense: {dense} bytes." if dense else "")


def markdown(result: dict[str, Any], title: str = "Granularity study") -> str:
    """Both tables with a header naming the task, dense quality and settings."""
    rows = result["rows"]
    if not rows:
        return f"# {title}\n\nNo rows.\n"
    cfg = result["config"]
    head = (f"# {title}\n\nTask {cfg['task']}, {rows[0]['quality_name']} (dense {_fmt(rows[0]['dense_quality'], rows[0]['quality_name'])}), "
            f"aggregate {cfg['aggregate']}, fine-tune steps {cfg['fine_tune_steps']}.\n")
    return f"{head}\n## Quality\n\n{quality_table(rows)}\n\n## Storage\n\n{storage_table(rows)}\n"


def plot(result: dict[str, Any], folder: Path, prefix: str = "") -> list[Path]:
    """quality_vs_sparsity.png and quality_vs_storage.png: one panel per metric (named by built-in name
    or formula, three to a row, one shared quality axis), a line per granularity, the dense model dashed."""
    from reporting.figures import dense_line, metric_label, panel_grid, save_figure

    rows = [r for r in result["rows"] if r["ok"]]
    metrics = list(dict.fromkeys(r["metric"] for r in result["rows"]))
    if not rows or not metrics:
        return []
    formulas = {m["hash"]: m["text"] for m in result.get("metrics", []) if "hash" in m}
    hashes = {r["metric"]: r.get("hash") for r in result["rows"]}
    quality = rows[0]["quality_name"]
    paths = []
    for name, xkey in (("quality_vs_sparsity", "actual_sparsity"), ("quality_vs_storage", "ratio")):
        fig, axes = panel_grid(len(metrics), sharex=True)
        for ax, metric in zip(axes, metrics):
            for gran in dict.fromkeys(r["granularity"] for r in rows):
                pts = sorted((r["storage"]["ratio"] if xkey == "ratio" else r["actual_sparsity"], r["quality"])
                             for r in rows if r["metric"] == metric and r["granularity"] == gran and "storage" in r)
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=gran)
            dense = [r["dense_quality"] for r in rows if r["metric"] == metric and r.get("dense_quality") is not None]
            if dense:
                dense_line(ax, sum(dense) / len(dense))
            ax.set_title(metric_label(metric, formulas.get(hashes.get(metric) or ""), 44), fontsize=10)
            ax.set_xlabel("bytes / dense bytes" if xkey == "ratio" else "sparsity")
            ax.set_ylabel(quality)
            if quality == "perplexity":
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        paths.append(save_figure(fig, folder / f"{prefix}{name}.png"))
    return paths


def write_results(result: dict[str, Any], out: Path, title: str = "Granularity study", prefix: str = "") -> dict[str, Any]:
    """results.json, results.md and the plots under out; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{prefix}results.json", out / f"{prefix}results.md"
    json_path.write_text(json.dumps(json_safe(result), indent=1, default=str))
    md_path.write_text(markdown(result, title))
    return {"json": json_path, "md": md_path, "plots": plot(result, out, prefix)}
