"""Cost of one candidate (score, mask, evaluate, restore) against one evaluation forward pass.

    .venv/bin/python benchmarks/llm_baselines/cost.py --repeats 5      # -> cost.json

In one process and interleaved (so both see the same machine load): the evaluation forward pass
alone (the dense model on the evaluation windows), ``LLMPruneTask.score`` of a metric (what a search
pays per candidate), and the same candidate run phase by phase with the functions ``score`` uses,
each phase timed: scores of every layer, masks, zeroing, evaluation, restore.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

PHASES = ("score", "mask", "zero", "evaluate", "restore")


def phases(task, metric) -> dict[str, float]:
    """One candidate, phase by phase (the steps of LLMPruneTask.score in one-shot mode), in seconds."""
    from evaluators.llm.perplexity import window_nll_sums
    from evaluators.llm.prune import apply_masks, layer_mask, layer_scores, restore
    from primitives.compile import compile_metric

    st, cfg = task.state, task.config
    fn = compile_metric(metric)
    spent = dict.fromkeys(PHASES, 0.0)
    for layer in st.layers:
        t0 = time.perf_counter()
        scores = layer_scores(fn, layer, st.operands.get(layer.name, {}), cfg.structure)
        t1 = time.perf_counter()
        keep = layer_mask(scores, layer, cfg.sparsity, cfg.structure)
        t2 = time.perf_counter()
        apply_masks([layer], {layer.name: keep})
        t3 = time.perf_counter()
        spent["score"] += t1 - t0
        spent["mask"] += t2 - t1
        spent["zero"] += t3 - t2
    t0 = time.perf_counter()
    window_nll_sums(st.model, task.evaluation_windows(), cfg.eval_batch)
    t1 = time.perf_counter()
    restore(st.layers, st.dense)
    spent["evaluate"] = t1 - t0
    spent["restore"] = time.perf_counter() - t1
    return spent


def main() -> None:
    """Time evaluation-alone passes, candidates and phase-by-phase candidates, interleaved; write cost.json."""
    from evaluators.llm.perplexity import window_nll_sums
    from evaluators.llm.task import LLMPruneTask
    from grid import environment
    from primitives.builtins import builtin

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--metrics", default="wanda,magnitude")
    p.add_argument("--out", type=Path, default=HERE / "cost.json")
    args = p.parse_args()
    task = LLMPruneTask(group="row", sparsity=0.5)
    start = time.perf_counter()
    task.prepare()
    prepare_s = time.perf_counter() - start
    metrics = [builtin(m) for m in args.metrics.split(",")]
    alone, candidates, broken = [], {m.name: [] for m in metrics}, {m.name: [] for m in metrics}
    windows = task.evaluation_windows()
    for _ in range(args.repeats):
        for metric in metrics:
            t = time.perf_counter()
            window_nll_sums(task.state.model, windows, task.config.eval_batch)
            alone.append(time.perf_counter() - t)
            fit = task.score(metric)
            candidates[metric.name].append({"wall_s": fit.wall_s, "prune_s": fit.details["prune_s"],
                                            "eval_s": fit.details["eval_s"], "ppl": fit.value})
            broken[metric.name].append(phases(task, metric))
    eval_s = statistics.median(alone)
    summary = {}
    for name in candidates:
        wall = statistics.median(c["wall_s"] for c in candidates[name])
        split = {ph: statistics.median(b[ph] for b in broken[name]) for ph in PHASES}
        summary[name] = {"candidate_s": wall, "ratio": wall / eval_s, "phases_s": split,
                         "phases_total_ratio": sum(split.values()) / eval_s}
    result = {"settings": task.settings(), "environment": environment(), "prepare_s": prepare_s,
              "cache_hit": task.state.cache_hit, "repeats": args.repeats, "eval_alone_s": alone,
              "eval_alone_median_s": eval_s, "candidates": candidates, "phases": broken, "summary": summary,
              "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({"eval_alone_median_s": eval_s, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
