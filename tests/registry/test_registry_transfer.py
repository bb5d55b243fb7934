"""Whole-registry export and strict, atomic import, on SQLite and PostgreSQL."""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from primitives.metric import Metric
from registry import Registry, RegistryError
from registry.dump_check import ImportFileError

SETTINGS = {"task": "mlp-prune", "model": "m", "sparsity": 0.5, "granularity": "row", "budget": {"seed": 0}}


def _fill(reg: Registry) -> None:
    reg.add_metric(Metric.parse("mul(abs(W), X)"), "wanda")
    reg.start_run("run-1", name="first", task="mlp-prune", config={"population": 4}, seed=3, versions={"torch": "2"})
    for formula, score, ok in (("abs(W)", 0.511, True), ("pow(W, 128)", None, False), ("W", float("inf"), True)):
        reg.record_evaluation(Metric.parse(formula), SETTINGS, score, ok, None if ok else "ties decide 97% of the mask",
                              0.25, "cpu", run_id="run-1", versions={"torch": "2"})
    reg.record_evaluation(Metric.parse("mul(abs(W), X)"), SETTINGS, 0.7, True)
    reg.add_lineage(Metric.parse("abs(W)"), [], "seed:abs(W)", run_id="run-1", generation=0)
    reg.add_lineage(Metric.parse("W"), [Metric.parse("abs(W)"), Metric.parse("mul(abs(W), X)")], "crossover",
                    run_id="run-1", generation=1)
    reg.finish_run("run-1")


def _counts(reg: Registry) -> tuple[int, ...]:
    with reg.engine.connect() as conn:
        return tuple(conn.execute(text(f"select count(*) from {t}")).scalar() for t in
                     ("metrics", "runs", "evaluations", "lineage"))


@pytest.fixture
def empty_url(registry_url: str, tmp_path, make_postgres_database) -> Iterator[str]:
    """A second empty database on the same backend as ``registry_url``."""
    if registry_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'copy.db'}"
        return
    with make_postgres_database() as url:
        yield url


def test_export_all_then_import_into_an_empty_registry_is_identical(registry, empty_url):
    _fill(registry)
    dump = registry.export_all()
    assert [len(dump[k]) for k in ("metrics", "runs", "evaluations", "lineage")] == [4, 1, 4, 3]
    with Registry.open(empty_url) as copy_:
        done = copy_.import_json(json.dumps(dump))
        assert done["evaluations"] == 4
        assert copy_.export_all() == dump  # every row, id, JSON text, score and time
        copy_.record_evaluation(Metric.parse("sqr(W)"), SETTINGS, 0.3, True)  # ids continue after the copied ones
        assert copy_.evaluations()[-1].id == max(e["id"] for e in dump["evaluations"]) + 1


def test_import_into_a_filled_registry_merges_without_doubling(registry):
    _fill(registry)
    dump = registry.export_all()
    before = _counts(registry)
    registry.import_json(json.dumps(dump))
    assert _counts(registry) == before


@pytest.mark.parametrize("section,index,field,value,reason", [
    ("evaluations", 2, "score", "high", "must be a number"),
    ("evaluations", 1, "ok", 1, "must be bool"),
    ("evaluations", 0, "settings_key", "0000000000000000", "settings_key does not match"),
    ("metrics", 1, "hash", "0123456789abcdef", "does not match"),
    ("metrics", 0, "name", "x" * 129, "1-128 characters"),
    ("metrics", 0, "name", "bad\x1b[2Jname", "control or format character"),
    ("lineage", 1, "parent", "ffffffffffffffff", "not among the file's metrics"),
    ("runs", 0, "status", "exploded", "status must be one of"),
])
def test_one_bad_entry_rejects_the_file_and_nothing_is_written(registry, section, index, field, value, reason):
    _fill(registry)
    dump = registry.export_all()
    bad = copy.deepcopy(dump)
    bad["metrics"].append({**bad["metrics"][0], "id": 99, "hash": Metric.parse("sqrt(X)").hash,
                           "score_hash": Metric.parse("sqrt(X)").hash, "text": "sqrt(X)", "canonical": "sqrt(X)",
                           "name": None})  # a new row that must not land
    bad[section][index][field] = value
    with pytest.raises(ImportFileError, match=rf"{section}\[{index}\]: .*{reason}"):
        registry.import_json(json.dumps(bad))
    assert registry.export_all() == dump


@pytest.mark.parametrize("payload,reason", [
    ('{"format": "metricforge.registry/1", "metrics": [], "metrics": []}', "duplicate key 'metrics'"),
    ('{"format": "metricforge.metric/1", "text": "W", "tree": ' + "[" * 200 + "]" * 200 + "}", "nests 201 levels"),
    ('{"format": "metricforge.metric/1", "text": "mul(W, 2)", "tree": 1e999}', "outside the float range"),
    ('{"format": "metricforge.metric/9", "text": "W"}', "unknown format tag"),
    ("mul(abs(W), X)", "not a JSON file; registry import reads JSON exports.*registry add"),
    ('{"format": "metricforge.metric/1", "text": "log(0)"}', "uses no operand"),
    ('{"format": "metricforge.metric/1", "text": "mul(W, 1e309)"}', "overflows float32"),
])
def test_malformed_files_are_refused_with_one_line(registry, payload, reason):
    registry.add_metric(Metric.parse("abs(W)"), "magnitude")
    before = registry.export_all()
    with pytest.raises(RegistryError, match=reason) as caught:
        registry.import_json(payload)
    assert "\n" not in str(caught.value)
    assert registry.export_all() == before


def test_import_never_renames_unless_asked(registry):
    registry.add_metric(Metric.parse("abs(W)"), "magnitude")
    exported = json.loads(Metric.parse("abs(W)", name="mag").to_json())
    with pytest.raises(RegistryError, match="already named 'magnitude'.*--rename"):
        registry.import_json(json.dumps(exported))
    assert registry.get_metric("magnitude").name == "magnitude"
    assert registry.import_json(json.dumps(exported), rename=True)["metric"].name == "mag"
    registry.add_metric(Metric.parse("W"), "plain")
    with pytest.raises(RegistryError, match="already used by metric"):
        registry.add_metric(Metric.parse("sqr(W)"), "plain")
