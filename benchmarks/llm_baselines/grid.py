"""Wanda, SparseGPT, OWL and DSnoT on SmolLM2-135M over calibration sources and window draws.

    .venv/bin/python benchmarks/llm_baselines/grid.py                 # appends to grid.jsonl; rerun resumes
    .venv/bin/python benchmarks/llm_baselines/report.py               # grid.jsonl + cost.json -> results.md

One row per (method, sparsity or group, calibration source, draw) is appended to grid.jsonl as soon
as it is measured; rows already there are skipped, so a killed run continues where it stopped.
A draw is the task's ``seed``: the calibration text is joined once, tokenized once, cut into
non-overlapping windows of 512 tokens (remainder dropped) and ``calib_windows`` of them are picked
by ``torch.randperm(n_windows, generator=manual_seed(seed))`` (evaluators/llm/data.py). The
evaluation windows are the first 8,192 tokens of the Python tutorial for every draw (disjoint
documents from every calibration source). Rows run in phases (PHASES), cheapest evidence first:
every method on the first draw, then Wanda on the other draws, then SparseGPT on them, and so on.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

DIAGNOSTIC = [("wanda", "2:4", 0.5), ("sparsegpt", "2:4", 0.5), ("sparsegpt-bf16", "2:4", 0.5)]
DAMPINGS = (0.1, 1.0)  # --damping-check: SparseGPT with more damping (a pull of the update towards none)
DAMPING_CHECK = [("wanda", "2:4", 0.5), ("wanda", "row", 0.5), ("sparsegpt", "2:4", 0.5), ("sparsegpt", "layer", 0.5)] + [
    (f"sparsegpt-damp{d:g}", group, 0.5) for d in DAMPINGS for group in ("2:4", "layer")]
PHASES = [  # (rows, draws: "first" or "rest"); cheapest evidence first, every source of a phase before the next
    ([("wanda", "2:4", 0.5), ("sparsegpt", "2:4", 0.5), ("wanda", "row", 0.5), ("wanda", "row", 0.7),
      ("owl+wanda", "row", 0.7), ("dsnot+wanda", "row", 0.7), ("sparsegpt", "layer", 0.5)], "first"),
    ([("wanda", "2:4", 0.5), ("wanda", "row", 0.5)], "rest"),
    ([("sparsegpt", "2:4", 0.5)], "rest"),
    ([("wanda", "row", 0.6)] + [(m, "row", s) for m in ("owl+wanda", "dsnot+wanda") for s in (0.5, 0.6)], "first"),
    ([("wanda", "row", 0.7), ("owl+wanda", "row", 0.7), ("dsnot+wanda", "row", 0.7)], "rest"),
    ([("sparsegpt", "layer", 0.5)], "rest"),
    ([("wanda", "row", 0.6)] + [(m, "row", s) for m in ("owl+wanda", "dsnot+wanda") for s in (0.5, 0.6)], "rest"),
    ([("sparsegpt-row", "row", 0.5)], "first"),
]


def parse_args() -> argparse.Namespace:
    """Command-line options (defaults: the recorded grid)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sources", default="reviews,python-docs:howto")
    p.add_argument("--draws", default="0,1,2,3,4")
    p.add_argument("--calib-windows", type=int, default=16)
    p.add_argument("--calib-length", type=int, default=512)
    p.add_argument("--eval-source", default="python-docs:tutorial")
    p.add_argument("--eval-tokens", type=int, default=4096)
    p.add_argument("--dtype-check", action="store_true",
                   help="only Wanda 2:4 and SparseGPT 2:4 pruned in float32 and in the model's dtype, first draw")
    p.add_argument("--damping-check", action="store_true",
                   help=f"SparseGPT with damping {', '.join(f'{d:g}' for d in DAMPINGS)} (times the mean Hessian "
                        "diagonal; the paper's is 0.01) on every draw")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--only", default="", help="comma-separated methods to keep from the plan (default: all)")
    p.add_argument("--out", type=Path, default=None, help="default: grid-<first source>.jsonl here")
    return p.parse_args()


def cpu_flags() -> list[str]:
    """The CPU's bf16-related flags (native bf16 or emulated), from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return sorted(f for f in flags if "bf16" in f or f == "avx512f")


def environment() -> dict:
    """Versions and hardware every row of this run was measured on."""
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "bf16_flags": cpu_flags(), "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def done_keys(path: Path) -> set[tuple]:
    """Keys of the rows already measured in this file and in every grid-*.jsonl beside it (several
    processes may share the draws of one grid)."""
    keys = set()
    shared = path.name.startswith("grid-")  # the dtype and damping checks keep their own rows
    for other in {path, *(path.parent.glob("grid-*.jsonl") if shared else ())}:
        keys |= _keys_in(other)
    return keys


def _keys_in(path: Path) -> set[tuple]:
    """Keys of the rows of one file."""
    keys = set()
    if not path.is_file():
        return keys
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("kind") == "row":
                keys.add((row["method"], row["group"], row["target"], row["source"], row["draw"]))
    return keys


def activation_operands_only() -> None:
    """Compute only the activation operands (X, Xs, Y; Wanda's score needs X): no gradient pass and no
    inverse Hessians, which none of this grid's methods reads (SparseGPT builds its own Hessians).
    Such operand files are kept under their own cache folder, never mixed with full ones."""
    from evaluators.llm import operands

    operands.compute_operands = lambda model, layers, windows, grad_dtype="float32": operands.activation_operands(
        model, layers, windows, hessian=False)


def model_dtype_sparsegpt(task) -> tuple[int, int]:
    """SparseGPT with inputs, Hessians and block-to-block propagation in the model's dtype (bf16 here)."""
    from evaluators.llm.sparsegpt import sparsegpt_prune

    st = task.state
    hiddens, kwargs_list = st.inputs()
    dtype = str(st.model.dtype).replace("torch.", "")
    return sparsegpt_prune(st.blocks, st.block_layers, hiddens, kwargs_list, 0.5, str(task.config.structure.granularity),
                           "block", work_dtype=dtype)


def measure(task, method: str, group: str, sparsity: float):
    """(Fitness, settings) of one method on a prepared task."""
    from primitives.builtins import builtin
    from primitives.recipe import builtin_recipe

    variant = task.variant(group=group) if ":" in group else task.variant(group=group, sparsity=sparsity)
    settings = variant.settings()
    if method == "wanda":
        return variant.score(builtin("wanda")), settings
    if method == "sparsegpt-bf16":  # diagnostic: the whole algorithm in the model's own dtype
        return variant.score_pruning(model_dtype_sparsegpt), {**settings, "sparsegpt_work_dtype": "model"}
    if method.startswith("sparsegpt-damp"):
        damp = float(method.removeprefix("sparsegpt-damp"))
        return (variant.score_pruning(lambda t: t.apply_sparsegpt("block", percdamp=damp)),
                {**settings, "sparsegpt_variant": "block", "percdamp": damp})
    if method.startswith("sparsegpt"):
        kind = "row" if method == "sparsegpt-row" else "block"
        return variant.sparsegpt_perplexity(kind), {**settings, "sparsegpt_variant": kind}
    recipe = builtin_recipe("owl_wanda" if method == "owl+wanda" else "dsnot_wanda")
    return variant.score_recipe(recipe), {**settings, "recipe": recipe.canonical, "recipe_hash": recipe.hash}


def main() -> None:
    """Measure every missing row, in priority order, appending each to the jsonl file."""
    from evaluators.llm.model import cache_dir
    from evaluators.llm.task import LLMPruneTask

    args = parse_args()
    activation_operands_only()
    sources, draws = args.sources.split(","), [int(d) for d in args.draws.split(",")]
    args.out = args.out or HERE / f"grid-{sources[0].replace(':', '-')}.jsonl"
    done = done_keys(args.out)
    if args.dtype_check:
        plan = [(m, g, s, src, draws[0]) for src in sources for m, g, s in DIAGNOSTIC]
    elif args.damping_check:
        plan = [(m, g, s, src, d) for d in draws for src in sources for m, g, s in DAMPING_CHECK]
    else:
        chosen = {"first": draws[:1], "rest": draws[1:]}
        plan = [(m, g, s, src, d) for rows, which in PHASES for src in sources for d in chosen[which]
                for m, g, s in rows]
    if args.only:
        keep = set(args.only.split(","))
        plan = [p for p in plan if p[0] in keep]
    todo = [p for p in plan if (p[0], p[1], p[2], p[3], p[4]) not in done]
    print(f"{len(plan) - len(todo)} of {len(plan)} rows done; {len(todo)} to go", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as sink:
        sink.write(json.dumps({"kind": "env", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv[1:],
                               "environment": environment()}) + "\n")
        sink.flush()
        task, current = None, None
        for method, group, sparsity, source, draw in todo:
            if (method, group, sparsity, source, draw) in done_keys(args.out):
                continue  # measured meanwhile by another process
            if current != (source, draw):
                task = LLMPruneTask(calib_source=source, seed=draw, calib_windows=args.calib_windows,
                                    calib_length=args.calib_length, eval_source=args.eval_source,
                                    eval_tokens=args.eval_tokens, dtype=args.dtype, group="row", sparsity=0.5,
                                    cache_dir=str(cache_dir() / "llm-baselines-grid"))
                start = time.perf_counter()
                task.prepare()
                print(f"prepared {source} draw {draw} in {time.perf_counter() - start:.0f} s", flush=True)
                current = (source, draw)
            fit, settings = measure(task, method, group, sparsity)
            row = {"kind": "row", "method": method, "group": group, "target": sparsity, "source": source,
                   "draw": draw, "ppl": fit.value, "ok": fit.ok, "reason": fit.reason,
                   "sparsity": fit.details.get("sparsity"), "wall_s": fit.wall_s, "prune_s": fit.details.get("prune_s"),
                   "eval_s": fit.details.get("eval_s"), "load": os.getloadavg()[0],
                   "calib_sha256": hashlib.sha256(task.state.calib.numpy().tobytes()).hexdigest()[:16],
                   "settings": settings,
                   "date": time.strftime("%Y-%m-%d %H:%M:%S")}
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            print(f"{method:14s} {group:5s} {sparsity:.1f} {source:20s} draw {draw}  ppl {fit.value:9.3f}  "
                  f"{fit.wall_s:6.1f} s  {fit.reason or ''}", flush=True)


if __name__ == "__main__":
    main()
