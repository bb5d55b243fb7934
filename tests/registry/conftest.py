"""Fixtures: a fresh registry on SQLite and on PostgreSQL (METRICFORGE_TEST_PG_URL)."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for folder in (ROOT, HERE):  # the packages and registry_workers; spawned workers inherit sys.path
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from primitives.metric import Metric  # noqa: E402
from registry import Registry  # noqa: E402

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty registry location on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        yield request.getfixturevalue("postgres_url")  # tests/conftest.py


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    """An open registry on a fresh database."""
    reg = Registry.open(registry_url)
    yield reg
    reg.close()


@pytest.fixture
def parse() -> Callable[[str], Metric]:
    """Metric.parse, for brevity."""
    return Metric.parse

