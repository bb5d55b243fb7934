"""Cost of the "ls" and "swap" post-mask steps against SparseGPT's OBS update, on one SmolLM2-135M layer.

    .venv/bin/python benchmarks/llm_baselines/post_cost.py --repeats 3 --threads 1   # -> post_cost.json, post_cost.md

The layers are block 0's up_proj (1536 x 576) and down_proj (576 x 1536), the model's largest
decoder linears; H = 2 X^T X / n from the task's calibration windows (4 x 256 review tokens), the
mask Wanda's at each group. Each step gets the same weight, Hessian and mask ("swap" refines the
mask and changes no weight; on N:M inside each block of M); the figure is the best of ``--repeats``
runs of each, interleaved, on ``--threads`` torch threads (one by default: on
a shared machine several threads spin while they wait, and both wall and CPU seconds swing): wall
seconds and the process's CPU seconds. The output error ||(W - W') X||_F relative to the dense output is given for each.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

CASES = (("mlp.up_proj", "row", 0.5), ("mlp.down_proj", "row", 0.3), ("mlp.down_proj", "row", 0.5), ("mlp.down_proj", "row", 0.7),
         ("mlp.down_proj", "2:4", 0.5))


def main() -> None:
    """Time ls_update, swap_refine and obs_update on each case; write post_cost.json and post_cost.md."""
    import torch

    from evaluators.granularity import parse_structure
    from evaluators.llm.prune import layer_mask, layer_scores
    from evaluators.llm.recipe.ls import ls_update
    from evaluators.llm.recipe.swap import swap_refine
    from evaluators.llm.sparsegpt import obs_update
    from evaluators.llm.task import LLMPruneTask
    from primitives.builtins import builtin
    from primitives.compile import compile_metric

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = LLMPruneTask(calib_windows=4, calib_length=256, eval_tokens=256, eval_length=256, dtype="float32",
                        device="cpu")
    st = task.state
    layers = {layer.name.split(".", 3)[-1]: layer for layer in st.block_layers[0]}
    inputs = st.store.statistics(grams=True)  # the task's one calibration pass (or its cache)
    ops = st.operands_for(("W", "X"))
    wanda = compile_metric(builtin("wanda"))
    rows = []
    for name, group, sparsity in CASES:
        layer = layers[name]
        structure = parse_structure(group)
        keep = layer_mask(layer_scores(wanda, layer, ops[layer.name], structure), layer, sparsity, structure)
        xtx = inputs.grams[layer.name]
        h = inputs.hessian(layer.name)
        x_norm = float((layer.weight.float() @ xtx @ layer.weight.float().t()).trace()) ** 0.5
        block = structure.granularity.b if structure.granularity.kind == "nm" else 0

        def swap(weight, hessian, keep, block=block):  # the refined mask's weights
            return weight.float() * swap_refine(weight, hessian, keep, block=block)

        steps = (("ls", ls_update), ("swap", swap), ("obs", obs_update))
        times: dict[str, list[float]] = {step: [] for step, _ in steps}
        cpu: dict[str, list[float]] = {step: [] for step, _ in steps}
        errors = {}
        for _ in range(args.repeats):
            for step, update in steps:
                start, start_cpu = time.perf_counter(), time.process_time()
                new = update(layer.weight, h, keep)
                times[step].append(time.perf_counter() - start)
                cpu[step].append(time.process_time() - start_cpu)
                delta = layer.weight.float() - new
                errors[step] = float((delta @ xtx @ delta.t()).trace()) ** 0.5 / x_norm
        masked = layer.weight.float() * keep
        delta = layer.weight.float() - masked
        errors["mask only"] = float((delta @ xtx @ delta.t()).trace()) ** 0.5 / x_norm
        rows.append({"layer": name, "shape": list(layer.shape), "group": group, "sparsity": sparsity,
                     **{f"{step}_s": min(times[step]) for step, _ in steps},
                     **{f"{step}_cpu_s": min(cpu[step]) for step, _ in steps},
                     "rel_output_error": errors})
        print(json.dumps(rows[-1]), flush=True)
    load = os.getloadavg()[0]
    env = {"torch": torch.__version__, "threads": torch.get_num_threads(), "repeats": args.repeats,
           "load_1min_at_end": round(load, 2)}
    (HERE / "post_cost.json").write_text(json.dumps({"environment": env, "rows": rows}, indent=1))
    lines = ["# Cost of the ls and swap post-mask steps against SparseGPT's OBS update (one SmolLM2-135M layer)", "",
             f"CPU, {env['threads']} torch thread(s), torch {env['torch']}, best of {args.repeats} (wall s, and "
             f"CPU s of the process); load average {env['load_1min_at_end']} at the end (a shared machine). H from "
             "4 x 256 calibration tokens, Wanda's mask. Output error: ||(W - W') X||_F / ||W X||_F.", "",
             "| layer | shape | group | sparsity | ls wall | swap wall | obs wall | ls CPU | swap CPU | obs CPU "
             "| error: mask only | ls | swap | obs |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e = r["rel_output_error"]
        lines.append(f"| {r['layer']} | {r['shape'][0]} x {r['shape'][1]} | {r['group']} | {r['sparsity']} | "
                     f"{r['ls_s']:.2f} | {r['swap_s']:.2f} | {r['obs_s']:.2f} | {r['ls_cpu_s']:.2f} | "
                     f"{r['swap_cpu_s']:.2f} | {r['obs_cpu_s']:.2f} | {e['mask only']:.4f} | "
                     f"{e['ls']:.4f} | {e['swap']:.4f} | {e['obs']:.4f} |")
    (HERE / "post_cost.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
