"""Fixtures for the search tests: a per-session model cache, fresh registries, small configs."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT), str(HERE)):  # spawned workers inherit sys.path
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train the digits MLP once per session, in a private cache (workers inherit the env var)."""
    cache = tmp_path_factory.mktemp("mfcache")
    old = os.environ.get("METRICFORGE_CACHE")
    os.environ["METRICFORGE_CACHE"] = str(cache)
    from evaluators.digits.task import MLPPruneTask

    MLPPruneTask().prepare()
    yield cache
    if old is None:
        os.environ.pop("METRICFORGE_CACHE", None)
    else:
        os.environ["METRICFORGE_CACHE"] = old


@pytest.fixture
def registry_url(tmp_path: Path) -> str:
    """A fresh SQLite registry file."""
    return str(tmp_path / "registry.db")
