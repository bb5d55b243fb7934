"""Sparsity granularity (Mao et al. 2017) on the digits CNN, and optionally SmolLM2-135M.

    .venv/bin/python benchmarks/granularity/run.py                 # CNN: 3 seeds, one-shot + fine-tuned, timing
    .venv/bin/python benchmarks/granularity/run.py --llm           # + SmolLM2-135M at 30/50/70% (minutes)
    .venv/bin/python benchmarks/granularity/run.py --quick         # smoke run

Writes results.json, results.md and plots (cnn_*quality_vs_*.png, llm_*.png) next to this file.
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

from benchmarks.granularity.summary import index_saving, mean_rows, ordering  # noqa: E402
from model_compression.granularity.report import plot  # noqa: E402
from reporting.json_safe import json_safe  # noqa: E402
from model_compression.granularity.study import StudyConfig, run_study  # noqa: E402
from model_compression.lth.resolve import best_registry_metric, resolve_metric_ref  # noqa: E402

log = logging.getLogger("benchmarks.granularity")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--metrics", default="magnitude,wanda", help="built-in names or registry refs (comma-separated)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--sparsities", default="0.5,0.7,0.8,0.9,0.95,0.98")
    p.add_argument("--layer-sets", default="conv,conv-skip-first", help="cnn-prune layer sets to study")
    p.add_argument("--granularities", default="element,vector,kernel,filter")
    p.add_argument("--fine-tune-steps", type=int, default=300)
    p.add_argument("--registry", default=None, help="registry to take the best cnn-prune metric from")
    p.add_argument("--llm", action="store_true", help="also SmolLM2-135M (perplexity)")
    p.add_argument("--llm-sparsities", default="0.3,0.5,0.7", help="sparsities of the LLM part (N:M once, at N/M)")
    p.add_argument("--llm-metrics", default="magnitude,wanda",
                   help="metrics of the LLM part; the registry's best llm-prune metric is added")
    p.add_argument("--llm-eval-tokens", type=int, default=4096)
    p.add_argument("--llm-granularities", default="element,row,vector:4,vector:4@row,2:4,block:4,filter,head")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    p.add_argument("--quick", action="store_true", help="1 seed, 2 sparsities, 20 fine-tune steps")
    return p.parse_args(argv)


def cnn_part(args: argparse.Namespace, metrics: list) -> dict:
    """One-shot and fine-tuned studies over seeds; means, ordering check, index savings, plots."""
    rows, tags = [], {}
    for layers in args.layer_sets.split(","):
        for kind, steps in (("one-shot", 0), (f"fine-tuned {args.fine_tune_steps}", args.fine_tune_steps)):
            regime = f"{layers}, {kind}"
            tags[regime] = f"cnn_{layers}_{'oneshot' if steps == 0 else 'finetuned'}_"
            for seed in [int(s) for s in args.seeds.split(",")]:
                cfg = StudyConfig(task="cnn-prune", granularities=tuple(args.granularities.split(",")),
                                  sparsities=tuple(float(s) for s in args.sparsities.split(",")),
                                  fine_tune_steps=steps, layers=layers, seed=seed)
                start = time.perf_counter()
                result = run_study(cfg, metrics)
                log.info("cnn %s seed %d: %d rows in %.0f s", regime, seed, len(result["rows"]),
                         time.perf_counter() - start)
                rows += [{**r, "regime": regime, "seed": seed} for r in result["rows"]]
    means = mean_rows(rows)
    for regime, tag in tags.items():
        plot({"rows": [r for r in means if r["regime"] == regime],
              "metrics": [{"name": m.name, "text": m.text, "hash": m.hash} for m in metrics]}, args.out, tag)
    return {"rows": rows, "means": means, "ordering": ordering(means), "index_saving": index_saving(rows),
            "index_saving_regime": rows[0]["regime"] if rows else None, "dense": dense_accuracies(rows)}


def dense_accuracies(rows: list) -> dict:
    """Dense test accuracy per seed."""
    return {str(r["seed"]): r["dense_quality"] for r in rows}


def timing_part(args: argparse.Namespace) -> dict:
    """Masked vs physically shrunk: the digits CNN at 50% filters, and an MLP pair of SmolLM2's shape."""
    import torch

    from evaluators.cnn.task import CNNPruneTask
    from model_compression.granularity.timing import cnn_shrink_timing, linear_pair_timing
    from primitives.builtins import builtin

    task = CNNPruneTask(granularity="filter", sparsity=0.5, layers="all")
    masks = task.masks(builtin("magnitude"))
    x = task.state.data.x_test.repeat(8, 1, 1, 1)[:4096]
    cnn = cnn_shrink_timing(task.state.model, masks, x, repeats=5 if args.quick else 21)
    pair = linear_pair_timing(576, 1536, tokens=512, sparsity=0.5, repeats=5 if args.quick else 21)
    return {"cnn_filter_50pct_all_layers": cnn, "smollm2_mlp_pair_50pct_neurons": pair,
            "threads": 1, "torch": torch.__version__}


def llm_part(args: argparse.Namespace) -> dict:
    """SmolLM2-135M through the llm-prune task's layers (16 x 512 review windows, bf16)."""
    metrics = [resolve_metric_ref(m, args.registry) for m in args.llm_metrics.split(",")]
    best = best_registry_metric("llm-prune", args.registry)
    if best is not None and best.hash not in {m.hash for m in metrics}:
        metrics.append(best)
    cfg = StudyConfig(task="llm-prune", granularities=tuple(args.llm_granularities.split(",")),
                      sparsities=tuple(float(x) for x in args.llm_sparsities.split(",")),
                      llm={"calib_windows": 16, "calib_length": 512, "eval_tokens": args.llm_eval_tokens,
                           "dtype": "bf16"})
    start = time.perf_counter()
    result = run_study(cfg, metrics)
    result["wall_s"] = time.perf_counter() - start
    result["metrics"] = [{"name": m.name, "text": m.text, "hash": m.hash} for m in metrics]
    plot(result, args.out, "llm_")
    return result


def write(out: Path, payload: dict) -> None:
    """results.json and results.md."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(json_safe(payload), indent=1, default=str))
    from benchmarks.granularity.notes import notes_markdown

    (out / "results.md").write_text(notes_markdown(payload))


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for and write the results."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.quick:
        args.seeds, args.sparsities, args.fine_tune_steps, args.llm_eval_tokens = "0", "0.5,0.9", 20, 1024
    metrics = [resolve_metric_ref(m, args.registry) for m in args.metrics.split(",")]
    best = best_registry_metric("cnn-prune", args.registry)
    if best is not None and best.hash not in {m.hash for m in metrics}:
        metrics.append(best)
    payload: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "host": platform.platform(),
                     "metrics": [{"name": m.name, "text": m.text, "hash": m.hash} for m in metrics],
                     "best_registry_metric": None if best is None else best.text}
    start = time.perf_counter()
    payload["cnn"] = cnn_part(args, metrics)
    payload["timing"] = timing_part(args)
    write(args.out, payload)
    if args.llm:
        try:
            payload["llm"] = llm_part(args)
        except Exception as exc:  # the LLM part is optional: record why it did not run
            log.exception("LLM part failed")
            payload["llm"] = {"error": f"{type(exc).__name__}: {exc}"}
    payload["wall_s"] = time.perf_counter() - start
    write(args.out, payload)
    log.info("wrote %s", args.out / "results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
