"""Concurrent searches on one registry never score the same metric at the same moment."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from registry import Registry

ARGS = ["search", "--task", "mlp-prune", "--population", "16", "--generations", "2", "--seed", "3"]


def test_two_identical_searches_at_once_score_each_metric_once(tmp_path):
    db = tmp_path / "shared.db"
    Registry.open(db).close()  # schema first, so both start on a ready registry
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-m", "metricforge.cli", *ARGS, "--run", name, "--runs-dir",
                               str(tmp_path / "runs"), "--registry", str(db)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for name in ("first", "second")]
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out
    with sqlite3.connect(db) as con:
        doubled = con.execute("select metric_id, settings_key, count(*) from evaluations "
                              "group by metric_id, settings_key having count(*) > 1").fetchall()
        runs = {r for (r,) in con.execute("select distinct run_id from evaluations")}
        left = con.execute("select count(*) from claims").fetchone()[0]
    assert doubled == [], "a metric was scored twice under one settings key"
    assert runs, "the searches scored (the later one may take every score from the earlier)"
    assert left == 0, "every claim ends with its evaluation"


def test_a_claim_of_a_dead_process_is_taken_over(tmp_path):
    with Registry.open(tmp_path / "r.db") as reg:
        reg.start_run("dead")
        reg.start_run("alive")
        assert reg.claim(["aaaa"], "key", "dead") == {"aaaa"}
        assert reg.claim(["aaaa"], "key", "alive") == set()  # held by a live process (this one)
        with reg.engine.begin() as conn:
            conn.exec_driver_sql("update claims set owner = owner || '999999999'")  # a pid that does not exist
        assert reg.claim(["aaaa"], "key", "alive") == {"aaaa"}
        assert reg.claim(["aaaa"], "key", "dead") == set()
