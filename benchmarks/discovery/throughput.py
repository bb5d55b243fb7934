"""Candidates per hour, search against search: full fitness, the 512-token screen, and the proxy first.

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py            # resumable (each search resumes)
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py --report   # rewrite results/throughput.md only

The same search (single.toml with the task's default evaluation budget: SmolLM2-135M, 50% per row,
calibration reviews, 8,192 tokens of the Python tutorial; population 24, 2 generations, seed 0) is
run once per arm, each with its own registry so no arm reuses another's scores:

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
WORK = HERE / "work" / "throughput"
RESULTS = HERE / "results" / "throughput.json"
CONFIG = HERE / "single.toml"
COMMON = ["--population", "24", "--generations", "2", "-o", "eval_tokens=8192"]
ARMS = {"full": ["--fidelity", "none"], "screen": ["--fidelity", "0.0625", "--eta", "3"],
        "proxy": ["--fidelity", "proxy,0.0625", "--eta", "3"],
        "proxy-eta6": ["--fidelity", "proxy,0.0625", "--eta", "6"],
        "proxy-eta9": ["--fidelity", "proxy,0.0625", "--eta", "9"]}


def metricforge() -> list[str]:
    """The metricforge command of this checkout's environment."""
    venv = ROOT / ".venv" / "bin" / "metricforge"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "metricforge.cli"]


def search(arm: str) -> float:
    """Run (or resume) one arm's search; its wall seconds in this call."""
    args = [*metricforge(), "search", "--config", str(CONFIG), *COMMON, *ARMS[arm], "--run", arm,
            "--runs-dir", str(WORK / "runs"), "-r", str(WORK / f"{arm}.db")]
    print("$ " + " ".join(args), flush=True)
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT)
    return time.perf_counter() - start


def summarise(arm: str, wall_s: float | None) -> dict:
    """Budgets, counts and the best full-budget entry of one arm's run folder."""
    run = WORK / "runs" / arm
    checkpoint = json.loads((run / "checkpoint.json").read_text())
    budgets = checkpoint.get("budget_counts", {})
    best = json.loads((run / "results" / "hall_of_fame.json").read_text())[0]
    first = min(budgets.values(), key=lambda b: b["eval_s"] / max(b["evaluated"], 1)) if budgets else {}
    seconds = sum(b["eval_s"] for b in budgets.values())
    config = json.loads((run / "config.json").read_text())
    return {"arm": arm, "options": ARMS[arm], "budgets": budgets, "candidates": int(first.get("evaluated", 0)),
            "scoring_s": seconds, "candidates_per_hour": 3600.0 * first.get("evaluated", 0) / seconds if seconds else None,
            "best_ppl": best["fitness"], "best": best["canonical"], "wall_s": wall_s,
            "settings": config.get("settings", {}), "versions": config.get("versions"), "hardware": config.get("hardware")}


def report(rows: list[dict]) -> str:
    """The arms side by side, rates relative to the full arm."""
    full = next((r for r in rows if r["arm"] == "full"), None)
    s = rows[0]["settings"] if rows else {}
    lines = ["# Candidates per hour: proxy and multi-fidelity against full fitness", "",
             "Command: `PYTHONPATH=. .venv/bin/python benchmarks/discovery/throughput.py` (data in `throughput.json`). "
             f"Search `single.toml` with `{' '.join(COMMON)}` (seed 0), SmolLM2-135M, {s.get('dtype')} on "
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
    p.add_argument("--report", action="store_true", help="only rewrite the .md from the stored data")
    args = p.parse_args()
    stored = {r["arm"]: r for r in json.loads(RESULTS.read_text())} if RESULTS.is_file() else {}
    if not args.report:
        WORK.mkdir(parents=True, exist_ok=True)
        for arm in args.arms.split(","):
            wall = search(arm)
            stored[arm] = summarise(arm, wall + (stored.get(arm, {}).get("wall_s") or 0.0))
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps([stored[a] for a in ARMS if a in stored], indent=1, default=str))
    text = report([stored[a] for a in ARMS if a in stored])
    RESULTS.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
