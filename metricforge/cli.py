"""The ``metricforge`` command: a thin front over the library packages.

Sub-commands live in one module each (``cli_registry``, ``cli_llm``, ``cli_search``, ...); this
module builds the app, installs the console (logging and progress) and turns every expected
failure into one ``error:`` line: usage errors (after the usage line) exit 2, bad input 2,
an interrupted run 130.
"""
from __future__ import annotations

import logging
import os
import sys
from importlib import import_module
from typing import Any, Optional

import typer

app = typer.Typer(
    name="metricforge",
    help="Discover pruning and importance metrics by genetic programming, scored on real models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: starts without importing typer's rich formatting
)

_SUBMODULES = ("metricforge.cli_parse", "metricforge.cli_assets", "metricforge.cli_registry", "metricforge.cli_llm",
               "metricforge.cli_search", "metricforge.cli_lth", "metricforge.cli_granularity", "metricforge.cli_cafe",
               "metricforge.cli_tune", "metricforge.cli_data", "metricforge.cli_converge",
               "metricforge.cli_report", "metricforge.cli_validate")


def version() -> str:
    """The installed distribution's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("metricforge")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        print(f"metricforge {version()}")
        raise typer.Exit()


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
          show_version: Optional[bool] = typer.Option(None, "--version", callback=_show_version, is_eager=True,
                                                      help="Print the version and exit.")) -> None:
    """Discover pruning and importance metrics by genetic programming."""
    from metricforge.console import configure_logging

    configure_logging(logging.DEBUG if verbose else logging.INFO)


def _register_commands() -> None:
    if app.registered_commands:
        return
    for name in _SUBMODULES:
        import_module(name).register(app)


def click_module() -> Any:
    """The click that typer really uses: its bundled copy (typer >= 0.2x) or the click package."""
    try:
        from typer import _click as bundled  # type: ignore[attr-defined]

        return bundled
    except ImportError:  # pragma: no cover - older typer
        import click

        return click


def _expected_errors() -> tuple[type[BaseException], ...]:
    from gp_engine.maps.ray_map import MissingExtraError
    from primitives.grammar import MetricSyntaxError
    from registry.errors import RegistryError

    return (MetricSyntaxError, RegistryError, ValueError, KeyError, OSError, MissingExtraError)


def _message(exc: BaseException) -> str:
    """One line for an expected failure."""
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    elif isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.strerror}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _context_for(argv: list[str]) -> Any:
    """A context of the deepest command named by ``argv`` (for errors raised without one)."""
    click = click_module()
    command = typer.main.get_command(app)
    ctx = click.Context(command, info_name="metricforge")
    for token in argv:
        sub = getattr(command, "commands", {}).get(token)
        if sub is None:
            break
        command, ctx = sub, click.Context(sub, info_name=token, parent=ctx)
    return ctx


def _usage_error(exc: Any, argv: list[str]) -> int:
    """The usage line of the failing command, then one ``error:`` line."""
    ctx = getattr(exc, "ctx", None) or _context_for(argv)
    if type(exc).__name__ == "NoArgsIsHelpError":  # a group called bare: its help is the answer
        if exc.format_message().strip():
            print(exc.format_message(), file=sys.stderr)
        return 2
    hint = ""
    if ctx is not None:
        print(ctx.get_usage().strip().splitlines()[0], file=sys.stderr)
        hint = f" (see '{ctx.command_path} --help')"
    print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
    return int(getattr(exc, "exit_code", 2) or 2)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; usage errors and expected failures print ``error: ...``."""
    from evaluators.progress import use_sink
    from metricforge.console import make_sink

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # progress goes through our console only
    _register_commands()
    click = click_module()
    sink = make_sink()
    try:
        with use_sink(sink):
            result = app(args=argv, standalone_mode=False, prog_name="metricforge")
    except click.exceptions.UsageError as exc:
        return _usage_error(exc, sys.argv[1:] if argv is None else list(argv))
    except click.exceptions.ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as exc:
        logging.getLogger("metricforge").debug("failed", exc_info=True)
        print(f"error: {_message(exc)}", file=sys.stderr)
        return 2
    finally:
        sink.close()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
