"""The shared vocabulary of the command line and the checks of what users pass through it.

Every command spells its options the same way: ``-o/--option KEY=VALUE`` a task or study option
(repeatable), ``--out DIR`` an output folder, ``-r/--registry`` the registry, ``--config FILE``
a TOML file. Option values are checked against the settings they set before any work starts.
"""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Optional

import typer

OPTION_HELP = "Task option KEY=VALUE (repeatable); values are read as JSON when they parse, e.g. -o eval_tokens=4096."


def registry_option(help: str = "Registry URL or SQLite path [default: ./metricforge.db].", envvar: bool = True) -> Any:
    """``-r/--registry``."""
    return typer.Option(None, "--registry", "-r", envvar="METRICFORGE_REGISTRY" if envvar else None, help=help)


def option_option(help: str = OPTION_HELP) -> Any:
    """``-o/--option KEY=VALUE`` (repeatable)."""
    return typer.Option(None, "--option", "-o", metavar="KEY=VALUE", help=help)


def out_option(default: Optional[Path], help: str) -> Any:
    """``--out DIR``."""
    return typer.Option(default, "--out", metavar="DIR", help=help)


def config_option(help: str = "TOML config file.") -> Any:
    """``--config FILE`` (existence checked when read, with one clear line)."""
    return typer.Option(None, "--config", metavar="FILE", help=help)


def parse_option(text: str) -> tuple[str, Any]:
    """``key=value`` with value read as JSON when it parses (numbers, booleans, lists), else text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise typer.BadParameter(f"expected KEY=VALUE, got {text!r}", param_hint="'-o' / '--option'")
    try:
        value: Any = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        value = raw
    if isinstance(value, float) and value != value:  # NaN from JSON is never a setting
        value = raw
    return key.strip(), value


def parse_options(texts: Optional[Iterable[str]]) -> dict[str, Any]:
    """Every ``-o`` as one dict (later ones win)."""
    return dict(parse_option(t) for t in (texts or ()))


def read_config(path: Optional[Path]) -> dict[str, Any]:
    """A TOML config file as a flat dict (empty without a file); a missing file is one clear line."""
    if path is None:
        return {}
    from gp_engine.config import ConfigError, load_toml

    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist" if not path.exists() else f"config {path} is not a file")
    return load_toml(path)


def check_task_options(task: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Task options checked against the task's settings (unknown keys, wrong types) before building
    it; returned as given, so the task converts them itself and a run's recorded options stay as typed."""
    from evaluators.tasks import task_class
    from gp_engine.validation import validate_settings

    cls = task_class(task)
    validate_settings(getattr(cls, "config_class", None) or cls, options, f"{task} option")
    return dict(options)


def check_fields(target: type, options: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Options of a study (lth, cafe, granularity) checked against its config dataclass."""
    from gp_engine.validation import validate_settings

    return validate_settings(target, options, what)


def require_map(kind: Optional[str]) -> None:
    """``--map ray`` needs the ray extra: say so before anything is created."""
    if kind == "ray" and importlib.util.find_spec("ray") is None:
        from gp_engine.maps.ray_map import MISSING_RAY

        raise typer.BadParameter(MISSING_RAY, param_hint="'--map'")
