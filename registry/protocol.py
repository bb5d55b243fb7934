"""What the search asks of a registry, as a Protocol: ``registry.Registry`` implements it, and a
test or another store can stand in for it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from primitives.reference import MetricSource

if TYPE_CHECKING:
    from registry.records import EvaluationRow


class EvaluationStore(MetricSource, Protocol):
    """Metrics by reference, evaluations by (metric, settings key), runs and lineage."""

    url: str

    def record_evaluation(self, metric: Any, settings: Mapping[str, Any], score: float | None, ok: bool,
                          reason: str | None = None, wall_s: float | None = None, device: str | None = None,
                          run_id: str | None = None, versions: Mapping[str, Any] | None = None,
                          details: Mapping[str, Any] | None = None) -> object: ...

    def find_evaluation(self, metric_hash: str, settings_key: str, *,
                        by_rank_hash: bool = False) -> EvaluationRow | None: ...

    def claim(self, metric_hashes: Iterable[str], settings_key: str, run_id: str) -> set[str]: ...

    def release(self, metric_hash: str, settings_key: str, run_id: str) -> None: ...

    def add_lineage(self, child: Any, parents: Iterable[Any], operator: str, run_id: str | None = None,
                    generation: int | None = None) -> object: ...

    def start_run(self, run_id: str | None = None, *, name: str | None = None, task: str | None = None,
                  config: Mapping[str, Any] | None = None, seed: int | None = None, host: str | None = None,
                  versions: Mapping[str, Any] | None = None) -> object: ...

    def finish_run(self, run_id: str, status: str = "finished") -> object: ...

    def close(self) -> None: ...
