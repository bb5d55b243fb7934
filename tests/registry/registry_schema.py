"""Registry files at an older schema revision, for the migration tests."""
from __future__ import annotations

from pathlib import Path


def schema_at(path: Path, revision: str) -> None:
    """An SQLite registry file brought to an older revision by the shipped migrations (or down to it)."""
    from alembic import command
    from sqlalchemy import create_engine

    from registry.migrate import alembic_config, current_revision

    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        now = current_revision(conn)
        move = command.downgrade if now is not None and now > revision else command.upgrade
        move(alembic_config(conn), revision)
    engine.dispose()
