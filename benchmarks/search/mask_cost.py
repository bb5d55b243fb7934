"""Seconds to mask a candidate (scores, masks, zeroing, exact restore; for a recipe also its
allocation and DSnoT's refinement) on SmolLM2-135M, against one 512-token evaluation window: the
cost a search pays per candidate on its cheapest rung.

    PYTHONPATH=. .venv/bin/python benchmarks/search/mask_cost.py --base HEAD~1 > benchmarks/search/results/mask_cost.md

With ``--base REV`` the same measurement also runs on a checkout of REV (a temporary git worktree),
the two alternating in separate processes, so the ratio compares code measured in the same run.
Prepared state: calibration reviews (16 x 512 tokens), evaluation python-docs:tutorial; the
operand cache is shared, so only masking and evaluation are timed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("mul(X, abs(W))", "mul(add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W)))), sqrt(X))")
GROUPS = ("row", "2:4")
RECIPES = ("recipe(score=wanda, alloc=abs(zsn(depth)), unit=block, post=dsnot)",)  # at 50% per row

CHILD = r"""
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
from evaluators.llm.task import LLMPruneTask
from evaluators.llm.perplexity import window_nll_sums
from evaluators.llm.prune import prune_oneshot, restore
from evaluators.llm.recipe.recipe import apply_recipe
from primitives.compile import compile_metric
from primitives.metric import Metric
from primitives.reference import resolve_recipe


def best_of_three(prune, layers, dense):
    times = []
    for _ in range(4):  # the first warms up
        start = time.perf_counter()
        prune()
        restore(layers, dense)
        times.append(time.perf_counter() - start)
    return min(times[1:])


out = {}
for group in json.loads(sys.argv[3]):
    task = LLMPruneTask(sparsity=0.5, group=group, calib_source="reviews", calib_windows=16, calib_length=512,
                        eval_source="python-docs:tutorial", eval_tokens=512, mode="oneshot")
    task.prepare()
    st = task.state
    for text in json.loads(sys.argv[2]):
        metric = Metric.parse(text)
        fn, ops = compile_metric(metric), st.operands_for(tuple(metric.operands))
        out[f"{group} {text}"] = best_of_three(
            lambda: prune_oneshot(fn, st.layers, ops, task.config.sparsity, task.config.structure), st.layers, st.dense)
    if group == "row":
        for text in json.loads(sys.argv[4]):
            recipe = resolve_recipe(text)
            out[f"{group} {text}"] = best_of_three(lambda: apply_recipe(task, recipe), st.layers, st.dense)
    start = time.perf_counter()
    for _ in range(3):
        window_nll_sums(st.model, st.eval[:1])
    out[f"{group} window"] = (time.perf_counter() - start) / 3
print(json.dumps({"dtype": str(next(st.model.parameters()).dtype), "seconds": out}))
"""


def measure(checkout: Path, threads: int) -> dict:
    """The model dtype, and seconds per masking (best of three after a warm-up) and per evaluation
    window, from a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(threads), json.dumps(METRICS), json.dumps(GROUPS),
                           json.dumps(RECIPES)],
                          env=env, capture_output=True, text=True, cwd=checkout)
    if done.returncode:
        raise SystemExit(f"measurement in {checkout} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", help="a git revision to measure beside this checkout")
    p.add_argument("--repeats", type=int, default=2, help="alternating rounds")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    args = p.parse_args()
    arms: dict[str, Path] = {"this checkout": ROOT}
    with tempfile.TemporaryDirectory(prefix="mask-cost-") as tmp:
        if args.base:
            base = Path(tmp) / "base"
            subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True,
                           capture_output=True)
            arms = {f"base {args.base}": base, **arms}
        try:
            runs: dict[str, list[dict]] = {name: [] for name in arms}
            for _ in range(args.repeats):
                for name, checkout in arms.items():
                    runs[name].append(measure(checkout, args.threads))
        finally:
            if args.base:
                subprocess.run(["git", "worktree", "remove", "--force", str(Path(tmp) / "base")], cwd=ROOT)
    first = next(iter(runs.values()))[0]
    keys = list(first["seconds"])
    median = {name: {k: statistics.median(r["seconds"][k] for r in rs) for k in keys} for name, rs in runs.items()}
    names = list(arms)
    print("# Masking cost per candidate against one evaluation window (SmolLM2-135M, 50%)\n")
    print(f"Command: `PYTHONPATH=. python benchmarks/search/mask_cost.py{' --base ' + args.base if args.base else ''}`; "
          f"{args.repeats} alternating rounds, median of the rounds (each the best of three maskings after a "
          f"warm-up); {args.threads} threads; model {first['dtype']} ({platform.machine()}, "
          f"{os.cpu_count()} cores). Calibration reviews 16 x 512, one 512-token window of python-docs:tutorial.\n")
    head = " | ".join(f"{n} (s)" for n in names)
    print(f"| group, what | {head} |" + (" ratio |" if len(names) == 2 else ""))
    print("|---|" + "---|" * len(names) + ("---|" if len(names) == 2 else ""))
    for k in keys:
        cells = " | ".join(f"{median[n][k]:.3f}" for n in names)
        ratio = f" {median[names[1]][k] / median[names[0]][k]:.2f}x |" if len(names) == 2 else ""
        print(f"| `{k}` | {cells} |{ratio}")


if __name__ == "__main__":
    main()
