"""Lottery tickets + distillation on MovieLens-100k: dense, one-shot, IMP, IMP + KD, random re-init.

    .venv/bin/python benchmarks/lth_kd/run.py                 # full run (3 seeds, DeepFM + DLRM)
    .venv/bin/python benchmarks/lth_kd/run.py --quick         # smoke run (1 seed, 1 epoch, 2 targets)

Rows are appended to rows.jsonl as they come, so a rerun resumes after the last finished
(model, metric, seed); results.json, results.md and auc_vs_sparsity.png are rewritten at the end.
"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.lth_kd.notes import dense_protocols, notes_markdown, verdicts  # noqa: E402
from model_compression.lth.experiment import LTHConfig, run_lth  # noqa: E402
from model_compression.lth.report import write_results  # noqa: E402
from model_compression.lth.resolve import best_registry_metric, resolve_metric_ref  # noqa: E402

log = logging.getLogger("benchmarks.lth_kd")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="deepfm,dlrm")
    p.add_argument("--metrics", default="magnitude,wanda", help="built-in names, registry refs or formulas")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--sparsities", default="0.5,0.8,0.9,0.95")
    p.add_argument("--registry", default=None, help="registry to take the best evolved recsys-prune metric from")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    p.add_argument("--quick", action="store_true", help="1 seed, 1 epoch, targets 0.5 and 0.9, no protocols")
    p.add_argument("--embeddings", action="store_true", help="prune the embedding tables too (W, G metrics only)")
    p.add_argument("--no-protocols", action="store_true", help="skip the dense AUC under other protocols (keeping those of an earlier results.json)")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite the reports from rows.jsonl (and the protocols in results.json), no training")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every (model, metric, seed) not yet in rows.jsonl, then write the reports."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = (0,) if args.quick else tuple(int(s) for s in args.seeds.split(","))
    sparsities = (0.5, 0.9) if args.quick else tuple(float(s) for s in args.sparsities.split(","))
    metrics = [resolve_metric_ref(m, args.registry) for m in args.metrics.split(",")]
    evolved = best_registry_metric("recsys-prune", args.registry)
    if evolved is not None and evolved.hash not in {m.hash for m in metrics}:
        metrics.append(evolved)
    log.info("metrics: %s", ", ".join(f"{m.name or m.text} ({m.hash})" for m in metrics))
    rows_path = args.out / "rows.jsonl"
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.exists() else []
    done = {(r["model"], r["metric_hash"], r["seed"]) for r in rows if r.get("complete")}
    rows = [r for r in rows if (r["model"], r["metric_hash"], r["seed"]) in done]
    rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    started = time.time()
    configs = {}
    for model in args.models.split(","):
        cfg = LTHConfig(model=model, sparsities=sparsities, seeds=seeds, epochs=1 if args.quick else None,
                        include_embeddings=args.embeddings)
        configs[model] = cfg.to_dict()
        for metric in metrics:
            for seed in seeds:
                if (model, metric.hash, seed) in done or args.report_only:
                    continue
                new = run_lth(LTHConfig(**{**cfg.to_dict(), "seeds": (seed,)}), metric)
                new[-1]["complete"] = True
                with rows_path.open("a") as fh:
                    fh.write("".join(json.dumps(r) + "\n" for r in new))
                rows.extend(new)
    old = args.out / "results.json"
    command = " ".join(["benchmarks/lth_kd/run.py", *(argv if argv is not None else sys.argv[1:])])
    if args.report_only and old.exists():
        old_meta = json.loads(old.read_text())["meta"]
        protocols, command = old_meta.get("dense_protocols", []), old_meta.get("command", command)
    elif args.no_protocols and old.exists():  # keep the protocols measured by an earlier full run
        protocols = json.loads(old.read_text())["meta"].get("dense_protocols", [])
    elif args.quick or args.no_protocols:
        protocols = []
    else:
        protocols = dense_protocols(args.models.split(","), seeds)
    meta = {"configs": configs, "metrics": [{"name": m.name, "text": m.text, "hash": m.hash} for m in metrics],
            "seeds": list(seeds), "python": platform.python_version(), "machine": platform.machine(),
            "wall_s_this_run": time.time() - started, "dense_protocols": protocols,
            "verdicts": verdicts(rows), "command": command}
    paths = write_results(rows, args.out, meta, notes_markdown(rows, protocols, meta))
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
