"""``metricforge report RUN``: write a run's self-contained HTML report (``RUN/report.html``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def report_command(
    run: Path = typer.Argument(..., help="Run folder, or a run name under --runs-dir."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Folder of run directories."),
    registry: Optional[str] = typer.Option(None, "--registry", "-r", envvar="METRICFORGE_REGISTRY",
                                           help="Registry URL or SQLite path [default: the run's own]."),
) -> None:
    """Write RUN/report.html: settings, progress plots, equations, re-checks and the leaderboard."""
    from metricforge.report import write_report

    folder = run if (run / "config.json").exists() or run.is_absolute() else runs_dir / run
    if not folder.is_dir():
        raise ValueError(f"no run folder {run} (nor {runs_dir / run})")
    print(write_report(folder, registry))


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
