"""search.md: what the embedding-importance search found, from its run folder and registry.

    nice -n 10 .venv/bin/python benchmarks/cafe/search_report.py [--run cafe-s0]
    nice -n 10 .venv/bin/python benchmarks/cafe/search_report.py --run cafe-local-s0 --name cafe-importance-local-best

Lists the command, the settings, seconds per candidate, the seeds' fitness, the hall of fame and the
best formula with its hash; names the best one in the registry (default ``cafe-importance-best``) so
``run.py --evolved NAME`` finds it. Writes search.md, or search_<run>.md for another run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

BEST_NAME = "cafe-importance-best"


def report(run_dir: Path, registry_path: Path, command: str, best_name: str = BEST_NAME) -> str:
    """The markdown; names the best metric in the registry."""
    from primitives.metric import Metric
    from registry import Registry

    config = json.loads((run_dir / "config.json").read_text())
    seed_refs = tuple(config["search"]["seed_metrics"])
    hof = json.loads((run_dir / "results" / "hall_of_fame.json").read_text())
    summary = json.loads((run_dir / "results" / "summary.json").read_text())
    with Registry.open(registry_path) as reg:
        evals = reg.evaluations(run_id=config["run_id"])
        seeds = {s: next((e for e in reg.evaluations(s) if e.settings_key == config["settings_key"]), None)
                 for s in seed_refs}
        best = hof[0]
        try:
            reg.add_metric(Metric.parse(reg.get_metric(best["hash"]).text), name=best_name)
        except Exception:  # the name is taken by an earlier best: leave it, report the hash
            pass
    walls = [e.wall_s for e in evals if e.wall_s]
    scores = sorted(e.score for e in evals if e.ok)
    search, task = config["search"], config["search"]["task_options"]
    lines = ["# Evolved CAFE importance scores (embedding-importance search)", "",
             f"Reproduce: `nice -n 10 {command}`", "",
             f"Task settings (settings key `{config['settings_key']}`): "
             + ", ".join(f"{k} {v}" for k, v in sorted(task.items())) + ". Fitness: mean validation AUC of DeepFM "
             "trained with CAFE whose sketch is fed |formula| over the occurrence operands (gnorm, freq, enorm, "
             "recency, gdot, perr, each mean 1 per batch).", "",
             f"Search: population {search['population']}, generations {search['generations']}, seed {search['seed']}, "
             f"seeded with {', '.join(search['seed_metrics'])}; {len(evals)} evaluations in this run, "
             f"{sum(not e.ok for e in evals)} failed; seconds per candidate: median "
             f"{statistics.median(walls):.1f}, mean {statistics.fmean(walls):.1f} (one torch thread, shared "
             f"2-core machine); counters {summary.get('counters', {})}.", "",
             "Seeds: " + ", ".join(f"`{s}` {seeds[s].score:.5f}" if seeds[s] is not None and seeds[s].ok
                                   else f"`{s}` n/a" for s in seed_refs) + f". Every successful candidate: min "
             f"{scores[0]:.5f}, median {statistics.median(scores):.5f}, max {scores[-1]:.5f} (the landscape is flat "
             "when the spread is of the order of the seed-to-seed noise).", "",
             "| # | valid AUC | complexity | hash | formula |", "|---|---|---|---|---|"]
    for i, e in enumerate(hof, 1):
        lines.append(f"| {i} | {e['fitness']:.5f} | {e['complexity']} | `{e['hash']}` | `{e['canonical']}` |")
    gain = best["fitness"] - seeds["gnorm"].score if seeds.get("gnorm") is not None else float("nan")
    lines += ["", f"Best: `{best['canonical']}` (hash `{best['hash']}`, registry name `{best_name}`), "
              f"{gain:+.5f} validation AUC over the grad-norm seed under the search's own seeds; "
              "test AUC on the reported seeds is in results.md (the cafe-evolved arms).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write search.md next to this file."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default="cafe-s0")
    p.add_argument("--runs-dir", type=Path, default=ROOT / "benchmarks/search/work/runs")
    p.add_argument("--registry", type=Path, default=ROOT / "benchmarks/search/work/registry.db")
    p.add_argument("--name", default=BEST_NAME, help="registry name given to the best metric")
    p.add_argument("--command", default="", help="the search command, for the report")
    args = p.parse_args(argv)
    text = report(args.runs_dir / args.run, args.registry, args.command or "(see benchmarks/cafe/search.toml)",
                  args.name)
    (HERE / ("search.md" if args.run == "cafe-s0" else f"search_{args.run}.md")).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
