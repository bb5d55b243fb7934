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
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks.cafe.run import load_rows, matches  # noqa: E402
from benchmarks.cafe.synthetic_report import cpu_name, write  # noqa: E402
from evaluators.recsys.data import CTRData, make_splits, split_order  # noqa: E402
from evaluators.recsys.synthetic import ZipfCTRSpec, zipf_ctr  # noqa: E402
from evaluators.recsys.train import metrics  # noqa: E402
from model_compression.cafe.experiment import CAFEConfig, run_one, run_seed  # noqa: E402
from model_compression.cafe.methods import MethodOptions, train_counts  # noqa: E402
from model_compression.cafe.variants import Variant  # noqa: E402

log = logging.getLogger("benchmarks.cafe.synthetic_scale")
MODEL, TUNE_SEED, TEST_FRAC = "dlrm", 10, 0.2
LRS, HOT_FRACTIONS = (1e-3, 3e-3, 1e-2), (0.2, 0.5, 0.8, 0.9, 0.95)


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


def world(spec: ZipfCTRSpec, seed: int) -> tuple[CTRData, dict]:
    """The seed's world split at random (the split seed is the world seed), and its statistics: ids seen in
    training, share of training occurrences on ids seen >= 100 times, and the planted logit's test AUC."""
    table, logit = zipf_ctr(replace(spec, seed=seed))
    data = make_splits(table, "random", "first", seed, test_frac=TEST_FRAC, calib_rows=256)
    test = split_order(table.timestamp, "random", seed)[len(logit) - round(TEST_FRAC * len(logit)):]
    counts = train_counts(data)
    oracle = metrics(torch.from_numpy(logit[test]), torch.from_numpy(table.y[test]))
    stats = {"seed": seed, "positive_rate": float(table.y.mean()), "train_rows": len(data.train),
             "ids_seen_in_train": int((counts > 0).sum()), "ids_seen_100": int((counts >= 100).sum()),
             "share_on_ids_seen_100": float(counts[counts >= 100].sum() / counts.sum()),
             "oracle_test_auc": oracle["auc"], "oracle_test_logloss": oracle["logloss"]}
    log.info("world %d: %s", seed, stats)
    return data, stats


class Study:
    """Runs (or reuses from the rows file) every training of the study; rows carry the setup they ran under."""

    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        cards = (args.ids_per_field + 1,) * 4  # code 0 is never drawn
        self.spec = ZipfCTRSpec(rows=args.rows, cardinalities=cards, exponent=args.exponent)
        self.args, self.path = args, out / "synthetic_scale.jsonl"
        self.rows, self.worlds, self.stats = load_rows(self.path), {}, {}
        self.ratios = tuple(float(r) for r in args.ratios.split(","))
        self.methods = tuple(args.methods.split(","))

    def config(self, lr: float, seeds: tuple[int, ...], extra: tuple[Variant, ...] = ()) -> CAFEConfig:
        """The harness config: DLRM, one epoch, the study's batch size and ratios."""
        return CAFEConfig(model=MODEL, ratios=self.ratios, methods=self.methods, seeds=seeds, extra=extra,
                          epochs=1, batch_size=self.args.batch_size, lr=lr)

    def setup(self, lr: float) -> dict:
        """What a row must have been made under to be reused (the world seed is the row's seed)."""
        spec = {k: v for k, v in asdict(self.spec).items() if k != "seed"}
        return {"spec": {**spec, "cardinalities": list(self.spec.cardinalities)}, "model": MODEL, "epochs": 1,
                "batch_size": self.args.batch_size, "lr": lr}

    def data(self, seed: int) -> CTRData:
        """The seed's world (only the last one is kept in memory; its statistics go to ``stats``)."""
        if seed not in self.worlds:
            self.worlds.clear()
            self.worlds[seed], self.stats[seed] = world(self.spec, seed)
        return self.worlds[seed]

    def emit(self, phase: str, lr: float, row: dict) -> None:
        """Append a finished row (tuning rows lose their test numbers: tuning never reads them)."""
        row = {**row, "phase": phase, "setup": self.setup(lr)}
        if phase != "main":
            row.pop("auc", None), row.pop("logloss", None)
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        self.rows.append(row)

    def found(self, phase: str, lr: float, variant: Variant, ratio: float, seed: int) -> dict | None:
        """A stored row of this (variant, ratio, seed) under this setup, else None."""
        return next((r for r in self.rows if r.get("phase") == phase and r["seed"] == seed
                     and r.get("setup") == self.setup(lr) and matches(r, MODEL, variant, ratio)), None)

    def tune_one(self, phase: str, lr: float, variant: Variant, ratio: float) -> float:
        """Validation AUC of one setting on the tuning world (trained unless stored); -inf when skipped."""
        row = self.found(phase, lr, variant, ratio, TUNE_SEED)
        if row is None and not self.args.report_only:
            data = self.data(TUNE_SEED)
            row = run_one(self.config(lr, (TUNE_SEED,)), data, variant, ratio, TUNE_SEED, train_counts(data))
            self.emit(phase, lr, row)
        return row["valid_auc"] if row is not None and row["status"] == "ok" else float("-inf")

    def tune(self) -> tuple[float, tuple[Variant, ...], dict]:
        """The learning rate (hash at 0.001, else the middle ratio) and the hot fraction per ratio of frequency
        and cafe, each by validation AUC on the tuning world; the tuned arms and the record of the choices."""
        r = 0.001 if 0.001 in self.ratios else self.ratios[len(self.ratios) // 2]
        lr_auc = {lr: self.tune_one("tune-lr", lr, Variant("hash", "hash"), r) for lr in LRS}
        lr = max(LRS, key=lambda v: lr_auc[v])
        record: dict = {"world_seed": TUNE_SEED, "lr": {"ratio": r, "valid_auc": lr_auc, "chosen": lr}}
        if self.args.no_tune_hot:
            return lr, (), record
        arms = []
        for method in ("frequency", "cafe"):
            per_ratio, record[method] = [], {}
            for ratio in self.ratios:
                auc = {h: self.tune_one("tune-hot", lr, Variant(method, method, MethodOptions(hot_fraction=h)), ratio)
                       for h in HOT_FRACTIONS}
                best = max(HOT_FRACTIONS, key=lambda h: auc[h])
                record[method][repr(ratio)] = {"valid_auc": auc, "chosen": best}
                per_ratio.append((ratio, MethodOptions(hot_fraction=best)))
            arms.append(Variant(f"{method}-tuned", method, per_ratio=tuple(per_ratio)))
        return lr, tuple(arms), record

    def main_rows(self, lr: float, extra: tuple[Variant, ...], seeds: tuple[int, ...]) -> list[dict]:
        """Train every (arm, ratio, seed) not stored; a tuned arm whose options equal an arm already run on that
        seed reuses its row (training is deterministic), relabelled. Returns the study's rows."""
        cfg = self.config(lr, seeds, extra)
        for seed in seeds:
            def done(variant: Variant, ratio: float, seed: int = seed) -> bool:
                if self.found("main", lr, variant, ratio, seed) is not None:
                    return True
                same = next((r for r in self.rows if r.get("phase") == "main" and r["seed"] == seed
                             and r.get("setup") == self.setup(lr) and r["variant"] != variant.label
                             and matches({**r, "variant": variant.label}, MODEL, variant, ratio)), None)
                if same is not None and not self.args.report_only:
                    self.emit("main", lr, {**same, "variant": variant.label, "reused_from": same["variant"]})
                return same is not None or self.args.report_only

            if not all(done(v, q) for v, q in cfg.runs()):
                run_seed(cfg, seed, lambda row: self.emit("main", lr, row), data=self.data(seed), skip=done)
        return [r for r in self.rows if r.get("phase") == "main" and r.get("setup") == self.setup(lr)
                and r["seed"] in seeds and any(matches(r, MODEL, v, q) for v, q in cfg.runs())]


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
