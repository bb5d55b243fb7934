"""The sampled reconstruction proxy on low-rank Gram matrices: its cost and how well it still ranks like perplexity.

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/proxy_rank.py               # ranks 0 (exact), 16, 32, 64
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/proxy_rank.py --ranks 0,32
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/proxy_rank.py --recipes 0.5   # recipe_proxy.py's recipes at 50%

The candidates and their perplexities are those of ``proxy_correlation.py`` (its results file, same
task settings: SmolLM2-135M, 50% per row, reviews calibration, 4,096 tokens of the Python tutorial).
Each candidate is scored again by the sampled proxy (64 seeded rows per layer) with the task option
``proxy_rank`` = r: every Gram matrix X^T X replaced by its best rank-r approximation, so an error
costs rows x in x r instead of rows x in^2. Reported per rank: Spearman with perplexity and with the
exact proxy, what a screen keeping the best third or sixth keeps of perplexity's best, seconds per
candidate, and the one-time cost of the factors. Written to results/proxy_rank.{json,md}. With
``--recipes S`` the candidates are the recipes of ``recipe_proxy.py`` at sparsity S (allocation, masks
and post-mask step on the sampled rows), written to results/proxy_rank_recipes_S.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def parse_args() -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", default="0,16,32,64", help="Gram ranks to compare (0: exact)")
    p.add_argument("--rows", type=int, default=64, help="output rows per layer of the sampled proxy")
    p.add_argument("--recipes", type=float, default=None, metavar="SPARSITY",
                   help="the recipes of recipe_proxy.py at this sparsity instead of proxy_correlation.py's formulas")
    return p.parse_args()


def load_candidates(path: Path, key: str, rows: int) -> list[dict[str, Any]]:
    """(text, perplexity) of the candidates recorded under these settings with a finite perplexity and proxy."""
    if not path.is_file():
        sys.exit(f"error: {path} not found: run the benchmark that writes it first")
    found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    found = [{"text": r.get("formula") or r["text"], "perplexity": r["perplexity"]["value"]} for r in found
             if r["settings_key"] == key and r.get("rows") == rows
             and (r["sampled"]["ok"] if "sampled" in r else r["errors"] is not None)
             and r["perplexity"]["value"] is not None and math.isfinite(r["perplexity"]["value"])]
    if not found:
        sys.exit(f"error: {path} holds no candidate under settings {key} with {rows} rows")
    return found


def kept(proxy: list[float], ppl: list[float], share: float, best: int = 10) -> tuple[float, bool]:
    """(share of perplexity's ``best`` candidates, whether its best one) a screen keeping the proxy's
    best ``share`` keeps."""
    keep = set(sorted(range(len(proxy)), key=proxy.__getitem__)[:math.ceil(share * len(proxy))])
    order = sorted(range(len(ppl)), key=ppl.__getitem__)
    return sum(i in keep for i in order[:best]) / best, order[0] in keep


def score_rank(task: Any, rank: int, rows: int, candidates: list[dict[str, Any]], recipes: bool) -> dict[str, Any]:
    """Every candidate's sampled proxy at one Gram rank, through the task (as a search scores it)."""
    from primitives.metric import Metric
    from primitives.reference import resolve_recipe

    sampled = task.variant(fitness="reconstruction", proxy_rows=rows, proxy_rank=rank)
    start = time.perf_counter()
    sampled.state.reconstruction(rank)  # the factors (one randomized SVD per distinct Gram matrix)
    setup_s = time.perf_counter() - start
    values, seconds = [], []
    for row in candidates:
        start = time.perf_counter()
        fit = sampled.score_recipe(resolve_recipe(row["text"])) if recipes else sampled.score(Metric.parse(row["text"]))
        seconds.append(time.perf_counter() - start)
        values.append(fit.value if fit.ok else math.inf)
    return {"rank": rank, "values": values, "seconds": seconds, "setup_s": setup_s}


def summarise(runs: list[dict[str, Any]], ppl: list[float]) -> list[dict[str, Any]]:
    """Per rank: Spearman with perplexity and with the exact proxy, screens, seconds per candidate."""
    from scipy.stats import spearmanr

    exact = next((r["values"] for r in runs if r["rank"] == 0), None)
    out = []
    for run in runs:
        third, best_third = kept(run["values"], ppl, 1 / 3)
        sixth, best_sixth = kept(run["values"], ppl, 1 / 6)
        out.append({"rank": run["rank"], "spearman_ppl": float(spearmanr(run["values"], ppl)[0]),
                    "spearman_exact": float(spearmanr(run["values"], exact)[0]) if exact else None,
                    "best10_in_third": third, "best_in_third": best_third,
                    "best10_in_sixth": sixth, "best_in_sixth": best_sixth,
                    "median_s": statistics.median(run["seconds"]), "mean_s": statistics.fmean(run["seconds"]),
                    "setup_s": run["setup_s"]})
    return out


def markdown(report: dict[str, Any]) -> str:
    """The ranks side by side."""
    s = report["settings"]
    exact = next((r for r in report["summary"] if r["rank"] == 0), None)
    lines = [f"# The sampled proxy on low-rank Gram matrices: {report['kind']}", "",
             f"Command: `{report['command']}` ({report['date']}; {report['hardware']}, {report['threads']} torch "
             f"threads). {report['candidates']} candidates of `{report['source']}` with their recorded "
             f"perplexity ({s['eval_tokens']} tokens of {s['eval_source']}); {s['model']}, {s['dtype']} on "
             f"{s['device']}, {s['sparsity']:.0%} per {s['group']}, calibration {s['calib_windows']} x "
             f"{s['calib_length']} tokens of {s['calib_source']} (seed {s['seed']}); {report['rows']} seeded rows "
             "per layer.", "",
             "| Gram rank | Spearman with perplexity | Spearman with the exact proxy | perplexity's best 10 kept "
             "by the best third / sixth | its best kept (third / sixth) | s per candidate (median / mean) | "
             "vs exact | factors, once |", "|---|---|---|---|---|---|---|---|"]
    for r in report["summary"]:
        speed = f"{exact['median_s'] / r['median_s']:.2f}x" if exact else "-"
        lines.append(f"| {r['rank'] or 'exact'} | {r['spearman_ppl']:.3f} | "
                     f"{'-' if r['spearman_exact'] is None else format(r['spearman_exact'], '.4f')} | "
                     f"{r['best10_in_third']:.0%} / {r['best10_in_sixth']:.0%} | "
                     f"{'yes' if r['best_in_third'] else 'no'} / {'yes' if r['best_in_sixth'] else 'no'} | "
                     f"{r['median_s']:.3f} / {r['mean_s']:.3f} | {speed} | {r['setup_s']:.1f} s |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    import torch

    from evaluators.llm.task import LLMPruneTask
    from gp_engine.env import hardware
    from registry import settings_key

    sparsity = 0.5 if args.recipes is None else args.recipes
    source = RESULTS / ("proxy_correlation.jsonl" if args.recipes is None else f"recipe_proxy_{sparsity:g}.jsonl")
    out = RESULTS / ("proxy_rank.json" if args.recipes is None else f"proxy_rank_recipes_{sparsity:g}.json")
    task = LLMPruneTask(eval_tokens=4096, sparsity=sparsity, group="row")
    settings = task.settings()
    candidates = load_candidates(source, settings_key(settings), args.rows)
    task.prepare()
    task.state.operands  # every operand and the exact Gram matrices before any timing
    task.state.reconstruction()
    runs = []
    for rank in (int(r) for r in args.ranks.split(",")):
        runs.append(score_rank(task, rank, args.rows, candidates, args.recipes is not None))
        print(f"rank {rank}: {statistics.median(runs[-1]['seconds']):.3f} s per candidate", flush=True)
    ppl = [row["perplexity"] for row in candidates]
    report = {"command": " ".join(["PYTHONPATH=. .venv/bin/python", *sys.argv]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "source": source.name,
              "kind": "formulas" if args.recipes is None else f"recipes at {sparsity:.0%}",
              "settings": settings, "hardware": hardware(), "threads": torch.get_num_threads(), "rows": args.rows,
              "candidates": len(candidates), "summary": summarise(runs, ppl),
              "values": {str(r["rank"]): r["values"] for r in runs}, "texts": [c["text"] for c in candidates]}
    out.write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report)
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
