"""Compressed embeddings at scale on SYNTHETIC data: ~1M Zipf-distributed ids, where the CAFE paper's regime is.

    nohup env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cafe/synthetic_scale.py > work_synth.log 2>&1 &
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cafe/synthetic_scale.py --quick         # smoke, in work/
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cafe/synthetic_scale.py --report-only   # rewrite reports

Per seed s, a fresh planted world ``zipf_ctr(ZipfCTRSpec(seed=s))`` (4 fields x 250,000 ids, Zipf exponent 1.1,
2M rows, clicks from per-id effects + one pairwise interaction through a logistic model) is split at random
(70/10/20) and DLRM is trained for one epoch with every arm of the study harness (``run_seed``): full, hash,
qr, frequency and cafe (grad-norm importance, T = 100, decay x0.99 per 10 x B x T, hot fraction 0.5).
DLRM, not DeepFM: DeepFM keeps an uncompressed first-order weight per id, which would learn the planted
per-id effects whatever the embedding method. Tuning never reads test data and uses its own world (seed 10):
the learning rate is chosen on the validation AUC of hash at ratio 0.001 (conservative for CAFE), then the hot
fraction of frequency and cafe per ratio (arms frequency-tuned, cafe-tuned). Rows go to synthetic_scale.jsonl
as they finish, so a rerun resumes; synthetic_scale.{md,json,png} are rewritten at the end.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks.cafe.synthetic_report import cpu_name, write  # noqa: E402
from benchmarks.cafe.synthetic_study import Study  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--ratios", default="0.01,0.001,0.0001")
    p.add_argument("--methods", default="full,hash,qr,frequency,cafe")
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--ids-per-field", type=int, default=250_000)
    p.add_argument("--exponent", type=float, default=1.1)
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--no-tune-hot", action="store_true", help="skip the hot-fraction tuning and the *-tuned arms")
    p.add_argument("--quick", action="store_true", help="smoke: 30k rows, 4 x 5,000 ids, 1 seed, into work/")
    p.add_argument("--report-only", action="store_true", help="rewrite the reports from the rows, no training")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Tune on the tuning world, run the study, write synthetic_scale.{json,md,png}."""
    args = parse_args(argv)
    if args.quick:
        args.rows, args.ids_per_field, args.seeds, args.ratios = 30_000, 5_000, "0", "0.01,0.001"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    out = HERE / "work" / "synthetic_quick" if args.quick else HERE
    out.mkdir(parents=True, exist_ok=True)
    started, load = time.time(), os.getloadavg()
    if args.report_only and (out / "synthetic_scale.json").exists():  # keep the load of the run that trained
        load = tuple(json.loads((out / "synthetic_scale.json").read_text())["meta"]["load_average_at_start"])
    study = Study(args, out)
    lr, extra, tuning = study.tune()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    rows = study.main_rows(lr, extra, seeds)
    for seed in seeds:
        if seed not in study.stats:
            study.data(seed)  # world statistics for the report (generation only)
    meta = {"command": " ".join(["benchmarks/cafe/synthetic_scale.py", *(a for a in (argv or sys.argv[1:])
                                                                         if a != "--report-only")]),
            "setup": study.setup(lr), "tuning": tuning, "seeds": list(seeds), "ratios": list(study.ratios),
            "worlds": [study.stats[s] for s in seeds], "cpu": cpu_name(), "torch_threads": 1,
            "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "load_average_at_start": list(load), "wall_s_this_run": time.time() - started,
            "train_minutes_main": sum(r.get("train_s", 0.0) for r in rows) / 60,
            "train_minutes_tuning": sum(r.get("train_s", 0.0) for r in study.rows if r.get("phase") != "main"
                                        and r.get("setup", {}).get("spec") == study.setup(lr)["spec"]) / 60}
    write(rows, meta, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
