"""What the CLI prints around long work: the search's closing summary names why evaluations
failed, and progress in a pipe is timestamped lines, with a heartbeat for a long step."""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

from gp_engine.state import SearchResult
from metricforge.cli_search import _print_result
from metricforge.console import LineSink
from primitives.metric import Metric
from registry import Registry

SETTINGS = {"task": "mlp-prune", "model": "digits-mlp", "sparsity": 0.9}


def test_search_summary_counts_failed_evaluations_by_reason(tmp_path, capsys):
    with Registry.open(str(tmp_path / "r.db")) as reg:
        reg.start_run("run1", name="r", task="mlp-prune")
        reg.record_evaluation(Metric.parse("abs(W)"), SETTINGS, 0.51, True, run_id="run1")
        for text in ("log(W)", "sqrt(log(W))"):
            reg.record_evaluation(Metric.parse(text), SETTINGS, None, False, reason="scores not finite", run_id="run1")
        reg.record_evaluation(Metric.parse("exp(W)"), SETTINGS, None, False, reason="timeout after 5 s", run_id="run1")
        result = SearchResult("run1", tmp_path, 0, {"evaluated": 4, "skipped_cache": 0, "skipped_registry": 0,
                                                     "failed": 3}, [], [], {"pareto.md": tmp_path / "results" / "p.md"},
                              "key", reg.url)
        _print_result(result, reg)
    out = capsys.readouterr().out
    assert "failed evaluations by reason" in out
    assert re.search(r"2\s+.\s+scores not finite", out) and re.search(r"1\s+.\s+timeout after 5 s", out)


def test_plain_progress_is_timestamped_lines_with_a_heartbeat():
    stream = io.StringIO()
    sink = LineSink(stream=stream, every=0.0, heartbeat=0.3)
    task = sink.start("operand G: gradient pass", 4)
    sink.advance(task)
    time.sleep(1.6)  # a long step: the heartbeat says the task is still running
    sink.advance(task, 3)
    sink.finish(task)
    sink.close()
    lines = stream.getvalue().splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d progress operand G: gradient pass", line) for line in lines)
    assert "started (4 steps)" in lines[0] and "1/4" in lines[1] and "ETA" in lines[1]
    assert any("still running" in line for line in lines) and "done 4/4 in" in lines[-1]
