"""Fixtures shared by every test folder: a fresh database on the PostgreSQL test server, a tiny llm-prune setup."""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

PG_ENV = "METRICFORGE_TEST_PG_URL"


def in_ci() -> bool:
    """CI=true: a missing PostgreSQL server fails the tests instead of skipping them."""
    return os.environ.get("CI", "").strip().lower() == "true"


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server ($METRICFORGE_TEST_PG_URL), dropped afterwards."""
    from sqlalchemy import create_engine

    from registry.engine import resolve_url, safe_url

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
        pytest.fail(f"cannot use the PostgreSQL server {PG_ENV}={safe_url(url)}: {detail}", pytrace=False)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def make_postgres_database():
    """``fresh_postgres_database`` for tests that need a second database on the server."""
    return fresh_postgres_database


# Small synthetic CTR data and a tiny DeepFM, shared by the CAFE mechanism tests
# (tests/evaluators/embedding) and the studies (tests/model_compression); torch is imported on use.
@pytest.fixture(scope="session")
def data():
    """1,500 synthetic CTR rows split at random, multi-hot genres."""
    from evaluators.recsys.data import make_splits
    from evaluators.recsys.synthetic import synthetic_table

    return make_splits(synthetic_table(rows=1500, seed=0), "random", "multi", seed=0, calib_rows=256)


@pytest.fixture
def tiny():
    """A DeepFM with 4-wide embeddings and a 16-8 MLP."""
    from evaluators.recsys.models import ModelConfig

    return ModelConfig("deepfm", emb_dim=4, hidden=(16, 8))


@pytest.fixture
def train_cfg():
    """Two epochs of Adam at lr 1e-2, batch 128."""
    from evaluators.recsys.train import TrainConfig

    return TrainConfig(epochs=2, batch_size=128, lr=1e-2, seed=0)


# A tiny random Llama on local text: llm-prune options for tests of any package (nothing is downloaded)
TINY_WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards quietly hex every jovial banker "
              "and nine clocks chime").split()


@pytest.fixture(scope="session")
def tiny_llm_options(tmp_path_factory) -> dict:
    """llm-prune options for the tiny random Llama of tests/evaluators/llm/tiny.py with its character
    tokenizer, calibrated and evaluated on two local text files; float32 on the CPU."""
    import importlib.util
    import random
    from pathlib import Path

    pytest.importorskip("transformers")
    spec = importlib.util.spec_from_file_location("tiny_llm_models", Path(__file__).parent / "evaluators/llm/tiny.py")
    assert spec is not None and spec.loader is not None
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    root = tmp_path_factory.mktemp("tiny-llm")
    rng = random.Random(0)
    for name, words in (("calib.txt", 400), ("eval.txt", 600)):
        (root / name).write_text(" ".join(rng.choice(TINY_WORDS) for _ in range(words)) + ".\n")
    return {"model": tiny.tiny_model_folder(root / "model"), "calib_source": f"text:{root / 'calib.txt'}",
            "calib_windows": 4, "calib_length": 32, "eval_source": f"text:{root / 'eval.txt'}", "eval_tokens": 256,
            "eval_length": 32, "dtype": "float32", "device": "cpu", "cache_dir": str(root / "cache")}
