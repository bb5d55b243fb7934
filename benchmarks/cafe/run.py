"""Compressed embeddings on MovieLens-100k: full, hashing, QR, offline frequency, CAFE and multi-level CAFE.

    nice -n 10 .venv/bin/python benchmarks/cafe/run.py            # DeepFM, 3 seeds, ratios 0.5/0.1/0.02/0.01
    nice -n 10 .venv/bin/python benchmarks/cafe/run.py --dlrm     # DLRM as well
    nice -n 10 .venv/bin/python benchmarks/cafe/run.py --quick    # smoke: 1 seed, 1 epoch, 2 ratios, in work/quick

Rows are appended to rows.jsonl as each (model, method, ratio, seed) finishes, so a rerun skips what
is done; results.json, results.md and auc_vs_ratio.png are rewritten at the end.
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

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from model_compression.cafe.experiment import CAFEConfig, run_seed  # noqa: E402
from model_compression.cafe.methods import DEFAULT_THRESHOLD, METHODS  # noqa: E402
from model_compression.cafe.report import write_results  # noqa: E402

log = logging.getLogger("benchmarks.cafe")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dlrm", action="store_true", help="run DLRM after DeepFM")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--ratios", default="0.5,0.1,0.02,0.01")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    p.add_argument("--hot-fraction", type=float, default=0.5)
    p.add_argument("--importance", default="grad-norm", help="grad-norm or frequency")
    p.add_argument("--out", type=Path, default=None, help="default: benchmarks/cafe (work/quick with --quick)")
    p.add_argument("--quick", action="store_true", help="1 seed, 1 epoch, ratios 0.1 and 0.02")
    p.add_argument("--report-only", action="store_true", help="rewrite the reports from rows.jsonl, no training")
    return p.parse_args(argv)


def load_rows(path: Path) -> list[dict]:
    """Finished rows of an earlier run (a line cut off by a kill is dropped)."""
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("dropping a partial line of %s", path)
    return rows


def notes(cfgs: dict[str, dict], command: str, started_load: tuple[float, ...], wall_s: float,
          full_floats: int) -> str:
    """What was run, on what, and how to read the tables."""
    cfg = next(iter(cfgs.values()))
    epochs = ", ".join(f"{m} {c['epochs']}" for m, c in cfgs.items())
    return "\n".join([
        "# Compressed embeddings on MovieLens-100k (CAFE study)", "",
        f"Reproduce: `nice -n 10 .venv/bin/python {command}` (torch {torch.__version__}, one torch thread, "
        f"{platform.platform()}, load average at start {', '.join(f'{v:.2f}' for v in started_load)}, "
        f"{wall_s / 60:.1f} min this run).", "",
        f"Data and training as the dense recsys-prune models: {cfg['split']} split, Adam lr {cfg['lr']}, batch "
        f"{cfg['batch_size']}, epochs {epochs}, emb_dim {cfg['emb_dim']}, hidden {tuple(cfg['hidden'])}; only "
        "`model.embeddings` is swapped, every method of a seed sees the same initial MLP and the same batches. "
        "Memory counts the swapped module (parameters, hot-id lists, sketch) against its budget, ratio x the "
        f"full table's {full_floats:,} floats; DeepFM's first-order weights (one float per feature) stay "
        "uncompressed in every method.", "",
        f"CAFE: threshold {cfg['threshold']:g} (benchmarks/cafe/threshold.md), hot fraction {cfg['hot_fraction']} "
        f"(also the frequency baseline's), importance {cfg['importance']}, sketch decay 0.99 per 10 x B x T "
        "inserted score; cafe-ml adds a medium hash table for ids scoring >= 0.2 T. Throughput: training "
        "samples per second on one thread, on the same batches (noisy when the machine is shared).",
    ])


def main(argv: list[str] | None = None) -> int:
    """Run every (model, method, ratio, seed) not yet in rows.jsonl, then write the reports."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = args.out or (HERE / "work" / "quick" if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    seeds = (0,) if args.quick else tuple(int(s) for s in args.seeds.split(","))
    ratios = (0.1, 0.02) if args.quick else tuple(float(r) for r in args.ratios.split(","))
    rows_path = out / "rows.jsonl"
    rows = load_rows(rows_path)
    rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    load, started = os.getloadavg(), time.time()
    cfgs = {}
    for model in ("deepfm", "dlrm") if args.dlrm else ("deepfm",):
        cfg = CAFEConfig(model=model, ratios=ratios, methods=tuple(args.methods.split(",")), seeds=seeds,
                         threshold=args.threshold, hot_fraction=args.hot_fraction, importance=args.importance,
                         epochs=1 if args.quick else None)
        cfgs[model] = cfg.to_dict()
        settings = {"threshold": cfg.threshold, "hot_fraction": cfg.hot_fraction, "importance": cfg.importance}
        # a row is reused only when it was made under the same CAFE settings
        for seed in seeds:
            done = {(r["method"], r["ratio"]) for r in rows if r["model"] == model and r["seed"] == seed
                    and all(r.get(k) == v for k, v in settings.items())}
            if args.report_only or all(run in done for run in cfg.runs()):
                continue

            def emit(row: dict) -> None:
                with rows_path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                rows.append(row)

            run_seed(cfg, seed, emit, skip=lambda method, ratio: (method, ratio) in done)
    wanted = {(m, c["threshold"], c["hot_fraction"], c["importance"]) for m, c in cfgs.items()}
    current = [r for r in rows if (r["model"], r["threshold"], r["hot_fraction"], r["importance"]) in wanted
               and r["seed"] in seeds and (r["ratio"] in ratios or r["method"] == "full")]
    command = " ".join(["benchmarks/cafe/run.py", *(argv if argv is not None else sys.argv[1:])])
    meta = {"configs": cfgs, "command": command, "python": platform.python_version(), "torch": torch.__version__,
            "machine": platform.machine(), "load_average_at_start": list(load),
            "wall_s_this_run": time.time() - started}
    full_floats = max((r["full_floats"] for r in current if "full_floats" in r), default=0)
    paths = write_results(current, out, meta, notes(cfgs, command, load, time.time() - started, full_floats))
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
