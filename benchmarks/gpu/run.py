"""The CUDA path in one short run: the README's main job, Wanda and SparseGPT prunes with
perplexity, the cost of one candidate against one evaluation forward pass, and a 2-worker search.

    python benchmarks/gpu/run.py --out OUT            # on a machine with a GPU (under 8 minutes on an H200)
    python benchmarks/gpu/run.py --out OUT --smoke    # the CPU fallback CI runs: same steps, tiny budgets

Each step runs on its own: a failing step is recorded with its error and the next one runs.
Results go to OUT/gpu_results.json (one object per step, written after each step) and are
printed as they finish; benchmarks/gpu/results.md holds the recorded figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart.toml"


class GpuMemorySampler:
    """Peak memory used on the GPU by every process (nvidia-smi, twice a second), for subprocess steps."""

    def __init__(self) -> None:
        self.peak_mib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                self.peak_mib = max([self.peak_mib] + [int(v) for v in out.split() if v.strip().isdigit()])
            except (OSError, subprocess.SubprocessError, ValueError):
                return
            self._stop.wait(0.5)

    def __enter__(self) -> "GpuMemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def environment() -> dict[str, Any]:
    """Device, dtype and library versions recorded beside every figure."""
    import torch
    import transformers

    from evaluators.llm.model import pick_device, pick_dtype

    device = pick_device("auto")
    info = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "device": device.type, "dtype": str(pick_dtype("auto", device)).replace("torch.", ""),
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    return info


def cli(args: list[str], work: Path, log_name: str, registry: str) -> dict[str, Any]:
    """Run ``metricforge ARGS`` in ``work`` (its runs/, registry file ``registry``), timed, with the GPU memory peak."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "METRICFORGE_REGISTRY": str(work / registry), "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    with GpuMemorySampler() as sampler, open(work / log_name, "w") as log:
        proc = subprocess.run([sys.executable, "-m", "metricforge.cli", *args], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    tail = (work / log_name).read_text(errors="replace").strip().splitlines()[-12:]
    if proc.returncode != 0:
        raise RuntimeError(f"metricforge {' '.join(args[:3])} exited {proc.returncode}: " + " | ".join(tail[-3:]))
    return {"wall_s": round(wall, 2), "peak_gpu_mib_all_processes": sampler.peak_mib or None, "log_tail": tail}


def search_args(smoke: bool, run: str) -> list[str]:
    """The README's main job (quickstart config); the smoke variant shrinks every budget."""
    args = ["search", "--task", "llm-prune", "--config", str(QUICKSTART), "--run", run]
    if smoke:
        args += ["--population", "4", "--generations", "1", "-o", "calib_windows=2", "-o", "calib_length=128",
                 "-o", "eval_tokens=256", "-o", "eval_length=128"]
    return args


def step_main_job(work: Path, smoke: bool) -> dict[str, Any]:
    return cli(search_args(smoke, "gpu-main"), work, "main_job.log", "main.db")


def step_pool_search(work: Path, smoke: bool) -> dict[str, Any]:
    """Two worker processes, one model each, scoring one search's candidates (a registry of its own,
    so nothing is reused from the main job)."""
    return cli(search_args(smoke, "gpu-pool") + ["--map", "pool", "--workers", "2"], work, "pool_search.log", "pool.db")


def _peak_reset() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak_mib() -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    torch.cuda.synchronize()
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    value = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return value, time.perf_counter() - start


def step_prunes(smoke: bool) -> dict[str, Any]:
    """Wanda, Wanda with the swap step and SparseGPT at 50% and 2:4 with perplexity; one candidate's
    cost against one evaluation forward pass (dense perplexity on the same windows)."""
    from evaluators.llm.task import LLMPruneTask
    from primitives.builtins import builtin
    from primitives.recipe import builtin_recipe

    options: dict[str, Any] = {"calib_windows": 16, "calib_length": 512, "eval_tokens": 8192}
    if smoke:
        options = {"calib_windows": 2, "calib_length": 128, "eval_tokens": 256, "eval_length": 128}
    task = LLMPruneTask(**options)
    out: dict[str, Any] = {"options": options, "settings": task.settings()}
    _peak_reset()
    _, out["prepare_s"] = _timed(task.prepare)
    out["peak_gpu_mib_prepare"] = _peak_mib()
    task.dense_perplexity()  # warm-up: kernels, allocator
    dense_ppl, forward_s = _timed(task.dense_perplexity)
    out["dense_ppl"], out["eval_forward_s"] = dense_ppl, forward_s
    wanda = builtin("wanda")
    for group in ("row", "2:4"):
        variant = task if group == "row" else task.variant(group=group)
        _peak_reset()
        fit, wall = _timed(lambda: variant.score(wanda))
        out[f"wanda_{group}"] = {"ppl": fit.value, "ok": fit.ok, "reason": fit.reason, "wall_s": wall,
                                 "details": fit.details, "peak_gpu_mib": _peak_mib()}
        if not smoke:  # the swaps take minutes on a CPU with the smoke run's few calibration tokens
            _peak_reset()
            fit, wall = _timed(lambda: variant.score_recipe(builtin_recipe("swap_wanda")))
            out[f"swap_wanda_{group}"] = {"ppl": fit.value, "ok": fit.ok, "reason": fit.reason, "wall_s": wall,
                                          "details": fit.details, "peak_gpu_mib": _peak_mib()}
        _peak_reset()
        fit, wall = _timed(variant.sparsegpt_perplexity)
        out[f"sparsegpt_{group}"] = {"ppl": fit.value, "ok": fit.ok, "reason": fit.reason, "wall_s": wall,
                                     "details": fit.details, "peak_gpu_mib": _peak_mib()}
    walls = []
    for _ in range(3):  # candidate cost: the median of three Wanda candidates (score, mask, evaluate, restore)
        _, wall = _timed(lambda: task.score(wanda))
        walls.append(wall)
    candidate_s = sorted(walls)[1]
    out["candidate_s"] = candidate_s
    out["candidate_over_eval_forward"] = round(candidate_s / forward_s, 3)
    return out


STEPS: dict[str, Callable[[Path, bool], dict[str, Any]]] = {
    "main_job": step_main_job,
    "prunes": lambda work, smoke: step_prunes(smoke),
    "pool_search": step_pool_search,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-out"), help="Folder for results and logs.")
    parser.add_argument("--smoke", action="store_true", help="Tiny budgets (the CPU fallback run in CI).")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"Comma-separated subset of {', '.join(STEPS)}.")
    args = parser.parse_args(argv)
    names = [s for s in args.steps.split(",") if s]
    unknown = sorted(set(names) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; known: {', '.join(STEPS)}")
    work = args.out.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "smoke": args.smoke,
                               "environment": environment(), "steps": {}}
    print(json.dumps(results["environment"]), flush=True)
    failed = 0
    for name in names:
        start = time.perf_counter()
        try:
            record = {"ok": True, **STEPS[name](work, args.smoke)}
        except Exception as exc:  # noqa: BLE001 - one step's failure is recorded; the others still run
            record = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            failed += 1
        record["step_s"] = round(time.perf_counter() - start, 2)
        results["steps"][name] = record
        (work / "gpu_results.json").write_text(json.dumps(results, indent=2, default=str))
        shown = {k: v for k, v in record.items() if k not in ("log_tail", "settings")}
        print(f"[{name}] {json.dumps(shown, default=str)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
