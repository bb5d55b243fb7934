"""Multi-fidelity search on SmolLM2-135M against the same search at the full budget only.

    python benchmarks/data_efficiency/llm_fidelity.py     # run (or resume) the search, then report

The multi-fidelity search is `metricforge search --config configs/llm-search-mf.toml` (the
config of benchmarks/search's full-budget search plus `fidelity = [0.125]`, `eta = 6`: every new
candidate is scored on 512 of the 4,096 evaluation tokens, the best sixth go on to 4,096). The
full-budget search is the recorded run of benchmarks/search/llm_search.py (same seed, population
and generations). Writes results/llm_fidelity.md and .json: evaluations and seconds per budget,
evaluated tokens, and both searches' best metrics at the full budget and re-checked on 8,192
tutorial tokens and on held-out text.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "benchmarks" / "search"))
from llm_search import run_search, score_table  # noqa: E402  (shared with the full-budget benchmark)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "llm-search-mf.toml")
    p.add_argument("--run", default="llm-mf-s0")
    p.add_argument("--runs-dir", type=Path, default=HERE / "work" / "runs")
    p.add_argument("--registry", default=str(HERE / "work" / "registry.db"))
    p.add_argument("--baseline-run", type=Path, default=ROOT / "benchmarks" / "search" / "work" / "runs" / "llm-random-s0")
    p.add_argument("--generations", type=int, default=None)
    p.add_argument("--heldout", default="python-docs:howto")
    p.add_argument("--recheck-tokens", type=int, default=8192)
    p.add_argument("--report-only", action="store_true", help="rewrite the markdown from results/llm_fidelity.json")
    return p.parse_args()


def median_costs(registry: str, run_dir: Path) -> dict[str, float]:
    """Median seconds of one evaluation per budget ("full", "reduced") in a run: robust to load spikes."""
    import statistics

    from registry import Registry

    config = json.loads((run_dir / "config.json").read_text())
    with Registry.open(registry) as reg:
        rows = reg.evaluations(run_id=config["run_id"])
    walls: dict[str, list[float]] = {"full": [], "reduced": []}
    for row in rows:
        walls["full" if row.settings_key == config["settings_key"] else "reduced"].append(float(row.wall_s or 0.0))
    return {k: statistics.median(v) for k, v in walls.items() if v}


def truncated(history: list[dict], generation: int) -> list[dict]:
    """The history of a run up to and including ``generation`` (a run of that many generations)."""
    return [h for h in history if h["generation"] <= generation]


def summary(name: str, per_budget: dict[str, dict[str, float]], history: list[dict], best: dict) -> dict[str, Any]:
    """One row of the comparison: evaluations and seconds per budget (tokens), wall time, best metric."""
    tokens = sum(int(k) * v["evaluated"] for k, v in per_budget.items())
    return {"search": name, "per_budget": per_budget, "eval_s": sum(v["eval_s"] for v in per_budget.values()),
            "tokens": tokens, "wall_s": sum(h["wall_s"] for h in history), "generation": history[-1]["generation"],
            "best": best["canonical"], "best_ppl": float(best["value"])}


def main() -> None:
    from primitives.metric import Metric

    args = parse_args()
    if args.report_only:
        report = json.loads((HERE / "results" / "llm_fidelity.json").read_text())
        report["median_s"] = median_costs(args.registry, args.runs_dir / args.run)
        (HERE / "results" / "llm_fidelity.json").write_text(json.dumps(report, indent=1, default=str))
        (HERE / "results" / "llm_fidelity.md").write_text(markdown(report, args))
        return
    search, result, budget = run_search(args)
    task = search.task
    tokens = {"full": task.config.eval_tokens, **{b.name: b.settings["eval_tokens"] for b in search.scorer.reduced}}
    per_budget = {str(tokens[k]): v for k, v in search.budget_counts.items()}
    best = result.hall_of_fame[0]
    mf = summary("multi-fidelity", per_budget, search.history, {"canonical": best.canonical, "value": best.value})
    base = truncated(json.loads((args.baseline_run / "checkpoint.json").read_text())["history"], mf["generation"])
    base_budget = {str(task.config.eval_tokens): {"evaluated": sum(h["evaluated"] for h in base),
                                                  "eval_s": sum(h["eval_s"] for h in base)}}
    full = summary("full budget", base_budget, base, {"canonical": base[-1]["best_canonical"], "value": base[-1]["best"]})
    full_rate = per_budget["4096"]["eval_s"] / per_budget["4096"]["evaluated"]
    same_load = base_budget["4096"]["evaluated"] * full_rate
    metrics = {"full-budget search best": Metric.parse(full["best"]), "multi-fidelity best": Metric.parse(mf["best"])}
    tables = {f"{args.recheck_tokens} tokens": score_table(type(task)(task.config, eval_tokens=args.recheck_tokens),
                                                          metrics, with_sparsegpt=False),
              "held-out": score_table(type(task)(task.config, eval_tokens=args.recheck_tokens, eval_source=args.heldout),
                                      metrics, with_sparsegpt=False)}
    report = {"settings": task.settings(), "fidelity": list(search.config.fidelity), "eta": search.config.eta,
              "searches": [full, mf], "same_load_full_eval_s": same_load, "mf_budget": budget, "rechecks": tables,
              "median_s": median_costs(args.registry, args.runs_dir / args.run),
              "load_at_end": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    search.close()
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "llm_fidelity.json").write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report, args)
    (HERE / "results" / "llm_fidelity.md").write_text(text)
    print(text)


def markdown(report: dict, args: argparse.Namespace) -> str:
    """results/llm_fidelity.md."""
    full, mf = report["searches"]
    rows = ["| search | evaluations at 512 tokens | at 4,096 tokens | evaluated tokens | evaluation time as measured "
            "| best metric | its perplexity (4,096 tokens) |", "|---|---|---|---|---|---|---|"]
    for s in (full, mf):
        n = {k: int(v["evaluated"]) for k, v in s["per_budget"].items()}
        rows.append(f"| {s['search']} | {n.get('512', 0)} | {n.get('4096', 0)} | {s['tokens'] / 1e6:.2f} M | "
                    f"{s['eval_s'] / 60:.1f} min | `{s['best']}` | {s['best_ppl']:.2f} |")
    checks = ["| metric | " + " | ".join(report["rechecks"]) + " |", "|---" * (len(report["rechecks"]) + 1) + "|"]
    for name in ("dense", "full-budget search best", "multi-fidelity best"):
        checks.append(f"| {name} | " + " | ".join(f"{t[name]:.2f}" if t.get(name) else "-" for t in report["rechecks"].values()) + " |")
    ratio_tokens = full["tokens"] / max(mf["tokens"], 1)
    med = report["median_s"]
    n_full = int(full["per_budget"]["4096"]["evaluated"])
    mf_n = {k: int(v["evaluated"]) for k, v in mf["per_budget"].items()}
    mf_cost = mf_n.get("512", 0) * med["reduced"] + mf_n.get("4096", 0) * med["full"]
    full_cost = n_full * med["full"]
    return "\n".join([
        "# Multi-fidelity search on SmolLM2-135M", "",
        f"Reproduce: `.venv/bin/python benchmarks/data_efficiency/llm_fidelity.py --generations {mf['generation']}` "
        f"(multi-fidelity run "
        f"`{args.run}`, config `configs/llm-search-mf.toml`; the full-budget run is "
        f"`benchmarks/search/work/runs/llm-random-s0` from `benchmarks/search/llm_search.py`, taken up to the same "
        f"generation, {mf['generation']}: a search of that many generations). Both: seed 0, "
        "population 40, random trees only, 50% per row, calibration 16 x 512 review tokens, "
        "evaluation on the first 4,096 tokens of the Python tutorial, bf16, 2 CPU cores. Multi-fidelity: "
        f"fidelity {report['fidelity']} (512 tokens), eta {report['eta']:g}.", "", *rows, "",
        f"Evaluated tokens: {ratio_tokens:.2f}x fewer with multi-fidelity. Evaluation seconds: the full-budget run "
        f"was measured alone (two torch threads), the multi-fidelity run beside other jobs with one thread, so their "
        f"seconds are not comparable as they stand. At this run's median cost of one evaluation, {med['reduced']:.1f} s "
        f"at 512 tokens and {med['full']:.1f} s at 4,096 tokens (medians: its first generation ran under heavier "
        f"load), the multi-fidelity search's evaluations cost {mf_cost / 60:.1f} min and the full-budget search's "
        f"{n_full} evaluations {full_cost / 60:.1f} min: {full_cost / mf_cost:.2f}x less evaluation time. Pruning "
        "(scoring and masking 100 M weights) costs the same at every budget and dominates a 512-token evaluation, "
        "so the saving in time is smaller than in tokens.", "",
        "Best metrics re-checked (perplexity; held-out = Python HOWTOs, never seen by either search):", "", *checks, "",
    ])


if __name__ == "__main__":
    main()
