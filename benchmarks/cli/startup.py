"""Start-up time of the command line as whole processes, beside the bare interpreter in the same run.

Each command runs ``--runs`` times (default 10), interleaved with ``python -c pass`` so both see
the same machine load; the table gives medians and the difference to the bare interpreter.

    python benchmarks/cli/startup.py > benchmarks/cli/results.md
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
TARGETS = {"metricforge --help": 0.5, "metricforge registry list (empty registry)": 1.0}


def timed(argv: list[str], cwd: str) -> float:
    """Seconds of one process, which must succeed. Bytecode is cached (in a folder of the run) as in
    an installed package, even where PYTHONDONTWRITEBYTECODE is set."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(Path(cwd) / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "metricforge.cli"]
    with tempfile.TemporaryDirectory(prefix="mf-startup-") as tmp:
        commands = {
            "python -c pass": lambda i: [sys.executable, "-c", "pass"],
            "metricforge --help": lambda i: [*cli, "--help"],
            'metricforge parse "mul(abs(W), X)"': lambda i: [*cli, "parse", "mul(abs(W), X)"],
            "metricforge registry list (empty registry)": lambda i: [*cli, "registry", "list", "-r", "empty.db"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for name, argv in commands.items():  # warm-up: writes the bytecode cache
            timed(argv(-1), tmp)
        for i in range(args.runs):
            for name, argv in commands.items():  # interleaved: every command sees the same load
                times[name].append(timed(argv(i), tmp))
    bare = statistics.median(times["python -c pass"])
    print("# Start-up of the command line\n")
    print(f"Command: `python benchmarks/cli/startup.py --runs {args.runs}`: every command as a whole process, "
          f"{args.runs} runs each, interleaved with the bare interpreter, after one warm-up run that fills the bytecode cache "
          "(a pycache folder of the run; an installed package has its bytecode); `registry list` reads an "
          "empty SQLite registry (its schema made by the warm-up run).\n")
    print(f"Python {platform.python_version()}, {platform.machine()} with {os.cpu_count()} cores shared with "
          f"other jobs; load average at the end {os.getloadavg()[0]:.1f}. No torch, no model: dtype does not apply.\n")
    print("| command | median (s) | min (s) | max (s) | minus `python -c pass` (s) | target |")
    print("|---|---|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        target = TARGETS.get(name)
        verdict = "" if target is None else (
            f"< {target} s or within 0.4 s of python: "
            + ("met" if median < target or median - bare < 0.4 else "not met"))
        print(f"| `{name}` | {median:.3f} | {min(values):.3f} | {max(values):.3f} | {median - bare:+.3f} | {verdict} |")


if __name__ == "__main__":
    main()
