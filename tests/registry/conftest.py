"""Fixtures: a fresh registry on SQLite and on PostgreSQL (METRICFORGE_TEST_PG_URL)."""
from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for folder in (ROOT, HERE):  # the packages and registry_workers; spawned workers inherit sys.path
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from primitives.metric import Metric  # noqa: E402
from registry import Registry  # noqa: E402
from registry.engine import resolve_url, safe_url  # noqa: E402

PG_ENV = "METRICFORGE_TEST_PG_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def in_ci() -> bool:
    """CI=true: a missing PostgreSQL server fails the tests instead of skipping them."""
    return os.environ.get("CI", "").strip().lower() == "true"


def _postgres_database() -> Iterator[str]:
    """Create a fresh database on the test server, yield its URL, drop it afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        message = f"{PG_ENV} is not set (start a server: scripts/pg_test_server.sh start)"
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    url = resolve_url(base)
    name = f"mf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        admin.dispose()
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        pytest.fail(f"cannot use the PostgreSQL server {PG_ENV}={safe_url(url)}: {detail}",
                    pytrace=False)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty registry location on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        yield from _postgres_database()


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
