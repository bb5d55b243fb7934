"""Compressed embeddings on MovieLens-100k: full, hashing, QR, offline frequency, CAFE and multi-level CAFE,
plus the settings tuned on validation and CAFE with an evolved importance score.

    nice -n 10 .venv/bin/python benchmarks/cafe/run.py            # DeepFM, 3 seeds, ratios 0.5/0.1/0.02/0.01
    nice -n 10 .venv/bin/python benchmarks/cafe/run.py --dlrm     # DLRM as well
    nice -n 10 .venv/bin/python benchmarks/cafe/run.py --tuned --evolved FORMULA_OR_REGISTRY_NAME
    nice -n 10 .venv/bin/python benchmarks/cafe/run.py --quick    # smoke: 1 seed, 1 epoch, 2 ratios, in work/quick

``--tuned`` adds frequency-tuned and cafe-tuned (settings per ratio from tuned[_MODEL].json, made by
tune.py on validation); ``--evolved`` adds cafe-evolved. Rows are appended to rows.jsonl as each
(model, variant, ratio, seed) finishes, so a rerun skips what is done under the same settings;
results.json, results.md (with findings.md, the written reading of the numbers, at its end) and
auc_vs_ratio.png are rewritten at the end.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks.cafe.arms import arms, evolved_protocol, parse_evolved, tuning_protocol  # noqa: E402
from benchmarks.cafe.notes import notes  # noqa: E402
from model_compression.cafe.experiment import CAFEConfig, run_seed  # noqa: E402
from evaluators.embedding.cafe.methods import DEFAULT_THRESHOLD, METHODS  # noqa: E402
from model_compression.cafe.report import write_results  # noqa: E402
from model_compression.cafe.variants import Variant  # noqa: E402

SETTINGS = ("threshold", "hot_fraction", "importance", "decay_every")

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
    p.add_argument("--importance", default="grad-norm", help="grad-norm, frequency or a formula (the cafe arms)")
    p.add_argument("--tuned", action="store_true", help="add frequency-tuned and cafe-tuned from tuned[_MODEL].json")
    p.add_argument("--evolved", action="append", default=None,
                   help="add CAFE with an evolved importance: FORMULA_OR_REGISTRY_REF (labelled cafe-evolved) or "
                        "LABEL=FORMULA_OR_REGISTRY_REF; repeatable")
    p.add_argument("--registry", default="benchmarks/search/work/registry.db", help="where --evolved is looked up")
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


def resolve_evolved(refs: dict[str, str], registry: str) -> dict[str, str]:
    """{label: reference} as {label: importance text}: formulas as given, registry names or hashes as their formula."""
    from evaluators.embedding.cafe.metric_importance import resolve_importance
    from registry.lookup import consulted_source

    with consulted_source(registry) as source:
        return {label: resolve_importance(ref, source) for label, ref in refs.items()}


def settings_of(variant: Variant, ratio: float) -> dict:
    """The options a row of (variant, ratio) must have been made with to be reused."""
    options = variant.at(ratio)
    return {k: getattr(options, k) for k in SETTINGS}


def matches(row: dict, model: str, variant: Variant, ratio: float) -> bool:
    """Whether a stored row is this (model, variant, ratio) under the same settings."""
    return (row["model"] == model and row.get("variant", row["method"]) == variant.label and row["ratio"] == ratio
            and row["method"] == variant.method
            and all(row.get(k) == v for k, v in settings_of(variant, ratio).items()))


def main(argv: list[str] | None = None) -> int:
    """Run every (model, variant, ratio, seed) not yet in rows.jsonl, then write the reports."""
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
    refs = parse_evolved(args.evolved)
    evolved = resolve_evolved(refs, args.registry)
    cfgs, current, extra = {}, [], []
    for model in ("deepfm", "dlrm") if args.dlrm else ("deepfm",):
        cfg = CAFEConfig(model=model, ratios=ratios, methods=tuple(args.methods.split(",")), seeds=seeds,
                         threshold=args.threshold, hot_fraction=args.hot_fraction, importance=args.importance,
                         extra=arms(model, args.tuned, evolved), epochs=1 if args.quick else None)
        cfgs[model] = cfg.to_dict()
        extra += tuning_protocol(model) if args.tuned else []
        for seed in seeds:
            def done(variant: Variant, ratio: float, seed: int = seed) -> bool:
                return any(r["seed"] == seed and matches(r, model, variant, ratio) for r in rows)

            if args.report_only or all(done(v, r) for v, r in cfg.runs()):
                continue

            def emit(row: dict) -> None:
                with rows_path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                rows.append(row)

            run_seed(cfg, seed, emit, skip=done)
        current += [r for r in rows if r["seed"] in seeds and any(matches(r, model, v, q) for v, q in cfg.runs())]
    extra += evolved_protocol(evolved, refs, args.tuned)
    command = shlex.join(["benchmarks/cafe/run.py", *(a for a in (argv if argv is not None else sys.argv[1:])
                                                     if a != "--report-only")])
    if args.report_only and (out / "results.json").exists():  # keep the load of the run that trained
        load = tuple(json.loads((out / "results.json").read_text())["meta"]["load_average_at_start"])
    meta = {"configs": cfgs, "command": command, "python": platform.python_version(), "torch": torch.__version__,
            "machine": platform.machine(), "load_average_at_start": list(load),
            "wall_s_this_run": time.time() - started}
    full_floats = max((r["full_floats"] for r in current if "full_floats" in r), default=0)
    findings = (HERE / "findings.md").read_text() if out == HERE and (HERE / "findings.md").exists() else ""
    trained_s = sum(r.get("train_s", 0.0) for r in current)
    paths = write_results(current, out, meta, notes(cfgs, command, load, trained_s, full_floats, extra), findings)
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
