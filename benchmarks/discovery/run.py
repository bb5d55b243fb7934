"""Discoveries that hold up: a robust search and a one-calibration control, both validated held out.

    .venv/bin/python benchmarks/discovery/run.py            # resumable: rerun continues where it stopped
    .venv/bin/python benchmarks/discovery/run.py --report   # only rewrite results.md from what is stored

Steps (each a metricforge command, printed and logged in work/discovery.log):
  1. ``metricforge search --config benchmarks/discovery/robust.toml``: scored over two calibration
     sources x two draws (geometric mean of perplexities);
  2. ``metricforge search --config benchmarks/discovery/single.toml``: the control, one calibration;
  3. ``metricforge search --config benchmarks/discovery/allocation.toml``: a recipe search, the layer
     allocation evolved at 70% (Wanda's score, no weight update, robust fitness);
  3b. ``metricforge search --config benchmarks/discovery/recipe50.toml``: score and allocation evolved
     together at 50% (no weight update, robust fitness, the reconstruction proxy as first rung);
     ``recipe50-wide-s1``, ``-s2`` and ``-s3`` run it again with 1.5 times the population, the
     512-token screen as first rung instead of the proxy, and search seeds 1, 2 and 3 (does the
     winner depend on the search's draw?); ``recipe50-evalset-s2`` repeats seed 2's search with an
     evaluation set (the tutorial and the Debian fortunes) instead of the tutorial alone;
     ``recipe50-worst-s1``, ``-s2`` and ``-s3`` repeat the wide searches under the "worst"
     calibration rule (``calib_aggregate``) instead of the geometric mean; ``recipe50-large-s4``
     runs the worst-rule search with 2.4 times the budget (population 48, 6 generations);
     ``recipe50-three-s1`` seed 1's wide search over three calibration sources (fortunes added);
  3c. ``metricforge search --config benchmarks/discovery/recipe70.toml``: score, allocation and post
     step evolved together at 70% (no weight update, robust fitness);
  3d. ``metricforge search --config benchmarks/discovery/recipe50swap.toml`` (``recipe50-swap``):
     score, allocation and post step ("none" or the exact-error "swap") at 50%, validated beside
     swap_wanda too; ``recipe50-swap-s1`` and ``-s2`` the same search with search seeds 1 and 2;
  4. ``metricforge validate --run ...`` for each: the best ``--top`` entries, Wanda and the other
     baselines (magnitude and RIA; OWL+Wanda and DSnoT+Wanda for the recipes) on a calibration source
     no search used (python-docs:howto, seeds 0, 1, 2), a text none evaluated on
     (python-docs:reference, 4,096 tokens), at 50% and 70% per row and 2:4 (60% and 70% per row for the recipes).
Every score is a registry evaluation (work/registry.db for the formula searches, work/recipes.db for
the recipe searches), so reruns reuse them. Each validated run's validation.json, summary.json and
config.json are copied to results/<name>/ (kept in the repository), and results.md is written from
those; ``--only NAME`` runs one search and its validation.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = HERE / "work"
KEPT = HERE / "results"  # per search: the validation, summary and config of its run, kept in the repository
RUN_FILES = ("results/validation.json", "results/summary.json", "config.json")
# 1.5 times recipe50's population, and the 512-token screen as first rung: the reconstruction
# proxy drops the best recipes (results/recipe_proxy_0.5.md), so these searches do without it.
WIDE = ("--population", "24", "--generations", "4", "--fidelity", "0.25")
WORST = ("-o", "calib_aggregate=worst")  # scored by the worst calibration relative to Wanda


@dataclass(frozen=True)
class Search:
    """One search of the benchmark and how it is validated: a formula search against magnitude and
    RIA in work/registry.db, a recipe search against OWL+Wanda and DSnoT+Wanda in work/recipes.db."""

    config: str  # TOML file in this folder
    options: tuple[str, ...] = ()  # extra `metricforge search` options
    levels: str = "0.5"  # held-out sparsity levels
    recipe: bool = True
    extra_baselines: tuple[str, ...] = ()  # validated beside the usual ones

    @property
    def baselines(self) -> tuple[str, ...]:
        usual = ("owl_wanda", "dsnot_wanda") if self.recipe else ("magnitude", "ria")  # beside wanda
        return usual + self.extra_baselines

    @property
    def registry(self) -> str:
        return "recipes.db" if self.recipe else "registry.db"


SEARCHES = {
    "robust": Search("robust.toml", levels="0.5,0.7,2:4", recipe=False),
    "single": Search("single.toml", levels="0.5,0.7,2:4", recipe=False),
    "allocation": Search("allocation.toml", levels="0.6,0.7"),
    "recipe50": Search("recipe50.toml"),
    "recipe50-wide-s1": Search("recipe50.toml", (*WIDE, "--seed", "1")),
    "recipe50-wide-s2": Search("recipe50.toml", (*WIDE, "--seed", "2")),
    # the same draw with an evaluation set: the tutorial and the Debian fortunes, windows interleaved
    "recipe50-evalset-s2": Search("recipe50.toml", (*WIDE, "--seed", "2", "-o",
                                                    "eval_source=python-docs:tutorial,fortunes")),
    # the same draws scored by their worst calibration relative to Wanda instead of the geometric mean
    "recipe50-worst-s2": Search("recipe50.toml", (*WIDE, "--seed", "2", *WORST)),
    "recipe50-worst-s1": Search("recipe50.toml", (*WIDE, "--seed", "1", *WORST)),
    "recipe50-wide-s3": Search("recipe50.toml", (*WIDE, "--seed", "3")),
    "recipe50-worst-s3": Search("recipe50.toml", (*WIDE, "--seed", "3", *WORST)),
    # 2.4 times the wide searches' budget (twice the population, 6 generations instead of 5)
    "recipe50-large-s4": Search("recipe50.toml", ("--population", "48", "--generations", "5", "--fidelity",
                                                  "0.25", "--seed", "4", *WORST)),
    # seed 1's wide search scored over three calibration sources instead of two (the Debian fortunes added)
    "recipe50-three-s1": Search("recipe50.toml", (*WIDE, "--seed", "1", "-o",
                                                  "calib_source=reviews,python-docs:library,fortunes")),
    "recipe70": Search("recipe70.toml", levels="0.7"),
    # score, allocation and post step ("none" or the exact-error "swap") evolved together
    "recipe50-swap": Search("recipe50swap.toml", extra_baselines=("swap_wanda",)),
    "recipe50-swap-s1": Search("recipe50swap.toml", ("--seed", "1"), extra_baselines=("swap_wanda",)),
    "recipe50-swap-s2": Search("recipe50swap.toml", ("--seed", "2"), extra_baselines=("swap_wanda",)),
}
HELD_OUT = ["--calib-source", "python-docs:howto", "--eval-source", "python-docs:reference", "--seeds", "0,1,2",
            "-o", "eval_tokens=4096"]


def metricforge() -> list[str]:
    """The metricforge command of this checkout's environment."""
    venv = ROOT / ".venv" / "bin" / "metricforge"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "metricforge.cli"]


def run(args: list[str]) -> None:
    """Run one metricforge command, logging it; a failure stops the benchmark."""
    line = " ".join(shlex.quote(a) for a in args)
    print(f"$ {line}", flush=True)
    with open(WORK / "discovery.log", "a", encoding="utf-8") as log:
        log.write(f"$ {line}\n")
    subprocess.run(args, check=True, cwd=ROOT)


def environment() -> dict:
    """Library versions and hardware of this machine (recorded beside the figures)."""
    import torch

    flags = set()
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        pass
    return {"python": platform.python_version(), "torch": torch.__version__, "cpu": platform.machine(),
            "cores": os.cpu_count(), "bf16_flags": sorted(flags & {"amx_bf16", "avx512_bf16", "avx512f"}),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def searches(names: list[str], top: int) -> None:
    """The searches, then their held-out validations (each resumes from the run folder and registry);
    each validated run's files are copied to results/<name>/."""
    for name in names:
        search = SEARCHES[name]
        run([*metricforge(), "search", "--config", str(HERE / search.config), *search.options, "--run", name,
             "--runs-dir", str(WORK / "runs"), "-r", str(WORK / search.registry)])
    for name in names:
        search = SEARCHES[name]
        run([*metricforge(), "validate", "--run", str(WORK / "runs" / name), "--top", str(top), *search.baselines,
             "--levels", search.levels, *HELD_OUT, "-r", str(WORK / search.registry)])
        for file in RUN_FILES:
            (KEPT / name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(WORK / "runs" / name / file, KEPT / name / Path(file).name)


def recorded_sections(path: Path) -> dict[str, str]:
    """The per-search sections of an existing results.md, by search name: kept for a search whose run
    files are not on this machine, so a report never drops what was recorded."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=## )", text)
    found = {}
    for part in parts:
        match = re.match(r"## Search `([^`]+)`", part)
        if match:
            found[match.group(1)] = part.rstrip("\n") + "\n"
    return found


def report() -> None:
    """results.md from every validated search's validation.json, with the settings and environment."""
    lines = ["# Discovery: robust fitness and held-out validation on SmolLM2-135M", "",
             "Generated by `benchmarks/discovery/run.py` (README.md says what each step runs). Held-out: "
             "calibration python-docs:howto (seeds 0, 1, 2; 16 x 512 tokens, joined draw), evaluation "
             "python-docs:reference (first 4,096 tokens), never used by either search. Cells: perplexity, mean "
             "+- standard error over the three calibration seeds; ratio: geometric mean over the (setting, "
             "seed) pairs of the metric's perplexity over Wanda's.", ""]
    recorded = recorded_sections(HERE / "results.md")
    for name, search in SEARCHES.items():
        path = KEPT / name / "validation.json"
        if not path.is_file():
            lines += [recorded[name]] if name in recorded else [f"## {name}: not validated yet", ""]
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        summary = json.loads((KEPT / name / "summary.json").read_text(encoding="utf-8"))
        run_config = json.loads((KEPT / name / "config.json").read_text(encoding="utf-8"))
        settings, recorded_search = run_config.get("settings", {}), run_config.get("search", {})
        head, rows = data["table"]["columns"], data["table"]["rows"]
        options = f" {' '.join(search.options)}" if search.options else ""
        lines += [f"## Search `{name}` ({search.config}{options}), then held-out validation", "",
                  f"Search: {summary['counters'].get('evaluated', '?')} evaluated over {summary['generation']} "
                  f"generations; settings key {summary['settings_key']}; dtype {settings.get('dtype')} on "
                  f"{settings.get('device')}; calibration {settings.get('calib_source')} x "
                  f"{settings.get('calib_draws', 1)} draw(s); search evaluation {settings.get('eval_source')}, "
                  f"{settings.get('eval_tokens')} tokens; population {recorded_search.get('population')}, "
                  f"seed {recorded_search.get('seed')}.", "",
                  "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        lines.append("")
    lines += ["## Environment", "", "Of the machine that last wrote this file; each search's section states its dtype, and its "
              "results/<name>/config.json records the hardware and library versions it ran on.", "",
              "```json", json.dumps(environment(), indent=1), "```", ""]
    (HERE / "results.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {HERE / 'results.md'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=3, help="hall-of-fame entries validated per search")
    parser.add_argument("--report", action="store_true", help="only rewrite results.md")
    parser.add_argument("--only", choices=sorted(SEARCHES), action="append",
                        help="run this search and its validation only (repeatable; default: all)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if not args.report:
        searches(args.only or list(SEARCHES), args.top)
    report()


if __name__ == "__main__":
    main()
