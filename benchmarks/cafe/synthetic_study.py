"""The synthetic-scale CAFE study's training: the planted worlds, tuning on the tuning world, and the study's
rows (trained, or reused from the rows file when made under the same setup). ``synthetic_scale.py`` runs it."""
from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

import torch

from benchmarks.cafe.run import load_rows, matches
from evaluators.recsys.data import CTRData, make_splits, split_order
from evaluators.recsys.synthetic import ZipfCTRSpec, zipf_ctr
from evaluators.recsys.train import metrics
from model_compression.cafe.experiment import CAFEConfig, run_one, run_seed
from evaluators.embedding.cafe.methods import MethodOptions, train_counts
from model_compression.cafe.variants import Variant

log = logging.getLogger("benchmarks.cafe.synthetic_scale")
MODEL, TUNE_SEED, TEST_FRAC = "dlrm", 10, 0.2
LRS, HOT_FRACTIONS = (1e-3, 3e-3, 1e-2), (0.2, 0.5, 0.8, 0.9, 0.95)


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
