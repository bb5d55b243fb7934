"""Search on mlp-prune against the published metrics, then re-check the winners elsewhere.

    python benchmarks/search/mlp_prune_search.py [--seeds 0 1 2] [--population 48] [--generations 15]

Writes results/mlp_prune.json and results/mlp_prune.md: baselines (built-ins and random masks)
on the search setting, the best metric of each search seed, the evaluations the dedup saved, and
every winner re-scored on other settings (sparsity, group, another trained MLP), because a metric
found on one setting must be re-checked on others before it is called better.
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from evaluators.digits.task import MLPPruneTask
from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from primitives.builtins import BUILTINS, builtin
from primitives.metric import Metric

HERE = Path(__file__).resolve().parent
RECHECK = [{"sparsity": 0.8}, {"sparsity": 0.95}, {"group": "layer"}, {"seed": 1}, {"seed": 2}]


def score_all(task: MLPPruneTask, metrics: dict[str, Metric]) -> dict[str, float | None]:
    """Accuracy per named metric (None where the metric fails or needs missing operands)."""
    out = {}
    for name, metric in metrics.items():
        fit = task.score(metric)
        out[name] = round(fit.value, 4) if fit.ok else None
    out["random"] = round(task.random_baseline(repeats=5), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--population", type=int, default=48)
    parser.add_argument("--generations", type=int, default=15)
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    base = {"sparsity": args.sparsity, "group": "row"}
    metrics = {n: builtin(n) for n in BUILTINS if n != "sparsegpt"}
    searches, work = [], Path(tempfile.mkdtemp(prefix="mf-bench-"))
    for seed in args.seeds:
        cfg = SearchConfig(task="mlp-prune", task_options=base, population=args.population,
                           generations=args.generations, seed=seed)
        start = time.perf_counter()
        with Search(cfg, work / f"seed{seed}", registry=str(work / f"seed{seed}.db")) as search:
            result = search.run()
        best = result.hall_of_fame[0]
        metrics[f"search seed {seed}"] = Metric.parse(best.canonical)
        searches.append({"seed": seed, "best": best.canonical, "hash": best.hash, "fitness": best.value,
                         "complexity": best.complexity, "wall_s": round(time.perf_counter() - start, 1),
                         **result.counters})
    settings = [base, *({**base, **r} for r in RECHECK)]
    table = {json.dumps(s, sort_keys=True): score_all(MLPPruneTask(**s), metrics) for s in settings}
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"searches": searches, "scores": table, "python": platform.python_version(),
              "config": vars(args) | {"out": str(args.out)}}
    (args.out / "mlp_prune.json").write_text(json.dumps(report, indent=2))
    (args.out / "mlp_prune.md").write_text(markdown(report, list(metrics) + ["random"], settings))
    print((args.out / "mlp_prune.md").read_text())


def markdown(report: dict, names: list[str], settings: list[dict]) -> str:
    """Two tables: the searches, and every metric on every setting."""
    lines = ["# mlp-prune: searched metrics against the published ones", "",
             "| seed | best metric | accuracy | complexity | evaluated | skipped (cache + registry) | failed | wall s |",
             "|---|---|---|---|---|---|---|---|"]
    for s in report["searches"]:
        lines.append(f"| {s['seed']} | `{s['best']}` | {s['fitness']:.4f} | {s['complexity']} | {s['evaluated']} | "
                     f"{s['skipped_cache'] + s['skipped_registry']} | {s['failed']} | {s['wall_s']} |")
    heads = [", ".join(f"{k}={v}" for k, v in sorted(s.items())) for s in settings]
    lines += ["", "Test accuracy after pruning the hidden layers (the first column is the search setting):", "",
              "| metric | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for name in names:
        row = [report["scores"][json.dumps(s, sort_keys=True)][name] for s in settings]
        lines.append(f"| {name} | " + " | ".join("fail" if v is None else f"{v:.4f}" for v in row) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
