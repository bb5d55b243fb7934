"""Crashes, lock retries, corrupt files and import hygiene."""
from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

import pytest
from registry_workers import crash_mid_write
from sqlalchemy.exc import OperationalError

from registry import Registry, RegistryError
from registry.retry import with_retry

SETTINGS = {"task": "llm-prune", "model": "tiny"}


def test_crash_loses_only_the_write_in_flight(registry_url, parse):
    proc = mp.get_context("spawn").Process(target=crash_mid_write, args=(registry_url, 5, SETTINGS))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 3
    with Registry.open(registry_url) as reg:
        (group,) = reg.settings_groups()
        assert group.evaluations == 5
        assert [m.text for m in reg.list_metrics()] == ["mul(abs(W), X)"]
        reg.record_evaluation(parse("sqr(W)"), SETTINGS, 1.0, True)  # still writable


def test_retry_on_locked_then_success():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return "ok"

    assert with_retry(flaky, base_s=0.001) == "ok" and len(calls) == 3


def test_retry_gives_up_and_ignores_other_errors():
    def locked() -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    with pytest.raises(OperationalError):
        with_retry(locked, attempts=2, base_s=0.001)
    calls = []

    def broken() -> None:
        calls.append(1)
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    with pytest.raises(OperationalError):
        with_retry(broken, base_s=0.001)
    assert len(calls) == 1


def test_corrupt_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "corrupt.db"
    content = b"SQLite format 3\x00" + bytes(range(256)) * 16
    path.write_bytes(content)
    with pytest.raises(RegistryError, match="corrupt.db"):
        Registry.open(path)
    assert path.read_bytes() == content


def test_import_pulls_no_torch():
    code = ("import sys, registry, registry.migrate; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[2])
