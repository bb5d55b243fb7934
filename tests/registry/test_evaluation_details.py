"""An evaluation keeps the task's details (achieved sparsity, timings, ...) and registries made
before the details column are upgraded in place."""
from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from registry_schema import schema_at
from registry import Registry

SETTINGS = {"task": "llm-prune", "model": "tiny", "sparsity": 0.5, "granularity": "row"}


def test_details_round_trip_with_non_finite_values_as_null(registry, parse):
    details = {"sparsity": 0.5, "prune_s": 1.25, "eval_s": 2.5, "seed0": {"auc": 0.8, "logloss": math.nan}}
    row = registry.record_evaluation(parse("mul(abs(W), X)"), SETTINGS, 12.5, True, wall_s=3.75, details=details)
    assert row.details == {**details, "seed0": {"auc": 0.8, "logloss": None}}
    assert registry.evaluations(row.metric_hash)[0].details == row.details
    bare = registry.record_evaluation(parse("abs(W)"), SETTINGS, None, False, reason="constant scores")
    assert bare.details == {}


def test_a_registry_without_details_is_upgraded_and_keeps_its_rows(tmp_path: Path, parse) -> None:
    path = tmp_path / "old.db"
    with Registry.open(path) as reg:
        reg.record_evaluation(parse("abs(W)"), SETTINGS, 10.0, True)
    schema_at(path, "0002")  # the schema as revision 0002 (the claims table) left it
    with sqlite3.connect(path) as db:
        assert "details" not in [c[1] for c in db.execute("PRAGMA table_info(evaluations)")]
    with Registry.open(path) as reg:
        (row,) = reg.evaluations()
        assert (row.score, row.details) == (10.0, {})
