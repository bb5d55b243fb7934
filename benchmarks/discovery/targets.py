"""Recipes against Wanda and SparseGPT on held-out settings: the recipe targets of benchmarks/discovery.

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/targets.py            # resumable; rows in results/targets.jsonl
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/targets.py --report   # rewrite results/targets.md only

SmolLM2-135M, the model's dtype as the task resolves it. Every row is one (method, level, calibration
seed): calibration 16 x 512 tokens of python-docs:howto drawn with that seed, perplexity on the first
4,096 tokens of python-docs:reference; neither text was seen by the searches of run.py (they
calibrated on reviews and the Python library reference and evaluated on the tutorial). Methods:

- wanda: Wanda's score, uniform per-row sparsity (the baseline of every ratio);
- sparsegpt: the sequential SparseGPT with its OBS update (``LLMPruneTask.sparsegpt_perplexity``);
- sparsegpt_obs: the one-shot recipe (SparseGPT's score and update, masks from the dense model);
- wanda+ls: Wanda's masks and the least-squares update of the kept weights (``post=ls``);
- owl_wanda, dsnot_wanda: the built-in recipes without weight update;
- evolved alloc (+ dsnot): the allocation search's winner, without and with DSnoT's refinement;
- wanda+swap, joint recipe, wide s1 + swap: Wanda's masks and the wide-s1 recipe refined by the swap
  step (greedy swaps on each row's exact output error, no weight update);
- joint recipe, joint recipe, wide s1: the winners of the joint score + allocation searches at 50%
  (run.py's recipe50 and recipe50-wide-s1), also at 70%: does a recipe found at 50% hold there?

Ratios are paired: each method's perplexity over Wanda's on the same draw and level, geometric mean
over draws, with the standard error of the mean log ratio. Recipes with a weight update are listed
apart from those without.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
RESULTS = HERE / "results" / "targets.jsonl"
EVOLVED_ALLOC = "recipe(score=wanda, alloc=abs(zsn(depth)), unit=block)"  # results.md, allocation search
JOINT = "recipe(score=add(mul(G, abs(W)), mul(X, abs(W))), alloc=abs(zsn(depth)), unit=block)"  # recipe50 search
JOINT_WIDE = ("recipe(score=mul(X, add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W))))), "
              "alloc=abs(log(depth)), unit=block)")  # recipe50-wide-s1 search
JOINT_WIDE_SWAP = ("recipe(score=mul(X, add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W))))), "
                   "alloc=abs(log(depth)), unit=block, post=swap)")  # the same with the swap step
METHODS = {  # name -> (recipe text or a method word, updates weights)
    "wanda": ("wanda", False),
    "owl_wanda": ("owl_wanda", False),
    "dsnot_wanda": ("dsnot_wanda", False),
    "evolved alloc": (EVOLVED_ALLOC, False),
    "evolved alloc + dsnot": ("recipe(score=wanda, alloc=abs(zsn(depth)), unit=block, post=dsnot)", False),
    "joint recipe": (JOINT, False),
    "joint recipe, wide s1": (JOINT_WIDE, False),
    "wanda+swap": ("swap_wanda", False),
    "joint recipe, wide s1 + swap": (JOINT_WIDE_SWAP, False),
    "wanda+ls": ("recipe(score=wanda, post=ls)", True),
    "sparsegpt_obs": ("sparsegpt_obs", True),
    "sparsegpt": ("sparsegpt", True),  # the sequential algorithm, not a recipe
}
LEVELS = {"0.5": list(METHODS), "0.7": ["wanda", "owl_wanda", "dsnot_wanda", "evolved alloc", "evolved alloc + dsnot",
                                         "joint recipe", "joint recipe, wide s1", "wanda+swap",
                                         "joint recipe, wide s1 + swap"],
          "2:4": ["wanda", "wanda+swap", "wanda+ls", "sparsegpt_obs", "sparsegpt"]}
SETTINGS = {"calib_source": "python-docs:howto", "eval_source": "python-docs:reference", "eval_tokens": 4096,
            "calib_windows": 16, "calib_length": 512}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2", help="calibration draws")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--method", action="append", dest="methods", metavar="NAME",
                   help="measure only this method (repeatable; default: every method)")
    p.add_argument("--level", action="append", dest="levels", choices=list(LEVELS),
                   help="measure only this level (repeatable; default: every level)")
    p.add_argument("--report", action="store_true", help="only rewrite the .md from the stored rows")
    return p.parse_args()


def level_options(level: str) -> dict:
    """Task options of a level: an N:M group, or a per-row sparsity."""
    return {"group": level} if ":" in level else {"group": "row", "sparsity": float(level)}


def measure(task, method: str):
    """The Fitness of one method on a prepared task."""
    from primitives.reference import resolve_recipe

    text = METHODS[method][0]
    if text == "sparsegpt":
        return task.sparsegpt_perplexity()
    return task.score_recipe(resolve_recipe(text))


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def run(args: argparse.Namespace) -> None:
    """Measure every missing (seed, level, method) row, appending each as soon as it is measured."""
    from evaluators.llm.task import LLMPruneTask
    from gp_engine.env import hardware, library_versions

    done = {(r["method"], r["level"], r["seed"]) for r in load_rows(args.results)}
    chosen = None if args.methods is None else set(args.methods)
    if chosen is not None and chosen - set(METHODS):
        raise SystemExit(f"unknown method(s): {', '.join(sorted(chosen - set(METHODS)))}; known: {', '.join(METHODS)}")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        todo = [(level, m) for level, methods in LEVELS.items() for m in methods
                if (m, level, seed) not in done and (chosen is None or m in chosen)
                and (args.levels is None or level in args.levels)]
        if not todo:
            continue
        base = LLMPruneTask(**SETTINGS, calib_seed=seed)
        base.prepare()
        for level, method in todo:
            task = base.variant(**level_options(level))
            fit = measure(task, method)
            row = {"method": method, "level": level, "seed": seed, "text": METHODS[method][0],
                   "updates_weights": METHODS[method][1], "ppl": fit.value if fit.ok else None, "ok": fit.ok,
                   "reason": fit.reason, "wall_s": fit.wall_s, "sparsity": fit.details.get("sparsity"),
                   "settings": task.settings(), "hardware": hardware(), "versions": library_versions(),
                   "date": time.strftime("%Y-%m-%d %H:%M:%S")}
            with args.results.open("a") as sink:
                sink.write(json.dumps(row, default=str) + "\n")
            print(f"seed {seed} {level:4s} {method:22s} ppl {fit.value:9.3f}  {fit.wall_s:6.1f} s", flush=True)


def paired_ratio(logs: list[float]) -> str:
    """'ratio (log se s)': the geometric mean of paired ratios from their logs, '-' without pairs."""
    if not logs:
        return "-"
    se = statistics.stdev(logs) / math.sqrt(len(logs)) if len(logs) > 1 else 0.0
    return f"{math.exp(statistics.mean(logs)):.3f} (log se {se:.3f})"


def measure_and_report(args: argparse.Namespace, run_rows, report_rows) -> None:
    """Measure the missing rows (unless ``--report``), then write and print the .md beside the rows."""
    if not args.report:
        run_rows(args)
    text = report_rows(args.results)
    args.results.with_suffix(".md").write_text(text)
    print(text)


def results_flag(path: Path) -> str:
    """The ``--results`` option that names a results file other than the default ('' for the default)."""
    if path.resolve() == RESULTS.resolve():
        return ""
    try:
        return f" --results {path.resolve().relative_to(HERE.parents[1])}"
    except ValueError:
        return f" --results {path}"


def report(path: Path) -> str:
    """Mean +- standard error per (level, method) and the paired ratio to Wanda."""
    rows = [r for r in load_rows(path) if r["ok"]]
    ppl = {(r["method"], r["level"], r["seed"]): r["ppl"] for r in rows}
    first = rows[0] if rows else {}
    s = first.get("settings", {})
    lines = ["# Recipes against Wanda and SparseGPT, held out", "",
             f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/discovery/targets.py{results_flag(path)}` "
             f"(rows in `{path.name}`).",
             f"SmolLM2-135M, {s.get('dtype')} on {s.get('device')}; calibration {s.get('calib_windows')} x "
             f"{s.get('calib_length')} tokens of {s.get('calib_source')} (one draw per seed), perplexity on the first "
             f"{s.get('eval_tokens')} tokens of {s.get('eval_source')}. Hardware: {first.get('hardware')}.", "",
             "Ratio: the method's perplexity over Wanda's on the same draw and level, geometric mean over draws "
             "(standard error of the mean log ratio).", ""]
    for level, methods in LEVELS.items():
        label = "2:4" if level == "2:4" else f"{float(level):.0%} per row"
        for update in (False, True):
            chosen = [m for m in methods if METHODS[m][1] == update or m == "wanda"]
            if len(chosen) < 2:
                continue
            lines += [f"## {label}, {'with a weight update' if update else 'no weight update'}", "",
                      "| method | recipe | draws | perplexity per draw | mean +- se | ratio to wanda |",
                      "|---|---|---|---|---|---|"]
            for m in chosen:
                seeds = sorted(seed for (mm, lv, seed) in ppl if mm == m and lv == level)
                values = [ppl[m, level, seed] for seed in seeds]
                if not values:
                    continue
                mean = statistics.mean(values)
                se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
                logs = [math.log(ppl[m, level, seed] / ppl["wanda", level, seed]) for seed in seeds
                        if ("wanda", level, seed) in ppl]
                ratio = paired_ratio(logs)
                lines.append(f"| {m} | `{METHODS[m][0]}` | {len(values)} | {', '.join(f'{v:.2f}' for v in values)} | "
                             f"{mean:.2f} +- {se:.2f} | {ratio} |")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    measure_and_report(parse_args(), run, report)


if __name__ == "__main__":
    main()
