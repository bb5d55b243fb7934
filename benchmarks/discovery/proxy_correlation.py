"""How well llm-prune's reconstruction proxy ranks pruning metrics as perplexity does, on SmolLM2-135M.

    python benchmarks/discovery/proxy_correlation.py                          # 100 random formulas + named ones
    python benchmarks/discovery/proxy_correlation.py --n 5 --eval-tokens 1024 --results /tmp/trial.jsonl

Candidates: the built-in metrics, formulas evolved by earlier searches, and ``--n`` random trees from
the search's own generator (ramped half-and-half with the limits of configs/llm-search-random.toml)
with a fixed seed; one candidate per ranking class, so no mask is counted twice. Each is scored at
the task's sparsity and group three ways on one prepared model: the sampled proxy (``--rows`` seeded
output rows per layer, scored and masked without pruning the model), the full proxy (every layer
pruned, each layer's relative output error on the calibration tokens) and perplexity on the task's
evaluation text, which reuses the full proxy's masks (the screening memo), so a candidate's full
fitness cost is the full proxy's scoring and masking plus the evaluation. One JSON line per
candidate goes to the results file as soon as it is scored; a rerun skips the candidates already
there (same settings). At the end: Spearman rank correlations over the candidates whose perplexity
is finite, seconds per candidate of each fitness, and what a proxy screen would keep, written next
to the results file as .json and .md with the command, settings (dtype as the task resolved it)
and hardware.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EVOLVED = {  # benchmarks/search/results/llm_search.md (random-tree search, 50% per row, 4,096 tokens)
    "evolved #1": "mul(mul(Xs, colsum(X)), pow(W, 4))",
    "evolved #2": "mul(mul(Xs, exp(abs(W))), sqr(W))",
    "evolved #3": "div(mul(mul(mul(abs(W), sqrt(W)), sqrt(Y)), sqrt(add(W, Xs))), Xs)",
    "mlp-prune evolved": "mul(colsum(X), sqr(W))",  # benchmarks/adapters (digits MLP, 90% per row)
}


def parse_args() -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100, help="random formulas besides the named ones")
    p.add_argument("--seed", type=int, default=0, help="seed of the random formulas")
    p.add_argument("--eval-tokens", type=int, default=2048)
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--group", default="row")
    p.add_argument("--rows", type=int, default=64, help="output rows per layer of the sampled proxy")
    p.add_argument("--generator", type=Path, default=ROOT / "configs" / "llm-search-random.toml",
                   help="search config whose tree limits the random formulas use")
    p.add_argument("--results", type=Path, default=HERE / "results" / "proxy_correlation.jsonl")
    p.add_argument("--report-only", action="store_true", help="summarise the results file without scoring")
    return p.parse_args()


def random_metrics(operands: tuple[str, ...], n: int, seed: int, generator: Path, seen: set[str]) -> list[tuple[str, Any]]:
    """``n`` (label, Metric) from the search's tree generator, each reading an operand and of a ranking
    class not in ``seen`` (which it extends), in draw order."""
    from gp_engine.candidates import candidate
    from gp_engine.config import SearchConfig, load_toml
    from gp_engine.pset import build_pset
    from gp_engine.variation import Variation
    from primitives.tree import to_text

    cfg = SearchConfig.from_dict(load_toml(generator))
    mp = build_pset(operands, cfg.operators, cfg.pow_exponents, cfg.constants)
    variation = Variation({"score": mp}, cxpb=cfg.cxpb, mutpb=cfg.mutpb, tournament=cfg.tournament, elite=cfg.elite,
                          init_min_height=cfg.init_min_height, init_max_height=cfg.init_max_height,
                          max_height=cfg.max_height, max_size=cfg.max_size, mutations=cfg.mutations, direction="min")
    random.seed(seed)  # DEAP draws from the module's stream
    out: list[tuple[str, Any]] = []
    for _ in range(n * 100):  # a tree without an operand, or of a class already drawn, is drawn again
        if len(out) == n:
            break
        (node,) = variation.nodes(variation.random_individual())
        metric = candidate(to_text(node), node, "rank").metric
        if metric is not None and metric.operands and metric.rank_hash not in seen:
            seen.add(metric.rank_hash)
            out.append((f"random #{len(out) + 1}", metric))
    return out


def candidates(operands: tuple[str, ...], n: int, seed: int, generator: Path) -> list[tuple[str, Any]]:
    """The named metrics, then ``n`` random ones; one per ranking class."""
    from primitives.builtins import BUILTINS, builtin
    from primitives.metric import Metric

    named = [(name, builtin(name)) for name in BUILTINS]
    named += [(name, Metric.parse(text)) for name, text in EVOLVED.items()]
    seen: set[str] = set()
    out = []
    for label, metric in named:
        if metric.rank_hash not in seen:
            seen.add(metric.rank_hash)
            out.append((label, metric))
    return out + random_metrics(operands, n, seed, generator, seen)


def fitness_row(fit: Any) -> dict[str, Any]:
    """The recorded part of one Fitness."""
    keep = ("sparsity", "prune_s", "eval_s", "gram_s", "proxy_s", "proxy_rows", "reconstruction_geomean",
            "reconstruction_by_role")
    return {"value": fit.value if fit.ok and math.isfinite(fit.value) else None, "ok": fit.ok, "reason": fit.reason,
            "wall_s": fit.wall_s, **{k: fit.details[k] for k in keep if k in fit.details}}


def done_hashes(path: Path, key: str) -> set[str]:
    """Hashes of the candidates already in the results file under this settings key."""
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["hash"] for r in rows if r.get("settings_key") == key}


def setup(ppl_task: Any, rows: int) -> tuple[dict[str, float], Any, Any]:
    """Prepare the task and compute (or read) every operand and the Gram matrices, so no candidate's
    time holds a one-time cost; (seconds of each step, full proxy task, sampled proxy task), both
    variants sharing the prepared model."""
    times = {}
    for name, step in (("model and windows", ppl_task.prepare),
                       ("operands W, X, Xs, Y, Hd, G", lambda: ppl_task.state.operands),
                       ("Gram matrices X^T X", lambda: ppl_task.state.reconstruction())):
        start = time.perf_counter()
        step()
        times[name] = time.perf_counter() - start
        print(f"{name}: {times[name]:.1f} s", flush=True)
    return times, ppl_task.variant(fitness="reconstruction"), ppl_task.variant(fitness="reconstruction", proxy_rows=rows)


def score_all(args: argparse.Namespace, ppl_task: Any, full: Any, sampled: Any, key: str) -> None:
    """Score every candidate not yet in the results file, appending one line each."""
    todo = candidates(ppl_task.operands, args.n, args.seed, args.generator)
    done = done_hashes(args.results, key)
    print(f"{len(todo)} candidates, {len(done & {m.hash for _, m in todo})} already scored", flush=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for i, (label, metric) in enumerate(todo, 1):
        if metric.hash in done:
            continue
        quick = sampled.score(metric)
        proxy = full.score(metric)  # prunes; keeps the masks for the perplexity below
        ppl = ppl_task.score(metric)
        row = {"settings_key": key, "label": label, "formula": metric.text, "canonical": metric.canonical,
               "hash": metric.hash, "rows": args.rows, "sampled": fitness_row(quick), "proxy": fitness_row(proxy),
               "perplexity": fitness_row(ppl)}
        with args.results.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        print(f"[{i}/{len(todo)}] {label}: sampled {row['sampled']['value']} ({quick.wall_s:.1f} s), proxy "
              f"{row['proxy']['value']} ({proxy.wall_s:.1f} s), perplexity {row['perplexity']['value']} "
              f"({ppl.wall_s:.1f} s)  {metric.text}", flush=True)


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rho (scipy when installed, else pandas' rank correlation)."""
    try:
        from scipy.stats import spearmanr

        return float(spearmanr(x, y)[0])
    except ImportError:
        import pandas as pd

        return float(pd.Series(x).corr(pd.Series(y), method="spearman"))


def screen_recall(proxy: list[float], ppl: list[float], eta: float = 3.0, top: int = 10) -> float:
    """Share of perplexity's best ``top`` that a proxy screen keeping the best 1/eta would promote."""
    keep = set(sorted(range(len(proxy)), key=lambda i: proxy[i])[:math.ceil(len(proxy) / eta)])
    best = sorted(range(len(ppl)), key=lambda i: ppl[i])[:top]
    return sum(i in keep for i in best) / max(len(best), 1)


def full_cost(row: dict[str, Any]) -> float:
    """Seconds of one full-fitness candidate: scoring and masking (timed in the full proxy's pruning)
    plus the evaluation pass (the perplexity reused those masks)."""
    return row["proxy"]["prune_s"] + row["perplexity"]["eval_s"]


def summarise(rows: list[dict[str, Any]], eta: float = 3.0) -> dict[str, Any]:
    """Correlations over candidates with finite perplexity and proxies, seconds per candidate, and the
    candidates per hour of a proxy screen keeping the best 1/eta for a full evaluation."""
    both = [r for r in rows if r["perplexity"]["value"] is not None and r["proxy"]["value"] is not None
            and r["sampled"]["value"] is not None]
    ppl = [r["perplexity"]["value"] for r in both]
    named = [r for r in both if not r["label"].startswith("random")]
    out: dict[str, Any] = {"candidates": len(rows), "finite": len(both),
                           "failed_perplexity": sum(r["perplexity"]["value"] is None for r in rows)}
    for name in ("sampled", "proxy"):
        values = [r[name]["value"] for r in both]
        out[f"spearman_{name}"] = spearman(values, ppl) if len(both) > 2 else None
        out[f"spearman_{name}_geomean"] = (spearman([r[name]["reconstruction_geomean"] for r in both], ppl)
                                           if len(both) > 2 else None)
        out[f"spearman_{name}_named"] = (spearman([r[name]["value"] for r in named], [r["perplexity"]["value"] for r in named])
                                         if len(named) > 2 else None)
        out[f"screen_recall_{name}"] = screen_recall(values, ppl, eta) if both else None
        out[f"best_kept_{name}"] = screen_recall(values, ppl, eta, top=1) if both else None
    out["spearman_sampled_vs_proxy"] = spearman([r["sampled"]["value"] for r in both],
                                                [r["proxy"]["value"] for r in both]) if len(both) > 2 else None
    costs = {"sampled": [r["sampled"]["wall_s"] for r in both], "proxy": [r["proxy"]["wall_s"] for r in both],
             "full": [full_cost(r) for r in both]}
    for name, walls in costs.items():
        out[f"{name}_s_median"] = statistics.median(walls) if walls else None
        out[f"{name}_s_mean"] = statistics.mean(walls) if walls else None
    if both:
        screened = out["sampled_s_mean"] + out["full_s_mean"] / eta
        out["eta"] = eta
        out["candidates_per_hour_full"] = 3600 / out["full_s_mean"]
        out["candidates_per_hour_screened"] = 3600 / screened
        out["screen_speedup"] = out["full_s_mean"] / screened
        out["sampled_speedup_median"] = out["full_s_median"] / out["sampled_s_median"]
    return out


def markdown(report: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The .md report: settings, correlations, timings, and the named metrics' two scores."""
    s, r = report["settings"], report["summary"]
    fmt = lambda v, spec=".3f": "-" if v is None else format(v, spec)  # noqa: E731
    lines = [
        "# Reconstruction proxy against perplexity on SmolLM2-135M", "",
        f"Command: `{report['command']}` ({report['date']}; {report['hardware'].get('cpus')} CPUs, "
        f"{report['threads']} torch threads, {report['hardware'].get('platform')}).", "",
        f"Settings: {s['model']}, {s['dtype']} on {s['device']}, {s['sparsity']:.0%} per {s['group']}, mode "
        f"{s['mode']}; calibration {s['calib_windows']} x {s['calib_length']} tokens of {s['calib_source']} "
        f"({s['calib_draw']}, seed {s['seed'] if s.get('calib_seed') is None else s['calib_seed']}); perplexity on the "
        f"{s['eval_select']} {s['eval_tokens']:,} tokens of {s['eval_source']} in {s['eval_length']}-token windows. "
        f"Random formulas: seed {report['formula_seed']}, limits of {report['generator']}.", "",
        f"Candidates: {r['candidates']} ({r['finite']} with finite perplexity and proxy, "
        f"{r['failed_perplexity']} failed).", "",
        "| measure | sampled proxy | full proxy |", "|---|---|---|",
        f"| Spearman(proxy, perplexity), mean over layers | {fmt(r['spearman_sampled'])} | {fmt(r['spearman_proxy'])} |",
        f"| Spearman, geometric mean over layers | {fmt(r['spearman_sampled_geomean'])} | "
        f"{fmt(r['spearman_proxy_geomean'])} |",
        f"| Spearman over the named metrics only | {fmt(r['spearman_sampled_named'])} | {fmt(r['spearman_proxy_named'])} |",
        f"| perplexity's best 10 kept by a screen keeping the best third | {fmt(r['screen_recall_sampled'], '.0%')} | "
        f"{fmt(r['screen_recall_proxy'], '.0%')} |",
        f"| perplexity's best candidate kept by that screen | {fmt(r['best_kept_sampled'], '.0%')} | "
        f"{fmt(r['best_kept_proxy'], '.0%')} |",
        f"| seconds per candidate (median / mean) | {fmt(r['sampled_s_median'], '.2f')} / {fmt(r['sampled_s_mean'], '.2f')} | "
        f"{fmt(r['proxy_s_median'], '.2f')} / {fmt(r['proxy_s_mean'], '.2f')} |", "",
        f"Spearman between the sampled and the full proxy: {fmt(r['spearman_sampled_vs_proxy'])}.", "",
        f"Full fitness (scoring, masking and the evaluation pass): {fmt(r['full_s_median'], '.2f')} s median, "
        f"{fmt(r['full_s_mean'], '.2f')} s mean per candidate; the sampled proxy is "
        f"{fmt(r.get('sampled_speedup_median'), '.0f')}x cheaper (medians). A screen that scores every candidate "
        f"by the sampled proxy and evaluates the best third fully costs {fmt(r.get('screen_speedup'), '.1f')}x less "
        f"per candidate: {fmt(r.get('candidates_per_hour_screened'), '.0f')} candidates per hour against "
        f"{fmt(r.get('candidates_per_hour_full'), '.0f')} (means).", "",
        "Once per prepared model, not in the per-candidate times (this invocation; a rerun reads the disk cache): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in report.get("setup_s", {}).items()) + ".", "",
        "| metric | formula | sampled proxy | full proxy | perplexity |", "|---|---|---|---|---|",
    ]
    for row in rows:
        if not row["label"].startswith("random"):
            lines.append(f"| {row['label']} | `{row['formula']}` | {fmt(row['sampled']['value'], '.4f')} | "
                         f"{fmt(row['proxy']['value'], '.4f')} | {fmt(row['perplexity']['value'], '.2f')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    from evaluators.llm.task import LLMPruneTask
    from gp_engine.env import hardware, library_versions
    from registry import settings_key

    options = {"eval_tokens": args.eval_tokens, "sparsity": args.sparsity, "group": args.group}
    ppl_task = LLMPruneTask(**options)
    settings = ppl_task.settings()
    key = settings_key(settings)
    setup_s: dict[str, float] = {}
    if not args.report_only:
        setup_s, full, sampled = setup(ppl_task, args.rows)
        score_all(args, ppl_task, full, sampled, key)
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["settings_key"] == key and r.get("rows") == args.rows]
    import torch

    report = {"command": " ".join([sys.executable, *sys.argv]), "settings": settings, "settings_key": key,
              "formula_seed": args.seed, "generator": _shown(args.generator),
              "hardware": hardware(), "versions": library_versions(), "threads": torch.get_num_threads(),
              "load_at_end": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "results": str(args.results), "setup_s": setup_s, "summary": summarise(rows)}
    args.results.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report, rows)
    args.results.with_suffix(".md").write_text(text)
    print(text)


def _shown(path: Path) -> str:
    """A path relative to the repository when it lies inside it."""
    return str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    main()
