"""A multi-fidelity run cut off while scoring survivors at the full budget resumes exactly."""
from __future__ import annotations

import pytest

from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from gp_helpers import CountingTask, CrashAfter
from gp_snapshot import registry_state, run_state

MF = dict(population=24, generations=3, seed=11, fidelity=(0.25,), eta=3.0)



@pytest.mark.parametrize("crash_after", [3, 10])
def test_survivors_recorded_before_a_crash_do_not_change_who_survives(tmp_path, crash_after):
    """Successive halving must rank the same candidates on the rerun, including those that
    already reached the full budget before the crash (they are restored after halving)."""
    cfg = SearchConfig(**MF)
    with Search(cfg, tmp_path / "whole", registry=str(tmp_path / "whole.db")) as s:
        s.run()
    run, url = tmp_path / "crashed", str(tmp_path / "crashed.db")
    task = CountingTask()
    with Search(cfg, run, registry=url, task=task, eval_map=CrashAfter(task, crash_after)) as s:
        with pytest.raises(SystemExit):
            s.run()
    with Search.resume(run) as s:
        s.run()
    assert run_state(run) == run_state(tmp_path / "whole")
    assert registry_state(url, run) == registry_state(str(tmp_path / "whole.db"), tmp_path / "whole")
    # registry_state equality: every (metric, score) row as often as in the uninterrupted run, no more


def test_a_crash_after_resuming_records_nothing_twice(tmp_path):
    """Resumed from a checkpoint, then cut off again: constants and survivors are recorded once."""
    base = dict(population=24, seed=11, fidelity=(0.25,), eta=3.0, seed_builtins=False,
                seed_metrics=("abs(W)", "mul(abs(W), X)", "mul(abs(W), G)"))
    with Search(SearchConfig(**base, generations=1), tmp_path / "whole", registry=str(tmp_path / "w.db")) as s:
        s.run()
    run, url = tmp_path / "k", str(tmp_path / "k.db")
    with Search(SearchConfig(**base, generations=0), run, registry=url) as s:
        s.run()
    task = CountingTask()
    with Search(SearchConfig(**base, generations=1), run, registry=url, eval_map=CrashAfter(task, 2)) as s:
        with pytest.raises(SystemExit):
            s.run()
    with Search(SearchConfig(**base, generations=1), run, registry=url) as s:
        s.run()
    assert registry_state(url, run) == registry_state(str(tmp_path / "w.db"), tmp_path / "whole")
    assert run_state(run) == run_state(tmp_path / "whole")
