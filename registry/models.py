"""SQLAlchemy 2 declarative models of the registry (JSON is stored as text)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

RUN_STATUSES = ("running", "finished", "failed")
VERSION_TABLE = "metricforge_version"  # alembic's version table; marks a database as ours


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every registry table."""

    metadata = MetaData(naming_convention=NAMING)


class Metric(Base):
    """One metric or recipe, identified by the hash of its canonical form; a recipe's parts in their own
    columns (a bare formula: its own hash as score_hash, allocation "uniform", post "none")."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    canonical: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    rank_hash: Mapped[str] = mapped_column(String(16), index=True)
    operands: Mapped[str] = mapped_column(String(255), default="")
    complexity: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    score_hash: Mapped[str] = mapped_column(String(16), index=True)
    allocation: Mapped[str] = mapped_column(Text, default="uniform", server_default="uniform")
    unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    post: Mapped[str] = mapped_column(String(16), default="none", server_default="none")


class Run(Base):
    """One search run (its id is a uuid or a name)."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    task: Mapped[str | None] = mapped_column(String(64), nullable=True)
    config: Mapped[str] = mapped_column(Text, default="{}")
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    versions: Mapped[str] = mapped_column(Text, default="{}")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Evaluation(Base):
    """One score of one metric under one set of settings."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_settings_key_metric_id", "settings_key", "metric_id"),
        Index("ix_evaluations_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id"))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    task: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dataset: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sparsity: Mapped[float | None] = mapped_column(Float, nullable=True)
    granularity: Mapped[str | None] = mapped_column(String(32), nullable=True)
    budget: Mapped[str | None] = mapped_column(String(255), nullable=True)
    settings_key: Mapped[str] = mapped_column(String(16))
    settings: Mapped[str] = mapped_column(Text, default="{}")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    wall_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)
    versions: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    details: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class Lineage(Base):
    """One parent -> child edge (parent is null for seeds) made by an operator."""

    __tablename__ = "lineage"
    __table_args__ = (
        Index("ix_lineage_child_metric_id", "child_metric_id"),
        Index("ix_lineage_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id"))
    parent_metric_id: Mapped[int | None] = mapped_column(ForeignKey("metrics.id"), nullable=True)
    operator: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    generation: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Claim(Base):
    """A run scoring a metric under a settings key now: concurrent searches wait for its result
    instead of scoring the same metric at the same moment (``registry.claims``)."""

    __tablename__ = "claims"

    metric_hash: Mapped[str] = mapped_column(String(16), primary_key=True)
    settings_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(255))  # "host:pid" of the claiming process
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
