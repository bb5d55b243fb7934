"""Alembic migrations run from code: no alembic.ini is needed."""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect

from registry.engine import (
    WRITE_OPTION,
    check_sqlite_file,
    is_read_only,
    make_engine,
    read_only_url,
    resolve_url,
    safe_url,
)
from registry.errors import RegistryError, database_errors
from registry.models import VERSION_TABLE

MIGRATIONS = Path(__file__).with_name("migrations")
PG_LOCK_KEY = 0x6D66_7265_6701  # serialises concurrent upgrades of one PostgreSQL database


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An alembic Config pointing at registry/migrations, sharing a connection if given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision a database is at (None for an empty or foreign database)."""
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def _refuse_foreign_sqlite(connection: Connection, where: str) -> None:
    """An SQLite file with tables but no registry version table belongs to something else."""
    if connection.dialect.name != "sqlite":
        return
    tables = inspect(connection).get_table_names()
    if tables and VERSION_TABLE not in tables:
        raise RegistryError(f"SQLite file is not a metricforge registry (refusing to touch it): {where}")


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; concurrent callers are serialised by a database lock."""
    where = safe_url(engine.url)
    head = head_revision()
    with engine.connect() as conn:
        current = current_revision(conn)
        if current == head:
            return
        _refuse_foreign_sqlite(conn, where)
    if is_read_only(engine.url):
        raise RegistryError(f"registry {where} is on read-only storage and at revision {current!r}, "
                            f"not {head!r}: open it once where it can be written to upgrade it")
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
            command.upgrade(alembic_config(conn), "head")
    except CommandError as exc:
        raise RegistryError(
            f"cannot migrate registry {where} (revision {current!r}; a newer metricforge?): {exc}"
        ) from None


def open_engine(url_or_path: str | os.PathLike[str] | None) -> Engine:
    """Resolve, check and connect a registry location, and bring its schema to head."""
    url = resolve_url(url_or_path)
    check_sqlite_file(url)
    url = read_only_url(url)
    engine = make_engine(url)
    try:
        with database_errors("cannot open registry", safe_url(url)):
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
