"""Claims: which run is scoring a metric under a settings key right now.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the claims table (one row per metric hash and settings key being scored)."""
    op.create_table(
        "claims",
        sa.Column("metric_hash", sa.String(16), nullable=False),
        sa.Column("settings_key", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("metric_hash", "settings_key", name="pk_claims"),
    )


def downgrade() -> None:
    """Drop the claims table."""
    op.drop_table("claims")
