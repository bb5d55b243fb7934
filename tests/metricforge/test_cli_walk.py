"""Every registered command answers a mistyped option, a missing argument and a bad value with its
usage line and one ``error:`` line, exit code 2 and no traceback. The commands are read from the
app itself, so a new command is covered without editing this file."""
from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from metricforge import cli

cli._register_commands()


def _walk(command, path=()):
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in sorted(subcommands.items()):
            yield from _walk(sub, (*path, name))
    else:
        yield path, command


COMMANDS = list(_walk(typer.main.get_command(cli.app)))
NAMES = [" ".join(path) for path, _ in COMMANDS]


def _required(command) -> list:
    return [p for p in command.params if p.required]


def _is_number(param) -> bool:
    descriptor = getattr(param, "type_descriptor", None)  # typer's own parameters
    if descriptor is not None:
        return descriptor.annotation in (int, float)
    return getattr(getattr(param, "type", None), "name", "") in ("integer", "float")  # click's


def _numeric(command):
    return next((p for p in command.params if p.param_type_name == "option" and _is_number(p)
                 and not p.is_flag and p.opts[0].startswith("--")), None)


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err


def assert_usage_error(code: int, err: str, path: tuple[str, ...]) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"Usage: metricforge {' '.join(path)}"), err
    assert len(lines) == 2 and lines[1].startswith("error: "), err


def test_the_walk_covers_every_command():
    assert len(COMMANDS) >= 17
    assert {"search", "prune", "evaluate", "registry best", "registry show", "converge", "cafe"} <= set(NAMES)


@pytest.mark.parametrize("path,command", COMMANDS, ids=NAMES)
def test_bogus_option(capsys, path, command):
    code, err = run(capsys, *path, "--no-such-option-xyz")
    assert_usage_error(code, err, path)
    assert "No such option: --no-such-option-xyz" in err


@pytest.mark.parametrize("path,command", COMMANDS, ids=NAMES)
def test_missing_argument(capsys, path, command):
    required = _required(command)
    if not required:
        pytest.skip(f"{' '.join(path)} has no required argument or option")
    code, err = run(capsys, *path)
    assert_usage_error(code, err, path)
    assert "Missing" in err


def _bad_value(command) -> tuple[list[str], bool]:
    """Arguments giving one option a value of the wrong type, and whether parsing itself rejects it:
    a number option given text, else a flag given a value, else a list option given text."""
    numeric = _numeric(command)
    if numeric is not None:
        return [numeric.opts[0], "not-a-number"], True
    flag = next((p for p in command.params if p.param_type_name == "option" and p.is_flag), None)
    if flag is not None:
        return [f"{flag.opts[0]}=maybe"], True
    text = next(p for p in command.params if p.param_type_name == "option")
    return [text.opts[0], "not-a-number"], False


@pytest.mark.parametrize("path,command", COMMANDS, ids=NAMES)
def test_bad_value(capsys, path, command):
    bad, usage = _bad_value(command)
    args = ["x"] * sum(1 for p in _required(command) if p.param_type_name == "argument")
    code, err = run(capsys, *path, *args, *bad)
    if usage:
        assert_usage_error(code, err, path)
        assert bad[0].split("=")[0] in err
    else:  # a text option checked by the command itself: one error line
        assert code == 2 and "Traceback" not in err and err.strip().count("\n") == 0, err
        assert err.startswith("error: "), err


def test_most_commands_take_each_kind_of_mistake():
    assert sum(1 for _, c in COMMANDS if _required(c)) >= 6
    assert sum(1 for _, c in COMMANDS if _bad_value(c)[1]) >= len(COMMANDS) - 3


def test_version_as_a_process():
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("metricforge ") and done.stdout.split()[1][0].isdigit()


def test_a_usage_error_as_a_process():
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "registry", "list", "--limit", "many"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0].startswith("Usage: metricforge registry list")
    assert done.stderr.splitlines()[1].startswith("error: Invalid value for '--limit'")
