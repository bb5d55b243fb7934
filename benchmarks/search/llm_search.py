"""Search on SmolLM2-135M from random trees, then re-check the winners against every baseline.

    python benchmarks/search/llm_search.py                      # run (or resume) and report
    python benchmarks/search/llm_search.py --generations 14     # extend the same run first

The search itself is `metricforge search --config configs/llm-search-random.toml` (random trees
only, 50% per output row, 4,096 evaluation tokens). This script runs or resumes that run, then
writes results/llm_search.json and results/llm_search.md: the budget and wall time, the share
of offspring the canonical cache spared, the best formulas beside every baseline on the search
setting, and the same metrics on 8,192 tokens, on held-out text the search never saw, and at 2:4.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BASELINES = ("magnitude", "wanda", "ria", "gblm", "pruner_zero")


def parse_args() -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "llm-search-random.toml")
    p.add_argument("--run", default="llm-random-s0")
    p.add_argument("--runs-dir", type=Path, default=HERE / "work" / "runs")
    p.add_argument("--registry", default=str(HERE / "work" / "registry.db"))
    p.add_argument("--generations", type=int, default=None, help="extend the run to this many generations")
    p.add_argument("--top", type=int, default=3, help="hall-of-fame entries to re-check")
    p.add_argument("--heldout", default="python-docs:howto", help="evaluation text never used by the search")
    p.add_argument("--recheck-tokens", type=int, default=8192)
    p.add_argument("--out", type=Path, default=HERE / "results")
    return p.parse_args()


def run_search(args: argparse.Namespace) -> tuple[Any, Any, dict]:
    """Run or resume the search; (Search, SearchResult, budget summary)."""
    from gp_engine.config import SearchConfig, load_toml
    from gp_engine.loop import Search

    run_dir = args.runs_dir / args.run
    if (run_dir / "config.json").exists():
        search = Search.resume(run_dir, registry=args.registry, generations=args.generations)
    else:
        config = SearchConfig.from_dict(load_toml(args.config))
        if args.generations is not None:
            config = config.replace(generations=args.generations)
        search = Search(config, run_dir, registry=args.registry, name=args.run)
    result = search.run()
    history = search.history
    c = result.counters
    offspring = c["evaluated"] + c["skipped_cache"] + c["skipped_registry"] + c["invalid"]
    cfg = search.config
    budget = {"population": cfg.population, "generations": cfg.generations, "seed": cfg.seed,
              "seeded_with_builtins": cfg.seed_builtins, "offspring": offspring, **c,
              "spared_share": (c["skipped_cache"] + c["skipped_registry"]) / max(offspring, 1),
              "search_wall_s": sum(h["wall_s"] for h in history),
              "s_per_eval": sum(h["eval_s"] for h in history) / max(sum(h["evaluated"] for h in history), 1),
              "best_by_generation": [(h["generation"], h["best"], h["best_canonical"]) for h in history]}
    return search, result, budget


def score_table(task: Any, metrics: dict[str, Any], with_sparsegpt: bool,
                dense: float | None = None) -> dict[str, float | None]:
    """Perplexity of each metric (None where it fails), plus dense (measured unless given) and optionally SparseGPT."""
    out: dict[str, float | None] = {"dense": task.dense_perplexity() if dense is None else dense}
    for name, metric in metrics.items():
        fit = task.score(metric)
        out[name] = fit.value if fit.ok else None
        print(f"  {task.config.eval_source} {task.config.group} {name}: {out[name]}", flush=True)
    if with_sparsegpt:
        fit = task.sparsegpt_perplexity()
        out["SparseGPT (OBS update)"] = fit.value if fit.ok else None
    return out


def markdown(report: dict) -> str:
    """results/llm_search.md."""
    b = report["budget"]
    names = list(dict.fromkeys(n for table in report["tables"].values() for n in table))
    lines = ["# Search on SmolLM2-135M from random trees", "",
             f"Search settings: `{json.dumps(report['settings'])}`", "",
             f"Budget: population {b['population']}, {b['generations']} generations after the first, seed {b['seed']}, "
             f"no seeding with published metrics. {b['offspring']} offspring: {b['evaluated']} evaluated "
             f"({b['failed']} failed), {b['skipped_cache'] + b['skipped_registry']} spared by the canonical cache "
             f"({100 * b['spared_share']:.1f}%), {b['invalid']} invalid. Wall time {b['search_wall_s'] / 60:.1f} min "
             f"({b['s_per_eval']:.1f} s per evaluation) on {report['environment']}.", "",
             "Best per generation: " + "; ".join(f"{g}: {v:.2f}" for g, v, _ in b["best_by_generation"] if v), "",
             "Evolved metrics: " + "; ".join(f"`{k}` = `{v}`" for k, v in report["evolved"].items()), "",
             "| metric | " + " | ".join(report["tables"]) + " |", "|---" * (len(report["tables"]) + 1) + "|"]
    for name in names:
        cells = [report["tables"][t].get(name) for t in report["tables"]]
        lines.append(f"| {name} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in cells) + " |")
    return "\n".join(lines + ["", report["note"], ""])


def main() -> None:
    """Search, then re-check the best metrics on every setting."""
    import torch

    from primitives.builtins import builtin
    from primitives.metric import Metric

    args = parse_args()
    search, result, budget = run_search(args)
    task = search.task
    evolved = {f"evolved #{i}": e.canonical for i, e in enumerate(result.hall_of_fame[:args.top], 1)}
    metrics = {**{n: builtin(n) for n in BASELINES}, **{k: Metric.parse(v) for k, v in evolved.items()}}
    tables = {"search setting": score_table(task, metrics, with_sparsegpt=True)}
    full = type(task)(task.config, eval_tokens=args.recheck_tokens)
    heldout = type(task)(task.config, eval_tokens=args.recheck_tokens, eval_source=args.heldout)
    for label, t in ((f"{args.recheck_tokens} tokens", full), ("held-out", heldout)):
        tables[label] = score_table(t, metrics, with_sparsegpt=False)
        tables[f"{label} 2:4"] = score_table(t.variant(group="2:4"), metrics, with_sparsegpt=True,
                                             dense=tables[label]["dense"])  # same model and text
    wanda = tables["search setting"]["wanda"]
    best = tables["search setting"]["evolved #1"]
    note = (f"Search setting: {task.config.eval_tokens} tokens of {task.config.eval_source}; re-checks use "
            f"{args.recheck_tokens} tokens of it and of {args.heldout} (never seen by the search), calibration "
            f"{task.config.calib_windows} x {task.config.calib_length} tokens of {task.config.calib_source}. "
            f"Evolved #1 {'beats' if best is not None and best < wanda else 'does not beat'} Wanda on the search "
            f"setting ({best} vs {wanda}).")
    report = {"settings": task.settings(), "budget": budget, "evolved": evolved, "tables": tables, "note": note,
              "run_dir": str(result.run_dir), "registry": result.registry_url,
              "environment": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
              "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    search.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "llm_search.json").write_text(json.dumps(report, indent=1, default=str))
    (args.out / "llm_search.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
