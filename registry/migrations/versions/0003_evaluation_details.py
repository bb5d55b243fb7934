"""Evaluations keep the task's details (achieved sparsity, per-phase timings, per-seed results...).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add evaluations.details (JSON text, "{}" for the rows stored before)."""
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("details", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    """Drop evaluations.details."""
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("details")
