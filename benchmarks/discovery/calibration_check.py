"""Which calibration does a recipe's gain depend on? Recipes against Wanda over calibration x evaluation text.

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/calibration_check.py            # resumable; rows in results/calibration_check.jsonl
    PYTHONPATH=. .venv/bin/python benchmarks/discovery/calibration_check.py --report   # rewrite the .md only

SmolLM2-135M at 50% per row, the model's dtype as the task resolves it; calibration 16 x 512 tokens of
each source (one draw, seed 0), perplexity on the first 4,096 tokens of each text. The sources are the
searches' calibrations (reviews, python-docs:library) and the held-out one (python-docs:howto); the texts
are the searches' evaluation text (python-docs:tutorial) and the held-out one (python-docs:reference).
Each cell is the recipe's perplexity over Wanda's under the same calibration and text.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
RESULTS = HERE / "results" / "calibration_check.jsonl"
RECIPES = {  # name -> recipe text
    "wanda": "wanda",
    "ria": "ria",
    "evolved alloc": "recipe(score=wanda, alloc=abs(zsn(depth)), unit=block)",
    "recipe50-wide-s1 winner": "recipe(score=mul(X, add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W))))), "
                               "alloc=abs(log(depth)), unit=block)",
    "recipe50-wide-s2 winner": "recipe(score=mul(add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(Xs))), sqrt(X)), "
                               "alloc=abs(zsn(depth)), unit=block, post=dsnot)",
}
CALIBRATIONS = ("reviews", "python-docs:library", "python-docs:howto")
TEXTS = ("python-docs:tutorial", "python-docs:reference")
SETTINGS = {"sparsity": 0.5, "group": "row", "calib_seed": 0, "calib_windows": 16, "calib_length": 512,
            "eval_tokens": 4096}


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def run(path: Path) -> None:
    """Score every missing (calibration, text, recipe), appending each row as soon as it is measured."""
    from evaluators.llm.task import LLMPruneTask
    from gp_engine.env import hardware, library_versions
    from primitives.reference import resolve_recipe

    done = {(r["calib"], r["text"], r["recipe"]) for r in load_rows(path)}
    path.parent.mkdir(parents=True, exist_ok=True)
    for calib in CALIBRATIONS:
        for text in TEXTS:
            todo = [name for name in RECIPES if (calib, text, name) not in done]
            if not todo:
                continue
            task = LLMPruneTask(**SETTINGS, calib_source=calib, eval_source=text)
            task.prepare()
            for name in todo:
                fit = task.score_recipe(resolve_recipe(RECIPES[name]))
                row = {"calib": calib, "text": text, "recipe": name, "ppl": fit.value if fit.ok else None,
                       "ok": fit.ok, "reason": fit.reason, "settings": task.settings(), "hardware": hardware(),
                       "versions": library_versions(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
                with path.open("a") as sink:
                    sink.write(json.dumps(row, default=str) + "\n")
                print(f"{calib:22s} {text:22s} {name:24s} {fit.value:8.3f}", flush=True)


def report(path: Path) -> str:
    """One table: recipes by row, (calibration, text) by column, each cell the ratio to Wanda."""
    rows = [r for r in load_rows(path) if r["ok"]]
    ppl = {(r["calib"], r["text"], r["recipe"]): r["ppl"] for r in rows}
    first = rows[0] if rows else {}
    s = first.get("settings", {})
    cells = [(c, t) for c in CALIBRATIONS for t in TEXTS]
    lines = ["# A recipe's gain by calibration and evaluation text", "",
             "Command: `PYTHONPATH=. .venv/bin/python benchmarks/discovery/calibration_check.py` "
             f"(rows in `{path.name}`). SmolLM2-135M, {s.get('dtype')} on {s.get('device')}, 50% per row; "
             f"calibration {s.get('calib_windows')} x {s.get('calib_length')} tokens (one draw, seed 0), perplexity "
             f"on the first {s.get('eval_tokens')} tokens of the text. Hardware: {first.get('hardware')}.", "",
             "Cell: perplexity over Wanda's under the same calibration and text (Wanda's perplexity in its row).", "",
             "| recipe | " + " | ".join(f"calib {c}, eval {t.split(':')[-1]}" for c, t in cells) + " |",
             "|---|" + "---|" * len(cells)]
    for name in RECIPES:
        out = []
        for c, t in cells:
            value, base = ppl.get((c, t, name)), ppl.get((c, t, "wanda"))
            out.append("-" if value is None or base is None else
                       (f"{value:.2f}" if name == "wanda" else f"{value / base:.3f}"))
        lines.append(f"| {name} | " + " | ".join(out) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--report", action="store_true", help="only rewrite the .md from the stored rows")
    args = p.parse_args()
    if not args.report:
        run(args.results)
    text = report(args.results)
    args.results.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
