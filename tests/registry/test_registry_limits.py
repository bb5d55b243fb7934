"""Hostile input to the registry: size limits, name rules, read-only storage, verify and repair."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from primitives.metric import Metric
from registry import Registry, RegistryError
from registry.limits import MAX_NAME, MAX_REASON, LimitError

SETTINGS = {"task": "mlp-prune", "sparsity": 0.5}


@pytest.mark.parametrize("name,reason", [
    ("x" * (MAX_NAME + 1), "1-128 characters"), ("", "1-128 characters"), ("a\x1b[2Jb", "control or format"),
    ("tab\there", "control or format"), (" padded", "spaces"), ("deadbeef", "hex digits"), ("\u202eevil", "format"),
])
def test_names_break_the_rules_on_every_backend(registry, name, reason):
    with pytest.raises(LimitError, match=reason):
        registry.add_metric(Metric.parse("abs(W)"), name)
    assert registry.list_metrics() == []


def test_a_50_mb_name_is_refused_before_the_database(registry):
    with pytest.raises(LimitError, match="1-128 characters, got 50000000"):
        registry.add_metric(Metric.parse("abs(W)"), "n" * 50_000_000)
    assert registry.list_metrics() == []


def test_oversized_settings_are_refused_and_long_reasons_cut(registry):
    with pytest.raises(LimitError, match="settings JSON is .* the limit is 65536"):
        registry.record_evaluation(Metric.parse("W"), {**SETTINGS, "junk": "x" * 70_000}, 1.0, True)
    with pytest.raises(LimitError, match="settings model"):
        registry.record_evaluation(Metric.parse("W"), {**SETTINGS, "model": "m" * 300}, 1.0, True)
    row = registry.record_evaluation(Metric.parse("W"), SETTINGS, None, False, "r" * 10_000)
    assert len(row.reason) == MAX_REASON and row.reason.endswith("...")
    assert len(registry.evaluations()) == 1


def test_verify_reflags_rows_of_an_older_ranking_rule_and_repairs_them(registry):
    registry.add_metric(Metric.parse("pow(W, 128)"))
    registry.add_metric(Metric.parse("abs(W)"), "magnitude")
    registry.record_evaluation(Metric.parse("pow(W, 128)"), SETTINGS, 0.2226, True)
    registry.record_evaluation(Metric.parse("abs(W)"), SETTINGS, 0.5110, True)
    assert registry.verify().clean
    with registry.engine.begin() as conn:  # as an older rule (or a hand edit) would have left them
        conn.execute(text("update metrics set rank_hash = '0000000000000000' where name = 'magnitude'"))
        conn.execute(text("update metrics set name = :n where canonical = 'pow(W, 128)'"), {"n": "bad\x1bname"})
    report = registry.verify()
    assert not report.clean and len(report.reflagged) == 1 and len(report.bad_names) == 1
    assert report.split_classes == []  # the class is split by the stale rank_hash itself
    fixed = registry.verify(repair=True)
    assert fixed.repaired and registry.verify().clean
    assert registry.get_metric("magnitude").rank_hash == Metric.parse("abs(W)").rank_hash
    assert registry.get_metric("magnitude").hash == Metric.parse("abs(W)").hash  # hashes never change
    assert len(registry.verify().split_classes) == 1  # W^128 and |W| scored differently: listed


def test_read_only_storage_is_readable(tmp_path, monkeypatch):
    path = tmp_path / "reg.db"
    with Registry.open(path) as reg:
        reg.add_metric(Metric.parse("abs(W)"), "magnitude")
    import registry.engine as engine

    monkeypatch.setattr(engine.os, "access", lambda p, mode: mode != os.W_OK)
    with Registry.open(path) as reg:
        assert "read-only storage" in reg.url
        assert [m.name for m in reg.list_metrics()] == ["magnitude"]
        with pytest.raises(RegistryError, match="read-only storage.*readonly database"):
            reg.add_metric(Metric.parse("W"))


def test_read_only_mount_lists_through_the_cli(tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "none", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        with Registry.open(mount / "reg.db") as reg:
            reg.add_metric(Metric.parse("abs(W)"), "magnitude")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        done = subprocess.run([sys.executable, "-m", "metricforge.cli", "registry", "list", "--json", "-r",
                               str(mount / "reg.db")], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert '"magnitude"' in done.stdout
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_names_and_formulas_print_inert(tmp_path):
    db = tmp_path / "reg.db"
    with Registry.open(db) as reg:
        reg.add_metric(Metric.parse("abs(W)"), "[bold red]x")
        reg.add_metric(Metric.parse("W"))
        with reg.engine.begin() as conn:  # a name written around the rules (an older version, a hand edit)
            conn.execute(text("update metrics set name = :n where canonical = 'W'"), {"n": "\x1b[2Jwipe"})
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "200"}
    for command in (["list"], ["show", "[bold red]x"], ["add", "abs(W)"]):
        done = subprocess.run([sys.executable, "-m", "metricforge.cli", "registry", *command, "-r", str(db)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout, command
        assert "[bold red]x" in done.stdout, command
    listed = subprocess.run([sys.executable, "-m", "metricforge.cli", "registry", "list", "-r", str(db)],
                            capture_output=True, text=True, env=env, timeout=120).stdout
    assert "\\x1b[2Jwipe" in listed
