"""Wall time of ``metricforge prune`` on a cold operand cache: a metric reading W and X (wanda)
against one that also reads G (gblm), as whole processes, alternated, in one run.

Each process gets a fresh METRICFORGE_CACHE holding only the converted model (a link to the
shared one), so operands and token windows are computed from scratch every time.

    python benchmarks/cli/prune_cost.py --repeats 2 -o calib_windows=8 > benchmarks/llm_baselines/prune_cost.md
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one(metric: str, options: list[str], models: Path) -> tuple[float, str]:
    """Seconds of one cold ``metricforge prune METRIC --no-evaluate`` and its stderr."""
    with tempfile.TemporaryDirectory(prefix="prune-cost-") as tmp:
        cache = Path(tmp) / "cache"
        cache.mkdir()
        (cache / "models").symlink_to(models)
        env = {**os.environ, "METRICFORGE_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "metricforge.cli", "prune", metric, "--no-evaluate", "--out",
                str(Path(tmp) / "pruned"), "-r", str(Path(tmp) / "r.db")]
        for option in options:
            argv += ["-o", option]
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tmp)
        seconds = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
        return seconds, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("-o", "--option", action="append", default=[], help="task option KEY=VALUE")
    parser.add_argument("--models", type=Path,
                        default=Path(os.environ.get("METRICFORGE_CACHE", Path.home() / ".cache/metricforge")) / "models")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"wanda": [], "gblm": []}
    dtype = "?"
    for _ in range(args.repeats):
        for metric in times:
            seconds, err = one(metric, args.option, args.models)
            times[metric].append(seconds)
            dtype = next((line.split("(")[-1].split(" on ")[0] for line in err.splitlines() if " loaded in " in line), dtype)
            print(f"{metric}: {seconds:.1f} s", file=sys.stderr)
    wanda, gblm = statistics.median(times["wanda"]), statistics.median(times["gblm"])
    print("# Cost of `metricforge prune` on a cold operand cache\n")
    print("Operands are computed on first use, one kind at a time: wanda reads W and X (one forward pass "
          "over the calibration windows), gblm also reads G (a backward pass per window).\n")
    print(f"Command: `python benchmarks/cli/prune_cost.py --repeats {args.repeats}"
          + "".join(f" -o {o}" for o in args.option) + "`, each run "
          "`metricforge prune METRIC --no-evaluate` in a fresh METRICFORGE_CACHE holding only the converted "
          "model; wanda and gblm alternated in one run.\n")
    print(f"Model SmolLM2-135M, calibration `reviews` (512-token windows; options: "
          f"{', '.join(args.option) or 'defaults, 16 windows'}), seed 0, dtype {dtype}, "
          f"{platform.machine()} with {os.cpu_count()} cores ({platform.processor() or platform.platform()}), "
          "shared with other jobs.\n")
    print("| metric | operands | runs (s) | median (s) |\n|---|---|---|---|")
    print(f"| wanda | W, X | {', '.join(f'{t:.1f}' for t in times['wanda'])} | {wanda:.1f} |")
    print(f"| gblm | W, X, G | {', '.join(f'{t:.1f}' for t in times['gblm'])} | {gblm:.1f} |")
    print(f"\nwanda / gblm = {wanda / gblm:.2f} (target: under 0.5).")


if __name__ == "__main__":
    main()
