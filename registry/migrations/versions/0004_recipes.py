"""Recipes as registry entries: each metrics row holds its parts (a bare formula: itself, uniform, none).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add score_hash (the score formula's hash; a bare formula's own), allocation ("uniform" or the
    canonical allocation formula), unit (null when uniform) and post ("none" for the rows stored before).

    Plain ADD COLUMNs (no table rebuild: other tables' foreign keys point at metrics); score_hash
    takes each row's own hash."""
    op.add_column("metrics", sa.Column("score_hash", sa.String(16), nullable=False, server_default=""))
    op.add_column("metrics", sa.Column("allocation", sa.Text(), nullable=False, server_default="uniform"))
    op.add_column("metrics", sa.Column("unit", sa.String(16), nullable=True))
    op.add_column("metrics", sa.Column("post", sa.String(16), nullable=False, server_default="none"))
    op.execute("UPDATE metrics SET score_hash = hash")
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot drop a default without a rebuild
        op.alter_column("metrics", "score_hash", server_default=None)
    op.create_index("ix_metrics_score_hash", "metrics", ["score_hash"])


def downgrade() -> None:
    """Drop the recipe columns (recipe rows stay; their text still names their parts)."""
    op.drop_index("ix_metrics_score_hash", table_name="metrics")
    for column in ("post", "unit", "allocation", "score_hash"):
        op.drop_column("metrics", column)
