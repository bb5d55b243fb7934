"""How well the sampled reconstruction proxy ranks whole recipes (score, allocation, post step) as perplexity does.

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/recipe_proxy.py                 # 0.5, resumable
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/recipe_proxy.py --sparsity 0.7
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/recipe_proxy.py --report-only

proxy_correlation.py measures the proxy over score formulas at one uniform sparsity; a recipe search
(recipe50.toml) also evolves the layer allocation and the post step, where the proxy's mean over
layers may weigh layers unlike perplexity does. Candidates: the built-in and recorded recipes, then
``--n`` random individuals of a recipe search's own generator (recipe50.toml's limits; score and
allocation trees, post step none or dsnot; in half of them a built-in metric replaces the random score,
as in a search seeded with the built-ins), half with one sparsity per decoder block and half per layer,
one per canonical hash. Each is scored on one prepared model: the per-layer errors of the
sampled proxy (``LLMPruneTask.recipe_proxy_errors``, 64 rows per layer) and perplexity. The report
compares ways to aggregate the per-layer errors (mean, geometric mean, mean weighted by the layer's
parameter count) by Spearman correlation with perplexity, and what a screen keeping the best third
would keep.
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
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
from proxy_correlation import fitness_row, screen_recall, spearman  # noqa: E402

from targets import EVOLVED_ALLOC, JOINT  # noqa: E402

GENERATOR = HERE / "recipe50.toml"
NAMED = {
    "wanda": "wanda", "owl_wanda": "owl_wanda", "dsnot_wanda": "dsnot_wanda", "evolved alloc": EVOLVED_ALLOC,
    "evolved alloc + dsnot": "recipe(score=wanda, alloc=abs(zsn(depth)), unit=block, post=dsnot)",
    "joint recipe": JOINT,
    "attention kept, per layer": "recipe(score=wanda, alloc=attn, unit=layer)",
    "attention pruned, per layer": "recipe(score=wanda, alloc=neg(attn), unit=layer)",
    "attention + depth, per layer": "recipe(score=wanda, alloc=add(attn, abs(zsn(depth))), unit=layer)",
    "outlier ratio, per layer": "recipe(score=wanda, alloc=outl, unit=layer)",
    "depth rising": "recipe(score=wanda, alloc=depth, unit=block)",
    "depth falling": "recipe(score=wanda, alloc=neg(depth), unit=block)",
}
SETTINGS = {"calib_source": "reviews", "eval_source": "python-docs:tutorial", "eval_tokens": 4096, "group": "row"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=110, help="random recipes besides the named ones")
    p.add_argument("--seed", type=int, default=0, help="seed of the random recipes")
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--rows", type=int, default=64, help="output rows per layer of the sampled proxy")
    p.add_argument("--results", type=Path, default=None, help="default results/recipe_proxy_<sparsity>.jsonl")
    p.add_argument("--report-only", action="store_true", help="summarise the results file without scoring")
    return p.parse_args()


def random_recipes(task: Any, n: int, seed: int, seen: set[str]) -> list[tuple[str, Any]]:
    """``n`` (label, Recipe) drawn by a recipe search's generator, alternating block and layer units."""
    from gp_engine.config import SearchConfig, load_toml
    from gp_engine.genome import make_genome
    from gp_engine.pset import build_pset
    from gp_engine.variation import Variation
    from primitives.builtins import BUILTINS
    from primitives.recipe import RecipeSyntaxError
    from primitives.reference import resolve_recipe
    from primitives.tree import to_text

    cfg = SearchConfig.from_dict(load_toml(GENERATOR))
    genome = make_genome(cfg, task)
    psets = {part: build_pset(ops, cfg.operators, cfg.pow_exponents, cfg.constants)
             for part, ops in genome.part_operands(task.operands).items()}
    variation = Variation(psets, cxpb=cfg.cxpb, mutpb=cfg.mutpb, tournament=cfg.tournament, elite=cfg.elite,
                          init_min_height=cfg.init_min_height, init_max_height=cfg.init_max_height,
                          max_height=cfg.max_height, max_size=cfg.max_size, mutations=cfg.mutations,
                          direction="min", posts=genome.posts)
    random.seed(seed)  # DEAP draws from the module's stream
    out: list[tuple[str, Any]] = []
    for _ in range(n * 100):
        if len(out) == n:
            break
        ind = variation.random_individual()  # a random post step among the genome's
        score, alloc = (to_text(node) for node in variation.nodes(ind))
        if len(out) % 4 >= 2:  # half the recipes: a built-in metric's score with the random allocation
            score = random.choice(sorted(BUILTINS))
        text = f"recipe(score={score}, alloc={alloc}, unit={'layer' if len(out) % 2 else 'block'}, post={ind.post})"
        try:
            recipe = resolve_recipe(text)
        except (RecipeSyntaxError, ValueError):
            continue
        if recipe.score.operands and recipe.hash not in seen:
            seen.add(recipe.hash)
            out.append((f"random #{len(out) + 1}", recipe))
    return out


def candidates(task: Any, n: int, seed: int) -> list[tuple[str, Any]]:
    """The named recipes, then ``n`` random ones; one per canonical hash."""
    from primitives.reference import resolve_recipe

    seen: set[str] = set()
    out = []
    for label, text in NAMED.items():
        recipe = resolve_recipe(text)
        if recipe.hash not in seen:
            seen.add(recipe.hash)
            out.append((label, recipe))
    return out + random_recipes(task, n, seed, seen)


def load(path: Path, key: str) -> list[dict[str, Any]]:
    """The rows already scored under this settings key."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("settings_key") == key]


def score_all(args: argparse.Namespace, task: Any, sampled: Any, key: str) -> None:
    """Score every candidate not yet in the results file, appending one line each."""
    from evaluators.base import ScoreError

    todo = candidates(task, args.n, args.seed)
    done = {r["hash"] for r in load(args.results, key)}
    print(f"{len(todo)} candidates, {len(done & {r.hash for _, r in todo})} already scored", flush=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for i, (label, recipe) in enumerate(todo, 1):
        if recipe.hash in done:
            continue
        start = time.perf_counter()
        try:
            errors: dict[str, float] | None = sampled.recipe_proxy_errors(recipe)
            reason = None
        except (ScoreError, ValueError, ArithmeticError) as exc:
            errors, reason = None, str(exc)
        proxy_s = time.perf_counter() - start
        ppl = task.score_recipe(recipe)
        row = {"settings_key": key, "label": label, "text": recipe.text, "hash": recipe.hash, "rows": args.rows,
               "errors": errors, "proxy_reason": reason, "proxy_s": proxy_s, "perplexity": fitness_row(ppl)}
        with args.results.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        mean = None if errors is None else sum(errors.values()) / len(errors)
        print(f"[{i}/{len(todo)}] {label}: proxy {mean} ({proxy_s:.1f} s), perplexity {row['perplexity']['value']} "
              f"({ppl.wall_s:.1f} s)  {recipe.text}", flush=True)


def aggregates(errors: dict[str, float], sizes: dict[str, int]) -> dict[str, float]:
    """Ways to fold the per-layer errors into one proxy."""
    values = list(errors.values())
    total = sum(sizes[name] for name in errors)
    return {"mean": sum(values) / len(values),
            "geomean": math.exp(sum(math.log(max(v, 1e-12)) for v in values) / len(values)),
            "size-weighted mean": sum(v * sizes[name] for name, v in errors.items()) / total,
            "power mean, p = 16": (sum(v ** 16 for v in values) / len(values)) ** (1 / 16),
            "max": max(values)}


def summarise(rows: list[dict[str, Any]], sizes: dict[str, int]) -> dict[str, Any]:
    """Spearman of each aggregate with perplexity over the finite rows, screen recalls, costs."""
    finite = [r for r in rows if r["errors"] is not None and r["perplexity"]["value"] is not None
              and all(math.isfinite(v) for v in r["errors"].values())]
    ppl = [r["perplexity"]["value"] for r in finite]
    named = [i for i, r in enumerate(finite) if not r["label"].startswith("random")]
    near = [i for i, v in enumerate(ppl) if v < 2 * min(ppl, default=0)]  # the contest a search's top is in
    out: dict[str, Any] = {"candidates": len(rows), "finite": len(finite), "near_best": len(near), "aggregates": {}}
    if len(finite) < 3:
        return out
    folded = [aggregates(r["errors"], sizes) for r in finite]
    for name in folded[0]:
        values = [f[name] for f in folded]
        out["aggregates"][name] = {
            "spearman": spearman(values, ppl),
            "spearman_named": spearman([values[i] for i in named], [ppl[i] for i in named]) if len(named) > 2 else None,
            "spearman_near": spearman([values[i] for i in near], [ppl[i] for i in near]) if len(near) > 2 else None,
            "recall_top10": screen_recall(values, ppl), "best_kept": screen_recall(values, ppl, top=1),
            "best_kept_eta9": screen_recall(values, ppl, eta=9.0, top=1)}
    for post in ("none", "dsnot"):
        part = [i for i, r in enumerate(finite) if r["text"].endswith(f"post={post})") or (post == "none" and "post=" not in r["text"])]
        if len(part) > 2:
            out[f"spearman_mean_post_{post}"] = spearman([folded[i]["mean"] for i in part], [ppl[i] for i in part])
            out[f"count_post_{post}"] = len(part)
    out["proxy_s_median"] = statistics.median(r["proxy_s"] for r in finite)
    out["full_s_median"] = statistics.median(r["perplexity"]["wall_s"] for r in finite)
    return out


def markdown(report: dict[str, Any], rows: list[dict[str, Any]], sizes: dict[str, int]) -> str:
    s, r = report["settings"], report["summary"]
    fmt = lambda v, spec=".3f": "-" if v is None else format(v, spec)  # noqa: E731
    lines = ["# Reconstruction proxy against perplexity over whole recipes, SmolLM2-135M", "",
             f"Command: `{report['command']}` ({report['date']}; {report['hardware'].get('cpus')} CPUs, "
             f"{report['threads']} torch threads).", "",
             f"Settings: {s['dtype']} on {s['device']}, {s['sparsity']:.0%} per {s['group']}; calibration "
             f"{s['calib_windows']} x {s['calib_length']} tokens of {s['calib_source']} (seed {s['seed']}); perplexity "
             f"on the first {s['eval_tokens']:,} tokens of {s['eval_source']}. Proxy: {report['rows']} seeded rows per "
             f"layer. Random recipes: seed {report['recipe_seed']}, the generator and limits of recipe50.toml.", "",
             f"Candidates: {r['candidates']} ({r['finite']} with finite proxy and perplexity). Median seconds per "
             f"candidate: proxy {fmt(r.get('proxy_s_median'), '.2f')}, full fitness {fmt(r.get('full_s_median'), '.2f')}.", "",
             "Spearman with perplexity over every finite candidate, over the named recipes, and over the "
             f"{r.get('near_best')} recipes within twice the best perplexity (the contest at a search's top); "
             "what a screen keeping the proxy's best third (or ninth) keeps of perplexity's best 10 and best one.", "",
             "| aggregate over layers | Spearman | named | near the best | best 10 kept (third) | best kept (third) | "
             "best kept (ninth) |", "|---|---|---|---|---|---|---|"]
    for name, a in r.get("aggregates", {}).items():
        lines.append(f"| {name} | {fmt(a['spearman'])} | {fmt(a['spearman_named'])} | {fmt(a.get('spearman_near'))} | "
                     f"{fmt(a['recall_top10'], '.0%')} | {fmt(a['best_kept'], '.0%')} | "
                     f"{fmt(a.get('best_kept_eta9'), '.0%')} |")
    lines += ["", "Spearman of the mean by post step: " + ", ".join(
        f"{post} {fmt(r.get(f'spearman_mean_post_{post}'))} ({r.get(f'count_post_{post}', 0)} recipes)"
        for post in ("none", "dsnot")) + ".", "", "| recipe | text | proxy (mean) | size-weighted | perplexity |",
        "|---|---|---|---|---|"]
    for row in rows:
        if not row["label"].startswith("random") and row["errors"] is not None:
            a = aggregates(row["errors"], sizes)
            lines.append(f"| {row['label']} | `{row['text']}` | {a['mean']:.4f} | {a['size-weighted mean']:.4f} | "
                         f"{fmt(row['perplexity']['value'], '.2f')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    args.results = args.results or HERE / "results" / f"recipe_proxy_{args.sparsity:g}.jsonl"
    import torch

    from evaluators.llm.task import LLMPruneTask
    from gp_engine.env import hardware, library_versions
    from registry import settings_key

    task = LLMPruneTask(**SETTINGS, sparsity=args.sparsity)
    settings = task.settings()
    key = settings_key(settings)
    task.prepare()
    sizes = {layer.name: layer.weight.numel() for layer in task.state.layers}
    if not args.report_only:
        score_all(args, task, task.variant(fitness="reconstruction", proxy_rows=args.rows), key)
    rows = load(args.results, key)
    report = {"command": " ".join(["PYTHONPATH=. .venv/bin/python", *sys.argv]), "settings": settings, "settings_key": key,
              "rows": args.rows, "recipe_seed": args.seed, "hardware": hardware(), "versions": library_versions(),
              "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "summary": summarise(rows, sizes)}
    stored = args.results.with_suffix(".json")
    if args.report_only and stored.is_file():  # the scoring run's command, machine and date, not this one's
        run = json.loads(stored.read_text())
        report.update({k: run[k] for k in ("command", "hardware", "versions", "threads", "date") if k in run})
    args.results.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report, rows, sizes)
    args.results.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
