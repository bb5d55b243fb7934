"""The Registry facade: open a store, write evaluations, query leaderboards."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from registry import claims, dump, dump_check, migrate, queries, writes
from registry import verify as verify_rows
from registry.engine import WRITE_OPTION, safe_url
from registry.errors import RegistryError, database_errors
from registry.keys import settings_key
from registry.models import Evaluation, Lineage, Metric
from registry.records import (
    EvaluationRow,
    LeaderboardEntry,
    LineageRow,
    MetricRow,
    RunHistory,
    RunRow,
    SettingsGroup,
)
from registry.retry import with_retry

T = TypeVar("T")
MetricRef = writes.MetricRef


class Registry:
    """A metric registry on SQLite or any SQLAlchemy database."""

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine whose schema is already at head (use Registry.open)."""
        self.engine = engine
        self.url = safe_url(engine.url)
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @classmethod
    def open(cls, url_or_path: str | os.PathLike[str] | None = None) -> Registry:
        """Open (creating or upgrading) the registry at a URL, a path, or the default."""
        return cls(migrate.open_engine(url_or_path))

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    def _read(self, fn: Callable[[Session], T]) -> T:
        """Run fn in a read-only session."""
        with database_errors("read failed", self.url), Session(self.engine) as session:
            return fn(session)

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run fn in one transaction, retried while the database is locked."""
        def attempt() -> T:
            with Session(self._writer) as session, session.begin():
                return fn(session)

        with database_errors("write failed", self.url):
            return with_retry(attempt)

    # metrics
    def add_metric(self, metric: Any, name: str | None = None, rename: bool = False) -> MetricRow:
        """Store a metric (idempotent on its hash), optionally naming it (``rename``: replace its name)."""
        return self._write(lambda s: MetricRow.of(writes.upsert_metric(s, metric, name, rename)))

    def export_all(self) -> dict[str, Any]:
        """The whole registry (metrics, runs, evaluations, lineage) as one JSON-ready document."""
        return self._read(dump.export_all)

    def import_json(self, text: str | bytes, name: str | None = None, rename: bool = False) -> dict[str, Any]:
        """Import a metric export or a whole-registry export, validated completely before one
        transaction writes it (nothing is written when any entry is bad); what was imported."""
        data = dump_check.load(text)
        if data["format"] == dump_check.REGISTRY_FORMAT:
            if name is not None:
                raise dump_check.ImportFileError("--name applies to a single metric, not a registry export")
            return {"format": data["format"], **self._write(lambda s: dump.import_all(s, data, rename))}
        try:
            entry = dump_check.check_metric(data, need_operand=True)
            metric = dump.metric_of(entry, data.get("tree", data.get("score_tree")), data.get("alloc_tree"))
        except (ValueError, RegistryError) as exc:
            raise dump_check.ImportFileError(f"metric: {str(exc).splitlines()[0][:300]}") from None
        row = self._write(lambda s: MetricRow.of(writes.upsert_metric(s, metric, name or entry["name"], rename)))
        return {"format": data["format"], "metric": row}

    def verify(self, repair: bool = False) -> verify_rows.VerifyReport:
        """Check every stored metric against the current rules; ``repair`` fixes derived columns and bad names."""
        return (self._write if repair else self._read)(lambda s: verify_rows.verify(s, repair))

    def get_metric(self, ref: str) -> MetricRow:
        """A metric by name, hash, hash prefix (>= 6 hex digits) or formula text."""
        return self._read(lambda s: MetricRow.of(queries.metric_by_ref(s, ref)))

    def list_metrics(self, limit: int | None = 100, order: str = "created") -> list[MetricRow]:
        """Metrics ordered by created (newest first), complexity, hash or name."""
        return self._read(lambda s: queries.list_metrics(s, limit, order))

    # evaluations
    def record_evaluation(self, metric: MetricRef, settings: Mapping[str, Any],
                          score: float | None, ok: bool, reason: str | None = None,
                          wall_s: float | None = None, device: str | None = None,
                          run_id: str | None = None,
                          versions: Mapping[str, Any] | None = None,
                          details: Mapping[str, Any] | None = None) -> EvaluationRow:
        """Store one evaluation (and its metric if new, and the task's details) in one transaction."""
        def write(s: Session) -> EvaluationRow:
            metric_id = writes.metric_id(s, metric)
            row = writes.insert_evaluation(s, metric_id, settings, score, ok, reason, wall_s,
                                           device, run_id, versions, details)
            if run_id is not None:  # the run's claim on this metric ends with its evaluation
                claims.release(s, s.get_one(Metric, metric_id).hash, row.settings_key, run_id)
            return queries.evaluations(s, Evaluation.id == row.id)[0]

        return self._write(write)

    def evaluations(self, metric: str | None = None, *, key: str | None = None,
                    run_id: str | None = None) -> list[EvaluationRow]:
        """Evaluations (oldest first) of a metric reference, a settings key and/or a run."""
        return self._read(lambda s: queries.evaluations_of(s, metric, key, run_id))

    def find_evaluation(self, metric_hash: str, settings_key: str, *,
                        by_rank_hash: bool = False) -> EvaluationRow | None:
        """The latest evaluation of a metric (or its rank_hash class) under a settings key."""
        return self._read(lambda s: queries.find_evaluation(s, metric_hash, settings_key, by_rank_hash))

    def claim(self, metric_hashes: Iterable[str], settings_key: str, run_id: str) -> set[str]:
        """Claim metrics a run is about to score under a settings key; those it now holds. The others
        are being scored by another live search: wait for their evaluations (``find_evaluation``)."""
        hashes = list(metric_hashes)
        return self._write(lambda s: claims.claim(s, hashes, settings_key, run_id)) if hashes else set()

    def release(self, metric_hash: str, settings_key: str, run_id: str) -> None:
        """Drop a run's claim without recording an evaluation."""
        self._write(lambda s: claims.release(s, metric_hash, settings_key, run_id))

    def scored_hashes(self, settings_key: str) -> set[str]:
        """Hashes of metrics evaluated (successfully or not) under a settings key."""
        return self._read(lambda s: queries.scored(s, settings_key, queries.M.hash))

    def scored_rank_hashes(self, settings_key: str) -> set[str]:
        """Ranking hashes of metrics evaluated under a settings key."""
        return self._read(lambda s: queries.scored(s, settings_key, queries.M.rank_hash))

    def settings_groups(self, task: str | None = None, **filters: Any) -> list[SettingsGroup]:
        """Distinct settings keys matching task/model/dataset/sparsity/granularity/budget."""
        return self._read(lambda s: queries.settings_groups(s, {"task": task, **filters}))

    def best(self, task: str | None = None, *, settings: Mapping[str, Any] | None = None,
             key: str | None = None, direction: str | None = None, limit: int | None = 10,
             **filters: Any) -> list[LeaderboardEntry]:
        """Leaderboard of one settings key (given, from settings, or the one the filters match), best
        first in ``direction``: the task's own ("max" for accuracy and AUC, "min" for perplexity,
        ``Task.direction``). There is no default, so a leaderboard is never silently upside down."""
        if settings is not None:
            key = settings_key(settings)
        if key is None:
            key = self._read(lambda s: queries.resolve_key(s, task, filters))
            if key is None:
                return []
        return self._read(lambda s: queries.leaderboard(s, key, task, direction, limit))

    # runs and lineage
    def start_run(self, run_id: str | None = None, *, name: str | None = None,
                  task: str | None = None, config: Mapping[str, Any] | None = None,
                  seed: int | None = None, host: str | None = None,
                  versions: Mapping[str, Any] | None = None) -> RunRow:
        """Create a run (uuid id by default), or mark an existing one running (resume)."""
        return self._write(lambda s: RunRow.of(
            writes.start_run(s, run_id, name, task, config, seed, host, versions)))

    def finish_run(self, run_id: str, status: str = "finished") -> RunRow:
        """Mark a run finished or failed."""
        return self._write(lambda s: RunRow.of(writes.finish_run(s, run_id, status)))

    def add_lineage(self, child: MetricRef, parents: Iterable[MetricRef], operator: str,
                    run_id: str | None = None, generation: int | None = None) -> list[LineageRow]:
        """Record how a child was made (no parents: a seed); metric objects are added if new."""
        parents = list(parents)

        def write(s: Session) -> list[LineageRow]:
            child_id = writes.metric_id(s, child)
            parent_ids = [writes.metric_id(s, p) for p in parents]
            rows = writes.add_lineage(s, child_id, parent_ids, operator, run_id, generation)
            return queries.lineage(s, Lineage.id.in_([r.id for r in rows]))

        return self._write(write)

    def history(self, run_id: str) -> RunHistory:
        """A run with its evaluations and lineage."""
        return self._read(lambda s: queries.run_history(s, run_id))
