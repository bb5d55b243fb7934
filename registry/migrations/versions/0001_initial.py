"""Initial schema: metrics, runs, evaluations, lineage.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(16), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rank_hash", sa.String(16), nullable=False),
        sa.Column("operands", sa.String(255), nullable=False),
        sa.Column("complexity", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.UniqueConstraint("name", name="uq_metrics_name"),
    )
    op.create_index("ix_metrics_hash", "metrics", ["hash"], unique=True)
    op.create_index("ix_metrics_rank_hash", "metrics", ["rank_hash"])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("task", sa.String(64), nullable=True),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("task", sa.String(64), nullable=True),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("dataset", sa.String(255), nullable=True),
        sa.Column("sparsity", sa.Float(), nullable=True),
        sa.Column("granularity", sa.String(32), nullable=True),
        sa.Column("budget", sa.String(255), nullable=True),
        sa.Column("settings_key", sa.String(16), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("wall_s", sa.Float(), nullable=True),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["metric_id"], ["metrics.id"], name="fk_evaluations_metric_id_metrics"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_evaluations_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
    )
    op.create_index("ix_evaluations_settings_key_metric_id", "evaluations", ["settings_key", "metric_id"])
    op.create_index("ix_evaluations_run_id", "evaluations", ["run_id"])
    op.create_table(
        "lineage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_metric_id", sa.Integer(), nullable=False),
        sa.Column("parent_metric_id", sa.Integer(), nullable=True),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["child_metric_id"], ["metrics.id"],
                                name="fk_lineage_child_metric_id_metrics"),
        sa.ForeignKeyConstraint(["parent_metric_id"], ["metrics.id"],
                                name="fk_lineage_parent_metric_id_metrics"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_lineage_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_lineage"),
    )
    op.create_index("ix_lineage_child_metric_id", "lineage", ["child_metric_id"])
    op.create_index("ix_lineage_run_id", "lineage", ["run_id"])


def downgrade() -> None:
    """Drop everything this revision created."""
    for table in ("lineage", "evaluations", "runs", "metrics"):
        op.drop_table(table)
