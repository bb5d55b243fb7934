"""Candidates per hour, search against search: full fitness, the 512-token screen, and the proxy first.

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py            # resumable (each search resumes)
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py --report   # rewrite results/throughput.md only
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py --population 48 --arms full,proxy-eta6,proxy-eta9
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py --population 48 --seed 1 --arms full,proxy-eta6

The same search (single.toml with the task's default evaluation budget: SmolLM2-135M, 50% per row,
calibration reviews, 8,192 tokens of the Python tutorial; population 24, 2 generations, seed 0) is
run once per arm, each with its own registry so no arm reuses another's scores (``--population 48``: the
size of the discovery searches, in its own folder and results file; ``--seed`` another search draw):

- full: every candidate scored at the full budget (``--fidelity none``);
- screen: the first 512 tokens first, the best third on to the full budget (``--fidelity 0.0625``);
- proxy: the sampled reconstruction proxy first, then 512 tokens, then full (``--fidelity proxy,0.0625``);
- proxy-eta6, proxy-eta9: the same with the best sixth or ninth going on at each rung (``--eta 6``, ``9``).

Candidates per hour = candidates scored at the first rung / seconds spent scoring candidates (all
rungs; ``budget_counts`` of the run's checkpoint). The final quality of an arm is the best
full-budget perplexity it found (and its formula): an arm only counts as faster at equal quality
when its best is no worse than the full arm's.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIG = HERE / "single.toml"
DEFAULT_POPULATION = 24
ARMS = {"full": ["--fidelity", "none"], "screen": ["--fidelity", "0.0625", "--eta", "3"],
        "proxy": ["--fidelity", "proxy,0.0625", "--eta", "3"],
        "proxy-eta6": ["--fidelity", "proxy,0.0625", "--eta", "6"],
        "proxy-eta9": ["--fidelity", "proxy,0.0625", "--eta", "9"]}


def metricforge() -> list[str]:
    """The metricforge command of this checkout's environment."""
    venv = ROOT / ".venv" / "bin" / "metricforge"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "metricforge.cli"]


def common(population: int, seed: int) -> list[str]:
    """The search options every arm shares."""
    return ["--population", str(population), "--generations", "2", "--seed", str(seed), "-o", "eval_tokens=8192"]


def places(population: int, seed: int) -> tuple[Path, Path]:
    """(work folder, results file) of one population size and seed."""
    suffix = ("" if population == DEFAULT_POPULATION else f"-p{population}") + (f"-s{seed}" if seed else "")
    return HERE / "work" / f"throughput{suffix}", HERE / "results" / f"throughput{suffix}.json"


def search(arm: str, population: int, seed: int) -> float:
    """Run (or resume) one arm's search; its wall seconds in this call."""
    work = places(population, seed)[0]
    args = [*metricforge(), "search", "--config", str(CONFIG), *common(population, seed), *ARMS[arm], "--run", arm,
            "--runs-dir", str(work / "runs"), "-r", str(work / f"{arm}.db")]
    print("$ " + " ".join(args), flush=True)
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT)
    return time.perf_counter() - start


def summarise(arm: str, population: int, seed: int, wall_s: float | None) -> dict:
    """Budgets, counts and the best full-budget entry of one arm's run folder."""
    run = places(population, seed)[0] / "runs" / arm
    checkpoint = json.loads((run / "checkpoint.json").read_text())
    budgets = checkpoint.get("budget_counts", {})
    best = json.loads((run / "results" / "hall_of_fame.json").read_text())[0]
    first = min(budgets.values(), key=lambda b: b["eval_s"] / max(b["evaluated"], 1)) if budgets else {}
    seconds = sum(b["eval_s"] for b in budgets.values())
    config = json.loads((run / "config.json").read_text())
    return {"arm": arm, "options": ARMS[arm], "common": common(population, seed), "budgets": budgets, "candidates": int(first.get("evaluated", 0)),
            "scoring_s": seconds, "candidates_per_hour": 3600.0 * first.get("evaluated", 0) / seconds if seconds else None,
            "best_ppl": best["fitness"], "best": best["canonical"], "wall_s": wall_s,
            "settings": config.get("settings", {}), "versions": config.get("versions"), "hardware": config.get("hardware")}


def report(rows: list[dict]) -> str:
    """The arms side by side, rates relative to the full arm."""
    full = next((r for r in rows if r["arm"] == "full"), None)
    s = rows[0]["settings"] if rows else {}
    shared = rows[0].get("common", []) if rows else []
    seed = shared[shared.index("--seed") + 1] if "--seed" in shared else "0"
    population = shared[shared.index("--population") + 1] if "--population" in shared else str(DEFAULT_POPULATION)
    options = ((f" --population {population}" if population != str(DEFAULT_POPULATION) else "")
               + (f" --seed {seed}" if seed != "0" else "") + (f" --arms {','.join(r['arm'] for r in rows)}"
                                                             if len(rows) < len(ARMS) else ""))
    lines = ["# Candidates per hour: proxy and multi-fidelity against full fitness", "",
             f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py{options}` (data in the .json beside this file). "
             f"Search `single.toml` with `{' '.join(shared)}` (seed {seed}), SmolLM2-135M, {s.get('dtype')} on "
             f"{s.get('device')}; calibration {s.get('calib_source')}, evaluation {s.get('eval_tokens')} tokens of "
             f"{s.get('eval_source')}. Hardware: {rows[0].get('hardware') if rows else '-'}.", "",
             "| arm | options | candidates | scored per budget (n / s) | scoring s | candidates per hour | vs full | "
             "best perplexity (full budget) | best formula |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        per = "; ".join(f"{k}: {int(v['evaluated'])} / {v['eval_s']:.0f}" for k, v in r["budgets"].items())
        speed = (f"{r['candidates_per_hour'] / full['candidates_per_hour']:.2f}x"
                 if full and r["candidates_per_hour"] and full["candidates_per_hour"] else "-")
        lines.append(f"| {r['arm']} | `{' '.join(r['options'])}` | {r['candidates']} | {per} | {r['scoring_s']:.0f} | "
                     f"{r['candidates_per_hour']:.0f} | {speed} | {r['best_ppl']:.3f} | `{r['best']}` |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arms", default=",".join(ARMS), help="arms to run, in order")
    p.add_argument("--population", type=int, default=DEFAULT_POPULATION, help="population of every arm's search")
    p.add_argument("--seed", type=int, default=0, help="seed of every arm's search")
    p.add_argument("--report", action="store_true", help="only rewrite the .md from the stored data")
    args = p.parse_args()
    work, results = places(args.population, args.seed)
    stored = {r["arm"]: r for r in json.loads(results.read_text())} if results.is_file() else {}
    if not args.report:
        work.mkdir(parents=True, exist_ok=True)
        for arm in args.arms.split(","):
            wall = search(arm, args.population, args.seed)
            stored[arm] = summarise(arm, args.population, args.seed, wall + (stored.get(arm, {}).get("wall_s") or 0.0))
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps([stored[a] for a in ARMS if a in stored], indent=1, default=str))
    text = report([stored[a] for a in ARMS if a in stored])
    results.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
