"""A run report as one self-contained HTML page: no script, no link, plots inlined as base64 PNG."""
from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from metricforge.report.collect import RunReport

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td code,td{font-family:ui-monospace,monospace}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots figure{margin:0}.plots img{max-width:540px;width:100%}
.note{color:#666;font-size:.9em}
"""


def _table(frame: pd.DataFrame | None, css_class: str) -> str:
    if frame is None or frame.empty:
        return '<p class="note">none recorded</p>'
    return frame.to_html(index=False, classes=css_class, border=0, na_rep="", float_format=lambda v: f"{v:.6g}")


def _key_values(items: dict[str, Any], css_class: str = "settings") -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(v if isinstance(v, str) else json.dumps(v))}</td></tr>"
                   for k, v in items.items())
    return f'<table class="{css_class}">{rows}</table>'


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def render(report: RunReport) -> str:
    """The page's HTML text."""
    cfg = report.config
    name = str(cfg.get("name") or report.run_dir.name)
    gens = report.progress.get("generations", [])
    last = gens[-1] if gens else {}
    better = "higher" if report.direction == "max" else "lower"
    summary = {"run": name, "run id": cfg.get("run_id", ""), "task": cfg.get("task", {}).get("name", ""),
               "generation reached": last.get("generation", "none yet"), "best": last.get("best"),
               "best formula": last.get("best_canonical") or "", "fitness": f"{better} is better",
               "settings key": report.settings_key, "evaluations": report.history_counts,
               "created": cfg.get("created", "")}
    hof = pd.DataFrame(report.hall_of_fame, columns=["canonical", "fitness", "complexity", "generation"]) \
        if report.hall_of_fame else None
    parts = [f"<h1>metricforge run {escape(name)}</h1>", _key_values(summary, "summary"),
             "<h2>Progress</h2>", '<div class="plots">',
             *(_image(path, label) for label, path in report.plots.items()), "</div>",
             '<h2>Equations</h2><p class="note">The Pareto front of fitness against complexity, one row per '
             'ranking class (equivalent formulas joined by ≡, simplest first); score: log-fitness gained per '
             'unit of complexity.</p>', _table(report.equations, "equations"),
             "<h2>Hall of fame and re-checks</h2>", _table(hof, "hall-of-fame")]
    for formula, frame in report.rechecks.items():
        parts += [f"<h3>Re-checks of <code>{escape(formula)}</code></h3>", _table(frame, "rechecks")]
    if not report.rechecks:
        parts.append('<p class="note">No winner has evaluations under other settings in the registry.</p>')
    parts += ["<h2>Held-out validation</h2>", '<p class="note">The best metrics and the baseline re-scored on '
              'calibrations, texts and sparsities the search never saw: mean +- standard error over calibration '
              'seeds; the ratio is the geometric mean of paired ratios to the baseline.</p>'
              if report.validation is not None else
              '<p class="note">Not run: add a [validate] table to the search config, or run '
              '<code>metricforge validate --run RUN</code>.</p>']
    if report.validation is not None:
        parts.append(_table(report.validation, "validation"))
    parts += [f"<h2>Registry leaderboard (settings key {escape(report.settings_key)})</h2>",
              f'<p class="note">{escape(report.registry_note)}</p>' if report.registry_note else
              _table(report.leaderboard, "leaderboard"),
              '<h2>Settings</h2><div class="plots">', _key_values(cfg.get("settings", {})),
              _key_values(cfg.get("search", {}), "search"), "</div>",
              "<h2>Environment</h2>", _key_values({**cfg.get("versions", {}), **cfg.get("hardware", {})})]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>metricforge run {escape(name)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")
