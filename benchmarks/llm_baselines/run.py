"""Published pruning metrics on SmolLM2-135M: perplexity at 50% and 2:4, and the cost of one candidate.

    .venv/bin/python benchmarks/llm_baselines/run.py            # writes results.json and metrics.md here

Every metric is scored per output row; magnitude and RIA also per layer (their papers' group).
SparseGPT appears twice: its saliency as a metric (no weight update) and the full algorithm
(sequential, OBS weight update). The candidate cost is score + mask + evaluation + restore,
divided by the evaluation forward pass alone, both measured in this run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

METRICS = ("magnitude", "wanda", "ria", "gblm", "pruner_zero", "sparsegpt")


def parse_args() -> argparse.Namespace:
    """Command-line options (defaults: the configuration of the recorded results)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calib-windows", type=int, default=16)
    p.add_argument("--calib-length", type=int, default=512)
    p.add_argument("--eval-tokens", type=int, default=8192)
    p.add_argument("--eval-length", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--out", type=Path, default=HERE)
    p.add_argument("--skip-sparsegpt", action="store_true", help="skip the weight-updating SparseGPT runs")
    return p.parse_args()


def environment() -> dict:
    """Versions and hardware the figures were measured on."""
    import torch
    import transformers

    return {"load_average": os.getloadavg(), "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def row(method: str, group: str, fit, eval_alone: float) -> dict:
    """One result line."""
    return {"method": method, "group": group, "sparsity": fit.details.get("sparsity"), "ppl": fit.value,
            "ok": fit.ok, "reason": fit.reason, "candidate_s": fit.wall_s, "eval_s": fit.details.get("eval_s"),
            "prune_s": fit.details.get("prune_s"), "cost_ratio": fit.wall_s / eval_alone}


def markdown(results: dict) -> str:
    """metrics.md: configuration, table and candidate cost."""
    lines = ["# LLM pruning baselines: SmolLM2-135M", "", "Configuration:", "", "```json",
             json.dumps(results["settings"], indent=1), "```", "",
             f"Environment: `{json.dumps(results['environment'])}`", "",
             "| method | group | sparsity | perplexity | candidate s | cost / eval |", "|---|---|---|---|---|---|"]
    for r in results["rows"]:
        ppl = f"{r['ppl']:.2f}" if r["ok"] else f"failed: {r['reason']}"
        sp = "" if r["sparsity"] is None else f"{r['sparsity']:.4f}"
        lines.append(f"| {r['method']} | {r['group']} | {sp} | {ppl} | {r['candidate_s']:.1f} | {r['cost_ratio']:.2f}x |")
    c = results["cost"]
    lines += ["", f"Evaluation forward pass alone: {c['eval_alone_s']:.2f} s (median of {len(c['eval_runs_s'])} runs).",
              (f"One candidate (score + mask + evaluation + restore), metrics in one-shot mode: median "
               f"{c['candidate_median_s']:.2f} s = {c['ratio_median']:.2f}x the evaluation (target < 1.25x); "
               f"Wanda per row {c['wanda_ratio']:.2f}x."),
              (f"Prepare (model, data, operands; cache hit: {results['prepare']['cache_hit']}): "
               f"{results['prepare']['seconds']:.1f} s."), ""]
    return "\n".join(lines)


def main() -> None:
    """Run every baseline and write results.json and metrics.md."""
    from evaluators.llm.task import LLMPruneTask
    from primitives.builtins import NATIVE_GROUP, builtin

    args = parse_args()
    task = LLMPruneTask(calib_windows=args.calib_windows, calib_length=args.calib_length, eval_tokens=args.eval_tokens,
                        eval_length=args.eval_length, seed=args.seed, dtype=args.dtype, group="row", sparsity=0.5)
    start = time.perf_counter()
    task.prepare()
    prepare = {"seconds": time.perf_counter() - start, "cache_hit": task.state.cache_hit}
    eval_runs, rows = [], []

    def timed_dense() -> float:
        t = time.perf_counter()
        ppl = task.dense_perplexity()
        eval_runs.append(time.perf_counter() - t)
        return ppl

    dense = timed_dense()
    print(f"dense ppl {dense:.3f}  eval {eval_runs[-1]:.1f} s  prepare {prepare['seconds']:.1f} s", flush=True)
    plan = [(m, "row") for m in METRICS] + [(m, NATIVE_GROUP[m]) for m in METRICS if NATIVE_GROUP[m] != "row"]
    plan += [(m, "2:4") for m in METRICS]
    fits = []
    for name, group in plan:
        fit = task.variant(group=group).score(builtin(name))
        fits.append((name, group, fit))
        timed_dense()  # interleaved so evaluation-alone timings see the same machine load
        print(f"{name:12s} {group:6s} ppl {fit.value:10.3f}  {fit.wall_s:6.1f} s  {fit.reason or ''}", flush=True)
    eval_alone = statistics.median(eval_runs)
    rows.append({"method": "dense", "group": "-", "sparsity": 0.0, "ppl": dense, "ok": True, "reason": None,
                 "candidate_s": eval_runs[0], "eval_s": eval_runs[0], "prune_s": 0.0, "cost_ratio": eval_runs[0] / eval_alone})
    rows += [row(n, g, f, eval_alone) for n, g, f in fits]
    if not args.skip_sparsegpt:
        for group in ("layer", "2:4"):
            fit = task.variant(group=group).sparsegpt_perplexity()
            label = "128-col block" if group == "layer" else group
            rows.append(row("SparseGPT (OBS update)", label, fit, eval_alone))
            print(f"SparseGPT    {label:6s} ppl {fit.value:10.3f}  {fit.wall_s:6.1f} s", flush=True)
    walls = [f.wall_s for _, _, f in fits if f.ok]
    wanda = next(f for n, g, f in fits if n == "wanda" and g == "row")
    cost = {"eval_alone_s": eval_alone, "eval_runs_s": eval_runs, "candidate_median_s": statistics.median(walls),
            "ratio_median": statistics.median(walls) / eval_alone, "wanda_ratio": wanda.wall_s / eval_alone}
    results = {"settings": task.settings(), "environment": environment(), "prepare": prepare, "rows": rows,
               "cost": cost, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    (args.out / "metrics.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
