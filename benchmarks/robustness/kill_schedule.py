"""kill -9 schedule: a search killed at >= 20 seeded moments, resumed each time, against an uninterrupted run.

Two searches on mlp-prune: multi-fidelity (``--fidelity 0.25 --eta 3``, in-process) and a process
pool (``--map pool --workers 2``). Each is run once uninterrupted, then once under the schedule:
launch, SIGKILL the whole process group (workers included) at the next scheduled moment, launch
the same command again, ... until it finishes. Moments cycle through three kinds:

- ``random``: a seeded delay after launch (may land in start-up, scoring, or writes);
- ``registry``: just after the registry committed 1-6 new evaluations (before the checkpoint);
- ``checkpoint``: while the checkpoint's temp file exists (mid-write), else just after it was replaced.

Compared: final checkpoint state (population, cache, counters, history, random state), the run's
registry evaluations and lineage, and results/hall_of_fame.json. Usage (from the repository root):

    PYTHONPATH=$PWD python benchmarks/robustness/kill_schedule.py --out benchmarks/robustness/kill_schedule.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "gp_engine")]
from gp_snapshot import registry_state, run_state  # noqa: E402

BASE = ["search", "--task", "mlp-prune", "--population", "24", "--generations", "16", "--no-seed-builtins"]
SCENARIOS = {
    "multi-fidelity": [*BASE, "--seed", "11", "--fidelity", "0.25", "--eta", "3"],
    "pool-map": [*BASE, "--seed", "12", "--map", "pool", "--workers", "2"],
}
SEEDS = ["--seed-metric", "abs(W)", "--seed-metric", "mul(abs(W), X)", "--seed-metric", "mul(abs(W), G)"]
KINDS = ("random", "registry", "checkpoint")


def launch(work: Path, args: list[str], name: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "metricforge.cli", *args, *SEEDS, "--run", name, "--runs-dir", str(work / "runs"),
           "--registry", str(work / f"{name}.db")]
    return subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def evaluations(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("select count(*) from evaluations").fetchone()[0]
    except sqlite3.Error:
        return 0


def temp_files(run_dir: Path) -> set[str]:
    """Names of checkpoint temp files in a run folder (present only while a checkpoint is written)."""
    try:
        return {p.name for p in run_dir.iterdir() if p.name.startswith(".checkpoint.json.")}
    except OSError:
        return set()


def wait_moment(proc: subprocess.Popen, kind: str, rng: random.Random, db: Path, run_dir: Path) -> str:
    """Block until the scheduled moment of one kill; what it landed on ("" if the run ended first)."""
    start = time.monotonic()
    if kind == "random":
        delay = rng.uniform(1.0, 14.0)  # start-up alone takes ~5-10 s on a busy machine
        while proc.poll() is None and time.monotonic() - start < delay:
            time.sleep(0.01)
        return f"random {delay:.2f}s"
    base, extra = evaluations(db), rng.randint(1, 6)
    ckpt = run_dir / "checkpoint.json"
    mtime = ckpt.stat().st_mtime_ns if ckpt.exists() else 0
    stale = temp_files(run_dir)  # left by earlier kills mid-write
    while proc.poll() is None:
        if kind == "registry" and evaluations(db) >= base + extra:
            return f"registry +{extra} rows"
        if kind == "checkpoint":
            if temp_files(run_dir) - stale and evaluations(db) > base:
                return "checkpoint temp file present"
            if ckpt.exists() and ckpt.stat().st_mtime_ns != mtime and evaluations(db) > base:
                return "checkpoint just replaced"
        time.sleep(0.001)
    return ""


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"search failed ({proc.returncode}):\n{err[-3000:]}")


def snapshot(work: Path, name: str) -> dict:
    run_dir = work / "runs" / name
    hof = json.loads((run_dir / "results" / "hall_of_fame.json").read_text())
    return {"run": run_state(run_dir), "registry": registry_state(str(work / f"{name}.db"), run_dir),
            "hall_of_fame": [(e["hash"], e["fitness"]) for e in hof]}


def scenario(work: Path, args: list[str], kills: int, seed: int) -> dict:
    started = time.perf_counter()
    finish(launch(work, args, "whole"))
    whole_s = time.perf_counter() - started
    rng, log, launches = random.Random(seed), [], 0
    run_dir, db = work / "runs" / "killed", work / "killed.db"
    while True:
        proc = launch(work, args, "killed")
        launches += 1
        if len(log) >= kills:
            finish(proc)
            break
        kind = KINDS[len(log) % len(KINDS)]
        landed = wait_moment(proc, kind, rng, db, run_dir)
        if proc.poll() is not None:  # finished before the moment came: start a fresh killed run? no: record
            if proc.returncode != 0:
                raise RuntimeError(f"killed run exited {proc.returncode}: {proc.stderr.read()[-2000:]}")
            break
        kill(proc)
        leftovers = sorted(p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")) if run_dir.exists() else []
        log.append({"kind": kind, "landed": landed, "rows_at_kill": evaluations(db), "temp_files_left": leftovers})
    whole, killed = snapshot(work, "whole"), snapshot(work, "killed")
    same = {part: whole[part] == killed[part] for part in whole}
    differences = {}
    for part in ("run", "registry"):
        for key in whole[part]:
            if whole[part][key] != killed[part][key]:
                a, b = whole[part][key], killed[part][key]
                if isinstance(a, Counter):
                    differences[f"{part}.{key}"] = {"only uninterrupted": list(map(str, (a - b).elements()))[:10],
                                                    "only killed": list(map(str, (b - a).elements()))[:10]}
                else:
                    differences[f"{part}.{key}"] = str(a)[:300] + " != " + str(b)[:300]
    return {"command": " ".join(args), "kills": len(log), "launches": launches, "uninterrupted_s": round(whole_s, 1),
            "identical": same, "differences": differences, "evaluation_rows": sum(whole["registry"]["evaluations"].values()),
            "lineage_rows": sum(whole["registry"]["lineage"].values()), "schedule": log}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=sorted(SCENARIOS))
    parser.add_argument("--out", type=Path, default=Path("kill_schedule.json"))
    parser.add_argument("--keep", type=Path, help="Keep the run folders and registries under this folder.")
    opts = parser.parse_args()
    results = {}
    for name, args in SCENARIOS.items():
        if opts.only and name != opts.only:
            continue
        with tempfile.TemporaryDirectory(prefix=f"kill-{name}-") as tmp:
            work = Path(tmp) if opts.keep is None else opts.keep / name
            work.mkdir(parents=True, exist_ok=True)
            results[name] = scenario(work, args, opts.kills, opts.seed)
        print(name, json.dumps({k: v for k, v in results[name].items() if k != "schedule"}), flush=True)
    opts.out.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
