"""Block offload against the whole-model path on SmolLM2-135M: same perplexities, and the memory each needs.

    .venv/bin/python benchmarks/llm_baselines/block_mode.py            # both modes, each in its own process

Each mode runs in a fresh process (so its peak RSS is its own) with a fresh operand cache: load,
calibration operands (X, Xs, Hd, Y and G), dense perplexity, Wanda one-shot and sequential, and
SparseGPT (2:4). Printed as JSON lines and written to block_mode.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


def run_mode(offload: str, args: argparse.Namespace) -> dict:
    """Everything for one mode in this process; figures and peaks."""
    import torch

    from evaluators.llm.task import LLMPruneTask
    from primitives.builtins import builtin

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        task = LLMPruneTask(calib_windows=args.calib_windows, calib_length=512, eval_tokens=args.eval_tokens,
                            eval_length=512, seed=0, sparsity=0.5, group="row", dtype=args.dtype,
                            device=args.device, offload=offload, cache_dir=cache)
        task.prepare()
        prepare_s = time.perf_counter() - start
        out = {"offload": offload, "settings": task.settings(), "prepare_s": round(prepare_s, 1),
               "dense": task.dense_perplexity()}
        for name, mode in (("wanda", "oneshot"), ("wanda", "sequential")):
            out[f"{name}/{mode}"] = task.variant(mode=mode).score(builtin(name)).value
        out["sparsegpt/2:4"] = task.variant(group="2:4").sparsegpt_perplexity().value
    st = task.state
    weights = sum(p.numel() * p.element_size() for p in {id(p): p for p in st.model.parameters()}.values())
    out.update({"wall_s": round(time.perf_counter() - start, 1), "model_param_bytes": weights,
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "device_param_bytes_peak": st.offload.peak_bytes if st.offload else weights})
    if torch.cuda.is_available() and st.device.type == "cuda":
        out["cuda_max_memory_allocated"] = torch.cuda.max_memory_allocated()
        out["cuda_device"] = torch.cuda.get_device_name()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("none", "blocks"), help="run one mode here (the parent runs both)")
    p.add_argument("--calib-windows", type=int, default=16)
    p.add_argument("--eval-tokens", type=int, default=8192)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=HERE / "block_mode.json")
    args = p.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.mode, args)))
        return
    rows = []
    for mode in ("none", "blocks"):
        cmd = [sys.executable, __file__, "--mode", mode, "--calib-windows", str(args.calib_windows),
               "--eval-tokens", str(args.eval_tokens), "--dtype", args.dtype, "--device", args.device]
        line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        rows.append(json.loads(line))
        print(line, flush=True)
    record = {"command": " ".join(sys.argv), "python": platform.python_version(), "machine": platform.processor()
              or platform.machine(), "runs": rows}
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
