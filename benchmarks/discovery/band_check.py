"""How wide an allocation band pays: the evolved depth allocation with OWL's lambda varied.

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/band_check.py            # resumable; rows in results/band_check.jsonl
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/band_check.py --report   # rewrite results/band_check.md only

A recipe's allocation maps its per-unit values into sparsities within [S - lambda, S + lambda] with a
size-weighted mean of exactly S; recipes use OWL's lambda = 0.08. This check prunes with the allocation
search's winner (``targets.EVOLVED_ALLOC``) under other bands, on the held-out settings of targets.py
(calibration python-docs:howto, perplexity on python-docs:reference), paired with uniform Wanda on the
same draw.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
from targets import EVOLVED_ALLOC, SETTINGS, load_rows, measure_and_report, paired_ratio  # noqa: E402

RESULTS = HERE / "results" / "band_check.jsonl"
BANDS = (0.0, 0.04, 0.08, 0.12, 0.16, 0.2)  # 0: uniform Wanda, the baseline of every ratio


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2", help="calibration draws")
    p.add_argument("--levels", default="0.5,0.7", help="sparsities")
    p.add_argument("--bands", default=",".join(f"{b:g}" for b in BANDS))
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--report", action="store_true", help="only rewrite the .md from the stored rows")
    return p.parse_args()


def banded(task, band: float) -> tuple[int, int]:
    """Prune a prepared task's model with the evolved allocation inside [S - band, S + band]."""
    from evaluators.llm.recipe.recipe import StepOptions, input_needs, prune_with_recipe, task_operands
    from primitives.reference import resolve_recipe

    recipe = resolve_recipe(EVOLVED_ALLOC)
    st, cfg = task.state, task.config
    inputs = st.store.statistics(**input_needs(recipe))
    return prune_with_recipe(recipe, st.blocks, st.block_layers, st.operands_for(task_operands(recipe)), inputs,
                             cfg.sparsity, cfg.structure, StepOptions(lam=band))


def run(args: argparse.Namespace) -> None:
    """Measure every missing (seed, level, band) row, appending each as soon as it is measured."""
    from evaluators.llm.task import LLMPruneTask
    from gp_engine.env import hardware, library_versions

    done = {(r["level"], r["band"], r["seed"]) for r in load_rows(args.results)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    bands = [float(b) for b in args.bands.split(",")]
    for seed in (int(s) for s in args.seeds.split(",")):
        todo = [(level, b) for level in args.levels.split(",") for b in bands if (level, b, seed) not in done]
        if not todo:
            continue
        base = LLMPruneTask(**SETTINGS, calib_seed=seed)
        base.prepare()
        for level, band in todo:
            task = base.variant(group="row", sparsity=float(level))
            fit = task.score_pruning(lambda t: banded(t, band), metric=f"{EVOLVED_ALLOC} band {band:g}")
            row = {"level": level, "band": band, "seed": seed, "recipe": EVOLVED_ALLOC,
                   "ppl": fit.value if fit.ok else None, "ok": fit.ok, "reason": fit.reason, "wall_s": fit.wall_s,
                   "sparsity": fit.details.get("sparsity"), "settings": task.settings(), "hardware": hardware(),
                   "versions": library_versions(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
            with args.results.open("a") as sink:
                sink.write(json.dumps(row, default=str) + "\n")
            print(f"seed {seed} {level} band {band:4.2f} ppl {fit.value:9.3f}  {fit.wall_s:6.1f} s", flush=True)


def report(path: Path) -> str:
    """Per level and band: perplexity per draw and the paired ratio to uniform Wanda (band 0)."""
    rows = [r for r in load_rows(path) if r["ok"]]
    ppl = {(r["level"], r["band"], r["seed"]): r["ppl"] for r in rows}
    s = rows[0]["settings"] if rows else {}
    lines = ["# The allocation band: evolved depth allocation with OWL's lambda varied", "",
             f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/discovery/band_check.py` (rows in `{path.name}`). "
             f"Recipe `{EVOLVED_ALLOC}`; SmolLM2-135M, {s.get('dtype')} on {s.get('device')}; calibration "
             f"{s.get('calib_windows')} x {s.get('calib_length')} tokens of {s.get('calib_source')} (one draw per seed), "
             f"perplexity on the first {s.get('eval_tokens')} tokens of {s.get('eval_source')}. Band 0 is uniform Wanda.",
             "", "| sparsity | band | draws | perplexity per draw | ratio to Wanda |", "|---|---|---|---|---|"]
    for level in sorted({lv for lv, _, _ in ppl}):
        for band in sorted({b for lv, b, _ in ppl if lv == level}):
            seeds = sorted(sd for lv, b, sd in ppl if (lv, b) == (level, band))
            logs = [math.log(ppl[level, band, sd] / ppl[level, 0.0, sd]) for sd in seeds if (level, 0.0, sd) in ppl]
            lines.append(f"| {float(level):.0%} | {band:g} | {len(seeds)} | "
                         f"{', '.join(f'{ppl[level, band, sd]:.2f}' for sd in seeds)} | {paired_ratio(logs)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    measure_and_report(parse_args(), run, report)


if __name__ == "__main__":
    main()
