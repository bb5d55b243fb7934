"""The ``metricforge`` command: a thin front over the library packages.

Sub-commands live in one module each (``cli_registry``, ``cli_llm``, ``cli_search``); this
module builds the app, configures logging and turns every expected failure into a one-line
error and a non-zero exit code.
"""
from __future__ import annotations

import logging
import sys
from importlib import import_module

import click
import typer

app = typer.Typer(
    name="metricforge",
    help="Discover pruning and importance metrics by genetic programming, scored on real models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_SUBMODULES = ("metricforge.cli_parse", "metricforge.cli_assets", "metricforge.cli_registry", "metricforge.cli_llm",
               "metricforge.cli_search", "metricforge.cli_lth", "metricforge.cli_granularity", "metricforge.cli_cafe",
               "metricforge.cli_tune", "metricforge.cli_data", "metricforge.cli_converge",
               "metricforge.cli_report")


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    """Discover pruning and importance metrics by genetic programming."""
    configure_logging(logging.DEBUG if verbose else logging.INFO)


def configure_logging(level: int) -> None:
    """Rich output on a terminal, plain timestamped lines in logs and pipes."""
    root = logging.getLogger()
    if root.handlers:
        return
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _register_commands() -> None:
    for name in _SUBMODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # optional command module not present
                continue
            raise
        module.register(app)


def _expected_errors() -> tuple[type[BaseException], ...]:
    from primitives.grammar import MetricSyntaxError
    from registry.errors import RegistryError

    return (MetricSyntaxError, RegistryError, ValueError, KeyError, FileNotFoundError, PermissionError)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; expected failures print ``error: ...`` and exit 2."""
    _register_commands()
    try:
        result = app(args=argv, standalone_mode=False)
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except _expected_errors() as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}".splitlines()[0], file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
