"""A short mlp-prune search leaves its history, plots, equations and a report a real browser renders."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 3-generation search and its registry."""
    tmp = tmp_path_factory.mktemp("run")
    os.environ.setdefault("METRICFORGE_CACHE", str(tmp_path_factory.mktemp("cache")))
    from gp_engine.config import SearchConfig
    from gp_engine.loop import Search
    from metricforge.report import report_hook
    from primitives.builtins import builtin
    from registry import Registry

    config = SearchConfig.from_dict({"task": "mlp-prune", "population": 12, "generations": 2, "seed": 0})
    registry = Registry.open(str(tmp / "registry.db"))
    search = Search(config, tmp / "runs" / "demo", registry=registry)
    result = search.run(on_generation=report_hook(search))
    winner = result.hall_of_fame[0]
    # a re-check of the winner under other settings, as benchmarks record them
    registry.record_evaluation(builtin("wanda") if winner.hash == builtin("wanda").hash else
                               registry.get_metric(winner.hash), {**search.settings, "sparsity": 0.8},
                               0.5, True, run_id=None)
    yield search, result, registry
    registry.close()


def test_history_table_has_one_row_per_evaluation(run):
    search, result, registry = run
    history = pd.read_csv(search.dir.results / "history.csv")
    assert list(history.columns) == ["generation", "formula", "hash", "rank_hash", "fitness", "budget", "complexity",
                                     "wall_s", "status", "reason", "operator", "parents"]
    evaluations = registry.evaluations(run_id=result.run_id)
    assert (history["status"] != "invalid").sum() == len(evaluations) == result.counters["evaluated"]
    assert set(history["generation"].dropna()) <= {0, 1, 2}
    assert history.loc[history["status"] == "ok", "fitness"].notna().all()
    made = history[history["operator"].str.startswith(("cx", "mut"), na=False)]
    assert (made["parents"].fillna("").str.len() > 0).all()


def test_equations_table_is_the_front_with_scores(run):
    search, result, _ = run
    table = pd.read_csv(search.dir.results / "equations.csv")
    assert list(table.columns) == ["complexity", "fitness", "score", "formula", "rank_hash", "hash"]
    assert list(table["complexity"]) == sorted(table["complexity"]) == [e.complexity for e in result.pareto]
    assert table["fitness"].is_monotonic_increasing  # accuracy: higher is better
    assert table["score"].iloc[0] == 0 and (table["score"].iloc[1:] > 0).all()
    assert table["rank_hash"].is_unique


def test_plots_and_progress_exist_after_every_generation(run):
    search, _, _ = run
    for name in ("fitness.png", "pareto.png"):
        assert (search.dir.results / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import json

    progress = json.loads((search.dir.results / "progress.json").read_text())
    assert [g["generation"] for g in progress["generations"]] == [0, 1, 2]
    assert {"magnitude", "wanda"} <= set(progress["baselines"])  # seeded built-ins, scored in generation 0


def test_report_is_self_contained_and_renders_in_chromium(run, tmp_path):
    from metricforge.report import browser, write_report

    search, _, registry = run
    page = write_report(search.dir.path, registry)
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must not reach the network"
    assert "<script" not in html
    if browser.chromium() is None:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail("chromium is missing in CI (scripts/test.sh installs it)")
        pytest.skip("chromium is not installed and could not be (apt-get install chromium)")
    dom = browser.render(page, tmp_path / "shot.png")
    assert (tmp_path / "shot.png").stat().st_size > 10_000
    assert len(re.findall(r'<img alt="(fitness|pareto)\.png" src="data:image/png;base64,', dom)) == 2
    for css in ("equations", "hall-of-fame", "leaderboard", "rechecks"):
        assert f'class="dataframe {css}"' in dom, css
    assert "Re-checks of" in dom


def test_report_command_and_bad_input(run, tmp_path):
    search, _, _ = run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "report", str(search.dir.path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("report.html")
    bad = subprocess.run([sys.executable, "-m", "metricforge.cli", "report", "no-such-run"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode != 0 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run([sys.executable, "-m", "metricforge.cli", "report", str(empty)],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode != 0 and "not a run folder" in bad.stderr and "Traceback" not in bad.stderr
