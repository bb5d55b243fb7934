"""Summaries of the granularity benchmark: means over seeds, the published ordering, index savings."""
from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

LADDER = ("element", "vector", "kernel", "filter")
TOL = 0.005  # 3 of the 594 test images: differences below it are ties


def mean_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (regime, metric, granularity, sparsity): mean and std of quality over seeds."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["regime"], r["metric"], r["granularity"], r["sparsity"])].append(r)
    out = []
    for (regime, metric, gran, sparsity), rs in groups.items():
        ok = [r for r in rs if r["ok"]]
        qs = [r["quality"] for r in ok]
        first = ok[0] if ok else rs[0]
        out.append({**first, "regime": regime, "quality": statistics.fmean(qs) if qs else None,
                    "quality_std": statistics.pstdev(qs) if len(qs) > 1 else 0.0, "seeds": len(qs),
                    "ok": bool(qs), "actual_sparsity": statistics.fmean(r["actual_sparsity"] for r in ok) if ok else None})
    return out


def ordering(means: list[dict[str, Any]], higher_is_better: bool = True) -> list[dict[str, Any]]:
    """Per (regime, metric, sparsity): the qualities along the ladder and which published claims hold."""
    table: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in means:
        if r["ok"] and r["granularity"] in LADDER:
            table[(r["regime"], r["metric"], r["sparsity"])][r["granularity"]] = r["quality"]
    out = []
    sign = 1.0 if higher_is_better else -1.0
    for (regime, metric, sparsity), q in sorted(table.items()):
        if set(q) != set(LADDER):
            continue
        d = {k: sign * q[k] for k in LADDER}
        out.append({"regime": regime, "metric": metric, "sparsity": sparsity, **q,
                    "fine>=vector": d["element"] >= d["vector"] - TOL,
                    "vector>kernel": d["vector"] > d["kernel"] + TOL,
                    "vector>=kernel": d["vector"] >= d["kernel"] - TOL,
                    "kernel>>filter": d["kernel"] - d["filter"] >= 0.02,
                    "full": (d["element"] >= d["vector"] - TOL and d["vector"] >= d["kernel"] - TOL
                             and d["kernel"] - d["filter"] >= 0.02)})
    return out


def ordering_markdown(rows: list[dict[str, Any]]) -> str:
    """The ordering table plus per-claim counts."""
    if not rows:
        return "No complete ladders."
    lines = ["| regime | metric | sparsity | element | vector | kernel | filter | e>=v | v>k | v>=k | k>>f |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        marks = " | ".join("yes" if r[k] else "no" for k in ("fine>=vector", "vector>kernel", "vector>=kernel", "kernel>>filter"))
        lines.append(f"| {r['regime']} | {r['metric']} | {r['sparsity']:g} | " +
                     " | ".join(f"{r[g]:.3f}" for g in LADDER) + f" | {marks} |")
    n = len(rows)
    counts = {k: sum(r[k] for r in rows) for k in ("fine>=vector", "vector>kernel", "vector>=kernel", "kernel>>filter", "full")}
    lines.append("")
    lines.append(f"Claims holding (of {n} ladders; ties within {TOL}): " +
                 ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
    return "\n".join(lines)


def index_saving(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per granularity (first seed, first metric, one-shot): indices and bytes against element CSR."""
    out, seen = [], set()
    for r in rows:
        key = (r["granularity"], r["sparsity"])
        if "storage" not in r or key in seen or r["regime"] != rows[0]["regime"] or r["metric"] != rows[0]["metric"]:
            continue
        seen.add(key)
        st, csr = r["storage"], r["element_csr"]
        out.append({"granularity": r["granularity"], "sparsity": r["sparsity"], "format": st["format"],
                    "indices": st["indices"], "csr_indices": csr["indices"], "index_ratio": r["index_ratio"],
                    "bytes": st["total_bytes"], "csr_bytes": csr["total_bytes"], "dense_bytes": st["dense_bytes"],
                    "index_bytes": st["index_bytes"], "csr_index_bytes": csr["index_bytes"]})
    return out


def index_markdown(rows: list[dict[str, Any]]) -> str:
    """The index-saving table."""
    lines = ["| granularity | sparsity | format | indices | element-CSR indices | ratio | index bytes | "
             "CSR index bytes | bytes | CSR bytes | dense bytes |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['granularity']} | {r['sparsity']:g} | {r['format']} | {r['indices']} | {r['csr_indices']} | "
                     f"{r['index_ratio']:.3f} | {r['index_bytes']} | {r['csr_index_bytes']} | {r['bytes']} | "
                     f"{r['csr_bytes']} | {r['dense_bytes']} |")
    return "\n".join(lines)
