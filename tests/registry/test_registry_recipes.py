"""Recipes as registry entries: one row with its parts, evaluations under its hash, exports, and the
0004 migration of a registry written before recipes."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from registry_schema import schema_at
from primitives.builtins import builtin
from primitives.recipe import Recipe, builtin_recipe
from registry import Registry

SETTINGS = {"task": "llm-prune", "model": "tiny", "sparsity": 0.6, "group": "row"}
LS = "recipe(score=mul(abs(W), X), alloc=mul(depth, outl), unit=layer, post=ls)"


def test_a_recipe_is_one_entry_with_its_parts_and_its_evaluations(registry):
    recipe = Recipe.parse(LS)
    row = registry.record_evaluation(recipe, SETTINGS, 31.5, True, details={"sparsity": 0.6})
    assert row.metric_hash == recipe.hash
    stored = registry.get_metric(recipe.hash)
    assert (stored.text, stored.canonical) == (recipe.text, recipe.canonical)
    assert (stored.score_hash, stored.allocation, stored.unit, stored.post) == \
        (builtin("wanda").hash, "mul(depth, outl)", "layer", "ls")
    assert stored.is_recipe and stored.operands == ("W", "X", "depth", "outl")
    assert registry.get_metric(LS).hash == recipe.hash  # recipe text finds it, like formula text
    assert [e.score for e in registry.evaluations(LS)] == [31.5]
    bare = registry.add_metric(builtin("wanda"))
    assert (bare.score_hash, bare.allocation, bare.unit, bare.post, bare.is_recipe) == \
        (bare.hash, "uniform", None, "none", False)
    assert registry.add_metric(Recipe.parse("recipe(score=wanda)")).id == bare.id  # a bare recipe is the metric
    named = registry.add_metric(builtin_recipe("owl_wanda"), name="owl_wanda")
    assert registry.get_metric("owl_wanda").allocation == "outl" and named.unit == "block"
    assert registry.verify().clean


def test_export_all_and_import_keep_recipes(registry, tmp_path):
    registry.record_evaluation(Recipe.parse(LS), SETTINGS, 31.5, True)
    registry.add_metric(builtin("wanda"), name="wanda")
    dump = registry.export_all()
    recipe_row = next(m for m in dump["metrics"] if m["hash"] == Recipe.parse(LS).hash)
    assert recipe_row["post"] == "ls" and recipe_row["allocation"] == "mul(depth, outl)"
    with Registry.open(tmp_path / "copy.db") as copy:
        copy.import_json(json.dumps(dump))
        assert copy.export_all()["metrics"] == dump["metrics"]
        assert copy.evaluations(LS)[0].score == 31.5
    bad = json.loads(json.dumps(dump))
    next(m for m in bad["metrics"] if m["hash"] == Recipe.parse(LS).hash)["post"] = "obs"
    with Registry.open(tmp_path / "bad.db") as other, pytest.raises(ValueError, match="post 'obs' does not match"):
        other.import_json(json.dumps(bad))


def test_verify_repairs_recipe_columns_that_disagree_with_the_text(registry):
    recipe = Recipe.parse(LS)
    registry.add_metric(recipe)
    from sqlalchemy import update

    from registry.models import Metric as Row

    with registry.engine.begin() as conn:
        conn.execute(update(Row).where(Row.hash == recipe.hash).values(post="none"))
    report = registry.verify()
    assert not report.clean and "post none -> ls" in report.reflagged[0]
    registry.verify(repair=True)
    assert registry.get_metric(recipe.hash).post == "ls" and registry.verify().clean


def test_a_0003_registry_with_rows_is_upgraded_and_loses_nothing(tmp_path: Path):
    path = tmp_path / "old.db"
    schema_at(path, "0003")
    wanda, magnitude = builtin("wanda"), builtin("magnitude")
    with sqlite3.connect(path) as db:
        for i, m in enumerate((wanda, magnitude), start=1):
            db.execute("INSERT INTO metrics (id, hash, canonical, text, rank_hash, operands, complexity, name, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2026-01-02 03:04:05')",
                       (i, m.hash, m.canonical, m.text, m.rank_hash, ",".join(m.operands), m.complexity,
                        "wanda" if i == 1 else None))
        db.execute("INSERT INTO runs (id, name, task, config, seed, status, host, versions, started_at) VALUES "
                   "('run1', 'r', 'llm-prune', '{}', 0, 'finished', 'h', '{}', '2026-01-02 03:04:05')")
        db.execute("INSERT INTO evaluations (id, metric_id, run_id, task, model, dataset, sparsity, granularity, "
                   "budget, settings_key, settings, score, ok, reason, wall_s, device, versions, created_at, details) "
                   "VALUES (1, 1, 'run1', 'llm-prune', 'tiny', NULL, 0.5, 'row', NULL, 'abc', '{}', 12.5, 1, NULL, "
                   "1.5, 'cpu', '{}', '2026-01-02 03:04:05', '{\"sparsity\": 0.5}')")
        db.execute("INSERT INTO lineage (id, child_metric_id, parent_metric_id, operator, run_id, generation) "
                   "VALUES (1, 2, 1, 'mut_node', 'run1', 1)")
        db.execute("INSERT INTO claims VALUES ('h', 'abc', 'run1', 'host:1', '2026-01-02 03:04:05')")
        before = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                  for t in ("metrics", "runs", "evaluations", "lineage", "claims")}
    with Registry.open(path) as reg:
        rows = {r.hash: r for r in reg.list_metrics()}
        assert reg.evaluations("wanda")[0].details == {"sparsity": 0.5}
        assert reg.history("run1").lineage[0].child_hash == magnitude.hash
    assert {h: (r.score_hash, r.allocation, r.unit, r.post) for h, r in rows.items()} == \
        {m.hash: (m.hash, "uniform", None, "none") for m in (wanda, magnitude)}
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM metricforge_version").fetchone() == ("0004",)
        after = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                 for t in ("metrics", "runs", "evaluations", "lineage", "claims")}
    assert {t: rows_ for t, rows_ in after.items() if t != "metrics"} == \
        {t: rows_ for t, rows_ in before.items() if t != "metrics"}
    assert [row[:9] for row in after["metrics"]] == before["metrics"]  # the old columns, unchanged
