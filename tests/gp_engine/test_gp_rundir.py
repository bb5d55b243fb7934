"""Run folder upkeep: a checkpoint write clears the temporary files of writes killed half-way."""
from __future__ import annotations

from gp_engine.rundir import RunDir


def test_checkpoint_write_removes_leftovers_of_killed_writes(tmp_path):
    run = RunDir(tmp_path)
    leftover = tmp_path / ".checkpoint.json.abc123.tmp"  # what kill -9 during write_json_atomic leaves
    leftover.write_text("{")
    other = tmp_path / ".config.json.abc123.tmp"
    other.write_text("{")
    run.write_checkpoint({"generation": 0})
    assert not leftover.exists()
    assert other.exists()  # only the checkpoint's own temporaries
    assert run.read_checkpoint()["generation"] == 0
