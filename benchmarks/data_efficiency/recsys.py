"""Recommender training-data efficiency on MovieLens-100k: downsampling curves with convergence points, IsoCompute.

    nice -n 10 .venv/bin/python benchmarks/data_efficiency/recsys.py           # DeepFM (+ DLRM uniform), seeds 0,1,2
    nice -n 10 .venv/bin/python benchmarks/data_efficiency/recsys.py --quick   # smoke: 1 seed, 1 epoch, into work/

Each finished block (one model x strategy x split curve, or the IsoCompute sweep) is saved under
work/recsys/ with its settings, so a rerun with the same settings skips it. recsys_results.md,
recsys_results.json and the two PNGs are rewritten at the end.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from data_efficiency.isocompute import isocompute  # noqa: E402
from data_efficiency.isocompute_report import aggregate, best_per_budget, markdown_table, plot as iso_plot  # noqa: E402
from data_efficiency.recsys_point import RunSettings  # noqa: E402
from data_efficiency.train_convergence import TrainingConvergence, training_convergence  # noqa: E402
from data_efficiency.train_report import plot, sections  # noqa: E402

log = logging.getLogger("benchmarks.data_efficiency.recsys")
CURVES = (("deepfm", "uniform", "random"), ("deepfm", "negatives", "random"), ("deepfm", "uniform", "time"),
          ("deepfm", "time-decay", "time"), ("dlrm", "uniform", "random"))
PACKAGES = ("torch", "numpy", "scikit-learn", "scipy", "matplotlib")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fractions", default="0.05,0.1,0.2,0.4,0.7,1.0")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=4, help="steps per run, in full-training-set epochs")
    p.add_argument("--tolerance", type=float, default=0.002)
    p.add_argument("--window", type=int, default=2)
    p.add_argument("--budgets", default="5e9,2e10,8e10")
    p.add_argument("--sizes", default="s,m,l,xl")
    p.add_argument("--no-dlrm", action="store_true", help="skip the DLRM uniform curve")
    p.add_argument("--quick", action="store_true", help="1 seed, 1 epoch, fractions 0.2,1, one budget, into work/")
    return p.parse_args(argv)


def cached(path: Path, settings: dict[str, Any], compute: Callable[[], Any]) -> dict[str, Any]:
    """{"value": compute(), "wall_s", "load": [before, after]}, or the saved one made under the same settings."""
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("settings") == settings:
            return saved
    before, start = os.getloadavg(), time.time()
    saved = {"settings": settings, "value": compute(), "wall_s": time.time() - start,
             "load": [before, os.getloadavg()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved))
    return saved


def header(args: argparse.Namespace, command: str, blocks: list[dict[str, Any]], run: RunSettings) -> str:
    """How to reproduce, on what (with the machine load while the blocks ran), and what each figure shows."""
    one_minute = [load[0] for b in blocks for load in b["load"]]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout
    versions = ", ".join(f"{name} {version(name)}" for name in PACKAGES)
    return "\n".join([
        "# Recommender training-data efficiency on MovieLens-100k", "",
        f"Reproduce: `nice -n 10 .venv/bin/python {command}` (commit {commit.strip() or '?'}; Python "
        f"{platform.python_version()}, {versions}; {platform.platform()}, {os.cpu_count()} CPU cores, one torch "
        f"thread). Run time {sum(b['wall_s'] for b in blocks) / 60:.1f} min on a machine shared with other jobs: "
        f"1-minute load average {min(one_minute):.2f} to {max(one_minute):.2f} at the starts and ends of the "
        f"{len(blocks)} blocks.", "",
        f"Seeds {args.seeds}: each fixes the split (random split: which rows are validation/test; time split: only "
        "the order of equal timestamps), the downsample, the initialisation and the batch order. Data: "
        "MovieLens-100k, click = rating >= 4, 70% train / 10% validation / 20% test.", "",
        "**Downsampling** (first figure): left panel random split (DeepFM uniform and negatives, DLRM uniform), right "
        "panel time split (train on the earliest 70% of ratings, validate on the next 10%; DeepFM uniform and "
        f"time-decay with tau {run.tau_days:g} days). Every run takes the same {run.epochs} full-training-set "
        f"epochs of Adam steps (lr {run.lr:g}, batch {run.batch_size}), cycling a smaller sample more often, and "
        f"keeps the best of {run.evals} validation checks. Rate = keep rate (negatives: of the negatives only, "
        "every positive stays, kept negatives weigh 1 / rate). Convergence point: the smallest rate after which "
        f"no seed-paired AUC gain over the next {args.window} rates has a one-sided 95% lower confidence bound "
        f"(Student t over the seeds) of {args.tolerance:g} or more.", "",
        "**IsoCompute** (second figure): DeepFM, random split; training compute = 3 x forward matmul FLOPs per "
        "sample x samples seen; below one epoch a size gets one pass over a uniform sample of the rows, above it "
        "all rows for fractional epochs; validation and test AUC at the end of the budget (no early stopping).", "",
    ])


def main(argv: list[str] | None = None) -> int:
    """Run every block not saved yet, then write the results file and figures."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.quick:
        args.fractions, args.seeds, args.epochs, args.budgets, args.sizes = "0.2,1", "0", 1, "1e9", "s,m"
    out = HERE / "work" / "recsys_quick" if args.quick else HERE
    work = HERE / "work" / ("recsys_quick" if args.quick else "recsys")
    fractions, seeds = [float(f) for f in args.fractions.split(",")], [int(s) for s in args.seeds.split(",")]
    run = RunSettings(epochs=args.epochs)
    results, blocks = [], []
    for model, strategy, split in CURVES[:4] if args.no_dlrm else CURVES:
        settings = {"fractions": fractions, "seeds": seeds, "run": vars(run), "tolerance": args.tolerance,
                    "window": args.window}
        blocks.append(cached(work / f"{model}-{strategy}-{split}.json", settings, lambda: training_convergence(
            fractions, seeds, strategy, model, args.tolerance, args.window, split=split, run=run).to_dict()))
        results.append(TrainingConvergence.from_dict(blocks[-1]["value"]))
    budgets, sizes = [float(b) for b in args.budgets.split(",")], args.sizes.split(",")
    blocks.append(cached(work / "isocompute.json", {"budgets": budgets, "sizes": sizes, "seeds": seeds},
                         lambda: isocompute(budgets, sizes, seeds, "deepfm", "random")))
    rows = blocks[-1]["value"]
    command = " ".join(["benchmarks/data_efficiency/recsys.py", *(argv if argv is not None else sys.argv[1:])])
    out.mkdir(parents=True, exist_ok=True)
    plot(results, out / "recsys_auc_vs_fraction.png")
    agg = aggregate(rows)
    iso_plot(agg, out / "recsys_isocompute.png")
    best = "\n".join(f"- {m} at {b:.3g} FLOPs: size {s}" for (m, b), s in sorted(best_per_budget(agg).items()))
    text = "\n".join([header(args, command, blocks, run),
                      sections(results, "recsys_auc_vs_fraction.png"), "## IsoCompute", "", markdown_table(agg), "",
                      "Best size (validation AUC) per budget:", "", best, "",
                      "![IsoCompute: validation AUC against model size](recsys_isocompute.png)", ""])
    (out / "recsys_results.md").write_text(text)
    (out / "recsys_results.json").write_text(json.dumps(
        {"command": command, "curves": [r.to_dict() for r in results], "isocompute": {"rows": rows, "aggregate": agg}},
        indent=1))
    log.info("wrote %s", out / "recsys_results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
