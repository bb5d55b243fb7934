"""Start-up stays light: ``--help`` imports neither torch nor sympy, ``parse`` no torch, and
``registry list`` no torch (timings are measured in benchmarks/cli/, not here)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import contextlib, io, json, sys
from metricforge.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "torch": "torch" in sys.modules, "sympy": "sympy" in sys.modules}))
"""


def imported(*argv: str, cwd=None) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120, cwd=cwd)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["search", "--help"], ["registry", "--help"], ["--version"]])
def test_help_imports_no_torch_and_no_sympy(argv):
    assert imported(*argv) == {"code": 0, "torch": False, "sympy": False}


def test_parse_imports_no_torch():
    assert imported("parse", "mul(abs(W), X)") == {"code": 0, "torch": False, "sympy": True}


def test_registry_list_imports_no_torch_and_no_sympy(tmp_path):
    assert imported("registry", "list", "-r", str(tmp_path / "empty.db")) == {"code": 0, "torch": False,
                                                                              "sympy": False}
