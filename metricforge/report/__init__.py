"""Run reports: ``write_report(run_dir)`` writes ``run_dir/report.html``, one self-contained page.

The page shows the run's settings, its progress plots, the equations table (Pareto front), the
hall of fame with each winner's re-checks recorded in the registry, and the registry leaderboard
of the run's settings key. It needs no network: plots are inlined, there is no script.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["report_hook", "write_report"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


def write_report(run_dir: str | Path, registry: Any = None) -> Path:
    """Write ``report.html`` in a run folder; ``registry``: an open Registry, a URL, or None for the
    run's own (a registry that cannot be opened leaves the registry sections with a note)."""
    from metricforge.report.collect import add_registry, read_run
    from metricforge.report.page import render
    from registry import Registry
    from registry.errors import RegistryError

    run_dir = Path(run_dir)
    report = read_run(run_dir)
    if isinstance(registry, Registry):
        add_registry(report, registry)
    else:
        url = registry or report.config.get("registry_url")
        if not url or "***" in str(url):
            report.registry_note = "registry not given (the run's URL hides a password: pass --registry)"
        else:
            try:
                with Registry.open(url) as reg:
                    add_registry(report, reg)
            except RegistryError as exc:
                report.registry_note = f"registry {url} could not be read: {exc}"
    path = run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(report), encoding="utf-8")
    tmp.replace(path)
    return path


def report_hook(search: Any) -> Any:
    """An ``on_generation`` callback for ``Search.run`` that rewrites the search's report."""
    def on_generation(_stats: dict[str, Any]) -> None:
        try:
            write_report(search.dir.path, search.registry)
        except (OSError, ValueError) as exc:  # a report never stops a search
            log.warning("could not write %s/report.html: %s", search.dir.path, exc)
    return on_generation
