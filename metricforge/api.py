"""The Python API's search and evaluation: ``parse``, ``search``, ``evaluate``.

Each returns plain objects and pandas DataFrames, so results go straight into notebooks; the
same registry, run folders and reports as the command line are written.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import pandas as pd

    from gp_engine.config import SearchConfig
    from gp_engine.state import SearchResult as EngineResult
    from primitives.metric import Metric
    from primitives.recipe import Recipe

__all__ = ["SearchResult", "evaluate", "parse", "search"]

ConfigLike = Union["SearchConfig", Mapping[str, Any], str, Path, None]
TASK_SHORTCUTS = ("sparsity", "group")  # keyword settings that are task options


def parse(text: str) -> Metric:
    """A built-in by name ("wanda") or a formula in the metric language ("mul(abs(W), X)")."""
    from primitives.reference import resolve_metric

    return resolve_metric(text)


@dataclass
class SearchResult:
    """A finished search: its best metrics, every evaluation and the run folder."""

    best: list[Metric]
    history: pd.DataFrame
    equations: pd.DataFrame
    run_dir: Path
    report: Path
    result: EngineResult

    @property
    def fitness(self) -> list[float]:
        """Fitness of each of ``best``."""
        return [e.value for e in self.result.hall_of_fame]


def _config(config: ConfigLike, settings: Mapping[str, Any]) -> SearchConfig:
    """Config object, mapping or TOML path, overridden by keyword settings (sparsity, group: task options)."""
    from gp_engine.config import SearchConfig, load_toml

    if isinstance(config, SearchConfig):
        data: dict[str, Any] = config.to_dict()
    elif isinstance(config, (str, Path)):
        data = load_toml(Path(config))
    else:
        data = dict(config or {})
    options = dict(data.pop("task_options", {}) or {})
    options.update(settings.get("task_options", {}) or {})
    options.update({k: settings[k] for k in TASK_SHORTCUTS if settings.get(k) is not None})
    data.update({k: v for k, v in settings.items() if k not in (*TASK_SHORTCUTS, "task_options")})
    return SearchConfig.from_dict({**data, "task_options": options})


def search(config: ConfigLike = None, *, run_dir: str | Path | None = None, registry: Any = None,
           **settings: Any) -> SearchResult:
    """Run (or resume) a search and return its results. ``config``: a SearchConfig, a mapping or
    a TOML file; keyword settings override it (``task="mlp-prune", population=16, generations=5,
    sparsity=0.9, group="row", task_options={...}``). ``run_dir`` defaults to
    ``runs/<task>-seed<S>-<hash>``; ``registry`` to ``./metricforge.db``. The run folder gets the
    same files as ``metricforge search``, including ``report.html`` after every generation."""
    import pandas as pd

    from gp_engine.loop import Search
    from metricforge.report import report_hook, write_report

    cfg = _config(config, settings)
    if run_dir is None:
        ident = json.dumps(cfg.search_identity(), sort_keys=True, default=str)
        run_dir = Path("runs") / f"{cfg.task}-seed{cfg.seed}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
    with Search(cfg, run_dir, registry=registry) as job:
        result = job.run(on_generation=report_hook(job))
        report = write_report(job.dir.path, job.registry)
    results = Path(run_dir) / "results"
    return SearchResult([parse(e.canonical) for e in result.hall_of_fame], pd.read_csv(results / "history.csv"),
                        pd.read_csv(results / "equations.csv"), Path(run_dir), report, result)


def evaluate(metrics: str | Metric | Recipe | Iterable[str | Metric | Recipe], task: str = "mlp-prune", *,
             registry: Any = None, **options: Any) -> pd.DataFrame:
    """Score metrics or recipes on a task (options as in a config's ``[task_options]``); one row each.
    With ``registry`` (an open registry or a URL) every score is recorded under the task's settings."""
    import pandas as pd

    from evaluators.base import score_entry
    from evaluators.tasks import TaskSpec, build_task
    from primitives.metric import Metric
    from primitives.recipe import Recipe
    from primitives.reference import resolve_recipe
    from registry import Registry

    items = [metrics] if isinstance(metrics, (str, Metric, Recipe)) else list(metrics)
    parsed = [resolve_recipe(m).as_entry() for m in items]
    job = build_task(TaskSpec(task, options))
    job.prepare()
    store = registry if isinstance(registry, Registry) or registry is None else Registry.open(registry)
    rows = []
    try:
        for metric in parsed:
            fit = score_entry(job, metric)
            if store is not None:
                store.record_evaluation(metric, job.settings(), fit.value if fit.ok else None, fit.ok, fit.reason,
                                        fit.wall_s)
            rows.append({"metric": metric.name or metric.canonical, "formula": metric.canonical, "hash": metric.hash,
                         "fitness": fit.value if fit.ok else None, "ok": fit.ok, "reason": fit.reason,
                         "wall_s": fit.wall_s})
    finally:
        if store is not None and store is not registry:
            store.close()
    return pd.DataFrame(rows, columns=["metric", "formula", "hash", "fitness", "ok", "reason", "wall_s"])
