"""kill -9 of a running ``metricforge search`` mid-generation, then the same command resumes it."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gp_snapshot import assert_no_duplicates, registry_state, run_state

BASE = ["search", "--task", "mlp-prune", "--population", "40", "--seed", "5", "--sparsity", "0.9", "--group", "row"]
ARGS = [*BASE, "--generations", "5"]


def cli(tmp: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "metricforge.cli", *args], cwd=tmp, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def recorded(db: Path, run_id: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
        return con.execute("select count(*) from evaluations where run_id = ?", (run_id,)).fetchone()[0]


def kill_mid_generation(proc: subprocess.Popen, run_dir: Path, db: Path, after_generation: int) -> int:
    """SIGKILL once generation ``after_generation`` is checkpointed and the next one has recorded some."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        ckpt = run_dir / "checkpoint.json"
        if ckpt.exists():
            try:
                data = json.loads(ckpt.read_text())
            except json.JSONDecodeError:
                raise AssertionError("a checkpoint was read half-written: writes are not atomic")
            if data["generation"] >= after_generation:
                run_id = json.loads((run_dir / "config.json").read_text())["run_id"]
                base = data["counters"]["evaluated"]
                while time.monotonic() < deadline and proc.poll() is None:
                    if recorded(db, run_id) > base:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait()
                        return json.loads(ckpt.read_text())["generation"]
                    time.sleep(0.005)
        time.sleep(0.02)
    raise AssertionError(f"search ended before it could be killed:\n{proc.communicate()[0]}")


def test_sigkill_then_rerun_resumes_exactly(tmp_path):
    finish(cli(tmp_path, *ARGS, "--run", "whole", "--registry", "whole.db"))
    proc = cli(tmp_path, *ARGS, "--run", "killed", "--registry", "killed.db")
    killed_at = kill_mid_generation(proc, tmp_path / "runs" / "killed", tmp_path / "killed.db", 2)
    assert proc.returncode == -signal.SIGKILL
    assert killed_at < 5
    out = finish(cli(tmp_path, *ARGS, "--run", "killed", "--registry", "killed.db"))
    assert "resumed" in out
    whole, killed = tmp_path / "runs" / "whole", tmp_path / "runs" / "killed"
    assert run_state(killed) == run_state(whole)
    assert registry_state(str(tmp_path / "killed.db"), killed) == registry_state(str(tmp_path / "whole.db"), whole)
    assert_no_duplicates(str(tmp_path / "killed.db"), killed)
    history = json.loads((killed / "checkpoint.json").read_text())["history"]
    assert history[killed_at + 1]["restored"] > 0, "the kill should land mid-generation"
    assert (killed / "results" / "pareto.md").exists() and (killed / "search.log").exists()


def test_resume_command_extends_a_run(tmp_path):
    finish(cli(tmp_path, *BASE, "--generations", "1", "--run", "short", "--registry", "a.db"))
    out = finish(cli(tmp_path, "resume", "short", "--generations", "5"))
    assert "best metrics" in out and "results:" in out
    finish(cli(tmp_path, *ARGS, "--run", "long", "--registry", "b.db"))
    assert run_state(tmp_path / "runs" / "short") == run_state(tmp_path / "runs" / "long")
