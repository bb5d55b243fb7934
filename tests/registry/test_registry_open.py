"""Opening registries: URLs, paths, refusals, schema and SQLite settings."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from registry import Registry, RegistryError
from registry.migrate import VERSION_TABLE, head_revision
from registry.models import Base


def test_schema_at_head_matches_models(registry):
    with registry.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert ctx.get_current_revision() == head_revision()
        assert compare_metadata(ctx, Base.metadata) == []


def test_reopen_keeps_data(registry_url, parse):
    with Registry.open(registry_url) as reg:
        reg.add_metric(parse("W"), name="magnitude")
    with Registry.open(registry_url) as reg:
        assert reg.get_metric("magnitude").text == "W"


def test_plain_path_and_env_default(tmp_path, monkeypatch, parse):
    path = tmp_path / "sub" / "reg.db"
    with Registry.open(str(path)) as reg:
        reg.add_metric(parse("W"))
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    monkeypatch.setenv("METRICFORGE_REGISTRY", str(path))
    with Registry.open() as reg:
        assert len(reg.list_metrics()) == 1
    monkeypatch.delenv("METRICFORGE_REGISTRY")
    monkeypatch.chdir(tmp_path)
    with Registry.open() as reg:
        assert reg.url.endswith("metricforge.db")
    assert (tmp_path / "metricforge.db").exists()


def test_sqlite_uses_wal_and_busy_timeout(tmp_path):
    with Registry.open(tmp_path / "r.db") as reg, reg.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("content", [b"hello, this is a text file\n", b"\x00" * 4096])
def test_not_a_database_file_is_refused_and_untouched(tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    before = path.stat()
    with pytest.raises(RegistryError, match="not an SQLite database") as info:
        Registry.open(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_bytes() == content and path.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]  # no -wal/-shm/journal


def test_foreign_sqlite_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    content = path.read_bytes()
    with pytest.raises(RegistryError, match="not a metricforge registry"):
        Registry.open(path)
    assert path.read_bytes() == content


def test_directory_is_refused(tmp_path):
    with pytest.raises(RegistryError, match="directory"):
        Registry.open(tmp_path)


@pytest.mark.parametrize("url, message", [
    ("nosuchdialect://host/db", "unknown database dialect"),
    ("postgresql+psycopg://mf:s3cret@127.0.0.1:1/none", "cannot open registry"),
    ("::not a url://", "not a database URL"),
])
def test_bad_urls(url, message):
    with pytest.raises(RegistryError, match=message) as info:
        Registry.open(url)
    text_ = str(info.value)
    assert "s3cret" not in text_ and "\n" not in text_
    if "127.0.0.1" in url:
        assert "mf:***@127.0.0.1:1/none" in text_


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.db"
    Registry.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    with pytest.raises(RegistryError, match="newer metricforge"):
        Registry.open(path)


def test_memory_database(parse):
    with Registry.open("sqlite://") as reg:
        assert reg.add_metric(parse("W")).hash == parse("W").hash
        assert len(reg.list_metrics()) == 1


def test_path_objects(tmp_path):
    with Registry.open(Path(tmp_path) / "p.db") as reg:
        assert "p.db" in repr(reg)
