"""References resolved against a registry: the default-registry rule, read-only lookups."""
from __future__ import annotations

from pathlib import Path

import pytest

from primitives.errors import MetricReferenceError
from primitives.metric import Metric
from registry import Registry
from registry.lookup import consulted_registry, resolve_reference


def test_default_rule_given_env_then_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METRICFORGE_REGISTRY", raising=False)
    assert consulted_registry() is None  # no ./metricforge.db: nothing to consult, nothing created
    assert resolve_reference("wanda").name == "wanda"
    with pytest.raises(MetricReferenceError, match="no registry consulted"):
        resolve_reference("mine")
    assert not (tmp_path / "metricforge.db").exists()
    with Registry.open(tmp_path / "metricforge.db") as reg:
        row = reg.add_metric(Metric.parse("mul(sqr(W), X)"), name="mine")
    assert consulted_registry() == "metricforge.db"
    assert resolve_reference("mine").hash == row.hash
    monkeypatch.setenv("METRICFORGE_REGISTRY", str(tmp_path / "other.db"))
    assert consulted_registry() == str(tmp_path / "other.db")
    assert consulted_registry("given.db") == "given.db"
    with pytest.raises(MetricReferenceError, match="no registry at"):
        resolve_reference("mine")  # the env's registry does not exist: never created by a lookup
    assert not (tmp_path / "other.db").exists()


def test_open_registry_or_location_name_hash_prefix_and_row(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "r.db") as reg:
        named = reg.add_metric(Metric.parse("mul(sqr(W), X)"), name="mine")
        assert resolve_reference("mine", reg).hash == named.hash
        assert resolve_reference(named.hash[:8], reg).hash == named.hash
        assert resolve_reference(named).name == "mine"
    assert resolve_reference("mine", str(tmp_path / "r.db")).hash == named.hash
