"""Tune the search's own settings with Optuna, then check the tuned settings against the defaults
on fresh seeds (never used while tuning) at the same budget of scored metrics.

    python benchmarks/data_efficiency/tune_search.py [--tasks mlp-prune cnn-prune] [--trials 24]
        [--budget 200] [--tune-seeds 0 1] [--eval-seeds 100 101 102 103 104]

Writes tune_results.json, tune_results.md (tune_markdown.py renders it) and tune_best_<task>.toml
next to this file. The study, registry and runs go to work/tune/ (deleted first: a fresh registry).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from gp_engine.config import SearchConfig  # noqa: E402
from gp_engine.env import library_versions  # noqa: E402
from evaluators.tasks import TaskSpec, build_task  # noqa: E402
from gp_engine.tuning import TuneRequest, tune  # noqa: E402
from gp_engine.tuning_budget import run_budgeted, run_name  # noqa: E402
from gp_engine.tuning_report import config_toml  # noqa: E402
from gp_engine.tuning_space import TuneSpace  # noqa: E402
from registry import Registry  # noqa: E402
from tune_markdown import markdown  # noqa: E402

TASK_OPTIONS = {"mlp-prune": {"sparsity": 0.9, "group": "row"}, "cnn-prune": {"sparsity": 0.9}}


def compare(config: SearchConfig, seeds: list[int], budget: int, reg: Registry, task, folder: Path) -> dict:
    """Budgeted runs of one config on the given seeds: per-seed best, mean, std."""
    runs = []
    for seed in seeds:
        cfg = config.replace(seed=seed)
        run = run_budgeted(cfg, folder / run_name(cfg, budget), budget=budget, registry=reg, task=task)
        runs.append(run.to_dict())
    bests = [r["best"] for r in runs]
    return {"settings": {k: getattr(config, k) for k in ("population", "cxpb", "mutpb", "tournament", "elite")},
            "runs": runs, "mean": statistics.mean(bests), "std": statistics.stdev(bests) if len(bests) > 1 else 0.0}


def one_task(name: str, args: argparse.Namespace, work: Path) -> dict:
    """Tune on the tuning seeds, then run tuned and default settings on the fresh seeds."""
    base = SearchConfig(task=name, task_options=TASK_OPTIONS.get(name, {}))
    request = TuneRequest(base=base, study=f"tune-{name}", trials=args.trials, budget=args.budget,
                          seeds=tuple(args.tune_seeds), space=TuneSpace(), runs_dir=work / "runs",
                          sampler_seed=args.sampler_seed, pruner=args.pruner)
    db = work / "registry.db"
    start = time.perf_counter()
    result = tune(request, str(db))
    tune_s = time.perf_counter() - start
    assert result.best_config is not None, "no complete trial"
    header = (f"Best of {args.trials} trials on {name}, seeds {args.tune_seeds}, budget {args.budget} scored metrics"
              f"\n(benchmarks/data_efficiency/tune_search.py). Use: metricforge search --config THIS_FILE")
    (HERE / f"tune_best_{name}.toml").write_text(config_toml(result.best_config, header))
    task = build_task(TaskSpec(name, base.task_options))
    start = time.perf_counter()
    with Registry.open(str(db)) as reg:
        tuned = compare(result.best_config, args.eval_seeds, args.budget, reg, task, work / "eval")
        default = compare(base, args.eval_seeds, args.budget, reg, task, work / "eval")
    diffs = [t["best"] - d["best"] for t, d in zip(tuned["runs"], default["runs"])]
    sign = 1 if result.direction == "max" else -1
    return {"task": name, "task_options": base.task_options, "direction": result.direction,
            "tune_s": round(tune_s, 1), "eval_s": round(time.perf_counter() - start, 1),
            "best_trial": result.best, "baseline_trial": result.baseline, "trials": result.trials,
            "tuned": tuned, "default": default,
            "paired": {"mean": statistics.mean(diffs), "std": statistics.stdev(diffs) if len(diffs) > 1 else 0.0,
                       "wins": sum(sign * d > 0 for d in diffs), "ties": sum(d == 0 for d in diffs)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["mlp-prune", "cnn-prune"])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--tune-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--eval-seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104])
    parser.add_argument("--sampler-seed", type=int, default=0)
    parser.add_argument("--pruner", default="median")
    args = parser.parse_args()
    if set(args.tune_seeds) & set(args.eval_seeds):
        parser.error("--eval-seeds must not overlap --tune-seeds")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for quiet in ("gp_engine.loop", "gp_engine.seeding", "gp_engine.scoring", "alembic", "evaluators"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    work = HERE / "work" / "tune"
    shutil.rmtree(work, ignore_errors=True)
    load_before, start = os.getloadavg(), time.perf_counter()
    tasks = [one_task(name, args, work) for name in args.tasks]
    report = {"tasks": tasks, "args": vars(args), "wall_s": round(time.perf_counter() - start, 1),
              "versions": {**library_versions(), "optuna": optuna.__version__}, "platform": platform.platform(),
              "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
              "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
              "date": time.strftime("%Y-%m-%d")}
    (HERE / "tune_results.json").write_text(json.dumps(report, indent=2, default=str))
    (HERE / "tune_results.md").write_text(markdown(report))
    print((HERE / "tune_results.md").read_text())


if __name__ == "__main__":
    main()
