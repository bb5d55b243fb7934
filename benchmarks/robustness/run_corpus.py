"""Hostile formulas and malformed JSON files through the CLI and the Python API.

    PYTHONPATH=$PWD python benchmarks/robustness/run_corpus.py --out benchmarks/robustness/corpus_results.json

A registry is filled with earlier rows (metrics, a run, evaluations, lineage) and dumped; then
every formula goes to ``Metric.parse`` + ``Registry.add_metric`` (API) and to ``registry add``
(CLI), every JSON file to ``Registry.import_json`` (API) and ``registry import`` (CLI). CLI calls
run in batch subprocesses (``probe.py``: many calls of the CLI entry point per process, two at a
time) plus a seeded sample as one process per call. Afterwards the earlier rows are dumped again
and compared byte for byte, and the folder is searched for files named with the CANARY.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]
import corpus  # noqa: E402
import probe  # noqa: E402

from primitives.grammar import MetricSyntaxError  # noqa: E402
from primitives.metric import Metric  # noqa: E402
from registry import Registry, RegistryError  # noqa: E402

LIBRARY_ERRORS = (MetricSyntaxError, RegistryError, ValueError)
EARLIER = ("metrics", "runs", "evaluations", "lineage")


def fill(db: Path) -> None:
    """Earlier rows every hostile call must leave byte for byte as they are."""
    settings = {"task": "mlp-prune", "sparsity": 0.9, "granularity": "row"}
    with Registry.open(db) as reg:
        reg.add_metric(Metric.parse("mul(abs(W), X)"), "wanda")
        reg.start_run("earlier", task="mlp-prune", config={"population": 8}, seed=1)
        for text, score in (("abs(W)", 0.511), ("mul(abs(W), X)", 0.70), ("mul(abs(W), G)", 0.55)):
            reg.record_evaluation(Metric.parse(text), settings, score, True, run_id="earlier")
        reg.add_lineage(Metric.parse("mul(abs(W), G)"), [Metric.parse("abs(W)")], "mutate", run_id="earlier", generation=1)


def row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in EARLIER}


def earlier_rows(db: Path, ids: dict[str, int]) -> str:
    """The first ``ids[table]`` rows of every table (those that existed before), as text."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        parts = []
        for table in EARLIER:
            key = "rowid"
            rows = con.execute(f"select * from {table} order by {key} limit ?", (ids[table],)).fetchall()
            parts.append(f"{table}: {rows!r}")
    return "\n".join(parts)


def summarize(results: list[dict]) -> dict:
    counts = {k: sum(1 for r in results if r["outcome"] == k) for k in ("accepted", "rejected", "traceback")}
    slowest = max(results, key=lambda r: r["seconds"]) if results else None
    return {"calls": len(results), **counts, "code_executed": sum(r["executed"] for r in results),
            "slowest_s": round(slowest["seconds"], 3) if slowest else None,
            "slowest_input": slowest.get("input", "")[:80] if slowest else None,
            "tracebacks": [r for r in results if r["outcome"] == "traceback"][:10]}


def cli_batches(argvs: list[list[str]], work: Path, size: int) -> list[dict]:
    """argv lists through probe.py subprocesses, ``size`` calls each, two processes at a time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    chunks = [argvs[i:i + size] for i in range(0, len(argvs), size)]

    def run(i: int) -> list[dict]:
        batch, out = work / f"batch{i}.json", work / f"batch{i}.out.json"
        batch.write_text(json.dumps(chunks[i]))
        done = subprocess.run([sys.executable, str(HERE / "probe.py"), str(batch), str(out)], env=env, cwd=work,
                              capture_output=True, text=True, timeout=3600)
        if done.returncode != 0 or not out.exists():
            return [{"outcome": "traceback", "detail": done.stderr[-300:], "seconds": 0.0, "executed": 0}] * len(chunks[i])
        return json.loads(out.read_text())

    with ThreadPoolExecutor(2) as pool:
        return [r for part in pool.map(run, range(len(chunks))) for r in part]


def one_process_each(argvs: list[list[str]], work: Path) -> list[dict]:
    """Each argv as its own ``python -m metricforge.cli`` process (exit code and stderr as a user sees them)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(argv: list[str]) -> dict:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "metricforge.cli", *argv], env=env, cwd=work,
                              capture_output=True, timeout=600)
        return probe.process_outcome(done.returncode, done.stderr.decode("utf-8", "replace"),
                                     time.perf_counter() - start, 0)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, argvs))


def passable(text: str) -> bool:
    """Text an operating system can pass as one argv entry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formulas", type=int, default=1200)
    parser.add_argument("--json-files", type=int, default=120)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--processes", type=int, default=40, help="Seeded sample run as one process per call.")
    parser.add_argument("--out", type=Path, default=Path("corpus_results.json"))
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    formulas, files = corpus.formulas(opts.seed, opts.formulas), corpus.json_files(opts.seed, opts.json_files)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="robustness-") as tmp:
        work = Path(tmp)
        db = work / "registry.db"
        fill(db)
        ids = row_counts(db)
        before = earlier_rows(db, ids)
        paths = []
        for i, (_, data) in enumerate(files):
            path = work / f"file{i:03d}.json"
            path.write_bytes(data)
            paths.append(path)
        api_formulas, api_files = [], []
        with Registry.open(db) as reg:
            for category, text in formulas:
                r = probe.classify(lambda: reg.add_metric(Metric.parse(text)), LIBRARY_ERRORS)
                api_formulas.append({**r, "category": category, "input": text[:80]})
            for (category, data), path in zip(files, paths):
                r = probe.classify(lambda: reg.import_json(path.read_bytes()), LIBRARY_ERRORS)
                api_files.append({**r, "category": category, "input": path.name})
        cli_f = cli_batches([["registry", "add", "-r", str(db), "--", t] for _, t in formulas], work, opts.batch)
        cli_j = cli_batches([["registry", "import", "-r", str(db), str(p)] for p in paths], work, opts.batch)
        sample_f = rng.sample([t for _, t in formulas if passable(t) and len(t) < 100_000], opts.processes)
        sample_j = rng.sample(paths, min(opts.processes // 2, len(paths)))
        proc_f = one_process_each([["registry", "add", "-r", str(db), "--", t] for t in sample_f], work)
        proc_j = one_process_each([["registry", "import", "-r", str(db), str(p)] for p in sample_j], work)
        for results, inputs in ((cli_f, [t for _, t in formulas]), (cli_j, [p.name for p in paths]),
                                (proc_f, sample_f), (proc_j, [p.name for p in sample_j])):
            for r, text in zip(results, inputs):
                r["input"] = text[:80]
        after, row_counts_after = earlier_rows(db, ids), row_counts(db)
        canary_files = [str(p) for p in work.rglob(f"*{corpus.CANARY}*")] + \
                       [str(p) for p in ROOT.glob(f"*{corpus.CANARY}*")]
    report = {
        "command": f"PYTHONPATH=$PWD python benchmarks/robustness/run_corpus.py --seed {opts.seed} --formulas "
                   f"{opts.formulas} --json-files {opts.json_files} --batch {opts.batch} --processes {opts.processes}",
        "python": sys.version.split()[0], "wall_s": round(time.perf_counter() - started, 1),
        "formulas": {"api": summarize(api_formulas), "cli_batched": summarize(cli_f),
                     "cli_one_process_each": summarize(proc_f)},
        "json_files": {"api": summarize(api_files), "cli_batched": summarize(cli_j),
                       "cli_one_process_each": summarize(proc_j)},
        "earlier_rows": ids, "earlier_rows_identical": before == after, "rows_after": row_counts_after, "canary_files": canary_files,
        "categories": {"formulas": sorted({c for c, _ in formulas}), "json_files": sorted({c for c, _ in files})},
    }
    opts.out.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "categories"}, indent=1, default=str)[:6000])


if __name__ == "__main__":
    main()
