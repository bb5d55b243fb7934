"""Tune CAFE's hot fraction, threshold T and sketch decay (and the frequency baseline's hot fraction) on the
VALIDATION split of tuning seeds disjoint from the reported ones; writes tuned.json for run.py --tuned.

    nice -n 10 .venv/bin/python benchmarks/cafe/tune.py                 # DeepFM, seeds 10,11,12
    nice -n 10 .venv/bin/python benchmarks/cafe/tune.py --model dlrm --out benchmarks/cafe/tuned_dlrm.json
    nice -n 10 .venv/bin/python benchmarks/cafe/tune.py --report-only

Protocol, per ratio: stage 1 takes the (hot fraction, T) of the grid with the highest mean validation AUC
over the tuning seeds (CAFE's coupled decay, 10 x buckets x T per x0.99); stage 2 tries decay periods
decoupled from T at that (hot fraction, T) and keeps one only if it is better still. The frequency
baseline's hot fraction is chosen on the same grid. Test AUCs are never read here. Rows go to
work/tune_<model>.jsonl as they finish, so a rerun resumes.
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks.cafe.run import load_rows  # noqa: E402
from model_compression.cafe.experiment import CAFEConfig, run_one  # noqa: E402
from evaluators.embedding.cafe.methods import MethodOptions, train_counts  # noqa: E402
from model_compression.cafe.variants import Variant  # noqa: E402

log = logging.getLogger("benchmarks.cafe.tune")
HOT_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
THRESHOLDS = (100.0, 500.0)  # T moves validation AUC by noise-sized amounts (threshold.md)
DECAYS = (4400.0,)  # inserted score per x0.99; a 512-row batch inserts ~4,400 (mean-1 scores)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="deepfm")
    p.add_argument("--seeds", default="10,11,12")
    p.add_argument("--ratios", default="0.5,0.1,0.02,0.01")
    p.add_argument("--hot-fractions", default=",".join(map(str, HOT_FRACTIONS)))
    p.add_argument("--thresholds", default=",".join(f"{t:g}" for t in THRESHOLDS))
    p.add_argument("--decays", default=",".join(f"{d:g}" for d in DECAYS))
    p.add_argument("--out", type=Path, default=None, help="default: benchmarks/cafe/tuned[_MODEL].json")
    p.add_argument("--report-only", action="store_true", help="choose from the rows already measured")
    return p.parse_args(argv)


def key(options: MethodOptions) -> tuple:
    """The tuned settings of a row or option set."""
    return options.hot_fraction, options.threshold, options.decay_every


def valid_mean(rows: list[dict], method: str, ratio: float, settings: tuple, seeds: tuple[int, ...]) -> float | None:
    """Mean validation AUC over the seeds of one setting (None until every seed has run)."""
    got = {r["seed"]: r["valid_auc"] for r in rows if r["method"] == method and r["ratio"] == ratio
           and r["status"] == "ok" and (r["hot_fraction"], r["threshold"], r.get("decay_every")) == settings}
    return statistics.fmean(got[s] for s in seeds) if all(s in got for s in seeds) else None


class Tuner:
    """Runs (or reuses) one (method, options, ratio, seed) at a time and chooses by validation AUC."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.seeds = tuple(int(s) for s in args.seeds.split(","))
        self.ratios = tuple(float(r) for r in args.ratios.split(","))
        self.cfg = CAFEConfig(model=args.model, ratios=self.ratios, methods=("hash",), seeds=self.seeds)
        self.path = HERE / "work" / f"tune_{args.model}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows, self.data, self.measure = load_rows(self.path), {}, not args.report_only
        self.grid = {name: tuple(float(v) for v in getattr(args, name).split(","))
                     for name in ("hot_fractions", "thresholds", "decays")}

    def score(self, method: str, options: MethodOptions, ratio: float) -> float | None:
        """Mean validation AUC of a setting, training the seeds that are missing."""
        settings = key(options)
        for seed in self.seeds:
            if not self.measure or valid_mean(self.rows, method, ratio, settings, (seed,)) is not None:
                continue
            if seed not in self.data:
                from evaluators.recsys.dense import load_data
                data = load_data(self.cfg.task_config(seed).data_config())
                self.data[seed] = (data, train_counts(data))
            data, counts = self.data[seed]
            row = run_one(self.cfg, data, Variant(method, method, options), ratio, seed, counts)
            row.pop("auc", None), row.pop("logloss", None)  # tuning never keeps test numbers
            with self.path.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            self.rows.append(row)
        return valid_mean(self.rows, method, ratio, settings, self.seeds)

    def best(self, method: str, grid: list[MethodOptions], ratio: float) -> tuple[MethodOptions | None, float]:
        """The option set of the grid with the highest mean validation AUC (skipped ones left out)."""
        scored = [(s, o) for o in grid if (s := self.score(method, o, ratio)) is not None]
        if not scored:
            return None, float("nan")
        top, options = max(scored, key=lambda so: so[0])
        return options, top

    def tune(self, ratio: float) -> dict:
        """Stage 1 (hot fraction x T), stage 2 (decoupled decay) for CAFE; hot fraction for frequency."""
        hash_auc = self.score("hash", MethodOptions(), ratio)
        g = self.grid
        grid = [MethodOptions(t, h) for h in g["hot_fractions"] for t in g["thresholds"]]
        cafe, cafe_auc = self.best("cafe", grid, ratio)
        if cafe is not None:
            stage2 = [cafe] + [MethodOptions(cafe.threshold, cafe.hot_fraction, decay_every=d) for d in g["decays"]]
            cafe, cafe_auc = self.best("cafe", stage2, ratio)
        freq, freq_auc = self.best("frequency", [MethodOptions(hot_fraction=h) for h in g["hot_fractions"]], ratio)
        return {"hash_valid_auc": hash_auc,
                "cafe": None if cafe is None else {**vars(cafe), "valid_auc": cafe_auc},
                "frequency": None if freq is None else {**vars(freq), "valid_auc": freq_auc}}


def table(tuner: Tuner, chosen: dict) -> str:
    """Markdown: the mean validation AUC of every measured setting, the chosen ones marked."""
    lines = ["| ratio | method | hot fraction | T | decay every | valid AUC (mean over tuning seeds) | chosen |",
             "|---|---|---|---|---|---|---|"]
    done = sorted({(r["ratio"], r["method"], r["hot_fraction"], r["threshold"], r.get("decay_every"))
                   for r in tuner.rows if r["status"] == "ok"}, key=lambda k: (-k[0], k[1], k[2], k[3], k[4] or 0))
    for ratio, method, hot, t, decay in done:
        auc = valid_mean(tuner.rows, method, ratio, (hot, t, decay), tuner.seeds)
        pick = chosen.get(repr(ratio), {}).get(method) or {}
        mark = "yes" if (pick.get("hot_fraction"), pick.get("threshold"), pick.get("decay_every")) == (hot, t, decay) \
            else ""
        shown = ("-", "-", "-") if method == "hash" else (f"{hot:g}", "-", "-") if method == "frequency" else (
            f"{hot:g}", f"{t:g}", "10 x B x T" if decay is None else f"{decay:g}")
        lines.append(f"| {ratio:g} | {method} | {' | '.join(shown)} | "
                     f"{'n/a' if auc is None else f'{auc:.4f}'} | {mark} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Tune every ratio and write the chosen settings with the validation table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    tuner = Tuner(args)
    chosen = {repr(r): tuner.tune(r) for r in tuner.ratios}
    out = args.out or HERE / ("tuned.json" if args.model == "deepfm" else f"tuned_{args.model}.json")
    out.write_text(json.dumps({"model": args.model, "tuning_seeds": list(tuner.seeds), "split": "valid",
                               "grid": {"hot_fraction": tuner.grid["hot_fractions"], "threshold": tuner.grid["thresholds"],
                                        "decay_every": tuner.grid["decays"]},
                               "chosen": chosen}, indent=2))
    command = shlex.join(["benchmarks/cafe/tune.py", *(a for a in (argv if argv is not None else sys.argv[1:])
                                                      if a != "--report-only")])
    md = out.with_name(out.stem.replace("tuned", "tuning") + ".md")
    md.write_text(f"# CAFE settings tuned on validation ({args.model})\n\nReproduce: `nice -n 10 .venv/bin/python "
                  f"{command}`\n\n" + __doc__.split("\n\n")[2].replace("\n", " ") + "\n\n" + table(tuner, chosen))
    log.info("wrote %s and %s: %s", out, md, json.dumps(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
